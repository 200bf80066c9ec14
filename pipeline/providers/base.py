"""One small interface per step kind, the requests they take, and the registry by name.

A provider is a class in its own module under `pipeline/providers/` decorated with `@register`. It receives a
typed request and a `StepContext` (a private work folder, progress reporting, cancellation) and returns the file
it made. It never touches the cache, the runner or other providers: the runner decides what runs and stores it.

A paid provider also declares its `key_env_var`, its dated `prices` (per model, in its kind's billing unit) and,
where it has one, `base_url_env_var`/`default_base_url`, and builds its API client in `client(key)`. Everything
else derives from the registry: the keys read from the environment and shown in the studio (credentials.key_vars),
the estimate, budget and ledger (pricing.step_cost), pre-flight's "needs KEY" (Provider.usable).
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Literal, Mapping, Protocol, Sequence

from pipeline.cancel import CancelToken
from pipeline.errors import Cancelled, InputError, InvalidRequest, MissingKey, ProviderError, nothing_created
from pipeline.media.profile import EncodeProfile


class Keys(Protocol):
    """What providers ask of a render's keys: pipeline.credentials.Credentials, which derives the list of keys from
    this registry (so it imports this module, never the reverse)."""

    def source(self, name: str | None) -> str | None: ...

    def require(self, name: str, provider: str) -> str: ...

StepKind = Literal["image", "video", "voice"]
Unit = Literal["image", "second", "character", "token"]  # token: a language model's (pipeline/idea_storyboard.py)
# What a paid step of each kind is billed by: one image, the clip's requested seconds, the script's characters.
BILLING_UNITS: dict[str, Unit] = {"image": "image", "video": "second", "voice": "character"}
# What a key of each kind of provider pays for, as the studio's key boxes say it.
KEY_PURPOSE = {"image": "images", "video": "video clips", "voice": "narration"}


# ---------------------------------------------------------------------------------------------------------------
# Prices


@dataclass(frozen=True)
class Price:
    """A public list price: `usd` per `unit`, and where the figure comes from (a pricing page, or how it was
    estimated when the provider bills otherwise)."""

    unit: Unit
    usd: float
    source: str = ""


@dataclass(frozen=True)
class Prices:
    """A paid provider's price list as published on `as_of` ("YYYY-MM"): per model id, or `None` for every model
    the list does not name. Update the date with the numbers."""

    as_of: str
    per_model: Mapping[str | None, Price]

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", self.as_of):
            raise ValueError(f"Prices.as_of is a date like 2026-11, not {self.as_of!r}")
        if not self.per_model:
            raise ValueError("Prices.per_model names at least one price")

    def get(self, model: str | None) -> Price | None:
        """The price of `model`, else the price for any model (key None), else None (unknown: never free)."""
        return self.per_model.get(model) or self.per_model.get(None)

    def models(self) -> list[str]:
        return [str(m) for m in self.per_model if m is not None]


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
    # A draft picture's slate (its style and prompt) to draw at the top edge of the clip, after any camera move;
    # None when the picture has none or the scene's captions are burned in. Providers that cannot draw ignore it.
    slate: str | None = None


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


def missing_key(env_var: str, provider: str) -> MissingKey:
    """The one message for a paid step without its key."""
    return MissingKey(f"no API key ({env_var} is not set)", provider=provider,
                      advice=f"set {env_var} on the server, paste your own key in the studio's Keys panel, "
                      "or choose an offline provider")  # fmt: skip


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
        credentials: Keys | None = None,
        scene: int | None = None,
        journal: Any = None,
        step_key: str | None = None,
        poll_interval: float | None = None,
        http_timeout: tuple[float, float] = (60.0, 10.0),
        encoders: Any = None,
    ):
        self.workdir = workdir
        self.cancel = cancel
        self.credentials = credentials  # None: no keys (the runner always hands the render's credentials)
        self.scene = scene  # 0-based scene index, for messages; None for render-wide steps
        self._journal = journal  # the durable remote-task journal (pipeline.journal), keyed by this step's key
        self.step_key = step_key
        # From the render's settings (pipeline/services.py), never from the environment: seconds between polls of
        # a remote task (None: the provider's own advice), an HTTP request's (read, connect) timeouts, and the
        # process's x264 memory budget (pipeline.media.ffmpeg.EncoderBudget; None: this step encodes unbudgeted).
        self.poll_interval = poll_interval
        self.http_timeout = http_timeout
        self.encoders = encoders
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
            if nothing_created(error):
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
        if self.credentials is None:
            raise missing_key(env_var, provider)
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
    # How a creator knows it, in the studio's dropdowns and status lines: what it is, by the name its maker uses
    # ("Flux (Black Forest Labs)", "offline sketch"). Its own module says it; storyboards, the API and the CLI keep
    # using `name`. Blank: `label`, else `name`.
    display_name: ClassVar[str] = ""
    # What its key is called where a person gets one ("Runway API key", "Hugging Face token"). Blank: "<label> API
    # key". The environment variable (`key_env_var`) is for the server's operator and follows in small print.
    key_name: ClassVar[str] = ""
    # Bump when the same inputs would now give a different output: it is part of every cache key.
    version: ClassVar[str] = "1"
    default_model: ClassVar[str | None] = None
    models: ClassVar[tuple[str, ...]] = ()
    needs_key: ClassVar[bool] = False
    # The environment variable the server's key comes from; it also names the key in a user's session, in the
    # studio's key boxes and in pre-flight's "needs ..." (credentials derive the list of keys from the registry).
    key_env_var: ClassVar[str | None] = None
    # Where the API is (a proxy, a fake in tests): this variable when set, else `default_base_url`.
    base_url_env_var: ClassVar[str | None] = None
    default_base_url: ClassVar[str | None] = None
    offline: ClassVar[bool] = True
    # Paid providers: outputs are private to the key that paid for them (the key's fingerprint is in the cache
    # key), and pre-flight refuses to start without a key. A paid provider declares `key_env_var` and its dated
    # `prices`; the estimate, the budget and the ledger price its steps from them (pipeline.pricing).
    paid: ClassVar[bool] = False
    prices: ClassVar[Prices | None] = None
    # Its work runs on this machine's CPU (drawing, encoding, synthesis): each step holds a slot of the one
    # process-wide limiter (pipeline/limits.py) shared with every other render. Remote providers only wait on the
    # network and hold none, so a render waiting minutes on a provider holds nothing anyone else needs. None (the
    # default) means: an offline provider works locally, a remote one does not (a new paid provider need not say).
    local_cpu: ClassVar[bool | None] = None
    # Steps of this provider at once within one render (a render's own fan-out, not a process-wide cap).
    max_concurrency: ClassVar[int] = 2
    # The provider's own limit on requests (or tasks) at once per API key, where going past it is refused rather
    # than queued at the provider: enforced across every render in the process that uses the same key.
    key_concurrency: ClassVar[int | None] = None

    @classmethod
    def shown_as(cls) -> str:
        """The provider as the studio shows it (see `display_name`)."""
        return cls.display_name or cls.label or cls.name

    @classmethod
    def key_title(cls) -> str:
        """Its key as the studio names it (see `key_name`)."""
        return cls.key_name or f"{cls.label or cls.name} API key"

    def base_url(self) -> str | None:
        """The API's address now: `base_url_env_var` when set, else `default_base_url` (read per call, never at
        import, so a test or a deployment can point it elsewhere)."""
        override = os.environ.get(self.base_url_env_var, "").strip() if self.base_url_env_var else ""
        return override or self.default_base_url

    def client(self, key: str) -> AbstractContextManager[Any]:
        """A client of the provider's API that sends `key`, closed when the `with` block ends. Paid providers
        build their SDK or httpx client here (timeouts, no hidden retries) and nowhere else."""
        raise NotImplementedError(f"{type(self).__name__} has no API client")

    def release(self) -> None:
        """Drop what `generate` loaded and keeps for its next call (a model in memory). A render calls it once it has
        no more steps for this provider, so its memory is free for the rest of the render (the encoders); a
        `generate` running for another render keeps its own reference, and a later one loads again."""

    def resolve_model(self, model: str | None) -> str | None:
        return model or self.default_model

    def cache_fields(self, request: Any) -> dict[str, Any]:
        """Everything in the request that changes the output; paths are replaced by content hashes upstream."""
        data = dataclasses.asdict(request)
        data.pop("image_path", None)
        data.pop("slate", None)  # drawn only by a provider that says so in its own cache_fields (motion)
        return data

    def warm_up(self, voice_id: str | None = None) -> None:
        """Prepare what the first step will need (a local model), called in a background thread as a render
        starts planning, so loading overlaps the planning and the first pictures. Never raises: the step itself
        reports any problem."""

    def model_problem(self, model: str | None) -> str | None:
        """The one model check: what is wrong with `model` (None: the default) for this provider, or None.
        Pre-flight asks it once per render; `check` asks it for a request on its own."""
        model = self.resolve_model(model)
        if model is None or not self.models or model in self.models:
            return None
        return f"'{model}' is not a {self.name} model; choose one of: {', '.join(self.models)}"

    def check(self, request: Any) -> list[str]:
        """Pre-flight for one request on its own: its model, then `check_request`."""
        problem = self.model_problem(getattr(request, "model", None))
        return ([problem] if problem else []) + self.check_request(request)

    def check_request(self, request: Any) -> list[str]:
        """Pre-flight: problems with this request beyond its model, before anything slow or paid runs."""
        return []

    def refuse_if_unfit(self, request: Any) -> None:
        """`check` again right before paying: a library caller may have skipped pre-flight."""
        problems = self.check(request)
        if problems:
            raise InvalidRequest("; ".join(problems), provider=self.label or self.name,
                                 advice="change the scene and try again")  # fmt: skip

    def usable(self, credentials: Keys) -> tuple[bool, str]:
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

    # A provider that encodes frames itself may draw images over them in the same encode (a scene's captions):
    # it declares `draws_overlays` and implements `generate_overlaid`.
    draws_overlays: ClassVar[bool] = False

    def generate_overlaid(self, request: VideoRequest, ctx: StepContext, frames: int, overlays: Sequence[Any],
                          keyframes: Sequence[int] = ()) -> StepOutput:  # fmt: skip
        """The clip `frames` long (held on its last frame past the requested duration) in the delivery profile,
        with `overlays` (pipeline.captions.render.CueFrame: an image and when it shows) drawn over it and a GOP
        starting at each of `keyframes`."""
        raise NotImplementedError(f"{self.name} does not draw overlays")


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
        problem = declaration_problem(cls)
        if problem:
            raise TypeError(f"{cls.__name__}: {problem}")
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

    def all(self) -> list[type[Provider]]:
        """Every registered provider class, in the order they registered (built-ins: the imports in
        pipeline/providers/__init__.py; a later one comes after them)."""
        return list(self._classes.values())

    def keys(self) -> list[KeyField]:
        """Each key variable the registered providers use, once, in registration order, with who uses it."""
        fields: dict[str, KeyField] = {}
        for cls in self.all():
            if not isinstance(cls.key_env_var, str) or not cls.key_env_var:
                continue  # none, or decided per instance (a test fake's property): not a key the server reads
            uses = f"{cls.key_title()} ({KEY_PURPOSE.get(cls.kind, cls.kind)})"
            known = fields.get(cls.key_env_var)
            fields[cls.key_env_var] = KeyField(cls.key_env_var, (*known.uses, uses) if known else (uses,))
        return list(fields.values())

    def base_url_vars(self) -> list[str]:
        return list(dict.fromkeys(cls.base_url_env_var for cls in self.all() if cls.base_url_env_var))

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


@dataclass(frozen=True)
class KeyField:
    """A key variable and what uses it: ("RUNWAYML_API_SECRET", ("Runway API key (video clips)",))."""

    env_var: str
    uses: tuple[str, ...]

    @property
    def label(self) -> str:
        return " / ".join(self.uses)


def declaration_problem(cls: type[Provider]) -> str | None:
    """What a provider class fails to declare, or None. A paid provider names its key variable and has dated
    prices in the unit its kind is billed by; otherwise the budget could not protect anyone."""
    if not cls.paid:
        return None
    if not cls.key_env_var:
        return "a paid provider declares key_env_var (the variable its key comes from)"
    if not isinstance(cls.prices, Prices):
        return "a paid provider declares prices = Prices(as_of=..., per_model={model: Price(unit, usd, source)})"
    unit = BILLING_UNITS.get(cls.kind)
    wrong = [str(m) for m, p in cls.prices.per_model.items() if p.unit != unit]
    if wrong:
        return f"a {cls.kind} step is billed per {unit}; the prices of {', '.join(wrong)} are not"
    return None


registry = Registry()


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator: make a provider available by its `name` for its `kind`."""
    return registry.register(cls)
