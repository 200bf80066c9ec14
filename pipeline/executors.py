"""One function per step kind: what running a step of that kind does, given the outputs of its inputs.

    EXECUTORS["video"](run, step, inputs)   # → the step's Asset (made, or found in the cache)

Each executor keys its step through pipeline/steps.py and hands the work to the runner's one cached-step call
(`run.cached_step`: cache lookup, limits, money, audit, events, cancellation), so adding a step kind is one step
definition in steps.py and one function here. `run` is the render in progress (pipeline.runner.Render); it is not
imported, so this module depends only on what steps and media need.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Mapping

from pipeline.errors import InputError
from pipeline.finish_step import execute_finish
from pipeline.media.join import encode_soundtrack, join_segments, soundtrack_suffix
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import build_scene_audio, clip_in_profile, fit_clip, hold_last_frame
from pipeline.media.watermark import render_watermark
from pipeline.providers import registry
from pipeline.providers.base import StepContext, StepOutput
from pipeline.steps import APPROVED, Step, clip_request, key_for, scene_frames, step_id
from pipeline.store import Asset

Executor = Callable[[Any, Step, Mapping[str, Asset]], Awaitable[Asset]]


async def execute_image(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The scene's picture: the approved (pinned) one when the scene has it, else generated (or cached)."""
    if step.provider == APPROVED:
        pinned = run.pinned_image(step.params["sha256"])
        if pinned is None:
            raise InputError(f"scenes[{step.scene}].image: the approved image is no longer in the store; "
                             "generate or upload it again")  # fmt: skip
        run.executor.reused(step.scene, "image", APPROVED, "image", pinned)
        return pinned
    provider, request = registry.get("image", step.provider), step.params["request"]
    image = await run.cached_step(step, "image", key_for(step, inputs), lambda ctx: provider.generate(request, ctx),
                                  cost=run.cost("image", provider, request), prompt=request.prompt)  # fmt: skip
    # Made (or reused from the cache) for this owner: from now on they may pin it by its hash.
    await asyncio.to_thread(run.owned_images.record, run.owner, image.sha256, "generated")
    return image


async def execute_video(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    provider, request = registry.get("video", step.provider), clip_request(step, inputs[step.inputs[0]])
    return await run.cached_step(step, "video", key_for(step, inputs), lambda ctx: provider.generate(request, ctx),
                                 cost=run.cost("video", provider, request), prompt=request.prompt)  # fmt: skip


async def execute_voice(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    provider, request = registry.get("voice", step.provider), step.params["request"]
    return await run.cached_step(step, "audio", key_for(step, inputs), lambda ctx: provider.generate(request, ctx),
                                 cost=run.cost("voice", provider, request), prompt=request.text)  # fmt: skip


async def execute_mix(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The scene's sound at the segment's exact length: its narration (if any), padded with silence."""
    voice, profile = inputs.get(step_id("voice", step.scene)), step.params["profile"]
    frames = scene_frames(step, inputs)
    return await run.cached_step(
        step, "audio", key_for(step, inputs),
        lambda ctx: StepOutput(build_scene_audio(voice.path if voice else None, frames, profile,
                                                 ctx.workdir / "mix.wav"),
                               {"frames": frames, "duration": frames / profile.fps}),
    )  # fmt: skip


async def execute_segment(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The scene's picture at its exact length (the narration's, when longer than the clip)."""
    clip, frames = inputs[step_id("video", step.scene)], scene_frames(step, inputs)
    profile, watermark = step.params["profile"], step.params["watermark"]
    return await run.cached_step(step, "video", key_for(step, inputs),
                                 lambda ctx: make_segment(profile, clip, frames, watermark, ctx))  # fmt: skip


def make_segment(profile: EncodeProfile, clip: Asset, frames: int, watermark: bool, ctx: StepContext) -> StepOutput:
    if not watermark and clip_in_profile(clip.meta, profile):
        clip_frames = clip.meta["frames"]
        if clip_frames == frames:
            ctx.progress(1.0, "clip already in the delivery format: used as is")
            return StepOutput(clip.path, {"frames": frames, "reencoded": False})
        if clip_frames < frames:
            ctx.progress(0.1, "holding the last frame for the narration")
            out = hold_last_frame(clip.path, clip_frames, ctx.workdir / "segment.mp4", frames, profile, ctx.cancel)
            return StepOutput(out, {"frames": frames, "reencoded": False, "held": frames - clip_frames})
    mark = render_watermark(ctx.workdir / "mark.png", profile.height) if watermark else None
    ctx.progress(0.1, "encoding the segment")
    out = fit_clip(clip.path, ctx.workdir / "segment.mp4", frames, profile, ctx.cancel, mark)
    return StepOutput(out, {"frames": frames, "reencoded": True})


async def execute_soundtrack(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """Every scene's sound, encoded once (while pictures may still be rendering)."""
    mixes, profile, fmt = [inputs[i] for i in step.inputs], step.params["profile"], step.params["format"]

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.05, "encoding the sound track once")
        out = encode_soundtrack([m.path for m in mixes], ctx.workdir / f"soundtrack{soundtrack_suffix(fmt)}",
                                profile, fmt, ctx.cancel)  # fmt: skip
        return StepOutput(out, {"duration": sum(m.meta["frames"] for m in mixes) / profile.fps})

    return await run.cached_step(step, "audio", key_for(step, inputs), produce)


async def execute_join(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """Stream-copy the pictures and the sound track into the final file."""
    *segment_ids, soundtrack_id = step.inputs
    segments, soundtrack = [inputs[i] for i in segment_ids], inputs[soundtrack_id]
    profile, fmt = step.params["profile"], step.params["format"]

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.05, "joining the scenes")
        out = join_segments([s.path for s in segments], soundtrack.path, ctx.workdir / f"final.{fmt}", profile, fmt,
                            ctx.cancel)  # fmt: skip
        return StepOutput(out, {"duration": sum(s.meta["frames"] for s in segments) / profile.fps})

    return await run.cached_step(step, "video", key_for(step, inputs), produce)


EXECUTORS: dict[str, Executor] = {
    "image": execute_image,
    "video": execute_video,
    "voice": execute_voice,
    "segment": execute_segment,
    "mix": execute_mix,
    "finish": execute_finish,
    "soundtrack": execute_soundtrack,
    "join": execute_join,
}
