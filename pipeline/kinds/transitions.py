"""The transition kind: the passage into scene i (crossfade or fade through black), its overlapped frames encoded
once from the two neighbouring segments' outputs; the join copies everything else (pipeline/media/transitions.py).

    segment:i-1 ──┐
                  ├──► transition:i (only the overlap, encoded) ──► join
    segment:i ────┘

A scene whose incoming boundary is a cut (the default) has no transition step, so a render of cuts plans, keys and
makes exactly what it did before. How the overlaps change the segment, mix, sound track and join:
pipeline/transition_plan.py. Registered after the built-ins (this folder's modules load after them), so in each
scene it is planned after the segments it takes: the previous scene's and its own.
"""

from __future__ import annotations

from typing import Any, Mapping

from pipeline.kinds.base import Planning, Step, StepKind, key_for, kinds
from pipeline.media.transitions import render_transition
from pipeline.plan import ScenePlan
from pipeline.providers.base import StepContext, StepOutput
from pipeline.store import Asset
from pipeline.transition_plan import transition_key_from_inputs


def _plan_transition(planning: Planning, scene: ScenePlan | None) -> Step | None:
    assert scene is not None
    if scene.index == 0:
        return None
    profile = planning.plan.profile
    boundary = planning.plan.boundaries[scene.index - 1]
    if not boundary.frames:
        return None
    before, after = planning.output_of("segment", scene.index - 1), planning.output_of("segment", scene.index)
    assert before is not None and after is not None, "every scene has a segment"
    return Step(boundary.step_id, "transition", scene.index, "ffmpeg", (before, after),
                {"type": boundary.type, "frames": boundary.frames, "profile": profile})  # fmt: skip


async def _execute_transition(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The blended frames of one boundary, encoded once (cached by both segments' bytes, type and length)."""
    a, b = (inputs[i] for i in step.inputs)
    kind, frames, profile = step.params["type"], step.params["frames"], step.params["profile"]

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.1, f"rendering a {kind.replace('_', ' ')} of {frames} frames")
        piece = render_transition(a.path, b.path, kind, frames, profile, ctx.workdir / "transition.mp4", ctx.cancel,
                                  ctx.encoders)  # fmt: skip
        return StepOutput(piece.path, {"frames": piece.frames, "a_from": piece.a_from, "b_to": piece.b_to,
                                       "duration": piece.frames / profile.fps})  # fmt: skip

    return await run.cached_step(step, key_for(step, inputs), produce)


kinds.register(StepKind("transition", per_scene=True, label="Transition", media="video", plan=_plan_transition,
                        execute=_execute_transition, key=transition_key_from_inputs,
                        only_when_planned=True))  # fmt: skip
