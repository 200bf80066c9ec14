"""The storyboard: what a person asks for, validated at the edge into typed objects.

`load_storyboard(path)` / `parse_storyboard(text)` turn YAML or JSON into a `Storyboard`, or raise `InputError`
with one message per problem, naming the field path (`scenes[2].duration`), what was wrong, what is allowed and,
for YAML/JSON text, the line.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import InputError, Problem
from pipeline.styles import STYLE_PRESETS, StyleName

Resolution = Literal["1280x720", "1920x1080", "720x1280"]
RESOLUTIONS: tuple[str, ...] = ("1280x720", "1920x1080", "720x1280")
MIN_SCENE_SECONDS = 2
MAX_SCENE_SECONDS = 10
MAX_SCENES = 50


def _unit(unit: str) -> dict[str, Any]:
    return {"unit": unit}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def _check_provider(kind: str, name: str) -> str:
    from pipeline.providers import registry  # registry imports the built-in providers

    known = registry.names(kind)
    if name not in known:
        hint = difflib.get_close_matches(name, known, n=1)
        did = f"; did you mean '{hint[0]}'?" if hint else ""
        raise ValueError(f"'{name}' is not a known {kind} provider{did} (known: {', '.join(known)})")
    return name


class ImageSettings(_Model):
    """Project defaults for the text → image step."""

    provider: str = Field("draft", description="Image provider name (draft is offline).")
    model: str | None = Field(None, description="Model id; the provider's default when omitted.")
    steps: int = Field(28, ge=1, le=50, description="Inference steps (models that take them).")
    guidance: float = Field(3.5, ge=1.0, le=10.0, description="Guidance scale (models that take it).")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Default seed for every scene.")

    _v = field_validator("provider")(lambda cls, v: _check_provider("image", v))


class ContentModeration(_Model):
    public_figure_threshold: Literal["auto", "low"] = "auto"


class VideoSettings(_Model):
    """Project defaults for the image → video step."""

    provider: str = Field("motion", description="Video provider name (motion is offline).")
    model: str | None = Field(None, description="Model id; the provider's default when omitted.")
    content_moderation: ContentModeration = Field(default_factory=ContentModeration)
    require_approval: bool = Field(
        True,
        description="With a paid video provider, make clips only from approved (seen) images. Set false to "
        "let a render generate images and pay for their clips in one go.",
    )

    _v = field_validator("provider")(lambda cls, v: _check_provider("video", v))


class VoiceSettings(_Model):
    """Project defaults for the narration step."""

    provider: str = Field("piper", description="Voice provider name (piper is offline).")
    voice_id: str | None = Field(None, description="Voice; the provider's default when omitted.")
    model: str | None = Field(None, description="Model id; the provider's default when omitted.")
    stability: float = Field(0.5, ge=0.0, le=1.0)
    similarity_boost: float = Field(0.75, ge=0.0, le=1.0)

    _v = field_validator("provider")(lambda cls, v: _check_provider("voice", v))


class OutputSettings(_Model):
    """How the final video is delivered."""

    format: Literal["mp4", "mov", "webm"] = "mp4"
    quality: Literal["low", "medium", "high"] = "medium"
    watermark: bool = False


class Scene(_Model):
    """One shot: a picture, how the camera moves over it, and what is said over it."""

    image_prompt: str = Field(..., min_length=1, max_length=2000, description="What the picture shows.")
    video_prompt: str = Field("", max_length=1000, description="How the camera and the scene move.")
    audio_script: str = Field("", max_length=5000, description="Narration spoken over the scene.")
    voice_id: str | None = Field(None, description="Overrides the project's voice for this scene.")
    duration: int = Field(
        5,
        ge=MIN_SCENE_SECONDS,
        le=MAX_SCENE_SECONDS,
        description="Seconds of picture (stretched if the narration is longer).",
        json_schema_extra=_unit("seconds"),
    )
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Overrides the project's seed.")
    image: str | None = Field(
        None,
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="An approved (pinned) image from the studio's store, 'sha256:<hex>': used instead of "
        "generating one. Set by approving or uploading an image in the studio.",
    )

    @field_validator("image_prompt")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v


class Storyboard(_Model):
    """A whole video: project defaults plus 1–50 scenes."""

    title: str = Field("Untitled", max_length=200)
    style: StyleName = "photorealistic"
    resolution: Resolution = "1280x720"
    image: ImageSettings = Field(default_factory=ImageSettings)
    video: VideoSettings = Field(default_factory=VideoSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    scenes: list[Scene] = Field(..., min_length=1, max_length=MAX_SCENES)

    @property
    def size(self) -> tuple[int, int]:
        w, h = self.resolution.split("x")
        return int(w), int(h)

    @property
    def providers(self) -> dict[str, str]:
        """The provider chosen for each step kind."""
        return {"image": self.image.provider, "video": self.video.provider, "voice": self.voice.provider}

    def scene_seed(self, index: int) -> int:
        """The seed a scene renders with: its own, the project's, or one derived from its prompt.

        Derived from the prompt (not the position) so reordering scenes keeps their cached images.
        """
        scene = self.scenes[index]
        if scene.seed is not None:
            return scene.seed
        if self.image.seed is not None:
            return self.image.seed
        digest = hashlib.sha256(scene.image_prompt.strip().encode()).digest()
        return int.from_bytes(digest[:4], "big")

    def scene_voice_id(self, index: int) -> str | None:
        return self.scenes[index].voice_id or self.voice.voice_id

    def with_providers(
        self, *, image: str | None = None, video: str | None = None, voice: str | None = None
    ) -> "Storyboard":
        """A copy with the named providers swapped in (CLI and UI overrides); validated like the rest."""
        data = self.model_dump()
        for kind, name in (("image", image), ("video", video), ("voice", voice)):
            if name and name != data[kind]["provider"]:
                data[kind]["provider"] = name
                data[kind]["model"] = None  # a model id belongs to its provider
        return validate_storyboard(data)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=False), sort_keys=False)


assert set(STYLE_PRESETS) == set(StyleName.__args__)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------------------
# Loading and friendly errors


def storyboard_schema() -> dict[str, Any]:
    return Storyboard.model_json_schema()


def load_storyboard(path: str | Path) -> Storyboard:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"storyboard file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read storyboard {path}: {exc}") from None
    return parse_storyboard(text, fmt="json" if path.suffix.lower() == ".json" else None)


def parse_storyboard(text: str, fmt: Literal["yaml", "json"] | None = None) -> Storyboard:
    """Parse YAML or JSON text (JSON when it starts with `{`, unless `fmt` says) into a Storyboard."""
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError([Problem("", f"malformed JSON: {exc.msg}", exc.lineno)]) from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            line = mark.line + 1 if mark is not None else None
            col = f", column {mark.column + 1}" if mark is not None else ""
            raise InputError([Problem("", f"malformed YAML{col}: {problem}", line)]) from None
    if data is None:
        raise InputError("the storyboard is empty: it needs at least `scenes:` with one scene")
    return validate_storyboard(data, source_text=text)


def validate_storyboard(data: Any, source_text: str | None = None) -> Storyboard:
    if isinstance(data, Storyboard):
        return data
    if not isinstance(data, dict):
        raise InputError(f"a storyboard is a mapping of fields (title, scenes, ...), not {_kind(data)}")
    try:
        return Storyboard.model_validate(data)
    except ValidationError as exc:
        lines = _LineFinder(source_text)
        problems = [_problem(err, lines) for err in exc.errors(include_url=False)]
        # In the order a person reads the file; problems with no line (missing fields) last.
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise InputError(problems) from None


def format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "empty"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _field_at(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, Any]:
    """The model that owns the last element of `loc`, and that field's info (or None)."""
    model: type[BaseModel] | None = Storyboard
    info = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part)
        if info is None:
            return model, None
        ann = info.annotation
        nxt = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                nxt = cand
        if part != loc[-1]:
            model = nxt
    return model, info


def _problem(err: dict[str, Any], lines: "_LineFinder") -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    path = format_path(loc)
    line = lines.find(loc)

    if kind == "extra_forbidden":
        parent, _ = _field_at(loc[:-1] + ("__x__",))
        known = list(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
        did = f"did you mean '{hint[0]}'?" if hint else f"allowed fields: {', '.join(known)}"
        return Problem(path, f"unknown field; {did}", line)

    _, info = _field_at(loc)
    unit = ""
    if info is not None and isinstance(info.json_schema_extra, dict):
        unit = f" {info.json_schema_extra.get('unit')}" if info.json_schema_extra.get("unit") else ""

    if kind == "missing":
        msg = "is required"
    elif kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        msg = f"{value} is above the maximum of {bound}{unit}"
    elif kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        msg = f"{value} is below the minimum of {bound}{unit}"
    elif kind == "literal_error":
        allowed = ctx.get("expected", "").replace("'", "")
        msg = f"'{value}' is not allowed; choose one of: {allowed.replace(' or ', ', ')}"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        msg = f"{value!r} is not a whole number" + (f" of{unit}" if unit else "")
    elif kind in ("float_parsing", "float_type"):
        msg = f"{value!r} is not a number"
    elif kind in ("bool_parsing", "bool_type"):
        msg = f"{value!r} is not true or false"
    elif kind in ("string_type",):
        msg = f"expected text, got {_kind(value)}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"expected a mapping of fields, got {_kind(value)}"
    elif kind == "list_type":
        msg = f"expected a list, got {_kind(value)}"
    elif kind == "too_short" and path == "scenes":
        msg = "needs at least 1 scene"
    elif kind == "too_long" and path == "scenes":
        msg = f"has {ctx.get('actual_length')} scenes; the maximum is {MAX_SCENES}"
    elif kind == "string_too_short":
        msg = "must not be empty"
    elif kind == "string_too_long":
        msg = f"is {len(value)} characters; the maximum is {ctx.get('max_length')}"
    elif kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
    else:
        msg = err["msg"]
    return Problem(path, msg, line)


class _LineFinder:
    """Maps a field path to its line in the YAML/JSON source (JSON is read as YAML for positions)."""

    def __init__(self, text: str | None):
        self.root = None
        if text:
            try:
                self.root = yaml.compose(text)
            except yaml.YAMLError:
                self.root = None

    def find(self, loc: tuple[Any, ...]) -> int | None:
        node = self.root
        best = None
        for part in loc:
            if node is None:
                break
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
                if match is None:
                    break
                best = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                best = node.start_mark.line + 1
            else:
                break
        return best
