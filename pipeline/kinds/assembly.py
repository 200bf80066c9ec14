"""The render-wide kinds: every scene's sound encoded once (soundtrack, as soon as every mix exists, while pictures
may still be rendering), and the final file (join: the scenes' pictures and the sound track stream-copied).

    mix:0…n ──► soundtrack ──┐
    segment:0…n ─────────────┴──► join (the render's file)
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from pipeline.kinds.base import Planning, Step, StepKind, key_for, kinds
from pipeline.media.join import AUDIO_BITRATE, JOIN_VERSION, encode_soundtrack, join_segments, soundtrack_suffix
from pipeline.media.profile import EncodeProfile
from pipeline.plan import ScenePlan
from pipeline.providers.base import StepContext, StepOutput
from pipeline.store import Asset, step_key


def soundtrack_key(profile: EncodeProfile, fmt: str, mix_sha256s: Sequence[str]) -> str:
    return step_key("soundtrack", version=JOIN_VERSION, format=fmt, bitrate=AUDIO_BITRATE, rate=profile.audio_rate,
                    mixes=list(mix_sha256s))  # fmt: skip


def join_key(profile: EncodeProfile, fmt: str, segment_sha256s: Sequence[str], soundtrack_sha256: str) -> str:
    return step_key("join", version=JOIN_VERSION, profile=profile.id, format=fmt, segments=list(segment_sha256s),
                    soundtrack=soundtrack_sha256)  # fmt: skip


def _soundtrack_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    return soundtrack_key(step.params["profile"], step.params["format"], [outputs[i].sha256 for i in step.inputs])


def _join_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    *segments, soundtrack = step.inputs
    return join_key(step.params["profile"], step.params["format"], [outputs[i].sha256 for i in segments],
                    outputs[soundtrack].sha256)  # fmt: skip


def _media(planning: Planning) -> dict[str, Any]:
    return {"format": planning.plan.storyboard.output.format, "profile": planning.plan.profile}


def _plan_soundtrack(planning: Planning, scene: ScenePlan | None) -> Step:
    return Step("soundtrack", "soundtrack", None, "ffmpeg", planning.outputs_of("mix"), _media(planning))


def _plan_join(planning: Planning, scene: ScenePlan | None) -> Step:
    sound = planning.output_of("soundtrack")
    assert sound is not None, "the sound track is planned before the join"
    return Step("join", "join", None, "ffmpeg", (*planning.outputs_of("segment"), sound), _media(planning))


async def _execute_soundtrack(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """Every scene's sound, encoded once (while pictures may still be rendering)."""
    mixes, profile, fmt = [inputs[i] for i in step.inputs], step.params["profile"], step.params["format"]

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.05, "encoding the sound track once")
        out = encode_soundtrack([m.path for m in mixes], ctx.workdir / f"soundtrack{soundtrack_suffix(fmt)}",
                                profile, fmt, ctx.cancel)  # fmt: skip
        return StepOutput(out, {"duration": sum(m.meta["frames"] for m in mixes) / profile.fps})

    return await run.cached_step(step, key_for(step, inputs), produce)


async def _execute_join(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """Stream-copy the pictures and the sound track into the final file."""
    *segment_ids, soundtrack_id = step.inputs
    segments, soundtrack = [inputs[i] for i in segment_ids], inputs[soundtrack_id]
    profile, fmt = step.params["profile"], step.params["format"]

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.05, "joining the scenes")
        out = join_segments([s.path for s in segments], soundtrack.path, ctx.workdir / f"final.{fmt}", profile, fmt,
                            ctx.cancel)  # fmt: skip
        return StepOutput(out, {"duration": sum(s.meta["frames"] for s in segments) / profile.fps})

    return await run.cached_step(step, key_for(step, inputs), produce)


kinds.register(StepKind("soundtrack", per_scene=False, label="Sound track", media="audio", plan=_plan_soundtrack,
                        execute=_execute_soundtrack, key=_soundtrack_key))  # fmt: skip
kinds.register(StepKind("join", per_scene=False, label="Join", media="video", plan=_plan_join,
                        execute=_execute_join, key=_join_key, final=True))  # fmt: skip
