"""A scene's picture and sound at its exact length (ffmpeg work, free): the segment (the clip fitted to the scene's
frames) and the mix (the narration padded with silence to the same frames). The scene's length is its requested
duration, stretched to its narration's, up to `output.max_scene_seconds` when the storyboard sets it.

    video ──┐
            ├──► segment (picture, exact frames)
    voice ──┴──► mix (sound, exact samples)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from pipeline.captions.steps import burns_captions
from pipeline.kinds.base import Planning, Step, StepKind, key_for, kinds, step_id
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import (
    NARRATION_LEAD,
    SEGMENT_VERSION,
    build_scene_audio,
    clip_in_profile,
    fit_clip,
    hold_last_frame,
    segment_frames,
)
from pipeline.media.watermark import render_label, render_watermark
from pipeline.plan import ScenePlan
from pipeline.providers.base import StepContext, StepOutput
from pipeline.store import Asset, step_key
from pipeline.media.transitions import cut_keyframes, middle_is_copyable
from pipeline.transition_plan import cut_fields, narration_lead, scene_cuts


# `transition`: the key fields of a scene's overlaps with its neighbours (pipeline.transition_plan.cut_fields),
# empty between two cuts, so those keys are what they always were.
def mix_key(profile: EncodeProfile, voice_sha256: str | None, frames: int, **transition: Any) -> str:
    return step_key("mix", version=SEGMENT_VERSION, voice=voice_sha256, frames=frames, fps=profile.fps,
                    rate=profile.audio_rate, channels=profile.audio_channels, lead=NARRATION_LEAD,
                    **transition)  # fmt: skip


def segment_key(profile: EncodeProfile, clip_sha256: str, frames: int, watermark: bool, label: str | None = None,
                **transition: Any) -> str:  # fmt: skip
    labelled = {"label": label} if label else {}  # only when set: unlabelled segments keep their keys
    return step_key("segment", version=SEGMENT_VERSION, clip=clip_sha256, frames=frames, profile=profile.id,
                    watermark=watermark, **labelled, **transition)  # fmt: skip


def scene_frames(step: Step, outputs: Mapping[str, Asset]) -> int:
    """A scene's exact length in frames: its requested duration, stretched to its narration's (a segment's and a
    mix's step carry `duration`, `fps` and `narration`: the id of the step whose output is the scene's narration,
    or None)."""
    narration_id = step.params.get("narration")
    voice = outputs.get(narration_id) if narration_id else None
    narration = float(voice.meta["duration"]) if voice is not None else None
    return segment_frames(step.params["duration"], narration, step.params["fps"], step.params.get("head", 0),
                          step.params.get("tail", 0), step.params.get("max_seconds"))  # fmt: skip


def _mix_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    narration_id = step.params["narration"]
    voice = outputs.get(narration_id) if narration_id else None
    return mix_key(step.params["profile"], voice.sha256 if voice else None, scene_frames(step, outputs),
                   **cut_fields(step.params))  # fmt: skip


def _segment_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    clip = outputs[step.inputs[0]]
    return segment_key(step.params["profile"], clip.sha256, scene_frames(step, outputs), step.params["watermark"],
                       step.params.get("label"), **cut_fields(step.params))  # fmt: skip


def scene_length(planning: Planning, scene: ScenePlan) -> dict[str, Any]:
    """What decides a scene's length in frames (`scene_frames`): its duration, the format's rate, the id of its
    narration step (planned before), the storyboard's cap and the transitions' overlaps."""
    profile = planning.plan.profile
    narration = planning.output_of("voice", scene.index)
    return {"duration": scene.duration, "fps": profile.fps, "profile": profile, "narration": narration,
            "max_seconds": planning.plan.storyboard.output.max_scene_seconds,
            **scene_cuts(planning.plan.boundaries, scene.index)}  # fmt: skip


def _plan_segment(planning: Planning, scene: ScenePlan | None) -> Step:
    assert scene is not None
    i, length = scene.index, scene_length(planning, scene)
    clip = planning.output_of("video", i)
    assert clip is not None, "every scene has a clip"
    narration = (length["narration"],) if length["narration"] else ()
    # A scene whose captions are burned in gets its label drawn with them (one encode less); the others here.
    label = None if burns_captions(planning.plan, scene) else planning.plan.storyboard.output.label
    return Step(step_id("segment", i), "segment", i, "ffmpeg", (clip, *narration),
                {**length, "watermark": planning.plan.storyboard.output.watermark, "label": label})  # fmt: skip


def _plan_mix(planning: Planning, scene: ScenePlan | None) -> Step:
    assert scene is not None
    i, length = scene.index, scene_length(planning, scene)
    narration = (length["narration"],) if length["narration"] else ()
    mix = Step(step_id("mix", i), "mix", i, "ffmpeg", narration, length)
    if not narration:  # a silent scene's sound follows from the plan alone
        mix = dataclasses.replace(mix, key=_mix_key(mix, {}))
    return mix


async def _execute_mix(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The scene's sound at the segment's exact length: its narration (if any), padded with silence."""
    narration_id, profile = step.params["narration"], step.params["profile"]
    voice = inputs.get(narration_id) if narration_id else None
    frames = scene_frames(step, inputs)
    return await run.cached_step(
        step, key_for(step, inputs),
        lambda ctx: StepOutput(build_scene_audio(voice.path if voice else None, frames, profile,
                                                 ctx.workdir / "mix.wav", narration_lead(step.params)),
                               {"frames": frames, "duration": frames / profile.fps}),
    )  # fmt: skip


async def _execute_segment(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The scene's picture at its exact length (the narration's, when longer than the clip)."""
    clip, frames = inputs[step.inputs[0]], scene_frames(step, inputs)
    profile, watermark, label = step.params["profile"], step.params["watermark"], step.params.get("label")
    cuts = (step.params.get("head", 0), step.params.get("tail", 0))
    return await run.cached_step(step, key_for(step, inputs),
                                 lambda ctx: make_segment(profile, clip, frames, watermark, ctx, cuts, label))  # fmt: skip


def make_segment(profile: EncodeProfile, clip: Asset, frames: int, watermark: bool, ctx: StepContext,
                 cuts: tuple[int, int] = (0, 0), label: str | None = None) -> StepOutput:  # fmt: skip
    """`cuts`: the frames the neighbouring scenes' transitions overlap this one by (head, tail). A clip in the
    profile is still used as it is when the join can copy a middle out of it; else the re-encode puts keyframes
    at the cut points, so each transition re-encodes only its overlap. `label`: a tag in the top-right corner."""
    in_profile, clip_frames = clip_in_profile(clip.meta, profile), clip.meta.get("frames")
    held_from = clip_frames if in_profile and clip_frames < frames else None
    copyable = in_profile and (not any(cuts) or middle_is_copyable(clip.path, frames, *cuts, held_from=held_from))
    if not watermark and not label and copyable:
        if clip_frames == frames:
            ctx.progress(1.0, "clip already in the delivery format: used as is")
            return StepOutput(clip.path, {"frames": frames, "reencoded": False})
        if clip_frames < frames:
            ctx.progress(0.1, "holding the last frame for the narration")
            out = hold_last_frame(clip.path, clip_frames, ctx.workdir / "segment.mp4", frames, profile, ctx.cancel,
                                  ctx.encoders)  # fmt: skip
            return StepOutput(out, {"frames": frames, "reencoded": False, "held": frames - clip_frames})
    if label and not watermark and copyable and clip_frames == frames:
        return _labelled(clip, frames, profile, label, ctx, cuts)
    mark = render_watermark(ctx.workdir / "mark.png", profile.height) if watermark else None
    tag = render_label(ctx.workdir / "label.png", label, profile.height) if label else None
    ctx.progress(0.1, "encoding the segment")
    out = fit_clip(clip.path, ctx.workdir / "segment.mp4", frames, profile, ctx.cancel, mark,
                   cut_keyframes(frames, *cuts), tag, ctx.encoders)  # fmt: skip
    return StepOutput(out, {"frames": frames, "reencoded": True})


def _labelled(clip: Asset, frames: int, profile: EncodeProfile, label: str, ctx: StepContext,
              cuts: tuple[int, int]) -> StepOutput:  # fmt: skip
    """A clip already in the profile and of the scene's length, with the label drawn in: decoded, blended and
    encoded once like a caption burn-in (no probe, no scaling filter: half the time of the general re-encode)."""
    from pipeline.captions.burn import burn_cues
    from pipeline.captions.steps import label_frame

    ctx.progress(0.1, "drawing the label")
    tag = label_frame(label, profile.width, profile.height, frames / profile.fps)
    out = burn_cues(clip.path, ctx.workdir / "segment.mp4", frames, profile, [tag], ctx.cancel,
                    cut_keyframes(frames, *cuts), ctx.encoders)  # fmt: skip
    return StepOutput(out, {"frames": frames, "reencoded": True})


kinds.register(StepKind("segment", per_scene=True, label="Segment", media="video", plan=_plan_segment,
                        execute=_execute_segment, key=_segment_key))  # fmt: skip
kinds.register(StepKind("mix", per_scene=True, label="Mix", media="audio", plan=_plan_mix, execute=_execute_mix,
                        key=_mix_key, starts_first=True))  # fmt: skip
