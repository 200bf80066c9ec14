"""Palettes: the colours of a scene, chosen by its time of day and its scenery (or, for an abstract prompt, its mood).

Colours are RGB tuples of floats in 0..255.
"""

from __future__ import annotations

import colorsys
import random
from dataclasses import dataclass
from typing import Any

from pipeline.providers.draft.prompt import MOODS, SCENERY, stable_hash

RGB = tuple[float, float, float]


def hsv(hue: float, saturation: float, value: float) -> RGB:
    """An RGB colour (0..255) from hue (wrapping) and saturation and value (clamped to 0..1)."""
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, max(0.0, min(1.0, saturation)), max(0.0, min(1.0, value)))
    return r * 255, g * 255, b * 255


def hue_of(rgb: Any) -> float:
    """The hue (0..1) of an RGB colour (0..255)."""
    return colorsys.rgb_to_hsv(*(float(c) / 255 for c in rgb))[0]


@dataclass
class Palette:
    """The colours one frame is painted with."""

    sky_top: RGB
    sky_mid: RGB
    sky_horizon: RGB
    light: RGB  # sun, moon or neon glow
    land: RGB  # the nearest ground, before haze
    haze: RGB  # the colour distance fades into
    water: RGB
    shadow: RGB  # the tint of shaded faces and silhouettes
    glow: float = 0.6  # how strongly the light warms the sky


# Each palette as a table row: sky_top, sky_mid, sky_horizon, light, land, haze, water, shadow as HSV (hue,
# saturation, value; turned by a small per-scene hue shift), except the light, which is RGB; then the glow.
TIME_PALETTES: dict[str, tuple] = {  # by the time of day, whatever the scenery
    "neon": ((0.70, 0.85, 0.10), (0.76, 0.8, 0.26), (0.88, 0.7, 0.62), (255, 70, 200),
             (0.72, 0.6, 0.10), (0.83, 0.55, 0.42), (0.72, 0.6, 0.18), (0.70, 0.7, 0.09), 0.6),
    "night": ((0.64, 0.85, 0.09), (0.63, 0.7, 0.2), (0.6, 0.5, 0.4), (240, 240, 225),
              (0.62, 0.5, 0.1), (0.61, 0.45, 0.34), (0.61, 0.6, 0.22), (0.66, 0.7, 0.1), 0.35),
    "sunset": ((0.69, 0.5, 0.4), (0.98, 0.5, 0.9), (0.1, 0.72, 1.0), (255, 222, 140),
               (0.8, 0.45, 0.2), (0.06, 0.45, 0.92), (0.75, 0.4, 0.42), (0.77, 0.55, 0.22), 0.9),
    "dawn": ((0.6, 0.45, 0.62), (0.95, 0.25, 0.93), (0.11, 0.38, 1.0), (255, 240, 205),
             (0.64, 0.35, 0.28), (0.02, 0.14, 0.92), (0.58, 0.35, 0.62), (0.66, 0.45, 0.34), 0.75),
    "overcast": ((0.58, 0.14, 0.44), (0.58, 0.1, 0.6), (0.56, 0.07, 0.76), (235, 235, 228),
                 (0.42, 0.22, 0.22), (0.57, 0.07, 0.74), (0.55, 0.2, 0.4), (0.6, 0.25, 0.2), 0.2),
}
DAYLIGHT_PALETTES: dict[str, tuple] = {  # by day, by the scenery
    "desert": ((0.58, 0.6, 0.78), (0.56, 0.33, 0.93), (0.1, 0.2, 1.0), (255, 250, 225),
               (0.07, 0.6, 0.78), (0.08, 0.2, 0.98), (0.55, 0.5, 0.7), (0.02, 0.5, 0.42), 0.5),
    "snow": ((0.6, 0.45, 0.72), (0.58, 0.2, 0.9), (0.55, 0.08, 0.98), (255, 252, 240),
             (0.58, 0.14, 0.9), (0.58, 0.1, 0.95), (0.58, 0.35, 0.62), (0.63, 0.4, 0.5), 0.4),
    "day": ((0.6, 0.62, 0.8), (0.57, 0.38, 0.93), (0.54, 0.15, 0.99), (255, 250, 230),
            (0.3, 0.5, 0.42), (0.57, 0.17, 0.95), (0.55, 0.55, 0.62), (0.62, 0.45, 0.28), 0.45),
}


def choose_palette(time: str, features: set[str], prompt: str, choices: random.Random) -> Palette:
    """The palette for the time of day, else for the scenery; an abstract prompt's hue comes from its words."""
    hue_shift = choices.uniform(-0.015, 0.015)  # a small hue shift, so two sunsets are not the very same colour
    if time in TIME_PALETTES:
        return _shifted(TIME_PALETTES[time], hue_shift)
    if not features & SCENERY:
        return _abstract_palette(prompt, hue_shift)
    scenery = "desert" if "desert" in features else "snow" if "snow" in features else "day"
    return _shifted(DAYLIGHT_PALETTES[scenery], hue_shift)


def _shifted(entry: tuple, hue_shift: float) -> Palette:
    """A palette from a table entry, its HSV colours turned by hue_shift."""
    colours = [entry[3] if i == 3 else hsv(h + hue_shift, s, v) for i, (h, s, v) in enumerate(entry[:8])]
    return Palette(*colours, entry[8])


def _abstract_palette(prompt: str, hue_shift: float) -> Palette:
    """No scenery: the hue comes from a mood word, or else from the prompt's hash."""
    text = prompt.lower()
    hue = next((h for word, h in MOODS.items() if word in text), None)
    hue = (stable_hash(prompt) % 1000) / 1000 if hue is None else hue + hue_shift
    return Palette(hsv(hue + 0.6, 0.55, 0.6), hsv(hue + 0.93, 0.4, 0.95), hsv(hue + 0.04, 0.5, 1.0),
                   hsv(hue + 0.08, 0.18, 1.0), hsv(hue + 0.8, 0.55, 0.42), hsv(hue + 0.01, 0.28, 0.98),
                   hsv(hue + 0.55, 0.5, 0.6), hsv(hue + 0.72, 0.6, 0.28), 0.85)  # fmt: skip
