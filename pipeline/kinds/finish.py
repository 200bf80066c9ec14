"""The `finish` step kind: every scene's mix, the music bed ducked under the narration, one loudness
(pipeline/finish_step.py).

It is render-wide and wraps "mix": it stands in for every scene's mix at once, so the sound track (planned after
it) takes `finish` alone and encodes its one WAV as it encoded the mixes.

    mix:0 … mix:n ──► finish ──► soundtrack ──► join
"""

from __future__ import annotations

from pipeline.finish_step import execute_finish, finish_key_from_inputs, finish_params
from pipeline.kinds.base import Planning, Step, StepKind, kinds
from pipeline.plan import ScenePlan


def _plan_finish(planning: Planning, scene: ScenePlan | None) -> Step:
    plan = planning.plan
    return Step("finish", "finish", None, "ffmpeg", planning.outputs_of("mix"),
                finish_params(plan.storyboard, plan.profile))  # fmt: skip


kinds.register(StepKind("finish", per_scene=False, label="Music & loudness", media="audio", plan=_plan_finish,
                        execute=execute_finish, key=finish_key_from_inputs, wraps="mix"))  # fmt: skip
