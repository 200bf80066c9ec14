"""The generation kinds: a scene's picture (image), its clip (video, from the image) and its narration (voice),
each made by the provider the storyboard chose, keyed by the provider's name, version, the request fields that
change its output and (paid providers) the paying key's fingerprint.

    image ──► video
    voice                  (the scene's length follows from the narration: voice starts first)
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, Mapping

from pipeline.credentials import Credentials
from pipeline.errors import InputError
from pipeline.kinds.base import Planning, Step, StepKind, kinds, key_for, step_id
from pipeline.captions.steps import burns_captions, caption_key_fields, caption_settings, draws_captions
from pipeline.plan import ScenePlan, video_request
from pipeline.pricing import StepCost, step_cost
from pipeline.providers import registry
from pipeline.providers.base import Provider, VideoRequest
from pipeline.store import Asset, step_key

APPROVED = "approved"  # the provider of a scene's image step when a person pinned the picture


# -- the keys ------------------------------------------------------------------------------------------------


def paying_key(provider: Provider, credentials: Credentials) -> str | None:
    """Paid outputs belong to the key that paid for them: its fingerprint (never the key) is in the cache key, so
    one user of a shared Space is never served another user's generations. None for a provider nobody pays."""
    if not getattr(provider, "paid", False):
        return None
    return credentials.fingerprint(provider.key_env_var) or "none"


def provider_key(kind: str, provider: Provider, request: Any, owner: str | None, **extra: Any) -> str:
    """The key of a provider's generation: its name, version, the request fields that change its output, and
    (paid providers) the paying key's fingerprint."""
    owner_field = {"owner": owner} if owner is not None else {}
    return step_key(kind, provider=provider.name, version=provider.version, request=provider.cache_fields(request),
                    **extra, **owner_field)  # fmt: skip


def image_key(provider: Provider, request: Any, owner: str | None) -> str:
    return provider_key("image", provider, request, owner)


def voice_key(provider: Provider, request: Any, owner: str | None) -> str:
    return provider_key("voice", provider, request, owner, model=request.model)


def clip_request(step: Step, image: Asset) -> VideoRequest:
    """A video step's request once its image exists (the planned one carries an empty image)."""
    slate = image.meta.get("slate") if step.params.get("slate") else None  # a draft picture's, unless captioned
    return dataclasses.replace(step.params["request"], image_path=image.path, image_sha256=image.sha256,
                               slate=slate)  # fmt: skip


def _video_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    request = clip_request(step, outputs[step.inputs[0]])
    overlay = step.params.get("overlay")
    extra = {"overlay": caption_key_fields(overlay, outputs[overlay["narration"]], overlay_frames(step, outputs))
             } if overlay else {}  # fmt: skip
    return provider_key("video", registry.get("video", step.provider), request, step.params["owner"], **extra)


def overlay_frames(step: Step, outputs: Mapping[str, Asset]) -> int:
    """A clip drawn with its scene's captions is the scene's segment: the scene's exact length in frames."""
    from pipeline.kinds.scene_media import scene_frames

    return scene_frames(dataclasses.replace(step, params=step.params["overlay"]), outputs)


# -- planning ------------------------------------------------------------------------------------------------


def _plan_image(planning: Planning, scene: ScenePlan | None) -> Step:
    assert scene is not None
    i, provider = scene.index, planning.plan.image_provider
    if scene.pinned_image is not None:
        return Step(step_id("image", i), "image", i, APPROVED, params={"sha256": scene.pinned_image})
    key = image_key(provider, scene.image, paying_key(provider, planning.credentials))
    return Step(step_id("image", i), "image", i, provider.name, params={"request": scene.image}, key=key)


def _plan_video(planning: Planning, scene: ScenePlan | None) -> Step:
    assert scene is not None
    plan, i = planning.plan, scene.index
    provider = plan.video_provider
    image = planning.output_of("image", i)
    assert image is not None, "every scene has a picture"
    planned_clip = video_request(plan.storyboard, scene, provider, plan.profile, Path(), "")
    # The slate goes where no captions are burned in (captions already say what is heard).
    params = {"request": planned_clip, "owner": paying_key(provider, planning.credentials),
              "slate": not burns_captions(plan, scene)}  # fmt: skip
    if not draws_captions(plan, scene):
        return Step(step_id("video", i), "video", i, provider.name, (image,), params)
    # The clip is drawn with its captions at the scene's length: the scene's one encode (no `captioned` step).
    from pipeline.kinds.scene_media import scene_length

    overlay = {**(caption_settings(plan, scene) or {}), **scene_length(planning, scene)}
    return Step(step_id("video", i), "video", i, provider.name, (image, overlay["narration"]),
                {**params, "overlay": overlay})  # fmt: skip


def _plan_voice(planning: Planning, scene: ScenePlan | None) -> Step | None:
    assert scene is not None
    if scene.voice is None:  # nothing to say: the scene has no narration step
        return None
    provider = planning.plan.voice_provider
    return Step(step_id("voice", scene.index), "voice", scene.index, provider.name, params={"request": scene.voice},
                key=voice_key(provider, scene.voice, paying_key(provider, planning.credentials)))  # fmt: skip


# -- what they cost (the estimate) ---------------------------------------------------------------------------


def _image_cost(step: Step, inputs: Mapping[str, Asset], cached: bool) -> StepCost:
    if step.provider == APPROVED:
        return StepCost("image", APPROVED, None, 1, "image", 0.0, cached=True)
    return step_cost("image", registry.get("image", step.provider), step.params["request"], cached=cached)


def _video_cost(step: Step, inputs: Mapping[str, Asset], cached: bool) -> StepCost:
    # A clip made from an image that does not exist yet is priced in full (its request lacks only the image).
    image = inputs.get(step.inputs[0]) or Asset("", "", Path())
    return step_cost("video", registry.get("video", step.provider), clip_request(step, image), cached=cached)


def _voice_cost(step: Step, inputs: Mapping[str, Asset], cached: bool) -> StepCost:
    return step_cost("voice", registry.get("voice", step.provider), step.params["request"], cached=cached)


# -- running them --------------------------------------------------------------------------------------------


async def _execute_image(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    """The scene's picture: the approved (pinned) one when the scene has it, else generated (or cached)."""
    if step.provider == APPROVED:
        pinned = run.pinned_image(step.params["sha256"])
        if pinned is None:
            raise InputError(f"scenes[{step.scene}].image: the approved image is no longer in the store; "
                             "generate or upload it again")  # fmt: skip
        run.executor.reused(step.scene, "image", APPROVED, "image", pinned)
        return pinned
    provider, request = registry.get("image", step.provider), step.params["request"]
    image = await run.cached_step(step, key_for(step, inputs), lambda ctx: provider.generate(request, ctx),
                                  cost=run.cost("image", provider, request), prompt=request.prompt)  # fmt: skip
    # Made (or reused from the cache) for this owner: from now on they may pin it by its hash.
    await asyncio.to_thread(run.owned_images.record, run.owner, image.sha256, "generated")
    return image


async def _execute_video(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    provider, request = registry.get("video", step.provider), clip_request(step, inputs[step.inputs[0]])
    produce = (lambda ctx: provider.generate(request, ctx)) if "overlay" not in step.params else \
        _overlaid(provider, request, step, inputs)  # fmt: skip
    return await run.cached_step(step, key_for(step, inputs), produce, cost=run.cost("video", provider, request),
                                 prompt=request.prompt)  # fmt: skip


def _overlaid(provider: Any, request: VideoRequest, step: Step, inputs: Mapping[str, Asset]) -> Any:
    """The work of a clip drawn with its scene's captions (and label), at the scene's length, keyframes at the
    transitions' cut points."""
    from pipeline.captions.steps import scene_overlays
    from pipeline.media.transitions import cut_keyframes

    overlay, frames = step.params["overlay"], overlay_frames(step, inputs)

    def produce(ctx: Any) -> Any:
        ctx.progress(0.0, "drawing the captions")
        drawn, cues = scene_overlays(overlay, inputs[overlay["narration"]], frames)
        keyframes = cut_keyframes(frames, overlay.get("head", 0), overlay.get("tail", 0))
        made = provider.generate_overlaid(request, ctx, frames, drawn, keyframes)
        made.meta["cues"] = cues
        return made

    return produce


async def _execute_voice(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    provider, request = registry.get("voice", step.provider), step.params["request"]
    return await run.cached_step(step, key_for(step, inputs), lambda ctx: provider.generate(request, ctx),
                                 cost=run.cost("voice", provider, request), prompt=request.text)  # fmt: skip


kinds.register(StepKind("image", per_scene=True, label="Image", media="image", plan=_plan_image,
                        execute=_execute_image, cost=_image_cost, preview=True))  # fmt: skip
kinds.register(StepKind("video", per_scene=True, label="Clip", media="video", plan=_plan_video,
                        execute=_execute_video, key=_video_key, cost=_video_cost, preview=True))  # fmt: skip
kinds.register(StepKind("voice", per_scene=True, label="Narration", media="audio", plan=_plan_voice,
                        execute=_execute_voice, cost=_voice_cost, starts_first=True, preview=True))  # fmt: skip
