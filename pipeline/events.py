"""Typed progress events. The runner yields them; the CLI, the studio and API clients render them.

`scene` is the 0-based scene index, or None for render-wide steps (the final join).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MediaKind = Literal["image", "video", "audio"]


@dataclass(frozen=True)
class Event:
    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        d = {"type": self.type, **asdict(self)}
        return {k: (str(v) if k == "path" and v is not None else v) for k, v in d.items()}


@dataclass(frozen=True)
class RenderStarted(Event):
    render_id: str
    title: str
    scenes: int
    steps: list[str]
    providers: dict[str, str]


@dataclass(frozen=True)
class StepStarted(Event):
    scene: int | None
    step: str
    provider: str


@dataclass(frozen=True)
class StepProgress(Event):
    scene: int | None
    step: str
    fraction: float
    message: str | None = None


@dataclass(frozen=True)
class StepCached(Event):
    """The step's output was already stored under its key: nothing ran, nothing was paid."""

    scene: int | None
    step: str
    provider: str
    path: str
    media: MediaKind | None = None


@dataclass(frozen=True)
class StepFinished(Event):
    scene: int | None
    step: str
    provider: str
    path: str
    media: MediaKind | None = None
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepFailed(Event):
    scene: int | None
    step: str
    provider: str
    reason: str


@dataclass(frozen=True)
class StepWarning(Event):
    scene: int | None
    step: str
    message: str


@dataclass(frozen=True)
class RenderFinished(Event):
    path: str
    manifest: str
    duration: float
    seconds: float
    executed: int
    cached: int


@dataclass(frozen=True)
class SceneStepDone(Event):
    """Step-by-step control finished: the scene's image, clip or narration (made now or reused) is at `path`."""

    scene: int
    step: str
    path: str
    sha256: str


@dataclass(frozen=True)
class RenderFailed(Event):
    reason: str
    failures: list[str]
    kind: Literal["input", "provider", "media", "budget", "limit"] = "provider"


@dataclass(frozen=True)
class RenderCancelled(Event):
    reason: str = "render stopped"
    kept: int = 0
