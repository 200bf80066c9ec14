"""Every step of a render as data, and the one place a step's content key is computed: the public face of the
step-kind registry (pipeline/kinds/).

    graph = plan_steps(plan, credentials)          # after plan_render: every registered kind's steps, in order
    step = graph["video:0"]                        # ids are "<kind>:<scene>" per scene, "<kind>" render-wide
    key = key_for(step, {"image:0": image})        # from the outputs of step.inputs, once they exist

A step whose inputs are all known at planning time (image, voice, a silent scene's mix) carries its key; the others
(video ← image bytes, segment ← clip bytes + frames, mix ← narration bytes + frames, soundtrack ← mixes,
join ← segments + soundtrack) get it from `key_for` once their inputs exist, by their kind's pure key function. The
runner, the estimate and step-by-step control all key through here, so "cached" means the same thing everywhere.

    image ──► video ──┐
                      ├──► segment (picture, exact frames) ──────────────────────┐
    voice ────────────┴──► mix (sound, exact samples) ──► soundtrack (all scenes) ┴──► join

Each kind is one `StepKind` registered in its own module (pipeline/kinds/generation.py: image, video, voice;
scene_media.py: segment, mix; assembly.py: soundtrack, join); how a new one slots in: pipeline/kinds/base.py.
"""

from pipeline.kinds import Planning, Step, StepGraph, StepKind, key_for, kinds, plan_steps, step_id
from pipeline.kinds.assembly import join_key, soundtrack_key
from pipeline.kinds.generation import APPROVED, clip_request, image_key, paying_key, provider_key, voice_key
from pipeline.kinds.scene_media import mix_key, scene_frames, segment_key

__all__ = ["APPROVED", "Planning", "Step", "StepGraph", "StepKind", "clip_request", "image_key", "join_key",
           "key_for", "kinds", "mix_key", "paying_key", "plan_steps", "provider_key", "scene_frames", "segment_key",
           "soundtrack_key", "step_id", "voice_key"]  # fmt: skip
