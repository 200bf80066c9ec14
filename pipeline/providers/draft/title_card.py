"""The slate: a small label at the top edge of a draft scene's video with the style and the user's words.

It is not painted into the still: a camera move (the offline `motion` provider zooms and pans over the still)
would carry it off the frame. The draft provider hands its text on with the picture (meta "slate"); the motion
provider draws it into every frame after the move (`slate_image`), so it stays put at the top edge whatever the
camera does. A scene whose captions are burned in gets no slate (the plan asks for none): the captions already
say what the voice says, and two labels would read as two subtitles.

Drawn with the caption fonts (pip packages), so a prompt in any script shows as written, not as question marks.
"""

from __future__ import annotations

from PIL import Image

STYLE_LABELS = {"photorealistic": "PHOTOREAL", "artistic": "ARTISTIC", "anime": "ANIME", "3d": "3D"}
# The slate's widest extent, as a share of the frame's width, from the left edge: the top-right corner stays
# free for `output.label` (a preview's PREVIEW, sized by the frame's height, so wider on vertical video).
SLATE_MAX_WIDTH, SLATE_MAX_WIDTH_VERTICAL = 0.6, 0.45


def slate_text(prompt: str, style: str) -> str:
    """What the slate says: the style and the scene's own words."""
    return f"{STYLE_LABELS.get(style, style.upper())} · draft · {' '.join(prompt.split()) or 'Untitled scene'}"


def slate_image(text: str, width: int, height: int) -> tuple[Image.Image, int, int]:
    """The slate for a `width` x `height` frame, and where its top-left corner goes: the top-left corner, inset
    like the label in the opposite corner (pipeline/media/watermark.py label_position)."""
    from pipeline.captions.render import label_image

    size = max(10, round(min(width, height) * 0.026))
    share = SLATE_MAX_WIDTH_VERTICAL if height > width else SLATE_MAX_WIDTH
    label = label_image(text, size, round(width * share))
    return label, width // 60, height // 40
