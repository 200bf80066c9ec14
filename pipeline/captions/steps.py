"""Captions in a render: the `captioned` step kind's work (burn-in per narrated scene) and the SRT/WebVTT files.
The kind itself is registered in pipeline/kinds/captioned.py (it wraps "segment").

    segment:i ──┐
    voice:i ────┴──► captioned:i (the segment, its cues drawn in) ──► join (instead of segment:i)

A scene gets a `captioned` step only when it is narrated and the storyboard says `captions.burn_in` (the
default), and its clip is not drawn with them; otherwise the join takes its segment as before, under the same
key. The step re-encodes that one scene, once: its key is the segment's hash, what decides the cues (the
narration's hash, its timing data and text, the caption code's version, the frame size) and how they are drawn
(style, position, the fonts' package versions).

When nobody is paid for the clip or the narration and the video provider draws overlays (the offline camera
move), the captions are drawn into the clip in its own encode instead (`draws_captions`): the video step takes
the narration, makes the clip at the scene's exact length with the cues (and the label) blended in after the
move, GOPs at the transitions' cut points, and the segment uses it as it is, so the scene is encoded once:

    image:i ──┐
    voice:i ──┴──► video:i (the move, its cues drawn in, the scene's length) ──► segment:i (the clip as it is)

Its key adds the same cue fields (`caption_key_fields`). A paid clip (Runway) stays as it was delivered.

The files are not a step: they are text computed from the same cues once the render's steps are done, written
beside the video (`write_caption_files`), so their times match the burned-in captions to the frame.

Scene cues are computed in the scene's own time (from 0 at its first frame); the files shift them by where each
scene starts in the final video, which is the sum of the earlier segments' frames.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from pipeline.captions.cues import Cue, line_chars, scene_cues
from pipeline.captions.files import write_captions
from pipeline.captions.timing import WordTiming, words_from_voice_meta
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import NARRATION_LEAD
from pipeline.media.transitions import cut_keyframes
from pipeline.store import Asset, step_key
from pipeline.transition_plan import cut_fields

if TYPE_CHECKING:
    from pipeline.captions.render import CueFrame
    from pipeline.plan import RenderPlan, ScenePlan

KIND = "captioned"
# The version of what turns a narration into drawn cues (timing, cue rules, drawing, blending): a change to any
# of them that changes the picture bumps it, so cached captioned segments are made again.
CAPTIONS_VERSION = "1"
FONT_PACKAGES = ("noto-cjk-sans-otc", "fontpkg-noto-sans-arabic", "fontpkg-arimo")
# Voice meta that decides word times (the rest, such as "voice", does not).
_TIMING_META = ("duration", "sentences", "sentence_texts", "alignment", "sample_rate")


@lru_cache(maxsize=1)
def font_version() -> str:
    """The caption fonts' package versions: a new font draws different pixels."""
    versions = []
    for name in FONT_PACKAGES:
        try:
            versions.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}==missing")
    return ",".join(versions)


def captioned_params(plan: "RenderPlan", scene: "ScenePlan") -> dict[str, Any] | None:
    """The settings of a scene's `captioned` step, or None when the scene gets none (not narrated, the storyboard
    does not burn captions in, or its clip is drawn with them: `draws_captions`)."""
    if draws_captions(plan, scene):
        return None
    return caption_settings(plan, scene)


def caption_settings(plan: "RenderPlan", scene: "ScenePlan") -> dict[str, Any] | None:
    """What decides a narrated scene's burned-in captions (and the label drawn with them), or None when it has
    none: the `captioned` step's params, or a clip's drawn with them (`draws_captions`)."""
    settings = plan.storyboard.captions
    if not burns_captions(plan, scene):
        return None
    assert scene.voice is not None
    from pipeline.transition_plan import scene_cuts

    # head/tail: the neighbours' transition overlaps (none between cuts, so those keys are unchanged): the voice
    # starts after the head, and the burn-in puts keyframes at both cut points like the segment it replaces.
    # label: `output.label` (a preview's PREVIEW), drawn here in the same pass as the cues instead of by the
    # segment, so the scene is encoded once more, not twice (the segment then uses the clip as it is).
    label = {"label": plan.storyboard.output.label} if plan.storyboard.output.label else {}
    return {"profile": plan.profile, "style": settings.style, "position": settings.position,
            "text": scene.voice.text, **label,
            **scene_cuts(plan.boundaries, scene.index)}  # fmt: skip


def burns_captions(plan: "RenderPlan", scene: "ScenePlan") -> bool:
    """Whether the scene gets a `captioned` step: it is narrated and the storyboard burns captions in."""
    return scene.voice is not None and plan.storyboard.captions.burn_in


def draws_captions(plan: "RenderPlan", scene: "ScenePlan") -> bool:
    """Whether the scene's clip is made with its captions in it, in the clip's own encode (no `captioned` step, so
    the scene is encoded once): its video provider draws overlays (the offline camera move) and nobody is paid
    for its clip or its narration (a "generate clip" click then speaks the narration, free, but never pays for
    it). A paid clip stays as it was delivered, and its captions are burned in by the `captioned` step."""
    video, voice = plan.video_provider, plan.voice_provider
    return (burns_captions(plan, scene) and getattr(video, "draws_overlays", False)
            and not getattr(video, "paid", False) and not getattr(voice, "paid", False))  # fmt: skip


def caption_key_fields(params: Mapping[str, Any], voice: Asset, frames: int) -> dict[str, Any]:
    """The key fields of captions drawn into a scene `frames` long: what decides the cues (the narration's
    timing, the frame size), how they are drawn (style, position, fonts, the caption code's version), the label
    and the transitions' cut points."""
    profile: EncodeProfile = params["profile"]
    return {"captions": CAPTIONS_VERSION, "timing": timing_sha256(voice, params["text"]), "frames": frames,
            "profile": profile.id, "style": params["style"], "position": params["position"], "fonts": font_version(),
            **({"label": params["label"]} if params.get("label") else {}), **cut_fields(params)}  # fmt: skip


def scene_overlays(params: Mapping[str, Any], voice: Asset, frames: int) -> tuple[list["CueFrame"], int]:
    """The images drawn over a narrated scene `frames` long: its cues (one image per word for karaoke) and its
    label; and how many cues there are."""
    from pipeline.captions.render import cue_frames

    profile: EncodeProfile = params["profile"]
    size = (profile.width, profile.height)
    cues = scene_caption_cues(voice, params["text"], frames, profile.fps, size, head=params.get("head", 0))
    drawn = [f for cue in cues for f in cue_frames(cue, *size, style=params["style"], position=params["position"])]
    if params.get("label"):
        drawn.append(label_frame(params["label"], *size, seconds=frames / profile.fps))
    return drawn, len(cues)


def timing_sha256(voice: Asset, text: str) -> str:
    """A hash of everything the words' times come from: the narration's bytes, its timing meta and its text."""
    material = {"voice": voice.sha256, "text": text, **{k: voice.meta.get(k) for k in _TIMING_META}}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def captioned_key(step: Any, outputs: Mapping[str, Asset]) -> str:
    """The `captioned` step's key, once its segment and narration exist."""
    segment, voice = (outputs[i] for i in step.inputs)
    profile: EncodeProfile = step.params["profile"]
    timing = timing_sha256(voice, step.params["text"])
    return step_key(KIND, version=CAPTIONS_VERSION, segment=segment.sha256, timing=timing,
                    frames=segment.meta.get("frames"), profile=profile.id, style=step.params["style"],
                    position=step.params["position"], fonts=font_version(),
                    **({"label": step.params["label"]} if step.params.get("label") else {}),
                    **cut_fields(step.params))  # fmt: skip


def narration_words(voice: Asset, text: str) -> list[WordTiming]:
    """The narration's words timed from its voice step's data, kept out of the pauses heard in its audio."""
    return _words(str(voice.path), voice.sha256, text, json.dumps({k: voice.meta.get(k) for k in _TIMING_META},
                                                                 sort_keys=True, default=str))  # fmt: skip


@lru_cache(maxsize=64)
def _words(path: str, sha256: str, text: str, meta_json: str) -> tuple[WordTiming, ...]:
    from pipeline.errors import MediaError
    from pipeline.media.ffmpeg import decode_audio

    meta = json.loads(meta_json)
    rate = int(meta.get("sample_rate") or 22050)
    try:
        samples = decode_audio(Path(path), rate, 1)
    except MediaError:
        samples = None  # timing from the voice's data alone (character share inside sentences)
    return tuple(words_from_voice_meta(text, meta, samples, rate if samples is not None else None))


def scene_caption_cues(voice: Asset, text: str, frames: int, fps: int, size: tuple[int, int],
                       start: float = 0.0, head: int = 0) -> list[Cue]:  # fmt: skip
    """A narrated scene's cues, for a scene `frames` long starting `start` seconds into the video, whose voice
    starts after the lead-in and the incoming transition's `head` frames."""
    return scene_cues(narration_words(voice, text), start, start + frames / fps, lead=NARRATION_LEAD + head / fps,
                      max_chars=line_chars(*size))  # fmt: skip


async def execute_captioned(run: Any, step: Any, inputs: Mapping[str, Asset]) -> Asset:
    """The scene's segment with its captions burned in (made once; cached by `captioned_key`)."""
    from pipeline.captions.burn import burn_cues
    from pipeline.providers.base import StepContext, StepOutput

    segment, voice = (inputs[i] for i in step.inputs)
    profile: EncodeProfile = step.params["profile"]
    frames = int(segment.meta["frames"])

    def produce(ctx: StepContext) -> StepOutput:
        ctx.progress(0.05, "drawing the captions")
        drawn, cues = scene_overlays(step.params, voice, frames)
        ctx.progress(0.2, "burning the captions in")
        out = burn_cues(segment.path, ctx.workdir / "captioned.mp4", frames, profile, drawn, ctx.cancel,
                        cut_keyframes(frames, step.params.get("head", 0), step.params.get("tail", 0)),
                        ctx.encoders)  # fmt: skip
        return StepOutput(out, {"frames": frames, "cues": cues, "reencoded": True})

    return await run.cached_step(step, captioned_key(step, inputs), produce)


def label_frame(text: str, width: int, height: int, seconds: float) -> "CueFrame":
    """`output.label` as an image shown on every frame of a scene `seconds` long, where the segment would have
    overlaid it."""
    from pipeline.captions.render import CueFrame, CueImage
    from pipeline.media.watermark import label_position, label_tag

    tag = label_tag(text, height)
    return CueFrame(0.0, seconds + 1.0, CueImage(tag, *label_position(width, height, tag.width)))


def video_caption_cues(plan: "RenderPlan", outputs: Mapping[str, Asset]) -> list[Cue]:
    """Every cue of the final video: each narrated scene's, placed by the frames of the segments before it."""
    from pipeline.transition_plan import scene_starts

    profile, cues = plan.profile, []
    boundaries = plan.boundaries
    lengths = [int(outputs[f"segment:{scene.index}"].meta["frames"]) for scene in plan.scenes]
    starts = scene_starts(lengths, boundaries)  # transitions overlap scenes, so a scene starts earlier
    for scene, frames, start_frame in zip(plan.scenes, lengths, starts):
        voice = outputs.get(f"voice:{scene.index}")
        head = boundaries[scene.index - 1].frames if scene.index > 0 else 0
        if voice is not None and scene.voice is not None:
            cues += scene_caption_cues(voice, scene.voice.text, frames, profile.fps,
                                       (profile.width, profile.height), start_frame / profile.fps, head)  # fmt: skip
    return cues


def write_caption_files(plan: "RenderPlan", outputs: Mapping[str, Asset], video: Path) -> tuple[Path, ...]:
    """OUT.srt and OUT.vtt beside `video` when the storyboard asks for files and any scene is narrated."""
    if not plan.storyboard.captions.files or not any(s.voice is not None for s in plan.scenes):
        return ()
    return write_captions(video_caption_cues(plan, outputs), video)
