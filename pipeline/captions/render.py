"""A cue drawn once as an RGBA image, for ffmpeg to lay over its scene: any script, shaped, inside the safe area.

Fonts come from pip packages (never from the system, which a Space may lack), all SIL Open Font License 1.1:
- `noto-cjk-sans-otc`: Noto Sans CJK (Latin, Greek, Cyrillic, Chinese, Japanese, Korean); the face follows
  the language (SC by default);
- `fontpkg-noto-sans-arabic`: Noto Sans Arabic;
- `fontpkg-arimo`: Arimo, for Hebrew (and any Latin, Greek or Cyrillic letter the CJK font lacks).
Each character is drawn with the first of these that has a glyph for it, found by comparing its bitmap with
the font's missing-glyph box (Pillow exposes no character map).

Text is shaped by Pillow's libraqm layout (HarfBuzz + FriBiDi): Arabic letters join, right-to-left words run
right to left. A line is laid out word by word: words of one direction form a run; runs are ordered by the
line's base direction (its first strong character), which is the Unicode bidi algorithm for one level of
embedding — the case of captions (an English name inside Arabic, a number inside Hebrew).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, Sequence

from PIL import Image, ImageDraw, ImageFont

from pipeline.captions.cues import Cue, line_chars
from pipeline.captions.timing import WordTiming

Style = Literal["boxed", "outline", "karaoke"]
Position = Literal["bottom", "middle", "top"]
STYLES = ("boxed", "outline", "karaoke")
POSITIONS = ("bottom", "middle", "top")

TEXT = (255, 255, 255, 255)
HIGHLIGHT = (255, 212, 0, 255)
BOX = (0, 0, 0, 170)
OUTLINE = (0, 0, 0, 255)
# No font has a glyph here (the last private-use code point): drawing it gives a font's missing-glyph box.
MISSING = "\U0010fffd"
# Noto Sans CJK collection faces, by language.
CJK_FACES = {"ja": 0, "ko": 1, "zh": 2, "zh-hans": 2, "zh-cn": 2, "zh-hant": 3, "zh-tw": 3, "zh-hk": 4}


@dataclass(frozen=True)
class Font:
    """A font file (and face of a collection) the renderer may draw with."""

    path: str
    index: int = 0
    rtl: bool = False  # the script it is chosen for runs right to left


@lru_cache(maxsize=None)
def font_chain(lang: str = "zh") -> tuple[Font, ...]:
    """The fonts tried for each character, in order, for text in language `lang` (selects the CJK face)."""
    import fontpkg_arimo
    import fontpkg_noto_sans_arabic
    import noto_cjk_sans_otc

    cjk = Font(str(noto_cjk_sans_otc.FONT_PATH), CJK_FACES.get(lang.lower(), 2))
    arabic = Font(str(next(Path(fontpkg_noto_sans_arabic.ROOT, "files").glob("NotoSansArabic*.ttf"))), rtl=True)
    hebrew = Font(str(Path(fontpkg_arimo.ROOT, "files", "Arimo[wght].ttf")), rtl=True)
    return (cjk, arabic, hebrew)


@lru_cache(maxsize=64)
def _face(font: Font, size: int, shaped: bool = True) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if shaped else ImageFont.Layout.BASIC
    return ImageFont.truetype(font.path, size, index=font.index, layout_engine=engine)


def _bitmap(font: Font, text: str) -> tuple[tuple[int, int, int, int], bytes]:
    face = _face(font, 32, shaped=False)
    mask = face.getmask(text)
    return face.getbbox(text), bytes(mask)


@lru_cache(maxsize=8192)
def covers(font: Font, ch: str) -> bool:
    """Whether `font` has a glyph for `ch` (spaces and format characters count as covered)."""
    if ch.isspace() or unicodedata.category(ch) in ("Cf", "Mn", "Me"):
        return True
    return _bitmap(font, ch) != _bitmap(font, MISSING)


def _is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


def _direction(text: str) -> str | None:
    """"rtl" or "ltr" from the first strongly directional character; None for digits and punctuation only."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return None


def font_for(ch: str, chain: Sequence[Font], current: Font | None = None) -> Font:
    """The font to draw `ch` with: the current run's font when it has the glyph and `ch` is neutral (a digit, a
    mark, punctuation), else the first font of `chain` that has it, preferring right-to-left fonts for
    right-to-left letters. A character no font has gets the first font (its missing-glyph box)."""
    if current is not None and _direction(ch) is None and covers(current, ch):
        return current
    ordered = sorted(chain, key=lambda f: not f.rtl) if _is_rtl(ch) else list(chain)
    return next((f for f in ordered if covers(f, ch)), chain[0])


def font_runs(text: str, chain: Sequence[Font]) -> list[tuple[str, Font]]:
    """`text` cut into runs drawn with one font each, in logical order."""
    runs: list[tuple[str, Font]] = []
    for ch in text:
        font = font_for(ch, chain, runs[-1][1] if runs else None)
        if runs and runs[-1][1] == font:
            runs[-1] = (runs[-1][0] + ch, font)
        else:
            runs.append((ch, font))
    return runs


@dataclass(frozen=True)
class _Piece:
    """A run of one font placed on a line: x from the line's left edge."""

    x: float
    text: str
    font: Font
    direction: str
    word: int  # index of its word in the cue


def _layout_word(text: str, chain: Sequence[Font], size: int) -> tuple[list[tuple[float, str, Font, str]], float]:
    """(x, text, font, direction) pieces of one word, left to right, and the word's width."""
    direction = _direction(text) or "ltr"
    runs = font_runs(text, chain)
    if direction == "rtl":
        runs.reverse()
    pieces, x = [], 0.0
    for run, font in runs:
        run_dir = "rtl" if font.rtl and _direction(run) != "ltr" else "ltr"
        pieces.append((x, run, font, run_dir))
        x += _face(font, size).getlength(run, direction=run_dir)
    return pieces, x


def _visual_order(words: Sequence[tuple[int, WordTiming]]) -> list[tuple[int, WordTiming]]:
    """The words of a line from left to right (one level of bidi embedding)."""
    base = _direction("".join(w.text for _, w in words)) or "ltr"
    runs: list[tuple[str, list[tuple[int, WordTiming]]]] = []
    for item in words:
        direction = _direction(item[1].text) or (runs[-1][0] if runs else base)
        if runs and runs[-1][0] == direction:
            runs[-1][1].append(item)
        else:
            runs.append((direction, [item]))
    if base == "rtl":
        runs.reverse()
    ordered: list[tuple[int, WordTiming]] = []
    for direction, items in runs:
        ordered.extend(reversed(items) if direction == "rtl" else items)
    return ordered


def _layout_line(
    words: Sequence[tuple[int, WordTiming]], chain: Sequence[Font], size: int
) -> tuple[list[_Piece], float]:
    """The pieces of one line (words numbered within their cue), left to right, and the line's width."""
    space = _face(chain[0], size).getlength(" ")
    pieces: list[_Piece] = []
    x, previous = 0.0, None
    for index, word in _visual_order(words):
        if previous is not None:
            later = max(index, previous)
            spaced = next(w for i, w in words if i == later).space_before
            x += space if spaced else 0.0
        parts, width = _layout_word(word.text, chain, size)
        pieces.extend(_Piece(x + dx, text, font, direction, index) for dx, text, font, direction in parts)
        x += width
        previous = index
    return pieces, x


@dataclass(frozen=True)
class SafeArea:
    """The part of a frame captions may use, in pixels: left, top, right, bottom."""

    left: int
    top: int
    right: int
    bottom: int


def safe_area(width: int, height: int) -> SafeArea:
    """Title-safe area: 10 % in from each edge. Vertical video (Reels, TikTok, Shorts) also keeps clear of the
    bottom fifth (caption and account name) and the right 15 % (the like/comment/share buttons)."""
    if height > width:
        return SafeArea(round(0.06 * width), round(0.12 * height), round(0.85 * width), round(0.80 * height))
    return SafeArea(round(0.10 * width), round(0.10 * height), round(0.90 * width), round(0.90 * height))


def font_size(width: int, height: int, max_chars: int) -> int:
    """Caption size in pixels: about 6 % of the frame's short side, smaller if `max_chars` average characters
    (about 0.55 em wide) would not fit across the safe area."""
    area = safe_area(width, height)
    return max(12, round(min(0.06 * min(width, height), (area.right - area.left) / (max_chars * 0.55))))


@dataclass(frozen=True)
class CueImage:
    """A cue drawn on a transparent image, to be laid over the frame with its top-left corner at (x, y)."""

    image: Image.Image
    x: int
    y: int

    def save(self, path: Path) -> Path:
        self.image.save(path, format="PNG", optimize=False)
        return path


def render_cue(
    cue: Cue,
    width: int,
    height: int,
    *,
    style: Style = "boxed",
    position: Position = "bottom",
    highlight: int | None = None,
    lang: str = "zh",
    max_chars: int | None = None,
) -> CueImage:
    """`cue` drawn for a `width`×`height` frame: white text on a semi-opaque box (`boxed`, `karaoke`) or with a
    dark outline (`outline`); word number `highlight` of the cue in yellow (karaoke). Centred in the safe area
    at its `position`; a line too wide for the safe area makes the whole cue smaller."""
    if style not in STYLES:
        raise ValueError(f"caption style {style!r}: choose one of {', '.join(STYLES)}")
    if position not in POSITIONS:
        raise ValueError(f"caption position {position!r}: choose one of {', '.join(POSITIONS)}")
    chain = font_chain(lang)
    area = safe_area(width, height)
    size = font_size(width, height, max_chars or line_chars(width, height))
    numbered = list(enumerate(cue.words))
    groups, start = [], 0
    for line in cue.word_lines():
        groups.append(numbered[start : start + len(line)])
        start += len(line)
    for _ in range(2):
        lines = [_layout_line(group, chain, size) for group in groups]
        widest = max((w for _, w in lines), default=1.0)
        pad_x = round(0.4 * size)
        room = area.right - area.left - 2 * pad_x
        if widest <= room:
            break
        size = max(10, int(size * room / widest))
    stroke = max(2, round(size / 14)) if style == "outline" else 0
    line_height = round(size * 1.45)
    pad_y = round(0.18 * size) + stroke
    pad_x = round(0.4 * size) + stroke
    box_w = round(widest) + 2 * pad_x
    box_h = line_height * len(lines) + 2 * pad_y
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if style in ("boxed", "karaoke"):
        draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=round(0.22 * size), fill=BOX)
    ascent = round(size * 1.1)  # the baseline sits this far below the line's top (Noto's ascender ≈ 1.07 em)
    for row, (pieces, line_width) in enumerate(lines):
        left = pad_x + (widest - line_width) / 2
        baseline = pad_y + row * line_height + ascent - round((line_height - size * 1.45) / 2)
        for piece in pieces:
            colour = HIGHLIGHT if piece.word == highlight else TEXT
            draw.text((left + piece.x, baseline), piece.text, font=_face(piece.font, size), fill=colour,
                      anchor="ls", direction=piece.direction, stroke_width=stroke, stroke_fill=OUTLINE)  # fmt: skip
    x = area.left + (area.right - area.left - box_w) // 2
    if position == "bottom":
        y = area.bottom - box_h
    elif position == "top":
        y = area.top
    else:
        y = (area.top + area.bottom - box_h) // 2
    return CueImage(image, max(0, x), max(0, y))


@dataclass(frozen=True)
class CueFrame:
    """One image of a cue and when it is on screen (video seconds)."""

    start: float
    end: float
    image: CueImage


def cue_frames(cue: Cue, width: int, height: int, *, style: Style = "boxed", position: Position = "bottom",
               lang: str = "zh", max_chars: int | None = None) -> list[CueFrame]:  # fmt: skip
    """The images that show `cue`: one for the whole cue, or for `karaoke` one per word, each shown from its
    word's start (the first from the cue's start) to the next word's start (the last to the cue's end). Every
    image of a cue has the same size and place, so they replace each other without a jump."""
    if style != "karaoke":
        return [CueFrame(cue.start, cue.end, render_cue(cue, width, height, style=style, position=position,
                                                        lang=lang, max_chars=max_chars))]  # fmt: skip
    frames = []
    for k, word in enumerate(cue.words):
        start = cue.start if k == 0 else max(cue.start, min(word.start, cue.end))
        end = cue.end if k + 1 == len(cue.words) else max(start, min(cue.words[k + 1].start, cue.end))
        if end > start:
            image = render_cue(cue, width, height, style=style, position=position, highlight=k, lang=lang,
                               max_chars=max_chars)  # fmt: skip
            frames.append(CueFrame(round(start, 3), round(end, 3), image))
    return frames


def label_image(text: str, size: int, max_width: int, *, lang: str = "zh") -> Image.Image:
    """One line of `text` in any script on a dark rounded box, `size` pixels high type, at most `max_width`
    wide: words are dropped from the end (an ellipsis shows it) until it fits. For short labels drawn into
    pictures (the draft picture's slate), with the same fonts and shaping as captions."""
    from pipeline.captions.timing import split_words

    chain = font_chain(lang)
    pad_x, pad_y = round(0.6 * size), round(0.3 * size)
    pieces = split_words(" ".join(text.split())) or [("…", False)]
    words = [WordTiming(w, 0.0, 0.0, space) for w, space in pieces]
    for keep in range(len(words), 0, -1):
        shown = words[:keep] if keep == len(words) else [*words[:keep], WordTiming("…", 0.0, 0.0, False)]
        laid, width = _layout_line(list(enumerate(shown)), chain, size)
        if width + 2 * pad_x <= max_width or keep == 1:
            break
    box_w, box_h = min(max_width, round(width) + 2 * pad_x), round(size * 1.45) + 2 * pad_y
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=box_h // 2, fill=(10, 12, 20, 150))
    baseline = pad_y + round(size * 1.1)
    for piece in laid:
        draw.text((pad_x + piece.x, baseline), piece.text, font=_face(piece.font, size), fill=(255, 255, 255, 230),
                  anchor="ls", direction=piece.direction)  # fmt: skip
    return image
