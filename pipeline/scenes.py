"""Editing a storyboard scene by scene, and step-by-step control: approve or upload a scene's image.

Each edit is decided here from what the storyboard says (`approval`, `scene_update`, `table_changes`, ...) as a
typed change, and applied by pipeline.yaml_edit to the person's own text: `edit(text, build)` keeps their
comments, key order and quoting and writes only the changed keys. The studio and the CLI edit text that way;
`approve_image(storyboard, ...)` and the other Storyboard → Storyboard functions are the same changes for programs.
Approving pins the image's content hash into the scene (`image: sha256:…`): every later render and clip uses
exactly that picture, and the pin travels with the storyboard's YAML.
"""

from __future__ import annotations

import difflib
import random
import re
import struct
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.credentials import Credentials
from pipeline.errors import InputError, Problem
from pipeline.plan import plan_render
from pipeline.services import Services, services_for_call
from pipeline.steps import image_key, paying_key
from pipeline.store import Store, step_key
from pipeline.storyboard import Scene, Storyboard, parse_storyboard
from pipeline.yaml_edit import (
    Edited,
    InsertScene,
    MoveScene,
    RemoveScene,
    SetSceneFields,
    SetSettings,
    StoryboardChange,
    edit_storyboard,
)

SCENE_FIELDS = ("image_prompt", "video_prompt", "audio_script", "voice_id", "duration", "seed")
UPLOAD_VERSION = "1"
# Uploads are refused above this many pixels, before decoding: a 40 MP RGB picture is ~120 MB in memory.
MAX_UPLOAD_PIXELS = 40_000_000


Changes = StoryboardChange | Sequence[StoryboardChange]


def edit(text: str, build: Callable[[Storyboard], Changes], fmt: Any = None) -> Edited:
    """Edit a storyboard's text: `build` decides the change from what the text says; only it is written.

    Raises InputError (the text is left as it was) when the text or the edited result is not a valid storyboard.
    """
    return edit_storyboard(text, build(parse_storyboard(text, fmt)), fmt)


def _on_model(storyboard: Storyboard, changes: Changes) -> Storyboard:
    return edit_storyboard(storyboard.to_yaml(), changes).storyboard


def _scene_index(storyboard: Storyboard, number: int) -> int:
    """1-based scene number (what a person sees) → index, with a clear message when out of range."""
    if not 1 <= number <= len(storyboard.scenes):
        raise InputError(f"scene: {number} is not a scene of this storyboard (1–{len(storyboard.scenes)})")
    return number - 1


def add_scene(storyboard: Storyboard, after: int | None = None, **fields: Any) -> Storyboard:
    """A new scene after scene number `after` (default: at the end)."""
    return _on_model(storyboard, new_scene(after, **fields))


def new_scene(after: int | None = None, **fields: Any) -> InsertScene:
    return InsertScene(after, {"image_prompt": "A new scene", **fields})


def remove_scene(storyboard: Storyboard, number: int) -> Storyboard:
    return _on_model(storyboard, RemoveScene(number))


def move_scene(storyboard: Storyboard, number: int, offset: int) -> Storyboard:
    """Move scene `number` by `offset` places (−1 up, +1 down); cached outputs follow their scene."""
    return _on_model(storyboard, MoveScene(number, offset))


def update_scene(storyboard: Storyboard, number: int, **fields: Any) -> Storyboard:
    """Change some of a scene's fields. Changing its image prompt or seed drops an approved image."""
    return _on_model(storyboard, scene_update(storyboard, number, **fields))


def scene_update(storyboard: Storyboard, number: int, **fields: Any) -> SetSceneFields:
    """The change of some of a scene's fields (None clears one); a new image prompt or seed drops the pin."""
    index = _scene_index(storyboard, number)
    unknown = set(fields) - set(Scene.model_fields)
    if unknown:
        raise InputError(f"scene: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(SCENE_FIELDS)}")
    current = storyboard.scenes[index]
    new_picture = any(k in fields and fields[k] != getattr(current, k) for k in ("image_prompt", "seed"))
    if new_picture and "image" not in fields:
        fields["image"] = None
    return SetSceneFields(number, fields)


def reroll_image(storyboard: Storyboard, number: int, rng: random.Random | None = None) -> Storyboard:
    """Ask for a different picture: a new random seed for the scene (its approval is dropped)."""
    return _on_model(storyboard, reroll(storyboard, number, rng))


def reroll(storyboard: Storyboard, number: int, rng: random.Random | None = None) -> SetSceneFields:
    return scene_update(storyboard, number, seed=(rng or random.SystemRandom()).randrange(2**32))


def approve_image(storyboard: Storyboard, number: int, *, owner: str, store: Store | None = None,
                  credentials: Credentials | None = None, services: Services | None = None) -> Storyboard:  # fmt: skip
    return _on_model(storyboard, approval(storyboard, number, owner=owner, store=store, credentials=credentials,
                                          services=services))  # fmt: skip


def approval(
    storyboard: Storyboard,
    number: int,
    *,
    owner: str,
    store: Store | None = None,
    credentials: Credentials | None = None,
    services: Services | None = None,
) -> SetSceneFields:
    """Pin the image this scene's settings made (it must have been generated and seen first) for `owner` (the
    command line's "cli", a studio's server-decided owner): only its owner's renders may use the pin."""
    index = _scene_index(storyboard, number)
    services = services_for_call(services, store=store, credentials=credentials)
    store, credentials = services.store, services.credentials
    plan = plan_render(storyboard, credentials, blocklist=services.settings.blocklist)
    # The image key holds everything that made the picture (paid ones: the paying key's fingerprint), so this is
    # the picture the owner's own "Generate image" returns from the cache: approving it gives nothing new.
    # (Asked even of a scene already pinned: approving again re-pins what its settings make.)
    provider = plan.image_provider
    asset = store.get(image_key(provider, plan.scenes[index].image, paying_key(provider, credentials)))
    if asset is None:
        raise InputError([Problem(f"scenes[{index}].image", "generate this scene's image first, then approve it")])
    services.owned_images.record(owner, asset.sha256, "approved")
    return scene_update(storyboard, number, image=f"sha256:{asset.sha256}")


def upload_image(
    storyboard: Storyboard, number: int, path: str | Path, *, owner: str, store: Store | None = None,
    services: Services | None = None,
) -> Storyboard:  # fmt: skip
    return _on_model(storyboard, upload(storyboard, number, path, owner=owner, store=store, services=services))


def upload(
    storyboard: Storyboard, number: int, path: str | Path, *, owner: str, store: Store | None = None,
    services: Services | None = None,
) -> SetSceneFields:  # fmt: skip
    """Use one's own picture for a scene: fitted (scaled and centre-cropped) to the storyboard's size, then pinned
    for `owner`.

    The pixel count is checked from the file's header before anything is decoded (a 164 KB PNG can hold 169
    megapixels, ~1 GB once decoded); a file Pillow cannot read, or a truncated one, is an InputError naming it.
    """
    index = _scene_index(storyboard, number)
    fitted = _fitted_upload(Path(path), storyboard.size, f"scenes[{index}].image")
    services = services_for_call(services, store=store)
    store = services.store
    work = store.workdir("upload")
    try:
        out = work / "upload.png"
        fitted.save(out, optimize=False)
        asset = store.put(step_key("upload", version=UPLOAD_VERSION, size=storyboard.size), out, {"uploaded": True})
    finally:
        store.remove_workdir(work)
    services.owned_images.record(owner, asset.sha256, "uploaded")
    return scene_update(storyboard, number, image=f"sha256:{asset.sha256}")


def _fitted_upload(path: Path, size: tuple[int, int], field: str) -> Image.Image:
    def refused(what: str) -> InputError:
        return InputError([Problem(field, f"{what} ({path.name})")])

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
    """The storyboard with its scenes as edited in the table (rows added at the end become scenes)."""
    return _on_model(storyboard, table_changes(storyboard, rows))


def check_table(rows: list[list[Any]], headers: Sequence[str] | None = None) -> None:
    """Refuse a table whose columns are not the scene table's own (a deleted, added or moved column would shift
    every value into the wrong field)."""
    expected = len(TABLE_HEADERS)
    if headers is not None and [str(h) for h in headers] != TABLE_HEADERS:
        raise InputError([Problem("scene table", f"its columns changed to {', '.join(map(str, headers)) or 'none'}; "
                                                 f"expected {', '.join(TABLE_HEADERS)}. Nothing was changed")])
    for index, row in enumerate(rows):
        if len(row) != expected:
            raise InputError([Problem(f"scenes[{index}]", f"the table row has {len(row)} cells, expected {expected} "
                                                          f"({', '.join(TABLE_HEADERS)}). Nothing was changed")])


def table_changes(storyboard: Storyboard, rows: list[list[Any]],
                  headers: Sequence[str] | None = None) -> list[StoryboardChange]:  # fmt: skip
    """The changes that make the storyboard's scenes what the table says: changed cells of a row set only those
    fields; rows added or removed (matched by content, so other scenes keep their own text) add or remove scenes.

    An approved image stays pinned while its row's image prompt and seed are unchanged.
    """
    check_table(rows, headers)
    rows = [list(r) for r in rows if any(_cell(c) is not None for c in r[:6])]
    old = scene_table(storyboard)
    changes: list[StoryboardChange] = []
    matcher = difflib.SequenceMatcher(None, [_row_key(r) for r in old], [_row_key(r) for r in rows], autojunk=False)
    # From the end, so the scene numbers of the changes still to come are not shifted by earlier ones.
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        changes += [RemoveScene(number) for number in range(i2, i1 + paired, -1)]
        changes += [InsertScene(i1 + paired, fields) for fields in reversed(
            [_new_scene_fields(storyboard, row) for row in rows[j1 + paired : j2]])]  # fmt: skip
        for k in range(paired - 1, -1, -1):
            fields = _changed_fields(storyboard.scenes[i1 + k], _row_fields(rows[j1 + k]))
            if fields:
                changes.append(SetSceneFields(i1 + k + 1, fields))
    return changes


def _row_fields(row: list[Any]) -> dict[str, Any]:
    image_prompt, video_prompt, audio_script, voice_id, duration, seed = (_cell(c) for c in row[:6])
    return {"image_prompt": image_prompt or "", "video_prompt": video_prompt or "", "audio_script": audio_script or "",
            "voice_id": voice_id, "duration": _number(duration, None), "seed": _number(seed, None)}  # fmt: skip


def _row_key(row: list[Any]) -> tuple[Any, ...]:
    return tuple(str(v) for v in _row_fields(row).values())


def _changed_fields(scene: Scene, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from the scene's; a cleared one is None (removed: its default applies)."""
    changed = {}
    for key, value in fields.items():
        current = getattr(scene, key)
        if value != current and not (value in ("", None) and current == Scene.model_fields[key].default):
            changed[key] = None if value == "" else value
    if scene.image and ("image_prompt" in changed or "seed" in changed):
        changed["image"] = None  # a different picture must be seen (and approved) again
    return changed


def _new_scene_fields(storyboard: Storyboard, row: list[Any]) -> dict[str, Any]:
    fields = {k: v for k, v in _row_fields(row).items() if v not in ("", None)}
    fields.setdefault("image_prompt", "")
    # The pin follows the scene whose picture it is (matched by prompt and seed, wherever the row moved).
    for prev in storyboard.scenes:
        if prev.image and prev.image_prompt == fields["image_prompt"] and prev.seed == fields.get("seed"):
            fields["image"] = prev.image
            break
    return fields


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
    "transition.type", "transition.seconds",
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
    return _on_model(storyboard, settings_changes(storyboard, values))


def settings_changes(storyboard: Storyboard, values: Sequence[Any]) -> SetSettings:
    """The settings whose value differs from the storyboard's: only those are written. Blank text clears an
    optional setting (model, seed, voice) and keeps a required one; a new provider clears its kind's model."""
    changed: dict[str, Any] = {}
    for dotted, value, current in zip(SETTING_FIELDS, values, settings_of(storyboard)):
        last = dotted.rsplit(".", 1)[-1]
        if isinstance(value, str):
            value = value.strip() or None
        if value is None and last not in ("model", "seed", "voice_id"):
            continue  # a required setting left blank keeps its value
        if last in ("seed", "steps"):
            value = _number(value, None)
        if value != current:
            changed[dotted] = value
    for dotted in list(changed):
        kind, _, last = dotted.partition(".")
        if last == "provider" and f"{kind}.model" not in changed and _model_of(storyboard, kind) is not None:
            changed[f"{kind}.model"] = None  # a model id belongs to its provider
    return SetSettings(changed)


def _model_of(storyboard: Storyboard, kind: str) -> str | None:
    return getattr(storyboard, kind).model
