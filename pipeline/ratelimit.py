"""Hourly limits for a studio hosted for strangers: renders and paid steps, per session and per client address.

    limits = StudioLimits.from_env()                 # built when the studio starts, never at import
    limits.renders.take(session=s, client=c)          # raises RateLimitExceeded with the retry time
    quota = limits.paid_steps.bind(session=s, client=c)
    Render(..., paid_step_quota=quota)               # the runner takes one right before each paid call

Off on a local install (a limit of 0 or unset); on a Hugging Face Space (`SPACE_ID` is set there) the defaults
below apply unless the host sets `REELSMITH_RENDERS_PER_HOUR` / `REELSMITH_PAID_STEPS_PER_HOUR` (0 turns one off).
The windows live in this process's memory: a restart forgets them, which errs on the side of the user.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping

from pipeline.errors import InputError, RateLimitExceeded

WINDOW_SECONDS = 3600.0
# On a public Space: a person can try ten renders an hour; 60 paid steps is two renders of ten scenes with paid
# image, clip and narration, or plenty of step-by-step retries. Hosts with other budgets set the variables.
SPACE_RENDERS_PER_HOUR = 10
SPACE_PAID_STEPS_PER_HOUR = 60
# Identities seen once and never again are dropped when the table grows past this many (a sweep, not per call).
_SWEEP_ABOVE = 10_000


def _setting(environ: Mapping[str, str], name: str, space_default: int) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return space_default if environ.get("SPACE_ID") else 0
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name}: '{raw[:20]}' is not a whole number per hour (0 turns the limit off)") from None
    if value < 0:
        raise InputError(f"{name}: {value} is negative (0 turns the limit off)")
    return value


def _wait_text(seconds: float) -> str:
    if seconds < 60:
        n = max(1, math.ceil(seconds))
        return f"{n} second{'s' if n != 1 else ''}"
    n = math.ceil(seconds / 60)
    return f"{n} minute{'s' if n != 1 else ''}"


class SlidingWindowLimit:
    """At most `per_hour` starts in any `window` seconds for each identity (a session, a client address).

    `take(session=…, client=…)` counts one start for every identity given, or refuses (for all of them) when any
    one is at its limit; a limit of 0 never refuses. Thread-safe: the studio's handlers run in worker threads.
    """

    def __init__(self, what: str, per_hour: int, *, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.what = what  # "render" or "paid step": used in the refusal
        self.per_hour = per_hour
        self.window = window
        self.clock = clock
        self._starts: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_hour > 0

    def take(self, *, session: str | None = None, client: str | None = None) -> None:
        """Count one start, or raise RateLimitExceeded saying how many, the limit and when to try again."""
        if not self.enabled:
            return
        identities = [(who, value) for who, value in (("session", session), ("client", client)) if value]
        with self._lock:
            now = self.clock()
            for identity in identities:
                starts = self._recent(identity, now)
                if len(starts) >= self.per_hour:
                    raise self._refusal(identity[0], len(starts), starts[0] + self.window - now)
            for identity in identities:
                self._starts.setdefault(identity, deque()).append(now)
            if len(self._starts) > _SWEEP_ABOVE:
                for identity in list(self._starts):
                    if not self._recent(identity, now):
                        del self._starts[identity]

    def bind(self, *, session: str | None = None, client: str | None = None) -> "Quota":
        """This limit for one session and address, for code that should not know who it works for (the runner)."""
        return Quota(self, session, client)

    def _recent(self, identity: tuple[str, str], now: float) -> deque[float]:
        starts = self._starts.get(identity, deque())
        while starts and starts[0] <= now - self.window:
            starts.popleft()
        return starts

    def _refusal(self, who: str, count: int, wait: float) -> RateLimitExceeded:
        things = f"{count} {self.what}{'s' if count != 1 else ''}"
        subject = "You started" if who == "session" else "Your network address started"
        hours = self.window / 3600
        span = "hour" if hours == 1 else f"{hours:g} hours"
        return RateLimitExceeded(f"{subject} {things} in the last {span} (limit {self.per_hour} per {span}); "
                                 f"try again in {_wait_text(wait)}.", retry_after=wait)  # fmt: skip


@dataclass(frozen=True)
class Quota:
    """One session's (and address's) share of a limit; `take()` counts a start or raises RateLimitExceeded."""

    limit: SlidingWindowLimit
    session: str | None
    client: str | None

    def take(self) -> None:
        self.limit.take(session=self.session, client=self.client)


@dataclass(frozen=True)
class StudioLimits:
    """The studio's two limits, read from the environment when the studio starts."""

    renders: SlidingWindowLimit
    paid_steps: SlidingWindowLimit

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> "StudioLimits":  # fmt: skip
        env = os.environ if environ is None else environ
        return cls(
            SlidingWindowLimit("render", _setting(env, "REELSMITH_RENDERS_PER_HOUR", SPACE_RENDERS_PER_HOUR),
                               clock=clock),  # fmt: skip
            SlidingWindowLimit("paid step", _setting(env, "REELSMITH_PAID_STEPS_PER_HOUR", SPACE_PAID_STEPS_PER_HOUR),
                               clock=clock),  # fmt: skip
        )
