"""The slate: a small label near the top of the draft picture with the style and the user's words.

Drawn at full output size, after scaling, so the text stays crisp; with the caption fonts (pip packages), so a
prompt in any script shows as written, not as question marks.
"""

from __future__ import annotations

from PIL import Image

STYLE_LABELS = {"photorealistic": "PHOTOREAL", "artistic": "ARTISTIC", "anime": "ANIME", "3d": "3D"}


# The part of the picture every camera move of the offline `motion` provider keeps in view, as fractions of the
# width and height: its fastest push-in combined with a pan reaches 28 % in from each edge (measured over every
# move `parse_camera_move` makes; tests/test_draft.py recomputes it from the provider).
KEPT_IN_VIEW = (0.28, 0.28, 0.72, 0.72)


def slate_box(width: int, height: int, label: tuple[int, int]) -> tuple[int, int]:
    """Where a slate `label` (width, height) goes: centred, at the top of the part every camera move keeps."""
    left, top, right, _ = KEPT_IN_VIEW
    x = round(width * (left + right) / 2 - label[0] / 2)
    return x, round(height * top) + max(2, round(0.01 * height))


def draw_title_card(picture: Image.Image, prompt: str, style: str) -> None:
    """A small slate label near the top of the picture: the style and the scene's words, in any script.

    Not a band at the bottom: that read as a subtitle saying something other than the voice. The slate stays
    inside the region every camera move keeps (KEPT_IN_VIEW), so a pan or push-in never cuts it off."""
    from pipeline.captions.render import label_image

    w, h = picture.size
    size = max(10, round(min(w, h) * 0.026))
    left, _, right, _ = KEPT_IN_VIEW
    text = f"{STYLE_LABELS.get(style, style.upper())} · draft · {' '.join(prompt.split()) or 'Untitled scene'}"
    label = label_image(text, size, round(w * (right - left)))
    picture.paste(label, slate_box(w, h, label.size), label)
