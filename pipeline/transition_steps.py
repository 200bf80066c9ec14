"""Running the transition steps, and the transition-aware parts of the mix, segment, sound track and join.

    EXECUTORS["transition"] = execute_transition       # registered in pipeline/executors.py

Each helper here returns what today's code does when the step has no overlaps (`head`/`tail`/`overlaps`/
`transitions` params, pipeline.transition_plan), so a render of cuts runs exactly as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from pipeline.cancel import CancelToken
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import NARRATION_LEAD
from pipeline.media.transitions import (
    TransitionPiece,
    cut_keyframes,
    join_with_transitions,
    overlap_mixes,
    render_transition,
)
from pipeline.providers.base import StepContext, StepOutput
from pipeline.steps import Step, key_for
from pipeline.store import Asset


async def execute_transition(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The blended frames of one boundary, encoded once (cached by both segments' bytes, type and length)."""
    a, b = (inputs[i] for i in step.inputs)
    kind, frames, profile = step.params["type"], step.params["frames"], step.params["profile"]

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.1, f"rendering a {kind.replace('_', ' ')} of {frames} frames")
        piece = render_transition(a.path, b.path, kind, frames, profile, ctx.workdir / "transition.mp4", ctx.cancel)
        return StepOutput(piece.path, {"frames": piece.frames, "a_from": piece.a_from, "b_to": piece.b_to,
                                       "duration": piece.frames / profile.fps})  # fmt: skip

    return await run.cached_step(step, "video", key_for(step, inputs), produce)


def narration_lead(step: Step) -> float:
    """Seconds of a scene's sound before its first word: after the incoming transition's overlap."""
    return NARRATION_LEAD + step.params.get("head", 0) / step.params["fps"]


def segment_keyframes(step: Step, frames: int) -> tuple[int, ...]:
    """Where a scene's segment must start GOPs so the join can cut its middle out by stream copy (none for cuts)."""
    return cut_keyframes(frames, step.params.get("head", 0), step.params.get("tail", 0))


def overlapped_mixes(step: Step, mixes: list[Path], profile: EncodeProfile, workdir: Path) -> list[Path]:
    """The scene mixes the sound track is made of: as they are, or one track with each overlap crossfaded."""
    overlaps = step.params.get("overlaps")
    if not overlaps:
        return mixes
    return [overlap_mixes(mixes, overlaps, profile, workdir / "overlapped.wav")]


def join_pieces(step: Step, inputs: Mapping[str, Asset]) -> list[TransitionPiece | None] | None:
    """The transition pieces by boundary (None for a cut), or None when the join has no transitions."""
    ids = step.params.get("transitions")
    if not ids:
        return None
    return [TransitionPiece(inputs[i].path, inputs[i].meta["a_from"], inputs[i].meta["b_to"], inputs[i].meta["frames"])
            if i else None for i in ids]  # fmt: skip


def join_with_pieces(
    segments: list[Asset], pieces: list[TransitionPiece | None], soundtrack: Path, out: Path, profile: EncodeProfile,
    fmt: str, cancel: CancelToken | None,
) -> StepOutput:  # fmt: skip
    """The final file of a render with transitions, and its duration (the scenes less their overlaps)."""
    join_with_transitions([s.path for s in segments], pieces, soundtrack, out, profile, fmt, cancel)
    overlaps = sum((s.meta["frames"] - p.a_from) + p.b_to - p.frames for s, p in zip(segments, pieces) if p)
    frames = sum(s.meta["frames"] for s in segments) - overlaps
    return StepOutput(out, {"duration": frames / profile.fps, "frames": frames})
