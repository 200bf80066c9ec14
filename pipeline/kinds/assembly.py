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
from pipeline.transition_plan import (
    join_fields,
    join_pieces,
    join_with_pieces,
    overlapped_mixes,
    soundtrack_fields,
)


# `transition`: the key fields of the transitions (pipeline.transition_plan), empty when every boundary is a cut.
def soundtrack_key(profile: EncodeProfile, fmt: str, mix_sha256s: Sequence[str], **transition: Any) -> str:
    coder = {"aac_coder": profile.aac_coder} if profile.aac_coder != "twoloop" else {}  # default: keys as before
    return step_key("soundtrack", version=JOIN_VERSION, format=fmt, bitrate=AUDIO_BITRATE, rate=profile.audio_rate,
                    mixes=list(mix_sha256s), **coder, **transition)  # fmt: skip


def join_key(profile: EncodeProfile, fmt: str, segment_sha256s: Sequence[str], soundtrack_sha256: str,
             **transition: Any) -> str:  # fmt: skip
    return step_key("join", version=JOIN_VERSION, profile=profile.id, format=fmt, segments=list(segment_sha256s),
                    soundtrack=soundtrack_sha256, **transition)  # fmt: skip


def _soundtrack_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    return soundtrack_key(step.params["profile"], step.params["format"], [outputs[i].sha256 for i in step.inputs],
                          **soundtrack_fields(step.params))  # fmt: skip


def _join_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    segments, soundtrack = step.params.get("segments", step.inputs[:-1]), step.inputs[-1]
    return join_key(step.params["profile"], step.params["format"], [outputs[i].sha256 for i in segments],
                    outputs[soundtrack].sha256, **join_fields(step, outputs))  # fmt: skip


def _media(planning: Planning) -> dict[str, Any]:
    return {"format": planning.plan.storyboard.output.format, "profile": planning.plan.profile}


def _overlaps(planning: Planning) -> tuple[int, ...] | None:
    """Frames each boundary overlaps its scenes by (pipeline.transition_plan); None when every one is a cut."""
    overlaps = tuple(b.frames for b in planning.plan.boundaries)
    return overlaps if any(overlaps) else None


def _plan_soundtrack(planning: Planning, scene: ScenePlan | None) -> Step:
    # A step standing in for every mix at once (music, loudness) lays out the overlaps itself (overlapped_pcm).
    overlaps = _overlaps(planning) if len(planning.outputs_of("mix")) == len(planning.plan.scenes) else None
    return Step("soundtrack", "soundtrack", None, "ffmpeg", planning.outputs_of("mix"),
                {**_media(planning), **({"overlaps": overlaps} if overlaps else {})})  # fmt: skip


def _plan_join(planning: Planning, scene: ScenePlan | None) -> Step:
    sound = planning.output_of("soundtrack")
    assert sound is not None, "the sound track is planned before the join"
    segments = planning.outputs_of("segment")
    if not _overlaps(planning):
        return Step("join", "join", None, "ffmpeg", (*segments, sound), _media(planning))
    # Transitions: the join also takes each boundary's piece (by boundary, None for a cut) and names its segments.
    pieces = tuple(planning.output_of("transition", s.index) for s in planning.plan.scenes[1:])
    return Step("join", "join", None, "ffmpeg", (*segments, *(p for p in pieces if p), sound),
                {**_media(planning), "segments": segments, "transitions": pieces})  # fmt: skip


async def _execute_soundtrack(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """Every scene's sound, encoded once (while pictures may still be rendering)."""
    mixes, profile, fmt = [inputs[i] for i in step.inputs], step.params["profile"], step.params["format"]

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.05, "encoding the sound track once")
        tracks = overlapped_mixes(step.params, [m.path for m in mixes], profile, ctx.workdir)  # crossfaded overlaps
        out = encode_soundtrack(tracks, ctx.workdir / f"soundtrack{soundtrack_suffix(fmt)}", profile, fmt, ctx.cancel)
        return StepOutput(out, {"duration": sum(m.meta["frames"] for m in mixes) / profile.fps})

    return await run.cached_step(step, key_for(step, inputs), produce)


async def _execute_join(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """Stream-copy the pictures and the sound track into the final file."""
    segment_ids, soundtrack_id = step.params.get("segments", step.inputs[:-1]), step.inputs[-1]
    segments, soundtrack = [inputs[i] for i in segment_ids], inputs[soundtrack_id]
    profile, fmt, pieces = step.params["profile"], step.params["format"], join_pieces(step.params, inputs)

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.05, "joining the scenes")
        if pieces is not None:  # transitions: the segments' middles copied around each boundary's encoded piece
            return StepOutput(*join_with_pieces(segments, pieces, soundtrack.path, ctx.workdir / f"final.{fmt}",
                                                profile, fmt, ctx.cancel, ctx.encoders))  # fmt: skip
        out = join_segments([s.path for s in segments], soundtrack.path, ctx.workdir / f"final.{fmt}", profile, fmt,
                            ctx.cancel, ctx.encoders)  # fmt: skip
        return StepOutput(out, {"duration": sum(s.meta["frames"] for s in segments) / profile.fps})

    return await run.cached_step(step, key_for(step, inputs), produce)


kinds.register(StepKind("soundtrack", per_scene=False, label="Sound track", media="audio", plan=_plan_soundtrack,
                        execute=_execute_soundtrack, key=_soundtrack_key))  # fmt: skip
kinds.register(StepKind("join", per_scene=False, label="Join", media="video", plan=_plan_join,
                        execute=_execute_join, key=_join_key, final=True))  # fmt: skip
