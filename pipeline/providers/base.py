"""One small interface per step kind, the requests they take, and the registry by name.

A provider is a class in its own module under `pipeline/providers/` decorated with `@register`. It receives a
typed request and a `StepContext` (a private work folder, progress reporting, cancellation) and returns the file
it made. It never touches the cache, the runner or other providers: the runner decides what runs and stores it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Literal

from pipeline.cancel import CancelToken
from pipeline.credentials import Credentials
from pipeline.errors import Cancelled, InputError, InvalidRequest, ProviderError
from pipeline.media.profile import EncodeProfile

StepKind = Literal["image", "video", "voice"]


# ---------------------------------------------------------------------------------------------------------------
# Requests and results


@dataclass(frozen=True)
class ImageRequest:
    prompt: str  # the user's prompt, enhanced with the style's modifiers
    scene_prompt: str  # the user's own words (the draft renderer prints them on the title card)
    style: str
    width: int
    height: int
    seed: int
    model: str | None
    steps: int
    guidance: float


@dataclass(frozen=True)
class VideoRequest:
    image_path: Path
    image_sha256: str
    prompt: str
    duration: int
    width: int
    height: int
    seed: int
    model: str | None
    public_figure_threshold: str
    # A hint: providers that encode locally may deliver in this format so the segment step needs no re-encode.
    delivery: EncodeProfile


@dataclass(frozen=True)
class VoiceRequest:
    text: str
    voice_id: str | None
    model: str | None
    stability: float
    similarity_boost: float


@dataclass
class StepOutput:
    """What a provider made: a file in the step's work folder plus facts about it."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# The context a provider runs in


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return iso


class StepContext:
    """Handed to a provider for one step: where to write, how to report progress, whether to stop."""

    def __init__(
        self,
        workdir: Path,
        cancel: CancelToken,
        on_progress: Callable[[float, str | None], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        min_interval: float = 0.15,
        credentials: Credentials | None = None,
        scene: int | None = None,
        journal: Any = None,
        step_key: str | None = None,
    ):
        self.workdir = workdir
        self.cancel = cancel
        self.credentials = credentials if credentials is not None else Credentials.from_env()
        self.scene = scene  # 0-based scene index, for messages; None for render-wide steps
        self._journal = journal  # the durable remote-task journal (pipeline.journal), keyed by this step's key
        self.step_key = step_key
        self._last_fraction = 0.0
        self._on_progress = on_progress
        self._on_warning = on_warning
        self._min_interval = min_interval
        self._last = (-1.0, 0.0)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress 0..1; throttled so a per-frame loop can call it freely. Also checks for a stop."""
        self.cancel.check()
        if self._on_progress is None:
            return
        now = time.monotonic()
        last_fraction, last_time = self._last
        if fraction >= 1.0 or message or (now - last_time >= self._min_interval and fraction > last_fraction):
            self._last = (fraction, now)
            self._last_fraction = max(0.0, min(1.0, fraction))
            self._on_progress(self._last_fraction, message)

    def progress_note(self, message: str) -> None:
        """A status line ("queued at Runway", "retrying in 5 s") without moving the progress bar."""
        self.progress(self._last_fraction, message)

    def sleep(self, seconds: float) -> None:
        """Wait (polling, back-off) in a way a Stop interrupts at once."""
        self.cancel.wait(seconds)

    # A paid remote task is recorded durably before we wait on it, so a crash, a kill or a refresh re-attaches to
    # it instead of paying again. Providers: `pending_task()` first; after a submit, `task_submitted(...)`; when
    # the task ended without an output (failed, cancelled, expired) `task_ended()` so the next run submits anew.

    def pending_task(self) -> dict[str, Any] | None:
        """A task this step submitted in an earlier run and never finished with: {"id": ..., **extra}."""
        if self._journal is None or self.step_key is None:
            return None
        return self._journal.pending(self.step_key)

    @contextmanager
    def submitting(self, provider: str, label: str) -> Iterator[None]:
        """Around a paid create request. Recorded first, so a process killed before the answer arrives leaves a
        trace; the next run warns that this step may be paid twice (no provider here can find such a task again).
        An error answer proves nothing was created and clears the record."""
        if self._journal is None or self.step_key is None:
            yield
            return
        earlier = self._journal.interrupted(self.step_key)
        if earlier is not None:
            self.warn(f"{label}: an earlier run was stopped while submitting this step ({_when(earlier['since'])}), "
                      f"before {label} answered. If {label} accepted it, it was billed then and is paid again now: "
                      f"check your {label} dashboard or usage page")  # fmt: skip
        self._journal.submitting(self.step_key, provider)
        try:
            yield
        except Cancelled:  # stopped before the request went out
            self._journal.ended(self.step_key, "not submitted")
            raise
        except ProviderError as error:
            from pipeline.providers.remote import only_refused

            if (error.status is not None and error.status < 500) or only_refused(error):
                self._journal.ended(self.step_key, "refused")
            raise

    def task_submitted(self, provider: str, task_id: str, **extra: Any) -> None:
        if self._journal is not None and self.step_key is not None:
            self._journal.submitted(self.step_key, provider, task_id, **extra)

    def task_ended(self, state: str) -> None:
        if self._journal is not None and self.step_key is not None:
            self._journal.ended(self.step_key, state)

    def key(self, env_var: str, provider: str) -> str:
        """This step's owner's key for `env_var` (session key over the server's); MissingKey if none."""
        return self.credentials.require(env_var, provider)

    def warn(self, message: str) -> None:
        if self._on_warning is not None:
            self._on_warning(message)

    def check_cancelled(self) -> None:
        self.cancel.check()


# ---------------------------------------------------------------------------------------------------------------
# Interfaces


class Provider(ABC):
    """Common to every provider. Subclasses set the class attributes and implement `generate`."""

    kind: ClassVar[StepKind]
    name: ClassVar[str]
    label: ClassVar[str] = ""
    # Bump when the same inputs would now give a different output: it is part of every cache key.
    version: ClassVar[str] = "1"
    default_model: ClassVar[str | None] = None
    models: ClassVar[tuple[str, ...]] = ()
    needs_key: ClassVar[bool] = False
    key_env_var: ClassVar[str | None] = None
    base_url_env_var: ClassVar[str | None] = None
    offline: ClassVar[bool] = True
    # Paid providers: outputs are private to the key that paid for them (the key's fingerprint is in the cache
    # key), and pre-flight refuses to start without a key.
    paid: ClassVar[bool] = False
    # Its work runs on this machine's CPU (drawing, encoding, synthesis): each step holds a slot of the one
    # process-wide limiter (pipeline/limits.py) shared with every other render. Remote providers only wait on the
    # network and hold none, so a render waiting minutes on a provider holds nothing anyone else needs.
    local_cpu: ClassVar[bool] = True
    # Steps of this provider at once within one render (a render's own fan-out, not a process-wide cap).
    max_concurrency: ClassVar[int] = 2
    # The provider's own limit on requests (or tasks) at once per API key, where going past it is refused rather
    # than queued at the provider: enforced across every render in the process that uses the same key.
    key_concurrency: ClassVar[int | None] = None

    def resolve_model(self, model: str | None) -> str | None:
        return model or self.default_model

    def cache_fields(self, request: Any) -> dict[str, Any]:
        """Everything in the request that changes the output; paths are replaced by content hashes upstream."""
        data = dataclasses.asdict(request)
        data.pop("image_path", None)
        return data

    def check(self, request: Any) -> list[str]:
        """Pre-flight: problems with this request for this provider, before anything slow or paid runs."""
        return []

    def refuse_if_unfit(self, request: Any) -> None:
        """`check` again right before paying: a library caller may have skipped pre-flight."""
        problems = self.check(request)
        if problems:
            raise InvalidRequest("; ".join(problems), provider=self.label or self.name,
                                 advice="change the scene and try again")  # fmt: skip

    def usable(self, credentials: Credentials) -> tuple[bool, str]:
        """Whether this provider can run now, and why: offline, or which key is present (never the key)."""
        if not self.needs_key or not self.key_env_var:
            return True, "offline" if self.offline else "no key needed"
        source = credentials.source(self.key_env_var)
        if source is None:
            return False, f"needs {self.key_env_var}"
        return True, f"{source} key"


class ImageProvider(Provider):
    kind: ClassVar[StepKind] = "image"

    @abstractmethod
    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        """Write a PNG/JPEG of exactly request.width × request.height into ctx.workdir."""


class VideoProvider(Provider):
    kind: ClassVar[StepKind] = "video"

    @abstractmethod
    def generate(self, request: VideoRequest, ctx: StepContext) -> StepOutput:
        """Write a video clip of about request.duration seconds into ctx.workdir.

        meta may carry `profile` (the EncodeProfile id it was encoded with) and `frames`, which lets the segment
        step reuse the file as is.
        """


class VoiceProvider(Provider):
    kind: ClassVar[StepKind] = "voice"
    voices: ClassVar[tuple[str, ...]] = ()
    default_voice: ClassVar[str | None] = None

    @abstractmethod
    def generate(self, request: VoiceRequest, ctx: StepContext) -> StepOutput:
        """Write the narration audio into ctx.workdir; meta carries `duration` in seconds."""


# ---------------------------------------------------------------------------------------------------------------
# Registry


class Registry:
    def __init__(self) -> None:
        self._classes: dict[tuple[str, str], type[Provider]] = {}
        self._instances: dict[tuple[str, str], Provider] = {}
        self._lock = threading.Lock()

    def register(self, cls: type[Provider]) -> type[Provider]:
        self._classes[(cls.kind, cls.name)] = cls
        self._instances.pop((cls.kind, cls.name), None)
        return cls

    def unregister(self, kind: str, name: str) -> None:
        self._classes.pop((kind, name), None)
        self._instances.pop((kind, name), None)

    def names(self, kind: str) -> list[str]:
        return sorted(n for k, n in self._classes if k == kind)

    def classes(self, kind: str) -> list[type[Provider]]:
        return [self._classes[(kind, n)] for n in self.names(kind)]

    def get(self, kind: str, name: str) -> Provider:
        with self._lock:
            inst = self._instances.get((kind, name))
            if inst is None:
                cls = self._classes.get((kind, name))
                if cls is None:
                    known = ", ".join(self.names(kind))
                    raise InputError(f"{kind}.provider: '{name}' is not a known {kind} provider (known: {known})")
                inst = self._instances[(kind, name)] = cls()
            return inst


registry = Registry()


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator: make a provider available by its `name` for its `kind`."""
    return registry.register(cls)
