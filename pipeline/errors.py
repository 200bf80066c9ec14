"""One exception tree for everything Reelsmith raises across a boundary.

    StudioError
    ├── InputError              bad storyboard / option; carries field-level problems
    ├── MediaError              ffmpeg or a media file did something unexpected
    ├── Cancelled               the user stopped the render
    ├── BudgetExceeded          a paid step would take the render past its budget (it was not started)
    │   └── BudgetRequired      a render that would cost money was asked for without a budget (nothing started)
    ├── RateLimitExceeded       the host's per-hour limit on renders or paid steps is reached (says when to retry)
    └── ProviderError           a step's provider could not deliver (names scene, step, reason)
        ├── MissingKey          no key for a paid provider (env or session)
        ├── AuthenticationFailed the provider refused the key
        ├── InvalidRequest      the provider refused the request's shape (a pre-flight gap)
        ├── RateLimited
        ├── ProviderTimeout
        ├── Rejected            moderation refused an input (`refused` names which)
        ├── QuotaExceeded       out of credits / quota
        └── ProviderFailed      anything else (5xx are retryable)

Messages never contain API keys: providers build them from the provider's reason only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A problem inside one scene (`scenes[1].audio_script`, `scenes[1]`): said as "Scene 2, narration".
_SCENE_PATH = re.compile(r"^scenes\[(\d+)\](?:\.(\w+))?")
# The scene fields in the words the studio's table uses for them.
_FIELD_WORDS = {"image_prompt": "image prompt", "video_prompt": "motion prompt", "audio_script": "narration",
                "voice_id": "voice", "duration": "duration", "seed": "seed", "image": "image"}  # fmt: skip


class StudioError(Exception):
    """Base of every error Reelsmith raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (a path such as `scenes[2].duration`) and what."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        at = f" (line {self.line})" if self.line else ""
        return f"{self.where}{self.message}{at}"

    @property
    def where(self) -> str:
        """The place as a person reads it: "Scene 2, narration (scenes[1].audio_script): " — the scene numbered
        from 1 as the studio shows it, the field in its words, then the exact path."""
        if not self.path:
            return ""
        scene = _SCENE_PATH.match(self.path)
        if scene is None:
            return f"{self.path}: "
        field = scene.group(2)
        words = _FIELD_WORDS.get(field, field.replace("_", " ")) if field else ""
        return f"Scene {int(scene.group(1)) + 1}{', ' + words if words else ''} ({self.path}): "


class InputError(StudioError):
    """The storyboard or an option is invalid. `problems` lists the problems found, one per field.

    `more` counts problems left out of `problems` (a file with 20 000 unknown keys reports the first ones and how
    many more, not a 2 MB message).
    """

    def __init__(self, problems: list[Problem] | str, *, more: int = 0):
        if isinstance(problems, str):
            # "scenes[1].image: approve it first" written as one text still names its scene the person's way.
            placed = _SCENE_PATH.fullmatch(problems.split(": ", 1)[0]) if ": " in problems else None
            problems = [Problem(placed.group(), problems.split(": ", 1)[1]) if placed else Problem("", problems)]
        self.problems = problems
        self.more = more
        lines = [str(p) for p in problems] + ([f"…and {more} more problems"] if more else [])
        super().__init__("\n".join(lines))


class MediaError(StudioError):
    """A media operation (ffmpeg, decoding, muxing) failed."""


class Cancelled(StudioError):
    """The render was stopped by the user; finished steps stay cached."""


class BudgetExceeded(StudioError):
    """A paid step was not started because it would take the render's spend past its budget."""


class BudgetRequired(BudgetExceeded):
    """Paid work starts only once a budget covers it: the render was refused before anything ran (the studio and
    the API ask for one; the CLI renders without a budget when none is given)."""


class RateLimitExceeded(StudioError):
    """A render or a paid step was not started: this session or address reached the host's hourly limit.
    `retry_after` is the number of seconds until the oldest counted one leaves the window."""

    def __init__(self, message: str, *, retry_after: float):
        self.retry_after = retry_after
        super().__init__(message)


class ProviderError(StudioError):
    """A provider failed a step. `str()` names the scene, the step, the reason and what to do."""

    retryable = False

    def __init__(
        self,
        reason: str,
        *,
        provider: str = "",
        advice: str = "",
        retryable: bool | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ):
        self.reason = reason
        self.provider = provider
        self.advice = advice
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after  # seconds the provider asked us to wait (Retry-After), if it said
        self.status = status  # the HTTP status, when there was one
        self.scene: int | None = None
        self.step: str | None = None
        super().__init__(reason)

    def at(self, scene: int | None, step: str) -> "ProviderError":
        self.scene, self.step = scene, step
        return self

    def __str__(self) -> str:
        where = f"scene {self.scene + 1} {self.step}" if self.scene is not None else (self.step or "")
        who = f"{self.provider}: " if self.provider else ""
        text = f"{where}: {who}{self.reason}" if where else f"{who}{self.reason}"
        return f"{text} — {self.advice}" if self.advice else text


class MissingKey(ProviderError):
    pass


class AuthenticationFailed(ProviderError):
    pass


class InvalidRequest(ProviderError):
    pass


class RateLimited(ProviderError):
    retryable = True


class ProviderTimeout(ProviderError):
    retryable = True


class Rejected(ProviderError):
    """Moderation refused something; `refused` says what: "image prompt", "motion prompt", "image", "output"."""

    def __init__(self, reason: str, *, refused: str = "", **kwargs):
        self.refused = refused
        super().__init__(reason, **kwargs)


class QuotaExceeded(ProviderError):
    pass


class ProviderFailed(ProviderError):
    pass


# -- what a provider's answer proves about a paid create (pipeline/providers/remote.py retries by these) ---------


def only_refused(error: BaseException) -> bool:
    """For paid creates: retry only what proves the provider did not accept the request."""
    if isinstance(error, RateLimited):
        return error.retryable  # a hard cap (e.g. a daily limit) is a RateLimited that says retryable=False
    return isinstance(error, ProviderFailed) and error.retryable and error.status is None and "refused" in error.reason


def nothing_created(error: ProviderError) -> bool:
    """The answer proves a paid create made nothing: a refusal (4xx; a 408 is a timeout) or what `only_refused`
    retries. Anything else (a 5xx, a timeout, a lost connection) may hide a created, billed task."""
    return (error.status is not None and error.status < 500 and error.status != 408) or only_refused(error)
