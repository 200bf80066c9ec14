"""The small corner mark burnt into segments when `output.watermark` is on."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WATERMARK_TEXT = "Made with Reelsmith"


def render_watermark(out: Path, frame_height: int) -> Path:
    size = max(14, frame_height // 36)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(WATERMARK_TEXT)
    pad = size // 2
    img = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, img.width - 1, img.height - 1), radius=pad, fill=(0, 0, 0, 110))
    draw.text((pad - left, pad - top), WATERMARK_TEXT, font=font, fill=(255, 255, 255, 210))
    img.save(out, format="PNG")
    return out
