"""The scene: what one frame shows and where (its layout), and the state its layers share while painting.

The layout follows from the prompt's words and the composition's random choices only (not the style), so a scene
keeps its composition in every style. Essential elements stay inside the middle of the frame: the motion step later
zooms and pans by up to ~15%.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from pipeline.providers.draft.canvas import Painter
from pipeline.providers.draft.palettes import Palette, choose_palette
from pipeline.providers.draft.prompt import SCENERY, read_features, time_of_day


@dataclass
class Layout:
    """Where things are: the horizon, the light (sun, moon or neon glow) and the street, in internal pixels."""

    features: set[str]
    time: str
    palette: Palette
    horizon: float
    light_x: float
    light_y: float
    light_visible: bool
    ground: float  # the street level of a city (px)


class Scene:
    """One frame being painted: the painter, the prompt, its layout, and the two sources of randomness.

    `choices` (random.Random) places and sizes things; `noise` (numpy) fills noise fields. Both are seeded from the
    request, and every layer draws from them in a fixed order, so the same request paints the same picture.
    """

    def __init__(self, painter: Painter, prompt: str, choices: random.Random):
        self.painter, self.prompt, self.choices = painter, prompt, choices
        self.noise = np.random.default_rng(choices.getrandbits(64))
        features = read_features(prompt)
        self.scenery = bool(features & SCENERY)  # False: an abstract picture
        time = time_of_day(features)
        palette = choose_palette(time, features, prompt, choices)
        self.layout = _compose(painter, features, time, palette, choices, self.scenery)
        self.night = time in ("night", "neon")
        self.cliff_at: tuple[float, float, bool] | None = None  # (edge x, top y, on the right) once a cliff is drawn

    @property
    def features(self) -> set[str]:
        return self.layout.features

    @property
    def palette(self) -> Palette:
        return self.layout.palette


def _compose(painter: Painter, features: set[str], time: str, palette: Palette, choices: random.Random,
             scenery: bool) -> Layout:  # fmt: skip
    """Place the horizon, the light and the street for the scenery and the time of day."""
    h, w = painter.h, painter.w
    portrait = h > w
    if "sea" in features:
        horizon = h * (0.5 if portrait else 0.54)
    elif "city" in features:
        horizon = h * (0.6 if portrait else 0.64)
    elif "mountain" in features:
        horizon = h * (0.6 if portrait else 0.64)
    else:
        horizon = h * choices.uniform(0.56, 0.6)
    light_x = w * choices.choice([choices.uniform(0.32, 0.42), choices.uniform(0.58, 0.68)])
    if time in ("sunset", "dawn"):
        light_y = horizon - h * (0.2 if "mountain" in features else 0.07)
    elif time == "night":
        light_y = h * choices.uniform(0.17, 0.24)
    elif time == "neon":
        light_y, light_x = horizon - h * 0.12, w * 0.5
    else:
        light_y = h * 0.2
    visible = time in ("sunset", "dawn", "night") or "sun" in features or not scenery
    ground = h * (0.76 if portrait else 0.78)
    return Layout(features, time, palette, horizon, light_x, light_y, visible, ground)
