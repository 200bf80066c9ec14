"""Editing a storyboard scene by scene, and step-by-step control: approve or upload a scene's image.

Pure functions over `Storyboard` (each returns a new, validated storyboard), so the studio, the CLI and programs
share them. Approving pins the image's content hash into the scene (`image: sha256:…`): every later render and
clip uses exactly that picture, and the pin travels with the storyboard's YAML.
"""

from __future__ import annotations

import random
import re
import struct
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.credentials import Credentials
from pipeline.errors import InputError
from pipeline.owners import OwnedImages
from pipeline.plan import plan_render
from pipeline.steps import image_key, paying_key
from pipeline.store import Store, step_key
from pipeline.storyboard import Scene, Storyboard, validate_storyboard

SCENE_FIELDS = ("image_prompt", "video_prompt", "audio_script", "voice_id", "duration", "seed")
UPLOAD_VERSION = "1"
# Uploads are refused above this many pixels, before decoding: a 40 MP RGB picture is ~120 MB in memory.
MAX_UPLOAD_PIXELS = 40_000_000


def _rebuilt(storyboard: Storyboard, scenes: list[dict[str, Any]]) -> Storyboard:
    data = storyboard.model_dump(mode="json")
    data["scenes"] = scenes
    return validate_storyboard(data)


def _scene_dicts(storyboard: Storyboard) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json", exclude_none=True) for s in storyboard.scenes]


def _scene_index(storyboard: Storyboard, number: int) -> int:
    """1-based scene number (what a person sees) → index, with a clear message when out of range."""
    if not 1 <= number <= len(storyboard.scenes):
        raise InputError(f"scene: {number} is not a scene of this storyboard (1–{len(storyboard.scenes)})")
    return number - 1


def add_scene(storyboard: Storyboard, after: int | None = None, **fields: Any) -> Storyboard:
    """A new scene after scene number `after` (default: at the end)."""
    scenes = _scene_dicts(storyboard)
    new = Scene(**{"image_prompt": "A new scene", **fields}).model_dump(mode="json", exclude_none=True)
    at = len(scenes) if after is None else _scene_index(storyboard, after) + 1
    scenes.insert(at, new)
    return _rebuilt(storyboard, scenes)


def remove_scene(storyboard: Storyboard, number: int) -> Storyboard:
    index = _scene_index(storyboard, number)
    if len(storyboard.scenes) == 1:
        raise InputError("scenes: a storyboard needs at least one scene")
    scenes = _scene_dicts(storyboard)
    del scenes[index]
    return _rebuilt(storyboard, scenes)


def move_scene(storyboard: Storyboard, number: int, offset: int) -> Storyboard:
    """Move scene `number` by `offset` places (−1 up, +1 down); cached outputs follow their scene."""
    index = _scene_index(storyboard, number)
    target = max(0, min(len(storyboard.scenes) - 1, index + offset))
    scenes = _scene_dicts(storyboard)
    scenes.insert(target, scenes.pop(index))
    return _rebuilt(storyboard, scenes)


def update_scene(storyboard: Storyboard, number: int, **fields: Any) -> Storyboard:
    """Change some of a scene's fields. Changing its image prompt or seed drops an approved image."""
    index = _scene_index(storyboard, number)
    unknown = set(fields) - set(Scene.model_fields)
    if unknown:
        raise InputError(f"scene: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(SCENE_FIELDS)}")
    current = storyboard.scenes[index].model_dump(mode="json")
    if any(k in fields and fields[k] != current.get(k) for k in ("image_prompt", "seed")) and "image" not in fields:
        fields["image"] = None
    scenes = _scene_dicts(storyboard)
    scenes[index] = {k: v for k, v in {**current, **fields}.items() if v is not None}
    return _rebuilt(storyboard, scenes)


def reroll_image(storyboard: Storyboard, number: int, rng: random.Random | None = None) -> Storyboard:
    """Ask for a different picture: a new random seed for the scene (its approval is dropped)."""
    return update_scene(storyboard, number, seed=(rng or random.SystemRandom()).randrange(2**32))


def approve_image(
    storyboard: Storyboard,
    number: int,
    *,
    owner: str,
    store: Store | None = None,
    credentials: Credentials | None = None,
) -> Storyboard:
    """Pin the image this scene's settings made (it must have been generated and seen first) for `owner` (the
    command line's "cli", a studio's server-decided owner): only its owner's renders may use the pin."""
    index = _scene_index(storyboard, number)
    store = store or Store()
    credentials = credentials if credentials is not None else Credentials.from_env()
    plan = plan_render(storyboard, credentials)
    # The image key holds everything that made the picture (paid ones: the paying key's fingerprint), so this is
    # the picture the owner's own "Generate image" returns from the cache: approving it gives nothing new.
    # (Asked even of a scene already pinned: approving again re-pins what its settings make.)
    provider = plan.image_provider
    asset = store.get(image_key(provider, plan.scenes[index].image, paying_key(provider, credentials)))
    if asset is None:
        raise InputError(f"scenes[{index}].image: generate this scene's image first, then approve it")
    OwnedImages(store.home).record(owner, asset.sha256, "approved")
    return update_scene(storyboard, number, image=f"sha256:{asset.sha256}")


def upload_image(
    storyboard: Storyboard, number: int, path: str | Path, *, owner: str, store: Store | None = None
) -> Storyboard:
    """Use one's own picture for a scene: fitted (scaled and centre-cropped) to the storyboard's size, then pinned
    for `owner`.

    The pixel count is checked from the file's header before anything is decoded (a 164 KB PNG can hold 169
    megapixels, ~1 GB once decoded); a file Pillow cannot read, or a truncated one, is an InputError naming it.
    """
    index = _scene_index(storyboard, number)
    fitted = _fitted_upload(Path(path), storyboard.size, f"scenes[{index}].image")
    store = store or Store()
    work = store.workdir("upload")
    try:
        out = work / "upload.png"
        fitted.save(out, optimize=False)
        asset = store.put(step_key("upload", version=UPLOAD_VERSION, size=storyboard.size), out, {"uploaded": True})
    finally:
        store.remove_workdir(work)
    OwnedImages(store.home).record(owner, asset.sha256, "uploaded")
    return update_scene(storyboard, number, image=f"sha256:{asset.sha256}")


def _fitted_upload(path: Path, size: tuple[int, int], field: str) -> Image.Image:
    def refused(what: str) -> InputError:
        return InputError(f"{field}: {what} ({path.name})")

    try:
        with warnings.catch_warnings():
            # Pillow warns between its MAX_IMAGE_PIXELS and twice that, and raises above; ours is lower and checked
            # right after opening, so its warning says nothing new.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:  # lazy: reads the header, decodes nothing yet
                width, height = img.size
                if width * height > MAX_UPLOAD_PIXELS:
                    raise refused(f"image too large: {_megapixels(width * height)} megapixels, limit "
                                  f"{MAX_UPLOAD_PIXELS // 1_000_000}; scale it down first")  # fmt: skip
                img.draft("RGB", size)  # JPEG decodes straight to a smaller scale: less memory and time
                img = ImageOps.exif_transpose(img).convert("RGB")
                return ImageOps.fit(img, size, Image.Resampling.LANCZOS)
    except Image.DecompressionBombError as exc:
        # Raised by Image.open itself, before we see the size; its message carries the pixel count.
        counted = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{_megapixels(int(counted.group(1)))} megapixels" if counted else "too many pixels"
        raise refused(f"image too large: {pixels}, limit {MAX_UPLOAD_PIXELS // 1_000_000}; scale it down first") from None
    except UnidentifiedImageError:
        raise refused("the uploaded file is not an image Pillow can read (PNG, JPEG, WebP, …)") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, MemoryError) as exc:
        # Truncated or damaged files: Pillow raises OSError ("image file is truncated"), SyntaxError (bad PNG
        # chunks), struct.error or EOFError, depending on the format.
        raise refused(f"the image is damaged or incomplete: {type(exc).__name__}") from None


def _megapixels(pixels: int) -> int:
    return round(pixels / 1_000_000)


def unpin_image(storyboard: Storyboard, number: int) -> Storyboard:
    return update_scene(storyboard, number, image=None)


# ---------------------------------------------------------------------------------------------------------------
# The storyboard as a table and a settings form (the studio's editor; pure data, no UI library)

TABLE_HEADERS = ["image prompt", "motion prompt", "narration", "voice", "seconds", "seed", "approved image"]


def scene_table(storyboard: Storyboard) -> list[list[Any]]:
    return [
        [s.image_prompt, s.video_prompt, s.audio_script, s.voice_id or "", s.duration,
         "" if s.seed is None else s.seed, (s.image or "")[7:19]]  # fmt: skip
        for s in storyboard.scenes
    ]


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from an emptied number cell
        return None
    text = str(value).strip()
    return text or None


def apply_scene_table(storyboard: Storyboard, rows: list[list[Any]]) -> Storyboard:
    """The storyboard with its scenes as edited in the table (rows added at the end become scenes).

    An approved image stays pinned while its row's image prompt and seed are unchanged.
    """
    rows = [r for r in rows if any(_cell(c) is not None for c in r[:6])]
    old = storyboard.scenes
    scenes = []
    for i, row in enumerate(rows):
        row = list(row) + [None] * (len(TABLE_HEADERS) - len(row))
        image_prompt, video_prompt, audio_script, voice_id, duration, seed = (_cell(c) for c in row[:6])
        scene: dict[str, Any] = {
            "image_prompt": image_prompt or "",
            "video_prompt": video_prompt or "",
            "audio_script": audio_script or "",
            "voice_id": voice_id,
            "duration": _number(duration, 5),
            "seed": _number(seed, None),
        }
        # The pin follows the scene whose picture it is (matched by prompt and seed, wherever the row moved).
        for prev in old:
            if prev.image and prev.image_prompt == scene["image_prompt"] and prev.seed == scene["seed"]:
                scene["image"] = prev.image
                break
        scenes.append({k: v for k, v in scene.items() if v is not None})
    return _rebuilt(storyboard, scenes)


def _number(value: Any, default: Any) -> Any:
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # validation names the field and what is allowed
    return int(number) if number.is_integer() else number


SETTING_FIELDS = (
    "title", "style", "resolution",
    "image.provider", "video.provider", "voice.provider",
    "image.model", "image.steps", "image.guidance", "image.seed",
    "video.content_moderation.public_figure_threshold",
    "voice.voice_id", "voice.stability", "voice.similarity_boost",
    "output.format", "output.quality", "output.watermark",
    "captions.files", "captions.burn_in", "captions.style", "captions.position",
    "music.track", "music.volume_db", "music.duck_db", "output.loudness_lufs",
)  # fmt: skip


def settings_of(storyboard: Storyboard) -> list[Any]:
    """The values of SETTING_FIELDS, in order."""
    data = storyboard.model_dump(mode="json")
    values = []
    for dotted in SETTING_FIELDS:
        value: Any = data
        for part in dotted.split("."):
            value = value[part]
        values.append(value)
    return values


def apply_settings(storyboard: Storyboard, values: list[Any]) -> Storyboard:
    """The storyboard with SETTING_FIELDS set to `values` (blank text means the provider's default)."""
    data = storyboard.model_dump(mode="json")
    for dotted, value in zip(SETTING_FIELDS, values):
        *parents, last = dotted.split(".")
        target = data
        for part in parents:
            target = target[part]
        if isinstance(value, str):
            value = value.strip() or None
        if last == "provider" and value != target.get("provider"):
            target["model"] = None  # a model id belongs to its provider
        if value is None and last not in ("model", "seed", "voice_id"):
            continue  # a required setting left blank keeps its value
        target[last] = _number(value, None) if last in ("seed", "steps") else value
    return validate_storyboard(data)
