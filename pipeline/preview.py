"""The free preview of a storyboard: an animatic of the same scenes, made offline, small and short.

    preview = preview_storyboard(storyboard)          # a Storyboard like any other: render it as usual
    storyboard, output = for_preview(storyboard, Path("out.mp4"))   # … and out-preview.mp4 to write it to

The preview is a pure transformation of the storyboard, so the engine renders it like any other (same steps, same
keys, same cache). What it changes, and why:
- providers: draft picture, motion clip, piper voice, whatever the storyboard names: never a paid request, with or
  without keys. Models and voice ids belong to the provider they were chosen for, so they are dropped with it
  (as `Storyboard.with_providers` does); an approved (pinned) image stays: it is already paid for and in the store.
- size: half of 720p (640x360, or 360x640 for vertical video), encoded at `quality: draft` (12 frames a second,
  the fastest encoder settings: pipeline/plan.py QUALITY_PRESETS).
- length: every scene at most PREVIEW_SCENE_SECONDS, narration included (`output.max_scene_seconds`: a longer
  narration is cut with a short fade instead of lengthening the scene further).
- marked: `output.label: PREVIEW` in the top-right corner of every picture; captions burnt in where the storyboard
  has captions (a narrated scene's label is drawn in the same pass as its captions: one encode, not two).
- title: "<title>-preview", so the studio's file, project and manifest say what they are.

What a full offline render of the same storyboard reuses (same request → same key): every narration (the voice
request is unchanged: same text, and the same piper voice once the paid provider's voice id is dropped, because
piper falls back to its default voice for an id it does not know) and every approved image. Pictures cannot be
shared: the image, clip, segment and join are made at a different size and frame rate (that is most of the
saving), and the captioned segments carry the label; nor can each scene's sound (`mix`), laid out in frames of
the animatic's rate. Measured: the narration is about half of a preview's CPU time (bench/preview.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import StudioError
from pipeline.providers import registry
from pipeline.storyboard import MAX_SCENE_SECONDS, Storyboard, validate_storyboard

PREVIEW_PROVIDERS = {"image": "draft", "video": "motion", "voice": "piper"}
PREVIEW_SCENE_SECONDS = 5
PREVIEW_LANDSCAPE, PREVIEW_PORTRAIT = "640x360", "360x640"
PREVIEW_LABEL = "PREVIEW"
PREVIEW_SUFFIX = "-preview"
_TITLE_LIMIT = 200  # Storyboard.title's max_length

assert PREVIEW_SCENE_SECONDS <= MAX_SCENE_SECONDS


def preview_storyboard(storyboard: Storyboard) -> Storyboard:
    """The preview of `storyboard`: offline providers, half size, scenes of at most 5 s, marked PREVIEW."""
    data: dict[str, Any] = storyboard.model_dump()
    for kind, offline in PREVIEW_PROVIDERS.items():
        if data[kind]["provider"] != offline:
            data[kind]["provider"], data[kind]["model"] = offline, None
            if kind == "voice":
                data["voice"]["voice_id"] = None
                for scene in data["scenes"]:
                    scene["voice_id"] = None
    width, height = storyboard.size
    data["resolution"] = PREVIEW_PORTRAIT if height > width else PREVIEW_LANDSCAPE
    data["output"].update(quality="draft", label=PREVIEW_LABEL, max_scene_seconds=PREVIEW_SCENE_SECONDS)
    for scene in data["scenes"]:
        scene["duration"] = min(scene["duration"], PREVIEW_SCENE_SECONDS)
    if "captions" in data:  # a preview is watched muted as often as not: its captions are always burned in
        data["captions"]["burn_in"] = True
    data["title"] = data["title"][: _TITLE_LIMIT - len(PREVIEW_SUFFIX)] + PREVIEW_SUFFIX
    preview = validate_storyboard(data)
    _check_free(preview)
    return preview


def preview_output(output: Path) -> Path:
    """Where the preview of a render to `output` goes: beside it, `-preview` added to its name (once)."""
    if output.stem.endswith(PREVIEW_SUFFIX):
        return output
    return output.with_name(f"{output.stem}{PREVIEW_SUFFIX}{output.suffix}")


def for_preview(storyboard: Storyboard, output: Path) -> tuple[Storyboard, Path]:
    """The preview's storyboard and output file in one call (the CLI's `render --preview`)."""
    return preview_storyboard(storyboard), preview_output(output)


def _check_free(preview: Storyboard) -> None:
    """A preview never pays: refuse one whose providers someone made paid (a plugin registered under the name)."""
    for kind, name in preview.providers.items():
        if registry.get(kind, name).paid:
            raise StudioError(f"the preview's {kind} provider '{name}' is a paid one; a preview must be free")
