"""The title card: the user's words on a frosted band near the bottom, and the style's label in a corner.

Drawn at full output size, after scaling, so the text stays crisp.
"""

from __future__ import annotations

import functools
import unicodedata

from PIL import Image, ImageDraw, ImageFilter, ImageFont

STYLE_LABELS = {"photorealistic": "PHOTOREAL", "artistic": "ARTISTIC", "anime": "ANIME", "3d": "3D"}
_has_glyph: dict[str, bool] = {}


@functools.lru_cache(maxsize=16)
def builtin_font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in scalable font at a pixel size."""
    return ImageFont.load_default(size=size)  # Pillow's built-in scalable font (Aileron): same on every machine


def printable(text: str) -> str:
    """The text with characters the built-in font lacks replaced by near equivalents (é → e, — → -)."""
    font = builtin_font(20)
    notdef = bytes(font.getmask("\U000f0000"))
    out = []
    for ch in " ".join(text.split()):
        ok = _has_glyph.get(ch)
        if ok is None:
            ok = _has_glyph[ch] = ch == " " or bytes(font.getmask(ch)) != notdef
        if ok:
            out.append(ch)
        elif ch in "‐‑‒–—―":
            out.append("-")
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(ord(c) < 128 for c in base) else "?")
    return "".join(out)


def wrap_lines(text: str, font: ImageFont.FreeTypeFont, max_w: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most max_lines; what does not fit ends in an ellipsis."""
    words = text.split()
    lines: list[str] = []
    cur = ""
    for i, word in enumerate(words):
        trial = f"{cur} {word}".strip()
        if font.getlength(trial) <= max_w or not cur:
            cur = trial
            continue
        lines.append(cur)
        cur = word
        if len(lines) == max_lines:
            cur = " ".join([lines.pop()] + words[i:])
            break
    if cur:
        lines.append(cur)
    for i, line in enumerate(lines):
        if font.getlength(line) > max_w:
            lo, hi = 0, len(line)  # the longest start of the line that fits with an ellipsis (binary search)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if font.getlength(line[:mid].rstrip() + "…") <= max_w:
                    lo = mid
                else:
                    hi = mid - 1
            cut = line[:lo]
            if " " in cut and len(cut) - cut.rfind(" ") < 12:
                cut = cut[: cut.rfind(" ")]  # end on a whole word when that loses little
            lines[i] = cut.rstrip(" ,.;:-") + "…"
    return lines


def rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    """An anti-aliased rounded-rectangle mask (drawn at twice the size, then reduced)."""
    w, h = size
    big = Image.new("L", (w * 2, h * 2), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, w * 2 - 1, h * 2 - 1), radius=radius * 2, fill=255)
    return big.reduce(2)


def draw_title_card(picture: Image.Image, prompt: str, style: str) -> None:
    """The prompt on a frosted, rounded band near the bottom, and a small style label in the top-left corner."""
    w, h = picture.size
    size = max(14, round(min(h * 0.04, w * 0.05)))
    font = builtin_font(size)
    pad_x, pad_y = round(size * 0.9), round(size * 0.55)
    text = printable(prompt.strip()) or "Untitled scene"
    lines = wrap_lines(text, font, w * 0.8 - 2 * pad_x, 3 if h > w else 2)
    line_h = round(size * 1.28)
    ascent, descent = font.getmetrics()
    box_w = round(max(font.getlength(line) for line in lines) + 2 * pad_x)
    box_h = round(line_h * (len(lines) - 1) + ascent + descent * 0.6 + 2 * pad_y)
    left = (w - box_w) // 2
    bottom = h - round(h * (0.085 if h > w else 0.09))
    top = bottom - box_h
    # Frosted glass: the picture behind blurred and darkened, with a faint light edge.
    region = picture.crop((left, top, left + box_w, bottom))
    soft = region.reduce(2).filter(ImageFilter.GaussianBlur(size * 0.25)).resize(region.size, Image.BILINEAR)
    frosted = Image.blend(soft, Image.new("RGB", region.size, (10, 12, 20)), 0.58)
    radius = round(min(box_h / 2, size * 0.7))
    picture.paste(frosted, (left, top), rounded_mask((box_w, box_h), radius))
    overlay = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    d.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=radius, outline=(255, 255, 255, 40), width=1)
    for i, line in enumerate(lines):
        x, y = (box_w - font.getlength(line)) / 2, pad_y + i * line_h
        d.text((x + 1, y + 2), line, font=font, fill=(0, 0, 0, 110))
        d.text((x, y), line, font=font, fill=(248, 246, 238, 255))
    picture.paste(overlay, (left, top), overlay)
    lsize = max(11, round(size * 0.48))
    lfont = builtin_font(lsize)
    label = f"{STYLE_LABELS.get(style, style.upper())} · draft"
    lp = round(lsize * 0.6)
    lh = round(lsize + lp * 1.2)
    pill = Image.new("RGBA", (round(lfont.getlength(label) + 2 * lp), lh), (0, 0, 0, 0))
    pd = ImageDraw.Draw(pill)
    pd.rounded_rectangle((0, 0, pill.width - 1, lh - 1), radius=lh // 2, fill=(10, 12, 20, 140))
    pd.text((lp, (lh - lsize) / 2 - lsize * 0.08), label, font=lfont, fill=(255, 255, 255, 225))
    picture.paste(pill, (round(w * 0.075), round(h * 0.075 if h <= w else h * 0.05)), pill)
