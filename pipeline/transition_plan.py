"""Transitions in the step graph: how many frames each boundary overlaps, and what that changes in other kinds.

    boundaries = plan_boundaries(storyboard, fps)  # one Boundary per pair of neighbouring scenes: type, overlap
    scene_cuts(boundaries, i)                      # {"head": frames, "tail": frames} for scene i's segment and mix

With every boundary a cut (the default) nothing here adds a field to any step: every key and every output byte is
what it was before transitions existed. With overlaps:

- segment:i and mix:i carry `head`/`tail` (frames overlapped by the previous and next scene). The segment puts
  keyframes at both cut points, the mix starts the narration after the head and ends it before the tail (so the
  scene lasts longer when its narration needs the room), and both keys name them.
- transition:i (pipeline/kinds/transitions.py; the passage *into* scene i, for each boundary that is not a cut)
  blends scene i-1's segment's tail into scene i's segment's head.
- soundtrack crossfades the mixes over each overlap; join copies the segments' middles around the transition pieces.

The segment, mix, soundtrack and join kinds call the helpers here; this module imports no step machinery (so no
kind module depends on another's registration order): the functions take a step's params, and a step and its
inputs' outputs duck-typed (`.params`, `.inputs`, `.sha256`, `.path`, `.meta`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, get_args

from pipeline.cancel import CancelToken
from pipeline.media.budget import EncoderBudget
from pipeline.media.join import concat_wavs
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import NARRATION_LEAD
from pipeline.media.transitions import (
    TRANSITION_VERSION,
    TransitionPiece,
    join_with_transitions,
    overlap_mixes,
)
from pipeline.store import step_key
from pipeline.storyboard import Storyboard, TransitionSettings, transition_into_next


# What a person picks from (the studio's transition controls; the CLI and YAML take the values).
TRANSITION_LABELS = {"cut": "Cut", "crossfade": "Crossfade", "fade_black": "Fade through black"}


def transition_choices() -> list[tuple[str, str]]:
    """(label, value) per transition type, in the storyboard schema's order: a dropdown's choices (gradio takes
    (label, value) pairs). A type added to the schema without a label here fails loudly (KeyError)."""
    values = get_args(TransitionSettings.model_fields["type"].annotation)
    return [(TRANSITION_LABELS[v], v) for v in values]


@dataclass(frozen=True)
class Boundary:
    """The passage from scene `index` into scene `index + 1`."""

    index: int
    type: str  # cut | crossfade | fade_black
    frames: int  # overlap; 0 for a cut

    @property
    def step_id(self) -> str:
        """Its step is the passage into the next scene, so it is that scene's (the board shows it in its row)."""
        return f"transition:{self.index + 1}"


def plan_boundaries(storyboard: Storyboard, fps: int) -> list[Boundary]:
    scenes, out = storyboard.scenes, []
    for i in range(len(scenes) - 1):
        t = transition_into_next(scenes, storyboard.transition, i)
        frames = 0 if t.type == "cut" else max(1, round(t.seconds * fps))
        out.append(Boundary(i, t.type if frames else "cut", frames))
    return out


def scene_starts(frames: Sequence[int], boundaries: Sequence[Boundary]) -> list[int]:
    """The frame each scene starts at in the final video (scenes of `frames` frames, each boundary's overlap taken
    off): what sidecar captions and the timeline place things by. A scene's narration starts NARRATION_LEAD plus
    its head overlap after its start."""
    starts, at = [], 0
    for i, n in enumerate(frames):
        starts.append(at)
        at += n - (boundaries[i].frames if i < len(boundaries) else 0)
    return starts


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


# -- what the other kinds' executors do differently when a scene overlaps its neighbours ------------------------


def narration_lead(params: Mapping[str, Any]) -> float:
    """Seconds of a scene's sound before its first word: after the incoming transition's overlap."""
    return NARRATION_LEAD + params.get("head", 0) / params["fps"]


def overlapped_mixes(params: Mapping[str, Any], mixes: list[Path], profile: EncodeProfile, workdir: Path) -> list[Path]:
    """The scene mixes the sound track is made of: as they are, or one track with each overlap crossfaded."""
    overlaps = params.get("overlaps")
    if not overlaps:
        return mixes
    return [overlap_mixes(mixes, overlaps, profile, workdir / "overlapped.wav")]


def lay_out_mixes(mixes: list[Path], overlaps: Sequence[int] | None, profile: EncodeProfile, out: Path) -> Path:
    """The scenes' mixes as one PCM track of the video's length: end to end (cuts: byte for byte what the sound
    track concatenates today), or each overlap crossfaded. For a step that stands in for every mix (a music and
    loudness pass): give it `overlaps` in its params and key, and the sound track after it adds none."""
    if not overlaps or not any(overlaps):
        return concat_wavs(mixes, out)
    return overlap_mixes(mixes, overlaps, profile, out)


def join_pieces(params: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[TransitionPiece | None] | None:
    """The transition pieces by boundary (None for a cut), or None when the join has no transitions."""
    ids = params.get("transitions")
    if not ids:
        return None
    return [TransitionPiece(inputs[i].path, inputs[i].meta["a_from"], inputs[i].meta["b_to"], inputs[i].meta["frames"])
            if i else None for i in ids]  # fmt: skip


def join_with_pieces(
    segments: list[Any], pieces: list[TransitionPiece | None], soundtrack: Path, out: Path, profile: EncodeProfile,
    fmt: str, cancel: CancelToken | None, encoders: EncoderBudget | None = None,
) -> tuple[Path, dict[str, Any]]:  # fmt: skip
    """The final file of a render with transitions, and its meta: its duration (the scenes less their overlaps)."""
    join_with_transitions([s.path for s in segments], pieces, soundtrack, out, profile, fmt, cancel, encoders)
    overlaps = sum((s.meta["frames"] - p.a_from) + p.b_to - p.frames for s, p in zip(segments, pieces) if p)
    frames = sum(s.meta["frames"] for s in segments) - overlaps
    return out, {"duration": frames / profile.fps, "frames": frames}
