"""Small corner marks burnt into segments: the watermark when `output.watermark` is on, and `output.label`."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WATERMARK_TEXT = "Made with Reelsmith"


def render_watermark(out: Path, frame_height: int) -> Path:
    return render_tag(out, WATERMARK_TEXT, max(14, frame_height // 36))


def render_label(out: Path, text: str, frame_height: int) -> Path:
    """The storyboard's label (a preview's PREVIEW): larger than the watermark, so it reads on a small preview."""
    label_tag(text, frame_height).save(out, format="PNG")
    return out


def label_tag(text: str, frame_height: int) -> Image.Image:
    """The label as an RGBA image (the caption burn-in draws it in the same pass as the cues)."""
    return tag_image(text, label_size(frame_height))


def label_size(frame_height: int) -> int:
    return max(16, frame_height // 18)


def label_position(width: int, height: int, tag_width: int) -> tuple[int, int]:
    """Where the label's top-left corner goes: the top-right corner, inset like fit_clip's overlay of it."""
    return width - tag_width - width // 60, height // 40


def render_tag(out: Path, text: str, size: int) -> Path:
    """White text on a translucent rounded box, as a PNG the segment overlays on the picture."""
    tag_image(text, size).save(out, format="PNG")
    return out


def tag_image(text: str, size: int) -> Image.Image:
    """White text on a translucent rounded box."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    pad = size // 2
    img = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, img.width - 1, img.height - 1), radius=pad, fill=(0, 0, 0, 110))
    draw.text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 210))
    return img
