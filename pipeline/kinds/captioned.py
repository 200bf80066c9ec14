"""The `captioned` step kind: a narrated scene's segment with its captions burned in (pipeline/captions/steps.py).

It wraps "segment", so the join (and anything planned later that takes a scene's segment) takes captioned:i
instead; a scene without narration, or a storyboard with `captions.burn_in: false`, plans no captioned step and
keeps its segment, under the key it had before captions existed. Nor does a scene whose clip is drawn with its
captions (the offline camera move, when nobody is paid: pipeline.captions.steps.draws_captions).
"""

from __future__ import annotations

from pipeline.captions.steps import KIND, captioned_key, captioned_params, execute_captioned
from pipeline.kinds.base import Planning, Step, StepKind, kinds, step_id
from pipeline.plan import ScenePlan


def _plan_captioned(planning: Planning, scene: ScenePlan | None) -> Step | None:
    assert scene is not None
    params = captioned_params(planning.plan, scene)
    segment, narration = planning.output_of("segment", scene.index), planning.output_of("voice", scene.index)
    if params is None or segment is None or narration is None:
        return None
    return Step(step_id(KIND, scene.index), KIND, scene.index, "ffmpeg", (segment, narration), params)


kinds.register(StepKind(KIND, per_scene=True, label="Captions", media="video", plan=_plan_captioned,
                        execute=execute_captioned, key=captioned_key, wraps="segment"))  # fmt: skip
