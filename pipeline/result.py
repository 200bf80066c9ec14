"""What a render returns: every scene's outputs, the final file's asset, what ran, what was cached, what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.plan import RenderPlan
from pipeline.store import Asset


@dataclass
class SceneResult:
    """One scene's outputs by step kind, in the render's kind order (None: the scene has no step of that kind, such
    as no narration). `scene.outputs["image"]` reads as `scene.image`."""

    index: int
    frames: int
    outputs: dict[str, Asset | None] = field(default_factory=dict)

    def __getattr__(self, kind: str) -> Asset | None:
        # Only called for names that are not attributes: a step kind's output (a kind added later is read the same
        # way). The dict is looked up in __dict__ so that copying or unpickling (no fields yet) cannot recurse.
        outputs = self.__dict__.get("outputs")
        if outputs is None or kind not in outputs:
            raise AttributeError(f"{type(self).__name__} has no step kind or field '{kind}'")
        return outputs[kind]


@dataclass
class RenderResult:
    render_id: str
    output: Path
    manifest: Path
    duration: float
    seconds: float
    scenes: list[SceneResult]
    executed: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)
    spent: float = 0.0
    # What the manifest is made of (pipeline/manifest.py), beside the scenes' outputs.
    final: Asset | None = None  # the joined video in the store (`output` is its copy)
    plan: RenderPlan | None = None
    costs: dict[tuple[int | None, str], dict[str, Any]] = field(default_factory=dict)  # per scene and step
    budget: float | None = None
    created: str = ""  # ISO time, UTC, to the second
    captions: tuple[Path, ...] = ()  # OUT.srt and OUT.vtt beside the video, when written
    finished_sound: Asset | None = None  # the finish step's WAV: mix, narration and music (pipeline/finish_step.py)
