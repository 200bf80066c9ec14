"""Every step of a render as data, and the one place a step's content key is computed.

    graph = plan_steps(plan, credentials)          # after plan_render: one Step per scene step, then soundtrack, join
    step = graph["video:0"]                        # ids are "<kind>:<scene>" per scene, "<kind>" render-wide
    key = key_for(step, {"image:0": image})        # from the outputs of step.inputs, once they exist

A step whose inputs are all known at planning time (image, voice, a silent scene's mix) carries its key; the others
(video ← image bytes, segment ← clip bytes + frames, mix ← narration bytes + frames, finish ← mixes + music,
soundtrack ← the finished mix, join ← segments + soundtrack) get it from `key_for` once their inputs exist, by the same pure functions. The
runner, the estimate and step-by-step control all key through here, so "cached" means the same thing everywhere.

    image ──► video ──┐
                      ├──► segment (picture, exact frames) ──────────────────────┐
    voice ────────────┴──► mix (sound, exact samples) ──► finish ──► soundtrack ────┴──► join

finish (every scene's mix + the music bed ducked under the narration, at the loudness target) is defined in
pipeline/finish_step.py; the sound track encodes its one WAV as it encoded the mixes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from pipeline.credentials import Credentials
from pipeline.finish_step import finish_key_from_inputs, finish_params
from pipeline.media.join import AUDIO_BITRATE, JOIN_VERSION
from pipeline.media.segment import NARRATION_LEAD, SEGMENT_VERSION, segment_frames
from pipeline.plan import RenderPlan, ScenePlan, video_request
from pipeline.providers import registry
from pipeline.providers.base import EncodeProfile, Provider, VideoRequest
from pipeline.store import Asset, step_key

# The step kinds of a scene, in the order the board and the CLI table show them, then the render-wide ones.
SCENE_KINDS = ("image", "video", "voice", "segment", "mix")
RENDER_KINDS = ("finish", "soundtrack", "join")
APPROVED = "approved"  # the provider of a scene's image step when a person pinned the picture


@dataclass(frozen=True)
class Step:
    """One step of a render: what it makes, from which steps' outputs, with what settings, under which key.

    `key` is None while it depends on outputs not made yet (see `key_for`), and for an approved image (which is
    found by its hash, not made)."""

    id: str
    kind: str
    scene: int | None
    provider: str  # a provider's name; "ffmpeg" for media work; "approved" for a pinned image
    inputs: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None


@dataclass(frozen=True)
class StepGraph:
    """The steps of one render, in an order where every step comes after its inputs."""

    steps: tuple[Step, ...]
    by_id: dict[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {s.id: s for s in self.steps})

    def __getitem__(self, step_id: str) -> Step:
        return self.by_id[step_id]

    def __contains__(self, step_id: object) -> bool:
        return step_id in self.by_id

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def of_scene(self, scene: int, kind: str) -> Step | None:
        return self.by_id.get(step_id(kind, scene))

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every step kind of this render, scene kinds first (a scene may have no step of a kind: no narration)."""
        return (*SCENE_KINDS, *RENDER_KINDS)


def step_id(kind: str, scene: int | None = None) -> str:
    return kind if scene is None else f"{kind}:{scene}"


# -- the keys: pure functions of a step's settings and its inputs' content hashes ----------------------------


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


def mix_key(profile: EncodeProfile, voice_sha256: str | None, frames: int) -> str:
    return step_key("mix", version=SEGMENT_VERSION, voice=voice_sha256, frames=frames, fps=profile.fps,
                    rate=profile.audio_rate, channels=profile.audio_channels, lead=NARRATION_LEAD)  # fmt: skip


def segment_key(profile: EncodeProfile, clip_sha256: str, frames: int, watermark: bool) -> str:
    return step_key("segment", version=SEGMENT_VERSION, clip=clip_sha256, frames=frames, profile=profile.id,
                    watermark=watermark)  # fmt: skip


def soundtrack_key(profile: EncodeProfile, fmt: str, mix_sha256s: Sequence[str]) -> str:
    return step_key("soundtrack", version=JOIN_VERSION, format=fmt, bitrate=AUDIO_BITRATE, rate=profile.audio_rate,
                    mixes=list(mix_sha256s))  # fmt: skip


def join_key(profile: EncodeProfile, fmt: str, segment_sha256s: Sequence[str], soundtrack_sha256: str) -> str:
    return step_key("join", version=JOIN_VERSION, profile=profile.id, format=fmt, segments=list(segment_sha256s),
                    soundtrack=soundtrack_sha256)  # fmt: skip


# -- keys that wait for inputs -------------------------------------------------------------------------------


def scene_frames(step: Step, outputs: Mapping[str, Asset]) -> int:
    """A scene's exact length in frames: its requested duration, stretched to its narration's (a segment's and a
    mix's step carry `duration` and `fps`; the narration is their "voice:<scene>" input, when the scene has one)."""
    voice = outputs.get(step_id("voice", step.scene))
    narration = float(voice.meta["duration"]) if voice is not None else None
    return segment_frames(step.params["duration"], narration, step.params["fps"])


def clip_request(step: Step, image: Asset) -> VideoRequest:
    """A video step's request once its image exists (the planned one carries an empty image)."""
    return dataclasses.replace(step.params["request"], image_path=image.path, image_sha256=image.sha256)


def _video(step: Step, outputs: Mapping[str, Asset]) -> str:
    request = clip_request(step, outputs[step.inputs[0]])
    return provider_key("video", registry.get("video", step.provider), request, step.params["owner"])


def _mix(step: Step, outputs: Mapping[str, Asset]) -> str:
    profile = step.params["profile"]
    voice = outputs.get(step_id("voice", step.scene))
    return mix_key(profile, voice.sha256 if voice else None, scene_frames(step, outputs))


def _segment(step: Step, outputs: Mapping[str, Asset]) -> str:
    profile = step.params["profile"]
    clip = outputs[step_id("video", step.scene)]
    return segment_key(profile, clip.sha256, scene_frames(step, outputs), step.params["watermark"])


def _soundtrack(step: Step, outputs: Mapping[str, Asset]) -> str:
    profile = step.params["profile"]
    return soundtrack_key(profile, step.params["format"], [outputs[i].sha256 for i in step.inputs])


def _join(step: Step, outputs: Mapping[str, Asset]) -> str:
    profile = step.params["profile"]
    *segments, soundtrack = step.inputs
    return join_key(profile, step.params["format"], [outputs[i].sha256 for i in segments], outputs[soundtrack].sha256)


# The key of each kind whose key waits for its inputs' outputs.
KEYS_FROM_INPUTS: dict[str, Callable[[Step, Mapping[str, Asset]], str]] = {
    "video": _video,
    "mix": _mix,
    "segment": _segment,
    "finish": finish_key_from_inputs,
    "soundtrack": _soundtrack,
    "join": _join,
}


def key_for(step: Step, outputs: Mapping[str, Asset]) -> str:
    """The step's content key: the planned one, or computed from the outputs of its inputs (by step id)."""
    if step.key is not None:
        return step.key
    missing = [i for i in step.inputs if i not in outputs]
    if missing or step.kind not in KEYS_FROM_INPUTS:
        raise ValueError(f"{step.id}: no key yet (waiting for {', '.join(missing) or 'nothing it can name'})")
    return KEYS_FROM_INPUTS[step.kind](step, outputs)


# -- the plan as steps ---------------------------------------------------------------------------------------


def _scene_steps(plan: RenderPlan, scene: ScenePlan, owners: Mapping[str, str | None]) -> list[Step]:
    i, sb, profile = scene.index, plan.storyboard, plan.profile
    image_p, video_p, voice_p = plan.image_provider, plan.video_provider, plan.voice_provider
    steps: list[Step] = []
    if scene.pinned_image is not None:
        steps.append(Step(step_id("image", i), "image", i, APPROVED, params={"sha256": scene.pinned_image}))
    else:
        key = image_key(image_p, scene.image, owners["image"])
        steps.append(Step(step_id("image", i), "image", i, image_p.name, params={"request": scene.image}, key=key))
    planned_clip = video_request(sb, scene, video_p, profile, Path(), "")
    steps.append(Step(step_id("video", i), "video", i, video_p.name, (step_id("image", i),),
                      {"request": planned_clip, "owner": owners["video"]}))  # fmt: skip
    length = {"duration": scene.duration, "fps": profile.fps, "profile": profile}
    narration: tuple[str, ...] = ()
    if scene.voice is not None:
        narration = (step_id("voice", i),)
        steps.append(Step(step_id("voice", i), "voice", i, voice_p.name, params={"request": scene.voice},
                          key=voice_key(voice_p, scene.voice, owners["voice"])))  # fmt: skip
    steps.append(Step(step_id("segment", i), "segment", i, "ffmpeg", (step_id("video", i), *narration),
                      {**length, "watermark": sb.output.watermark}))  # fmt: skip
    mix = Step(step_id("mix", i), "mix", i, "ffmpeg", narration, length)
    if not narration:  # a silent scene's sound follows from the plan alone
        mix = dataclasses.replace(mix, key=_mix(mix, {}))
    steps.append(mix)
    return steps


def plan_steps(plan: RenderPlan, credentials: Credentials) -> StepGraph:
    """Every step of the render `plan` describes, with its key where the plan alone decides it."""
    owners = {kind: paying_key(p, credentials) for kind, p in
              (("image", plan.image_provider), ("video", plan.video_provider), ("voice", plan.voice_provider))}  # fmt: skip
    steps = [s for scene in plan.scenes for s in _scene_steps(plan, scene, owners)]
    fmt = plan.storyboard.output.format
    mixes = tuple(step_id("mix", s.index) for s in plan.scenes)
    segments = tuple(step_id("segment", s.index) for s in plan.scenes)
    media = {"format": fmt, "profile": plan.profile}
    steps.append(Step("finish", "finish", None, "ffmpeg", mixes, finish_params(plan.storyboard, plan.profile)))
    steps.append(Step("soundtrack", "soundtrack", None, "ffmpeg", ("finish",), media))
    steps.append(Step("join", "join", None, "ffmpeg", (*segments, "soundtrack"), media))
    return StepGraph(tuple(steps))
