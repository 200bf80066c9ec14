"""From a storyboard to a plan: per scene, the typed requests each step will make, and a pre-flight check.

The steps themselves, their inputs and their keys are in pipeline/steps.py (`plan_steps(plan, credentials)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from pathlib import Path
from typing import Any

from pipeline.blocklist import Blocklist
from pipeline.credentials import Credentials
from pipeline.errors import InputError, Problem
from pipeline.providers import registry
from pipeline.providers.base import EncodeProfile, ImageRequest, Provider, VideoRequest, VoiceRequest
from pipeline.storyboard import Storyboard
from pipeline.styles import enhance_prompt

# Measured on camera moves over stills: sub-pixel refinement, exhaustive motion search and partition analysis
# cost 28% more CPU for ~7% smaller files; sliced threads with a 5-frame lookahead hold one frame in flight
# instead of several (1080p encoder 335 MB -> 217 MB) at the same size and slightly less CPU.
_LEAN = "sliced-threads=1:rc-lookahead=5"
# draft: the preview's animatic (pipeline/preview.py). Measured on the bundled examples at 640x360: 12 fps halves
# the frames every picture step warps, draws and encodes; ultrafast encodes in half superfast's CPU (files ~1.7x
# larger, still small at that size); the fast AAC coder encodes the sound in half the default's CPU.
QUALITY_PRESETS: dict[str, dict] = {
    "draft": {"crf": 26, "preset": "ultrafast", "x264_params": "sliced-threads=1", "fps": 12, "gop": 24,
              "aac_coder": "fast"},
    "low": {"crf": 26, "preset": "superfast", "x264_params": "sliced-threads=1"},
    "medium": {"crf": 21, "preset": "veryfast", "x264_params": f"subme=1:me=dia:partitions=none:{_LEAN}"},
    "high": {"crf": 18, "preset": "faster", "x264_params": _LEAN},
}

@dataclass(frozen=True)
class ScenePlan:
    index: int
    image: ImageRequest
    video_prompt: str
    duration: int
    seed: int
    voice: VoiceRequest | None
    pinned_image: str | None = None  # sha256 of an approved image the scene uses instead of generating one


@dataclass(frozen=True)
class RenderPlan:
    storyboard: Storyboard
    profile: EncodeProfile
    scenes: list[ScenePlan]
    image_provider: Provider
    video_provider: Provider
    voice_provider: Provider

    @property
    def providers(self) -> dict[str, str]:
        return self.storyboard.providers

    @cached_property
    def boundaries(self) -> list[Any]:
        """Each pair of neighbouring scenes' transition (pipeline/transition_plan.py Boundary), worked out once per
        plan: the segment, mix, captions, transition and join planners of every scene read it."""
        from pipeline.transition_plan import plan_boundaries

        return plan_boundaries(self.storyboard, self.profile.fps)


def encode_profile(storyboard: Storyboard) -> EncodeProfile:
    width, height = storyboard.size
    return EncodeProfile(width=width, height=height, **QUALITY_PRESETS[storyboard.output.quality])


def video_request(
    storyboard: Storyboard,
    scene: ScenePlan,
    provider: Provider,
    profile: EncodeProfile,
    image_path: Path = Path(),
    image_sha256: str = "",
) -> VideoRequest:
    """The clip request for a scene (before its image exists, pre-flight checks it with an empty image)."""
    width, height = storyboard.size
    return VideoRequest(
        image_path=image_path,
        image_sha256=image_sha256,
        prompt=scene.video_prompt,
        duration=scene.duration,
        width=width,
        height=height,
        seed=scene.seed,
        model=provider.resolve_model(storyboard.video.model),
        public_figure_threshold=storyboard.video.content_moderation.public_figure_threshold,
        delivery=profile,
    )


def plan_render(storyboard: Storyboard, credentials: Credentials | None = None, *,
                blocklist: Path | None = None) -> RenderPlan:  # fmt: skip
    """Resolve every scene's requests and run each provider's pre-flight check (raises InputError).

    Pre-flight covers every scene before the first paid call: a paid provider without a key, or a scene 5 that
    breaks a provider's limits, fails here instead of after scenes 1–4 were paid for. `credentials`: the keys to
    check against (None: none, offline providers only); `blocklist`: the host's own terms (EngineSettings).
    """
    sb = storyboard
    credentials = credentials if credentials is not None else Credentials()
    image_p = registry.get("image", sb.image.provider)
    video_p = registry.get("video", sb.video.provider)
    voice_p = registry.get("voice", sb.voice.provider)

    problems = _provider_problems(sb, credentials, image_p, video_p, voice_p)
    scenes: list[ScenePlan] = []
    for i in range(len(sb.scenes)):
        plan = _scene_plan(sb, i, image_p, voice_p)
        problems.extend(_scene_problems(sb, plan, image_p, video_p, voice_p))
        scenes.append(plan)
    # Clearly disallowed requests are refused for every provider, paid or not, before anything runs.
    problems.extend(Blocklist.load(blocklist).refusals(sb.scenes))
    if problems:
        raise InputError(problems)
    return RenderPlan(sb, encode_profile(sb), scenes, image_p, video_p, voice_p)


def _provider_problems(
    sb: Storyboard, credentials: Credentials, image_p: Provider, video_p: Provider, voice_p: Provider
) -> list[Problem]:
    """A provider that cannot be used with these credentials, or a model it does not offer."""
    problems: list[Problem] = []
    for section, provider in (("image", image_p), ("video", video_p), ("voice", voice_p)):
        usable, why = provider.usable(credentials)
        if not usable:
            problems.append(Problem(f"{section}.provider", f"'{provider.name}' {why}: set it on the server, paste "
                                    "your own key in the Keys panel, or choose an offline provider"))  # fmt: skip
    for section, provider, model in (
        ("image", image_p, sb.image.model),
        ("video", video_p, sb.video.model),
        ("voice", voice_p, sb.voice.model),
    ):
        problem = provider.model_problem(model) if model else None  # once per render: scenes share the model
        if problem:
            problems.append(Problem(f"{section}.model", problem))
    return problems


def _scene_plan(sb: Storyboard, i: int, image_p: Provider, voice_p: Provider) -> ScenePlan:
    """Scene `i`'s typed requests: its image, its clip's prompt and length, and its narration (if it has one)."""
    scene = sb.scenes[i]
    width, height = sb.size
    seed = sb.scene_seed(i)
    image = ImageRequest(
        prompt=enhance_prompt(scene.image_prompt, sb.style),
        scene_prompt=scene.image_prompt.strip(),
        style=sb.style,
        width=width,
        height=height,
        seed=seed,
        model=image_p.resolve_model(sb.image.model),
        steps=sb.image.steps,
        guidance=sb.image.guidance,
    )
    voice = None
    if scene.audio_script.strip():
        voice = VoiceRequest(
            text=scene.audio_script.strip(),
            voice_id=sb.scene_voice_id(i),
            model=voice_p.resolve_model(sb.voice.model),
            stability=sb.voice.stability,
            similarity_boost=sb.voice.similarity_boost,
        )
    pinned = scene.image.removeprefix("sha256:") if scene.image else None
    return ScenePlan(i, image, scene.video_prompt.strip(), scene.duration, seed, voice, pinned)


def _scene_problems(
    sb: Storyboard, plan: ScenePlan, image_p: Provider, video_p: Provider, voice_p: Provider
) -> list[Problem]:
    """What each provider's pre-flight refuses in this scene's requests (a pinned image needs no image request)."""
    i = plan.index
    problems: list[Problem] = []
    for message in ([] if plan.pinned_image else image_p.check_request(plan.image)):
        problems.append(Problem(f"scenes[{i}].image_prompt", message))
    for message in video_p.check_request(video_request(sb, plan, video_p, encode_profile(sb))):
        problems.append(Problem(f"scenes[{i}].video_prompt", message))
    if plan.voice is not None:
        for message in voice_p.check_request(plan.voice):
            problems.append(Problem(f"scenes[{i}].audio_script", message))
    return problems


def unapproved_images(plan: RenderPlan) -> list[Problem]:
    """A full render with a paid video provider pays for clips only from images a person approved (unless the
    storyboard says `video.require_approval: false`)."""
    video = plan.video_provider
    if not video.paid or not plan.storyboard.video.require_approval:
        return []
    return [
        Problem(f"scenes[{s.index}].image", f"approve this scene's image before paying {video.label or video.name} "
                f"for its clip (studio: Step by step → Approve; CLI: python -m pipeline scene approve STORYBOARD "
                f"--scene {s.index + 1}), or set video.require_approval: false")  # fmt: skip
        for s in plan.scenes
        if s.pinned_image is None
    ]
