"""Transitions in the step graph: how many frames each boundary overlaps, and the keys that depend on it.

    boundaries = plan_boundaries(plan)       # one Boundary per pair of neighbouring scenes: type and overlap frames
    scene_cuts(boundaries, i)                # {"head": frames, "tail": frames} for scene i's segment and mix params

With every boundary a cut (the default) nothing here adds a field to any step: every key and every output byte is
what it was before transitions existed. With overlaps:

- segment:i and mix:i carry `head`/`tail` (frames overlapped by the previous and next scene). The segment puts
  keyframes at both cut points, the mix starts the narration after the head and ends it before the tail (so the
  scene lasts longer when its narration needs the room), and both keys name them.
- transition:i (render-wide; one per boundary that is not a cut) blends segment:i's tail into segment:i+1's head.
- soundtrack crossfades the mixes over each overlap; join copies the segments' middles around the transition pieces.

Steps are built in pipeline.steps, which imports this module; this module imports no step machinery, so the key
functions take a step and its inputs' outputs duck-typed (`.params`, `.inputs`, `.sha256`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pipeline.media.transitions import TRANSITION_VERSION
from pipeline.store import step_key
from pipeline.storyboard import Storyboard, transition_into_next


@dataclass(frozen=True)
class Boundary:
    """The passage from scene `index` into scene `index + 1`."""

    index: int
    type: str  # cut | crossfade | fade_black
    frames: int  # overlap; 0 for a cut

    @property
    def step_id(self) -> str:
        return f"transition:{self.index}"


def plan_boundaries(storyboard: Storyboard, fps: int) -> list[Boundary]:
    scenes, out = storyboard.scenes, []
    for i in range(len(scenes) - 1):
        t = transition_into_next(scenes, storyboard.transition, i)
        frames = 0 if t.type == "cut" else max(1, round(t.seconds * fps))
        out.append(Boundary(i, t.type if frames else "cut", frames))
    return out


def scene_cuts(boundaries: Sequence[Boundary], index: int) -> dict[str, int]:
    """The step params of scene `index`'s overlaps: none at all when both of its boundaries are cuts."""
    head = boundaries[index - 1].frames if index > 0 else 0
    tail = boundaries[index].frames if index < len(boundaries) else 0
    return {"head": head, "tail": tail} if head or tail else {}


def cut_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    """The key fields of a scene step's overlaps: {} for a scene between two cuts (so its key is unchanged)."""
    head, tail = params.get("head", 0), params.get("tail", 0)
    return {"cuts": [head, tail]} if head or tail else {}


def transition_key(profile: Any, kind: str, frames: int, a_sha256: str, b_sha256: str) -> str:
    return step_key("transition", version=TRANSITION_VERSION, type=kind, frames=frames, profile=profile.id,
                    a=a_sha256, b=b_sha256)  # fmt: skip


def transition_key_from_inputs(step: Any, outputs: Mapping[str, Any]) -> str:
    a, b = step.inputs
    return transition_key(step.params["profile"], step.params["type"], step.params["frames"], outputs[a].sha256,
                          outputs[b].sha256)  # fmt: skip


def soundtrack_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    """The sound track's key fields of its overlaps: {} when every boundary is a cut."""
    overlaps = params.get("overlaps")
    return {"overlaps": list(overlaps), "transition": TRANSITION_VERSION} if overlaps else {}


def join_fields(step: Any, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The join's key fields of its transition pieces (by boundary; None for a cut): {} when there are none."""
    pieces = step.params.get("transitions")
    if not pieces:
        return {}
    return {"transitions": [outputs[p].sha256 if p else None for p in pieces], "transition": TRANSITION_VERSION}
