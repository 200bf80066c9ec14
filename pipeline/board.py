"""The render as a person watches it: a scenes × steps board folded from the engine's events.

Pure Python (no UI library): the studio renders `html()` and shows `latest` previews; tests read the states.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.captions.files import caption_files
from pipeline.events import (
    Event,
    RenderCancelled,
    RenderFailed,
    RenderFinished,
    RenderStarted,
    StepCached,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    StepWarning,
)
from pipeline.steps import kinds


def step_title(kind: str) -> str:
    """A step kind's title on the board: its registered label (a kind this process does not know, such as one
    announced by another engine's plan, shows its name)."""
    known = kinds.find(kind)
    return known.label if known is not None else kind.capitalize()


def is_render_wide(kind: str) -> bool:
    """Whether a kind has one step for the whole render (the board's last row) rather than one per scene; a kind
    this process does not know is shown per scene."""
    known = kinds.find(kind)
    return known is not None and not known.per_scene


def _shows_preview(kind: str) -> bool:
    known = kinds.find(kind)
    return known is not None and known.preview

# Plain symbols present in every common font (emoji render as empty boxes where no emoji font is installed).
_ICONS = {"queued": "○", "running": "◐", "cached": "↺", "done": "✓", "failed": "✗", "skipped": "–", "stopped": "■"}


def _seconds(value: float) -> str:
    """A length or a time taken as a person reads it: "12 s", "2 min 5 s"."""
    whole = max(0, round(value))
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"


def status_line(status: str, *, percent: int = 0, took: float | None = None, length: float | None = None,
                saved: str = "", reason: str = "") -> str:
    """The board's headline for a render state: Ready, Rendering… N%, Done in … · … video · saved to …,
    Failed: <reason>, or Stopped."""
    if status == "running":
        return f"Rendering… {percent}%"
    if status == "done":
        parts = ["Done" + (f" in {_seconds(took)}" if took is not None else "")]
        if length:
            parts.append(f"{_seconds(length)} video")
        if saved:
            parts.append(f"saved to {saved}")
        return " · ".join(parts)
    if status == "failed":
        return f"Failed: {reason.strip() or 'the render stopped with an error'}"
    if status == "stopped":
        return "Stopped — finished steps are kept"
    return "Ready"


@dataclass
class StepState:
    # queued | running | cached | done | failed | skipped (not needed, e.g. no script) | stopped (cut off by Stop)
    status: str = "queued"
    fraction: float = 0.0
    detail: str = ""
    seconds: float | None = None


@dataclass
class RenderBoard:
    scenes: int = 0
    # The step kinds, per scene and render-wide, as the render's plan announces them (RenderStarted); the
    # registered ones until then.
    scene_kinds: list[str] = field(default_factory=lambda: [k.name for k in kinds
                                                            if k.per_scene and not k.only_when_planned])
    render_kinds: list[str] = field(default_factory=lambda: [k.name for k in kinds if not k.per_scene])
    steps: dict[tuple[int | None, str], StepState] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)  # media kind → path of the newest preview
    images: dict[int, str] = field(default_factory=dict)  # scene → its picture, as soon as it exists
    warnings: list[str] = field(default_factory=list)
    status: str = "waiting"
    final: str | None = None
    manifest: str | None = None
    captions: list[str] = field(default_factory=list)  # the finished video's SRT and WebVTT files, when written
    error: str | None = None
    took: float | None = None  # seconds the finished render took
    length: float | None = None  # seconds of finished video
    title: str = ""
    saved: str = ""  # where the video is kept, as the person finds it (the studio's project and file name)

    def apply(self, event: Event) -> bool:
        """Fold one event in; return True when something a person would see changed."""
        if isinstance(event, RenderStarted):
            self.scenes, self.status, self.title = event.scenes, "running", event.title
            if event.steps:
                self.scene_kinds = [k for k in event.steps if not is_render_wide(k)]
                self.render_kinds = [k for k in event.steps if is_render_wide(k)]
            return True
        key = (getattr(event, "scene", None), getattr(event, "step", ""))
        state = self.steps.setdefault(key, StepState()) if hasattr(event, "step") else None
        if isinstance(event, StepStarted) and state:
            state.status = "running"
        elif isinstance(event, StepProgress) and state:
            state.status, state.fraction = "running", event.fraction
            state.detail = event.message or state.detail
        elif isinstance(event, (StepCached, StepFinished)) and state:
            state.status = "cached" if isinstance(event, StepCached) else "done"
            state.fraction = 1.0
            state.seconds = getattr(event, "seconds", None)
            if event.media and _shows_preview(event.step):
                self.latest[event.media] = event.path
            if event.step == "image" and event.scene is not None:
                self.images[event.scene] = event.path
        elif isinstance(event, StepFailed) and state:
            state.status, state.detail = "failed", event.reason
        elif isinstance(event, StepWarning):
            where = f"scene {event.scene + 1} {event.step}" if event.scene is not None else event.step
            self.warnings.append(f"{where}: {event.message}")
        elif isinstance(event, RenderFinished):
            self.status, self.final, self.manifest = "done", event.path, event.manifest
            self.took, self.length = event.seconds, event.duration
            self.captions = [str(f) for f in caption_files(Path(event.manifest))]  # named by the manifest
            for i in range(self.scenes):  # what never ran was not needed (a scene without narration)
                for step in self.scene_kinds:
                    self.steps.setdefault((i, step), StepState(status="skipped"))
        elif isinstance(event, RenderFailed):
            self.status, self.error = "failed", event.reason
        elif isinstance(event, RenderCancelled):
            self._stopped()
        else:
            return False
        return True

    def stop(self) -> None:
        """Stopped by the person (the page's Stop): the headline says so and what was running reads as stopped; a
        render that already ended stays as it ended."""
        if self.status not in ("done", "failed"):
            self._stopped()

    def _stopped(self) -> None:
        self.status = "stopped"
        for state in self.steps.values():
            if state.status == "running":
                state.status, state.detail = "stopped", ""

    @property
    def percent(self) -> int:
        """How far the render is: the share of its steps that ended (a running step counts by its fraction)."""
        total = self.scenes * len(self.scene_kinds) + len(self.render_kinds)
        if total == 0:
            return 0
        ended = sum(1.0 if s.status in ("cached", "done", "failed", "skipped") else
                    s.fraction if s.status == "running" else 0.0 for s in self.steps.values())  # fmt: skip
        return min(99, int(100 * ended / total)) if self.status == "running" else 100

    @property
    def headline(self) -> str:
        return status_line(self.status, percent=self.percent, took=self.took, length=self.length, saved=self.saved,
                           reason=self.error or "; ".join(self.failures))  # fmt: skip

    def gallery(self) -> list[tuple[str, str]]:
        """Every scene's picture so far, in scene order, captioned."""
        return [(self.images[i], f"Scene {i + 1}") for i in sorted(self.images)]

    @property
    def failures(self) -> list[str]:
        return [s.detail for s in self.steps.values() if s.status == "failed"]

    def state(self, scene: int | None, step: str) -> StepState:
        return self.steps.get((scene, step), StepState())

    def html(self) -> str:
        """The workflow view: one row per scene, one cell per step, then one row of the render-wide steps."""
        head = "".join(f"<th>{step_title(s)}</th>" for s in self.scene_kinds)
        rows = []
        for i in range(self.scenes):
            cells = "".join(self._cell(self.state(i, s)) for s in self.scene_kinds)
            rows.append(f"<tr><th>Scene {i + 1}</th>{cells}</tr>")
        spare = len(self.scene_kinds) - len(self.render_kinds)  # render-wide cells sit under the last columns
        tail = ("<tr><th>All</th>" + (f"<td colspan='{spare}'></td>" if spare > 0 else "")
                + "".join(self._cell(self.state(None, k), f"{step_title(k)} ") for k in self.render_kinds) + "</tr>")
        status = html.escape(self.headline)
        if not self.scenes:  # nothing planned (yet, or a storyboard refused at once): no empty table
            return f"<div class='board board-{self.status}'><p class='board-status'><b>{status}</b></p></div>"
        # The table sits in its own scroller: on a narrow screen it scrolls sideways instead of being cut off.
        return (f"<div class='board board-{self.status}'><p class='board-status'><b>{status}</b></p>"
                f"<div class='board-scroll'><table><tr><th></th>{head}</tr>{''.join(rows)}{tail}</table></div></div>")

    @staticmethod
    def _cell(state: StepState, label: str = "") -> str:
        text = {"running": f"{state.fraction:.0%}", "cached": "cached", "done": "done", "failed": "failed",
                "queued": "queued", "skipped": "not needed", "stopped": "stopped"}[state.status]  # fmt: skip
        title = f" title='{html.escape(state.detail, quote=True)}'" if state.detail else ""
        if state.status == "running" and state.detail:  # "queued at Runway", "retrying in 5 s"
            text += f"<br><small>{html.escape(state.detail[:40])}</small>"
        return f"<td class='{state.status}'{title}>{_ICONS[state.status]} {label}{text}</td>"
