"""The storyboard: what a person asks for, validated at the edge into typed objects.

`load_storyboard(path)` / `parse_storyboard(text)` turn YAML or JSON into a `Storyboard`, or raise `InputError`
with one message per problem, naming the field path (`scenes[2].duration`), what was wrong, what is allowed and,
for YAML/JSON text, the line.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import InputError, Problem
from pipeline.media.beds import MOODS
from pipeline.styles import STYLE_PRESETS, StyleName

# 640x360 and 360x640 are the preview's half sizes (pipeline/preview.py), open to any storyboard that wants a draft.
Resolution = Literal["1280x720", "1920x1080", "720x1280", "640x360", "360x640"]
RESOLUTIONS: tuple[str, ...] = ("1280x720", "1920x1080", "720x1280", "640x360", "360x640")
MIN_SCENE_SECONDS = 2
MAX_SCENE_SECONDS = 10
MAX_SCENES = 50
MAX_TRANSITION_SECONDS = MAX_SCENE_SECONDS / 2

# Limits on storyboard text, checked before any Python object is built from it (see parse_storyboard). A 50-scene
# storyboard with every field at its longest is ~400 KB of ASCII (1.6 MB if every character is an emoji), nests 4
# deep and has under 1000 keys and list items.
MAX_STORYBOARD_BYTES = 2_000_000
MAX_NESTING = 32
MAX_ENTRIES = 5000
MAX_NUMBER_CHARS = 30
# What a message may quote of a value, and how many problems one report lists.
PREVIEW_CHARS = 40
MAX_PROBLEMS = 50


def _unit(unit: str) -> dict[str, Any]:
    return {"unit": unit}


def _truncate(text: str, limit: int = PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _quote(value: Any) -> str:
    """A short, safe quotation of a person's value for a message: never more than ~PREVIEW_CHARS characters.

    Messages travel to browsers, logs and terminals; quoting a value in full let a 400-byte alias bomb become a
    312 MB reply (issue 12). Containers are described, not printed; huge integers are not turned into text.
    """
    if isinstance(value, str):
        return repr(_truncate(value))
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        # str() of an int over 4300 digits raises ValueError, and is slow well before that.
        return str(value) if value.bit_length() <= 128 else f"a {value.bit_length() * 3 // 10}-digit number"
    return _kind(value)


# Control characters have no place in a title, prompt or narration (a NUL truncates a file name or a C string in
# an SDK); newline, carriage return and tab do.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Characters that draw nothing and say nothing, though str.strip() keeps them: zero-width space, joiners, BOM, soft
# hyphen (category Cf), combining marks on nothing (Mn, Me), and letters that render blank (Hangul fillers,
# braille blank).
_BLANK_CATEGORIES = {"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp"}
_BLANK_LETTERS = set("\u115f\u1160\u3164\uffa0\u2800")


def _has_visible_text(text: str) -> bool:
    return any(not ch.isspace() and ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _BLANK_CATEGORIES
               for ch in text)  # fmt: skip


def _no_control_characters(value: Any) -> Any:
    if isinstance(value, str):
        found = _CONTROL.search(value)
        if found:
            raise ValueError(f"contains the control character U+{ord(found.group()):04X} at position "
                             f"{found.start() + 1}; remove it")  # fmt: skip
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # Runs before every field's own validators (inherited validators come first), so theirs see no control characters.
    _text = field_validator("*")(lambda cls, v: _no_control_characters(v))


def _check_provider(kind: str, name: str) -> str:
    from pipeline.providers import registry  # registry imports the built-in providers

    known = registry.names(kind)
    if name not in known:
        hint = difflib.get_close_matches(_truncate(name), known, n=1)
        did = f"; did you mean '{hint[0]}'?" if hint else ""
        raise ValueError(f"{_quote(name)} is not a known {kind} provider{did} (known: {', '.join(known)})")
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
    quality: Literal["draft", "low", "medium", "high"] = Field(
        "medium",
        description="low, medium (default) or high; draft is the preview's animatic: 12 frames a second, the "
        "fastest encoder settings.",
    )
    watermark: bool = False
    label: str | None = Field(
        None,
        max_length=24,
        description="A short tag burnt into the picture's top-right corner (a preview says PREVIEW); none by default.",
    )
    max_scene_seconds: int | None = Field(
        None,
        ge=MIN_SCENE_SECONDS,
        le=MAX_SCENE_SECONDS,
        description="No scene longer than this, narration included: a longer narration is cut with a short fade "
        "instead of lengthening its scene (a preview's 5 s). None: a scene stretches to its narration.",
        json_schema_extra=_unit("seconds"),
    )
    loudness_lufs: float = Field(
        -14.0,
        ge=-40.0,
        le=-5.0,
        description="Integrated loudness of the final sound (EBU R128), true peak at most -1 dBTP. -14 is what "
        "YouTube and Spotify play at; -16 Apple; -23 EBU broadcast.",
        json_schema_extra=_unit("LUFS"),
    )

    @field_validator("label")
    @classmethod
    def _drawable(cls, v: str | None) -> str | None:
        # The label is drawn with Pillow's built-in font, which has Latin letters only: anything else would be boxes.
        if v is not None and (not v.strip() or not all(" " <= ch <= "~" for ch in v)):
            raise ValueError("must be a few plain Latin letters, digits or punctuation, such as PREVIEW or DRAFT")
        return v


class TransitionSettings(_Model):
    """How one scene passes into the next: a hard cut, or an overlap of `seconds` (the video gets that much shorter)."""

    type: Literal["cut", "crossfade", "fade_black"] = Field(
        "cut", description="cut (default), crossfade (the scenes dissolve into each other) or fade_black "
        "(through black).",
    )  # fmt: skip
    seconds: float = Field(
        0.5,
        gt=0,
        le=MAX_TRANSITION_SECONDS,
        description="How long the two scenes overlap (ignored for cut). The two scenes' durations bound it.",
        json_schema_extra=_unit("seconds"),
    )


class CaptionSettings(_Model):
    """Captions from the narration's own word timing (scenes without narration have none)."""

    files: bool = Field(True, description="Write OUT.srt and OUT.vtt beside the video.")
    burn_in: bool = Field(True, description="Draw the captions onto the picture of narrated scenes.")
    style: Literal["boxed", "outline", "karaoke"] = Field(
        "boxed", description="boxed: text on a dark box; outline: outlined text; karaoke: boxed, the spoken word "
        "highlighted.")
    position: Literal["bottom", "middle", "top"] = Field("bottom", description="Where burned-in captions sit.")


_SHA256_TRACK = re.compile(r"^sha256:[0-9a-f]{64}$")


class MusicSettings(_Model):
    """The music bed under the narration: ducked while someone speaks, back up in pauses."""

    track: str = Field(
        "none",
        min_length=1,
        max_length=1000,
        description="none | bundled:<mood> (" + ", ".join(MOODS) + ") | sha256:<hex> (music uploaded in the "
        "studio) | a file path (command line only).",
    )
    volume_db: float = Field(-18.0, ge=-60.0, le=0.0, description="The music's level where nobody speaks "
                             "(RMS, on the scale the narration sits at -17).", json_schema_extra=_unit("dB"))  # fmt: skip
    duck_db: float = Field(12.0, ge=0.0, le=40.0, description="How far the music goes down while someone speaks.",
                           json_schema_extra=_unit("dB"))  # fmt: skip

    @field_validator("track")
    @classmethod
    def _known_track(cls, v: str) -> str:
        if v.startswith("bundled:") and v.removeprefix("bundled:") not in MOODS:
            raise ValueError(f"{_quote(v)} names no bundled bed; choose one of: "
                             + ", ".join(f"bundled:{m}" for m in MOODS))  # fmt: skip
        if v.startswith("sha256:") and not _SHA256_TRACK.match(v):
            raise ValueError("an uploaded track is 'sha256:' and 64 lowercase hex digits; upload the file again")
        if not v.strip():
            raise ValueError("must not be blank; use 'none' for no music")
        return v


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
    transition: TransitionSettings | None = Field(
        None, description="The transition from this scene into the next; the project's when omitted (unused on the "
        "last scene).",
    )  # fmt: skip
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
        if not _has_visible_text(v):
            raise ValueError("has no visible text, only invisible characters (such as zero-width spaces)")
        return v

    @field_validator("audio_script")
    @classmethod
    def _speakable(cls, v: str) -> str:
        # Whitespace alone means "no narration"; invisible characters alone would reach the voice provider and fail
        # there, after the scene's picture was paid for.
        if v.strip() and not _has_visible_text(v):
            raise ValueError("has no speakable text, only invisible characters (such as zero-width spaces)")
        return v


def transition_into_next(scenes: list[Scene], default: TransitionSettings | None, index: int) -> TransitionSettings:
    """The transition from scene `index` into the next: its own, else the project's (a cut when neither is set)."""
    return scenes[index].transition or default or TransitionSettings()


def _transitions_fit(scenes: list[Scene], default: TransitionSettings | None) -> list[Scene]:
    """Every scene must hold its incoming and outgoing overlaps within its requested duration."""
    def overlap(i: int) -> float:
        t = transition_into_next(scenes, default, i)
        return 0.0 if t.type == "cut" or i >= len(scenes) - 1 else t.seconds

    for i, scene in enumerate(scenes):
        incoming, outgoing = (overlap(i - 1) if i else 0.0), overlap(i)
        if incoming + outgoing > scene.duration:
            # "scenes[i].duration: …": _problem places it on that scene's field ("Scene i+1, duration (…): …")
            raise ValueError(f"scenes[{i}].duration: lasts {scene.duration} seconds but its transitions overlap it by "
                             f"{incoming + outgoing:g} seconds (in {incoming:g} + out {outgoing:g}); shorten the "
                             "transition's seconds or lengthen the scene")  # fmt: skip
    return scenes


class Storyboard(_Model):
    """A whole video: project defaults plus 1–50 scenes."""

    title: str = Field("Untitled", max_length=200)
    style: StyleName = "photorealistic"
    resolution: Resolution = "1280x720"
    image: ImageSettings = Field(default_factory=ImageSettings)
    video: VideoSettings = Field(default_factory=VideoSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    transition: TransitionSettings = Field(
        default_factory=TransitionSettings, description="The transition between scenes (a scene's own overrides it)."
    )
    captions: CaptionSettings = Field(default_factory=CaptionSettings)
    music: MusicSettings = Field(default_factory=MusicSettings)
    scenes: list[Scene] = Field(..., min_length=1, max_length=MAX_SCENES)

    _fits = field_validator("scenes")(lambda cls, v, info: _transitions_fit(v, info.data.get("transition")))

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
        # allow_unicode: "漢" stays one character, not a "\u6F22" escape (an emoji-only storyboard escaped would be
        # 2.5× its size, past MAX_STORYBOARD_BYTES, and unreadable in the studio's editor).
        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=False), sort_keys=False, allow_unicode=True)


assert set(STYLE_PRESETS) == set(StyleName.__args__)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------------------
# Loading, within limits


def storyboard_schema() -> dict[str, Any]:
    return Storyboard.model_json_schema()


def load_storyboard(path: str | Path) -> Storyboard:
    path = Path(path)
    return parse_storyboard(read_storyboard_text(path), fmt="json" if path.suffix.lower() == ".json" else None)


def read_storyboard_text(path: str | Path) -> str:
    """A storyboard file's text, read no further than MAX_STORYBOARD_BYTES + 1 (an upload may be gigabytes)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            # Read one byte past the limit: a huge file (or /dev/zero) is refused without reading it all.
            raw = f.read(MAX_STORYBOARD_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"storyboard file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read storyboard {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_STORYBOARD_BYTES:
        raise InputError(_too_big_message())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read storyboard {path}: not UTF-8 text (byte {exc.start + 1})") from None
    return text


def parse_storyboard(text: str, fmt: Literal["yaml", "json"] | None = None) -> Storyboard:
    """Parse YAML or JSON text (JSON when it starts with `{`, unless `fmt` says) into a Storyboard.

    Hostile text is refused before Python objects are built from it, in time linear in its size: more than
    MAX_STORYBOARD_BYTES, nesting deeper than MAX_NESTING, more than MAX_ENTRIES keys and list items, numbers longer
    than MAX_NUMBER_CHARS, YAML aliases (a 400-byte "billion laughs" expands to gigabytes) and tags other than the
    plain ones. Every failure is an InputError naming the line where known, never another exception.
    """
    if len(text) > MAX_STORYBOARD_BYTES:
        raise InputError(_too_big_message())
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        # A lone surrogate (from a program, or JSON's "\ud800" already decoded) is not text: libyaml and every file
        # written later would fail on it.
        raise InputError([Problem("", f"contains U+{ord(text[exc.start]):04X}, half of a surrogate pair, which is "
                                      "not text; remove it", _line_of(text, exc.start))]) from None  # fmt: skip
    if size > MAX_STORYBOARD_BYTES:
        raise InputError(_too_big_message())
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":
        data = _load_json(text)
        source: _SourceMap | None = None
    else:
        source = _SourceMap.scan(text, enforce_limits=True)
        data = _load_yaml(text, source)
    if data is None:
        raise InputError("the storyboard is empty: it needs at least `scenes:` with one scene")
    return _validate(data, source if source is not None else _LazySourceMap(text))


def _too_big_message() -> str:
    return (f"the storyboard is larger than {MAX_STORYBOARD_BYTES // 1_000_000} MB; {MAX_SCENES} scenes with every "
            "field at its longest fit in less")  # fmt: skip


# -- YAML ---------------------------------------------------------------------------------------------------------

_YAML_TAG = "tag:yaml.org,2002:"
# The tags a storyboard may spell out (`!!str 123`); anything else (`!!python/object`, `!!timestamp`, `!mine`)
# is refused by name rather than left to a constructor that may fail with a bare ValueError or build objects.
_ALLOWED_TAGS = {None, "!", *(f"{_YAML_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq"))}
_NUMBER_TAGS = {f"{_YAML_TAG}int", f"{_YAML_TAG}float"}

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: fast, and no recursion


class _StoryboardLoader(_Loader):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader reading only what a storyboard holds: text, numbers, true/false, null, maps, lists.

    Plain scalars that look like dates stay text (PyYAML would build a `date`, or raise ValueError on
    `2001-13-45`), as do `=` and `<<` (value and merge keys, which need features a storyboard has no use for).
    A scalar that cannot be built (`!!int abc`, `!!bool maybe`, `0x_`) raises _UnreadableScalar naming its node.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag in (f"{_YAML_TAG}bool", f"{_YAML_TAG}int", f"{_YAML_TAG}float", f"{_YAML_TAG}null")]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }  # fmt: skip

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (_UnreadableScalar, yaml.YAMLError):
            raise
        except (ValueError, TypeError, KeyError, OverflowError, ArithmeticError, RecursionError) as exc:
            raise _UnreadableScalar(node) from exc


class _UnreadableScalar(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag


def _load_yaml(text: str, source: "_SourceMap") -> Any:
    loader = _StoryboardLoader(text)
    try:
        return loader.get_single_data()
    except _UnreadableScalar as exc:
        node = exc.node
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        path = format_path(source.path_at(line, col) or ())
        value = node.value if isinstance(node.value, str) else None
        shown = f"{_quote(value)} " if value is not None else ""
        kind = _tag_name(node.tag)
        raise InputError([Problem(path, f"{shown}cannot be read as {kind}", line)]) from None
    except yaml.YAMLError as exc:
        raise InputError([_yaml_problem(exc)]) from None
    except (ValueError, TypeError, UnicodeError, RecursionError, MemoryError) as exc:
        raise InputError(f"unreadable YAML: {type(exc).__name__}") from None
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    line = mark.line + 1 if mark is not None else None
    col = f", column {mark.column + 1}" if mark is not None else ""
    return Problem("", f"malformed YAML{col}: {_truncate(problem, 200)}", line)


# -- JSON ---------------------------------------------------------------------------------------------------------

# A string, possibly unterminated (consumed to the end), so brackets inside strings never count.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
# One token at a time, left to right: a string or a bracket. Linear: every character is consumed once.
_JSON_TOKEN = re.compile(_JSON_STRING.pattern + r"|[\[\]{}]", re.DOTALL)


class _NumberTooLong(Exception):
    def __init__(self, digits: str):
        self.digits = digits


def _json_int(digits: str) -> int:
    if len(digits) > MAX_NUMBER_CHARS:
        raise _NumberTooLong(digits)
    return int(digits)


def _json_float(digits: str) -> float:
    if len(digits) > MAX_NUMBER_CHARS:
        raise _NumberTooLong(digits)
    return float(digits)


_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _json_depth(text: str) -> int:
    """How deep the brackets outside strings nest, in C-speed passes (a megabyte of `[]` takes milliseconds)."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def _load_json(text: str) -> Any:
    if _json_depth(text) > MAX_NESTING:
        depth, line = 0, None
        for token in _JSON_TOKEN.finditer(text):  # only now, to name the line
            ch = token.group()[0]
            depth += 1 if ch in "[{" else -1 if ch in "]}" else 0
            if depth > MAX_NESTING:
                line = _line_of(text, token.start())
                break
        raise InputError([Problem("", _nesting_message(), line)])
    try:
        data = json.loads(text, parse_int=_json_int, parse_float=_json_float)
    except json.JSONDecodeError as exc:
        raise InputError([Problem("", f"malformed JSON: {exc.msg}", exc.lineno)]) from None
    except _NumberTooLong as exc:
        at = text.find(exc.digits)
        raise InputError([Problem("", _number_message(exc.digits), _line_of(text, at) if at >= 0 else None)]) from None
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise InputError(f"unreadable JSON: {type(exc).__name__}") from None
    entries = 0
    pending = [data]
    while pending:  # iterative: no recursion, and it stops at the limit
        item = pending.pop()
        if isinstance(item, dict):
            entries += len(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            entries += len(item)
            pending.extend(item)
        if entries > MAX_ENTRIES:
            raise InputError(_entries_message())
    return data


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _nesting_message() -> str:
    return f"nested deeper than {MAX_NESTING} levels; a storyboard needs 4"


def _entries_message() -> str:
    return (f"more than {MAX_ENTRIES} keys and list items; a storyboard of {MAX_SCENES} scenes with every field "
            f"needs under 1000")  # fmt: skip


def _number_message(digits: str) -> str:
    return f"a number {len(digits)} characters long ({_quote(digits)}); numbers here are at most {MAX_NUMBER_CHARS}"


# -- Positions ----------------------------------------------------------------------------------------------------


class _SourceMap:
    """Where each field sits in the YAML/JSON text (JSON is read as YAML for positions), from one pass.

    `scan` walks PyYAML's flat event stream with an explicit stack (no recursion, time linear in the text):
    it records the line of every mapping key and list item by field path, and, with `enforce_limits`, refuses
    aliases, unknown tags, long numbers, deep nesting and too many entries before any Python object is built.
    """

    def __init__(self, lines: dict[tuple[Any, ...], int], paths: dict[tuple[int, int], tuple[Any, ...]]):
        self.lines = lines
        self.paths = paths

    @classmethod
    def scan(cls, text: str, enforce_limits: bool = False) -> "_SourceMap":
        lines: dict[tuple[Any, ...], int] = {}
        paths: dict[tuple[int, int], tuple[Any, ...]] = {}
        resolver = _StoryboardLoader("") if enforce_limits else None
        loader = None
        try:
            loader = _StoryboardLoader(text)
            _walk_events(loader, lines, paths, resolver)
        except yaml.YAMLError as exc:
            if enforce_limits:
                raise InputError([_yaml_problem(exc)]) from None
        except (ValueError, TypeError, UnicodeError) as exc:
            if enforce_limits:
                raise InputError(f"unreadable YAML: {type(exc).__name__}") from None
        finally:
            if loader is not None:
                loader.dispose()
            if resolver is not None:
                resolver.dispose()
        return cls(lines, paths)

    def find(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest part of `loc` the text has (a missing field: its parent's line)."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is None and not isinstance(loc[end - 1], str):
                line = self.lines.get(loc[: end - 1] + (str(loc[end - 1]),))  # a key YAML read as a number
            if line is not None:
                return line
        return None

    def path_at(self, line: int, col: int) -> tuple[Any, ...] | None:
        return self.paths.get((line, col))


def _walk_events(loader: Any, lines: dict[tuple[Any, ...], int], paths: dict[tuple[int, int], tuple[Any, ...]],
                 resolver: Any | None) -> None:  # fmt: skip
    """Fill `lines` and `paths` from the loader's event stream; with a `resolver` (limits enforced), refuse a
    second document and every node `_check_event` refuses, as soon as it is read."""
    # One frame per open collection: [path or None, is_mapping, expecting_key, current key, items so far]
    stack: list[list[Any]] = []
    entries = 0
    documents = 0
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1 and resolver is not None:
                raise InputError([Problem("", "a storyboard is one YAML document; remove the second `---`",
                                          event.start_mark.line + 1)])  # fmt: skip
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        line, col = event.start_mark.line + 1, event.start_mark.column + 1
        path: tuple[Any, ...] | None = ()
        if stack:
            path, is_entry = _place_in_frame(stack[-1], event, line, lines)
            entries += is_entry
        if path is not None:
            paths[(line, col)] = path
        if resolver is not None:
            _check_event(event, line, path, entries, len(stack), resolver)
        if isinstance(event, yaml.MappingStartEvent):
            stack.append([path, True, True, None, 0])
        elif isinstance(event, yaml.SequenceStartEvent):
            stack.append([path, False, False, None, 0])


def _place_in_frame(frame: list[Any], event: yaml.NodeEvent, line: int,
                    lines: dict[tuple[Any, ...], int]) -> tuple[tuple[Any, ...] | None, bool]:  # fmt: skip
    """A node inside the open collection `frame`: its field path (None for a mapping key, or inside a collection
    that has no path) and whether it starts a new entry (a key or a list item); records the entry's line."""
    parent = frame[0]
    if frame[1]:  # a mapping: keys and values alternate
        if frame[2]:
            frame[2] = False
            frame[3] = event.value if isinstance(event, yaml.ScalarEvent) else None
            if parent is not None and frame[3] is not None:
                lines[parent + (frame[3],)] = line
            return None, True  # a key is not a field value
        frame[2] = True
        return (parent + (frame[3],) if parent is not None and frame[3] is not None else None), False
    path = parent + (frame[4],) if parent is not None else None
    frame[4] += 1
    if path is not None:
        lines[path] = line
    return path, True


class _LazySourceMap:
    """A _SourceMap built on first use: JSON's positions are only needed when there is a problem to place."""

    def __init__(self, text: str | None):
        self.text = text
        self.source: _SourceMap | None = None

    def find(self, loc: tuple[Any, ...]) -> int | None:
        if not self.text:
            return None
        if self.source is None:
            self.source = _SourceMap.scan(self.text)
        return self.source.find(loc)


def _check_event(event: yaml.NodeEvent, line: int, path: tuple[Any, ...] | None, entries: int, depth: int,
                 resolver: Any) -> None:  # fmt: skip
    """Refuse one node of the event stream that breaks a storyboard limit (cheap: it runs for every node)."""

    def refuse(message: str) -> InputError:
        return InputError([Problem(format_path(path) if path else "", message, line)])

    if isinstance(event, yaml.AliasEvent):
        raise refuse(f"YAML aliases (*{_truncate(event.anchor or '')}) are not supported in storyboards; write "
                     "the value out")  # fmt: skip
    if depth >= MAX_NESTING and isinstance(event, yaml.CollectionStartEvent):
        raise refuse(_nesting_message())
    if entries > MAX_ENTRIES:
        raise InputError([Problem("", _entries_message(), line)])
    tag = event.tag
    if tag not in _ALLOWED_TAGS:
        raise refuse(f"the YAML tag {_truncate(_tag_name(tag), 60)} is not supported in storyboards; remove it")
    if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_NUMBER_CHARS:
        if tag is None and event.implicit[0]:
            tag = resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag in _NUMBER_TAGS:
            raise refuse(_number_message(event.value))


# ---------------------------------------------------------------------------------------------------------------
# Friendly errors


def validate_storyboard(data: Any, source_text: str | None = None) -> Storyboard:
    """A Storyboard from already-loaded data (a dict); `source_text`, when given, places problems on lines."""
    return _validate(data, _LazySourceMap(source_text))


def _validate(data: Any, source: "_SourceMap | _LazySourceMap") -> Storyboard:
    if isinstance(data, Storyboard):
        return data
    if not isinstance(data, dict):
        raise InputError(f"a storyboard is a mapping of fields (title, scenes, ...), not {_kind(data)}")
    try:
        return Storyboard.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        # Data handed in by a program, not text: it skipped the loaders' limits (e.g. nested 2000 deep).
        raise InputError(f"the storyboard could not be read ({type(exc).__name__})") from None
    # In the order a person reads the file, problems with no line (missing fields) last; only the first
    # MAX_PROBLEMS are worded (a "did you mean" costs a little each, and 20 000 of them cost seconds).
    placed = sorted(((source.find(tuple(err["loc"])), n) for n, err in enumerate(errors)),
                    key=lambda pair: (pair[0] is None, pair[0] or 0, pair[1]))  # fmt: skip
    problems = [_problem(errors[n], line) for line, n in placed[:MAX_PROBLEMS]]
    raise InputError(problems, more=max(0, len(errors) - MAX_PROBLEMS))


def format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        name = _truncate(str(part)) if isinstance(part, str) else part  # a key may be a megabyte long
        out += f"[{part}]" if isinstance(part, int) else (f".{name}" if out else str(name))
    return out


def _shown(value: Any) -> str:
    """A bound's subject as written (`14`, or text that read as a number), short."""
    return _truncate(value) if isinstance(value, str) else _quote(value)


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


_SCENE_FIELD = re.compile(r"^(scenes\[\d+\](?:\.\w+)?): ")


def _on_its_scene(path: str, msg: str) -> tuple[str, str]:
    """A check over the whole scene list that found one scene's field at fault says so ("scenes[1].duration:
    …"): the problem is placed there, so it reads "Scene 2, duration (scenes[1].duration): …"."""
    placed = _SCENE_FIELD.match(msg) if path == "scenes" else None
    return (placed.group(1), msg[placed.end():]) if placed is not None else (path, msg)


def _problem(err: dict[str, Any], line: int | None) -> Problem:
    """One pydantic error as a person reads it; it quotes the value only through _quote (a short preview)."""
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    path = format_path(loc)

    if kind == "extra_forbidden":
        parent, _ = _field_at(loc[:-1] + ("__x__",))
        known = list(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(_truncate(str(loc[-1])), known, n=1, cutoff=0.5)
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
        msg = f"{_shown(value)} is above the maximum of {bound}{unit}"
    elif kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        msg = f"{_shown(value)} is below the minimum of {bound}{unit}"
    elif kind == "literal_error":
        allowed = ctx.get("expected", "").replace("'", "")
        msg = f"{_quote(value)} is not allowed; choose one of: {allowed.replace(' or ', ', ')}"
    elif kind in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        msg = f"{_quote(value)} is not a whole number" + (f" of{unit}" if unit else "")
    elif kind in ("float_parsing", "float_type"):
        msg = f"{_quote(value)} is not a number"
    elif kind in ("bool_parsing", "bool_type"):
        msg = f"{_quote(value)} is not true or false"
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
        path, msg = _on_its_scene(path, _truncate(str(ctx.get("error", err["msg"])), 300))
    else:
        msg = _truncate(err["msg"], 300)
    return Problem(path, msg, line)
