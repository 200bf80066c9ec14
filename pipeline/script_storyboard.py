"""A pasted narration → a storyboard, offline and instant: scenes cut where the speech allows, timed to the voice.

    storyboard = script_to_storyboard(text, style="anime", voice_provider="piper")

The script is cut at paragraphs (a blank line always starts a scene) and sentences; a sentence too long for one
scene is cut at its clauses (after , ; : —), a clause too long at its words, a "word" too long (a run of Chinese
without spaces) between its characters. Pieces are packed into scenes whose planned speech is about
`COMFORTABLE_SECONDS`, never more than `MAX_SPEECH_SECONDS`, so every scene's duration (a whole number of seconds,
MIN_SCENE_SECONDS–MAX_SCENE_SECONDS) holds its narration. When that takes more than MAX_SCENES scenes the pieces are
packed as full as they go; when even that is too many, the script is refused, saying how many scenes it needs.

Each narration is an exact piece of the script: joined with the single space the script had between them (none
inside a run without spaces), the scenes' narrations are the script with its whitespace normalised.

Speech is planned from each voice's measured rate (`SpeechRate`): the bundled Piper voice timed for real by
bench/speech_rate.py; ElevenLabs from its average rate. Each scene gets an image prompt from its own words (the
storyboard's style adds the style's look to it when the image is made) and a camera move, varied from scene to
scene in words the motion provider understands.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pipeline.captions.timing import split_sentences
from pipeline.errors import InputError, Problem
from pipeline.media.segment import NARRATION_LEAD, NARRATION_TAIL
from pipeline.storyboard import MAX_SCENE_SECONDS, MAX_SCENES, MIN_SCENE_SECONDS, Storyboard, validate_storyboard

# A scene's planned speech: about this long when sentences allow, never longer than MAX_SPEECH_SECONDS.
COMFORTABLE_SECONDS = 6.5
# Seconds of picture beyond the planned speech, before rounding up to whole seconds: the quiet the render keeps
# before and after a narration (a scene shorter than that is stretched).
MARGIN_SECONDS = NARRATION_LEAD + NARRATION_TAIL
MAX_SPEECH_SECONDS = MAX_SCENE_SECONDS - MARGIN_SECONDS
MAX_SCRIPT_CHARS = 30_000  # ~30 minutes of speech, three times what MAX_SCENES scenes hold: refused unread
IMAGE_PROMPT_CHARS = 300
TITLE_CHARS = 60

# Scene → camera move: a cycle in the motion provider's words (pipeline/providers/motion.py), no two neighbours
# alike; the first scene pushes in, the last pulls back to close.
CAMERA_MOVES = ("Slow pan right", "Gentle pan left", "Slow zoom out", "Slow tilt up", "Slow zoom in",
                "Gentle pan down", "Slow pan left", "Gentle zoom out")  # fmt: skip
FIRST_MOVE, LAST_MOVE, SHORT_MOVE = "Slow zoom in", "Slow zoom out to reveal the scene", "Fast zoom in"

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_CLAUSE_END = re.compile(r"[,;:—–，；：、](\s*)")  # after a clause mark, with or without a space after it
_SPACES = re.compile(r"(\s+)")
_WIDE = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CONTROL_OK = {"\n", "\r", "\t"}
_INVISIBLE = {"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp"}  # zero-width spaces, joiners, marks on nothing


@dataclass(frozen=True)
class SpeechRate:
    """How long a voice takes to say a text: per sentence a fixed `sentence_seconds` (breath, the voice's own
    silence) plus its characters at `chars_per_second` plus `clause_seconds` per clause mark; `sentence_gap`
    between sentences (the Piper provider's SENTENCE_PAUSE). A character of Chinese, Japanese or Korean counts
    `wide_chars` characters (a syllable, not a letter); a digit counts `digit_chars` ("1999" is said in words)."""

    voice: str
    sentence_seconds: float
    chars_per_second: float
    clause_seconds: float
    sentence_gap: float
    wide_chars: float = 3.5
    digit_chars: float = 6.0

    def sentence(self, text: str) -> float:
        wide = len(_WIDE.findall(text))
        digits = sum(ch.isdigit() for ch in text)
        clauses = sum(text.count(mark) for mark in ",;:—，；：、")
        chars = len(text) - wide - digits + wide * self.wide_chars + digits * self.digit_chars
        return self.sentence_seconds + chars / self.chars_per_second + clauses * self.clause_seconds

    def seconds(self, text: str) -> float:
        """The planned speech of `text`, sentence by sentence as the voice speaks it."""
        sentences = split_sentences(text)
        if not sentences:
            return 0.0
        return sum(self.sentence(s) for s in sentences) + self.sentence_gap * (len(sentences) - 1)


# Measured with `nice python bench/speech_rate.py --runs 3` on the bundled en_US-joe-medium voice (the examples'
# sentences and a few with numbers): 15.0 chars/s over all, least squares 0.70 s + characters / 21.5 a sentence.
# Clause marks add pauses, and numbers run long ("1887": "one thousand eight hundred eighty seven"), so the plan
# counts them, and is slower than the fit: of 66 spoken sentences the slowest took 0.93 of its plan, the mean 0.75.
PIPER_SENTENCE_SECONDS = 0.55
PIPER_CHARS_PER_SECOND = 18.0
PIPER_CLAUSE_SECONDS = 0.3
PIPER_DIGIT_CHARS = 9.0
PIPER_SENTENCE_GAP = 0.28  # pipeline.providers.piper.SENTENCE_PAUSE (not imported: that module loads onnxruntime)
RATES = {
    "piper": SpeechRate("piper", PIPER_SENTENCE_SECONDS, PIPER_CHARS_PER_SECOND, PIPER_CLAUSE_SECONDS,
                        PIPER_SENTENCE_GAP, digit_chars=PIPER_DIGIT_CHARS),  # fmt: skip
    # ElevenLabs' voices average ~150 words a minute (~15 characters a second) and read a whole narration in one
    # request, pausing briefly at sentence ends; it cannot be timed offline, so this is its average, with room.
    "elevenlabs": SpeechRate("elevenlabs", 0.3, 14.0, 0.2, 0.3),
}
DEFAULT_RATE = RATES["elevenlabs"]  # a voice provider added later: an average human rate


def speech_rate(voice_provider: str) -> SpeechRate:
    return RATES.get(voice_provider, DEFAULT_RATE)


@dataclass(frozen=True)
class _Piece:
    """A stretch of the script that stays in one scene; `joiner` is what stood before it (" ", or "" inside a
    run without spaces); `paragraph`: it starts a paragraph (and so a scene)."""

    text: str
    joiner: str = " "
    paragraph: bool = False


# ---------------------------------------------------------------------------------------------------------------
# Cutting the script


def _check_script(script: Any) -> str:
    if not isinstance(script, str) or not any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE
                                              for ch in script):  # fmt: skip
        raise InputError([Problem("script", "is empty: paste the narration, a sentence or more")])
    if len(script) > MAX_SCRIPT_CHARS:
        raise InputError([Problem("script", f"is {len(script):,} characters; a storyboard of {MAX_SCENES} scenes "
                                  f"holds at most ~{MAX_SCENES * MAX_SCENE_SECONDS // 60} minutes of speech "
                                  "(~8,000 characters): split it into several videos")])  # fmt: skip
    for i, ch in enumerate(script):
        if ch not in _CONTROL_OK and (unicodedata.category(ch) == "Cc" or 0xD800 <= ord(ch) <= 0xDFFF):
            raise InputError([Problem("script", f"contains the control character U+{ord(ch):04X} at position "
                                      f"{i + 1}; remove it")])  # fmt: skip
    return script


def _pieces(script: str, rate: SpeechRate) -> list[_Piece]:
    """The script as pieces that each fit one scene: its sentences, cut finer only where one is too long."""
    pieces: list[_Piece] = []
    for paragraph in _PARAGRAPH.split(script.strip()):
        first = True
        for sentence in split_sentences(paragraph):
            for piece in _fitting(_Piece(sentence), rate):
                pieces.append(_Piece(piece.text, piece.joiner, paragraph=first))
                first = False
    return pieces


def _fitting(piece: _Piece, rate: SpeechRate, level: int = 0) -> list[_Piece]:
    """`piece`, or its clauses (level 0), words (1) or characters (2) when it is too long to say in
    MAX_SPEECH_SECONDS; neighbouring parts that fit one scene together are joined again."""
    if rate.seconds(piece.text) <= MAX_SPEECH_SECONDS:
        return [piece]
    if level >= 2:
        return _pack_characters(piece, rate)
    parts = _cut(piece.text, _CLAUSE_END if level == 0 else _SPACES)
    if len(parts) <= 1:
        return _fitting(piece, rate, level + 1)
    parts[0] = _Piece(parts[0].text, piece.joiner)
    return _packed([smaller for part in parts for smaller in _fitting(part, rate, level + 1)], rate)


def _cut(text: str, separator: re.Pattern[str]) -> list[_Piece]:
    """`text` cut where `separator`'s group 1 (the whitespace there, possibly none) matches; a part keeps the
    separator's mark, the whitespace becomes the next part's joiner."""
    parts, start, joiner = [], 0, ""
    for match in separator.finditer(text):
        if match.start(1) > start and match.end() < len(text):
            parts.append(_Piece(text[start : match.start(1)], joiner))
            start, joiner = match.end(), " " if match.group(1) else ""
    parts.append(_Piece(text[start:], joiner))
    return parts


def _pack_characters(piece: _Piece, rate: SpeechRate) -> list[_Piece]:
    out: list[_Piece] = []
    current = ""
    for ch in piece.text:
        if current and rate.seconds(current + ch) > MAX_SPEECH_SECONDS:
            out.append(_Piece(current, piece.joiner if not out else ""))
            current = ""
        current += ch
    out.append(_Piece(current, piece.joiner if not out else ""))
    return out


def _packed(parts: list[_Piece], rate: SpeechRate) -> list[_Piece]:
    """Neighbouring parts of one sentence joined again up to COMFORTABLE_SECONDS (a scene packs them fuller
    when it must)."""
    out: list[_Piece] = []
    for part in parts:
        if out and rate.seconds(out[-1].text + part.joiner + part.text) <= COMFORTABLE_SECONDS:
            out[-1] = _Piece(out[-1].text + part.joiner + part.text, out[-1].joiner)
        else:
            out.append(part)
    return out


def _scenes(pieces: list[_Piece], rate: SpeechRate, target: float) -> list[str]:
    """Pieces packed into scene narrations of about `target` seconds of speech; a paragraph starts a scene."""
    scenes: list[str] = []
    for piece in pieces:
        joined = f"{scenes[-1]}{piece.joiner}{piece.text}" if scenes else ""
        if scenes and not piece.paragraph and rate.seconds(joined) <= target:
            scenes[-1] = joined
        else:
            scenes.append(piece.text)
    return scenes


def plan_narrations(script: str, voice_provider: str = "piper") -> list[str]:
    """The script cut into scene narrations (see the module's docstring); InputError when it cannot be."""
    rate = speech_rate(voice_provider)
    pieces = _pieces(_check_script(script), rate)
    scenes = _scenes(pieces, rate, COMFORTABLE_SECONDS)
    if len(scenes) > MAX_SCENES:
        scenes = _scenes(pieces, rate, MAX_SPEECH_SECONDS)
    if len(scenes) > MAX_SCENES:
        raise InputError([Problem("script", f"needs {len(scenes)} scenes of at most {MAX_SCENE_SECONDS} s of "
                                  f"speech; a storyboard holds at most {MAX_SCENES}: shorten the script or split "
                                  "it into several videos")])  # fmt: skip
    return scenes


# ---------------------------------------------------------------------------------------------------------------
# The storyboard


def scene_duration(narration: str, voice_provider: str = "piper") -> int:
    """Whole seconds of picture that hold the narration's planned speech (MIN_SCENE_SECONDS at least)."""
    planned = speech_rate(voice_provider).seconds(narration) + MARGIN_SECONDS
    return max(MIN_SCENE_SECONDS, min(MAX_SCENE_SECONDS, math.ceil(planned - 1e-9)))


_LEADING_LINK = re.compile(r"^(and|but|so|then|or|yet)\b[,]?\s+", re.IGNORECASE)


def image_prompt(narration: str) -> str:
    """What the scene's picture shows: its own words without quotation marks, a leading "And"/"But"/"Then" or the
    closing full stop, at most IMAGE_PROMPT_CHARS (the storyboard's style adds the look when the image is made)."""
    text = " ".join(re.sub(r"[\"“”«»„]", "", narration).split()).strip(" -—–")
    text = _LEADING_LINK.sub("", text).rstrip(".。 ") or narration.strip()
    if len(text) > IMAGE_PROMPT_CHARS:
        cut = text[:IMAGE_PROMPT_CHARS]
        text = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return text[:1].upper() + text[1:]


def camera_move(index: int, count: int, seconds: int) -> str:
    """A camera move for scene `index` of `count`: in at the start, out at the end, varied between."""
    if count > 1 and index == count - 1:
        return LAST_MOVE
    if index == 0:
        return FIRST_MOVE
    if seconds <= MIN_SCENE_SECONDS + 1:
        return SHORT_MOVE if index % 2 else "Fast pan right"
    move = CAMERA_MOVES[(index - 1) % len(CAMERA_MOVES)]
    if index == count - 2 and "zoom out" in move:  # the last scene zooms out
        move = CAMERA_MOVES[index % len(CAMERA_MOVES)]
    return move


def title_of(script: str) -> str:
    first = (split_sentences(script) or ["Untitled"])[0].rstrip(".!?…。！？ ")
    return first if len(first) <= TITLE_CHARS else first[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def settings_of(base: dict[str, Any] | str | None) -> dict[str, Any]:
    """A storyboard's settings without its scenes, from a dict or from storyboard text (the studio's editor: text
    that does not parse gives the defaults, it is about to be replaced anyway)."""
    if isinstance(base, str):
        from pipeline.storyboard import parse_storyboard

        try:
            base = parse_storyboard(base).model_dump(mode="json") if base.strip() else None
        except InputError:
            base = None
    return {key: value for key, value in (base or {}).items() if key != "scenes"}


def script_to_storyboard(script: str, *, title: str | None = None, style: str | None = None,
                         voice_provider: str | None = None, resolution: str | None = None,
                         base: dict[str, Any] | str | None = None) -> Storyboard:  # fmt: skip
    """A storyboard whose scenes narrate `script` in order. `base` (a storyboard as a dict or text, such as the
    one open in the studio) supplies every setting not given here, its scenes are replaced; `voice_provider` (else
    the base's, else piper) sets the speaking rate scenes are timed for. Validated like any storyboard
    (InputError)."""
    data = settings_of(base)
    voice_provider = voice_provider or (data.get("voice") or {}).get("provider") or "piper"
    narrations = plan_narrations(script, voice_provider)
    count = len(narrations)
    scenes = []
    for i, narration in enumerate(narrations):
        seconds = scene_duration(narration, voice_provider)
        scenes.append({"image_prompt": image_prompt(narration), "video_prompt": camera_move(i, count, seconds),
                       "audio_script": narration, "duration": seconds})  # fmt: skip
    data.update(title=title or title_of(script), scenes=scenes)
    data.update({key: value for key, value in (("style", style), ("resolution", resolution)) if value})
    data["voice"] = {**(data.get("voice") or {}), "provider": voice_provider}
    return validate_storyboard(data)


@dataclass(frozen=True)
class Draft:
    """A drafted storyboard as the studio shows it: its YAML for the editor, and a note with any warnings."""

    storyboard: Storyboard
    lead: str  # what made it: "From your script", "Drafted by … for $…"

    @property
    def yaml(self) -> str:
        return draft_yaml(self.storyboard)

    @property
    def warnings(self) -> list[str]:
        return language_warnings(self.storyboard)

    @property
    def note(self) -> str:
        sb = self.storyboard
        said = (f"{self.lead}: {len(sb.scenes)} scenes, {sum(s.duration for s in sb.scenes)} s, timed for the "
                f"{sb.voice.provider} voice. Edit them in the table, then **Render**.")  # fmt: skip
        return said + "".join(f"\n\n⚠ {warning}" for warning in self.warnings)


def draft_from_script(script: str, *, current: str | None = None, **options: Any) -> Draft:
    """The studio's Start from a script: `script_to_storyboard` over the settings of the storyboard open now."""
    return Draft(script_to_storyboard(script, base=current, **options), "From your script")


def draft_yaml(storyboard: Storyboard) -> str:
    """A drafted storyboard as short YAML to edit: the fields that differ from the defaults, and the few a person
    changes first (title, style, resolution, voice) even when they are the defaults."""
    import yaml

    data = storyboard.model_dump(mode="json", exclude_defaults=True)
    shown = {"title": storyboard.title, "style": storyboard.style, "resolution": storyboard.resolution,
             "voice": {"provider": storyboard.voice.provider, **data.pop("voice", {})}}  # fmt: skip
    data = {**shown, **{k: v for k, v in data.items() if k not in shown}}
    data["scenes"] = data.pop("scenes")  # last: the long part
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def read_script(path: Any) -> str:
    """A script file's text (UTF-8), read no further than the limit; '-' reads standard input."""
    import sys
    from pathlib import Path

    limit = MAX_SCRIPT_CHARS * 4 + 1  # bytes: four per character at most in UTF-8
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read(limit)
        else:
            with open(Path(path), "rb") as f:
                raw = f.read(limit)
    except FileNotFoundError:
        raise InputError([Problem("--from-script", f"{path}: no such file")]) from None
    except OSError as exc:
        raise InputError([Problem("--from-script", f"cannot read {path}: {exc.strerror or exc}")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem("--from-script", f"{path} is not UTF-8 text (byte {exc.start + 1})")]) from None


def language_warnings(storyboard: Storyboard) -> list[str]:
    """The pre-flight language warning (pipeline/captions/language.py) for a drafted storyboard: the first
    scene's, and how many more scenes it applies to."""
    from pipeline.captions.language import voice_language_warnings
    from pipeline.plan import plan_render

    try:
        warnings = [message for _, message in voice_language_warnings(plan_render(storyboard))]
    except InputError:
        return []  # a storyboard pre-flight refuses (a paid provider without a key) says so when it is rendered
    more = f" (and {len(warnings) - 1} more scenes)" if len(warnings) > 1 else ""
    return [warnings[0] + more] if warnings else []
