"""What a render returns: every scene's outputs, the final file's asset, what ran, what was cached, what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.plan import RenderPlan
from pipeline.store import Asset


@dataclass
class SceneResult:
    index: int
    image: Asset
    video: Asset
    segment: Asset
    voice: Asset | None
    mix: Asset
    frames: int


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
    finished_sound: Asset | None = None  # the finish step's WAV: mix, narration and music (pipeline/finish_step.py)
