"""Land layers: mountain ranges, hills (with a treeline, grass and flowers) and desert dunes."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.providers.draft.canvas import Pen
from pipeline.providers.draft.layers.terrain import paint_haze_band, paint_ridge
from pipeline.providers.draft.noise import fractal_noise_1d, value_noise_1d
from pipeline.providers.draft.palettes import hsv
from pipeline.providers.draft.raster import mix
from pipeline.providers.draft.scene import Scene


def paint_mountains(scene: Scene) -> None:
    """Three mountain ranges, far to near: ridged peaks, snow caps, a rim of light, haze between."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    aspect = p.w / p.unit
    n_ranges = 3
    low_sun = lay.light_visible and lay.time in ("sunset", "dawn")
    ranges = []
    for i in range(n_ranges):
        base = lay.horizon + p.h * 0.035 * i
        height = p.h * (0.36 - 0.1 * i) * (0.7 if "sea" in lay.features else 1.0)
        cells = (1.5 + 1.0 * i) * aspect
        big = value_noise_1d(p.w, cells, scene.noise)
        peaks = (1.0 - np.abs(2.0 * big - 1.0)) ** 1.5  # ridged noise: sharp summits, round valleys
        detail = fractal_noise_1d(p.w, cells * 5, scene.noise, octaves=4)
        profile = 0.82 * peaks + 0.18 * detail
        profile = (profile - profile.min()) / max(1e-6, float(profile.max() - profile.min()))
        if low_sun:  # a valley where the sun goes down
            profile *= 1.0 - 0.75 * np.exp(-(((p.xs[0] - lay.light_x) / (p.w * (0.09 + 0.05 * i))) ** 2))
        ranges.append((base, height, cells, base - height * (0.15 + 0.85 * profile), base - height * peaks))
    for i, (base, height, cells, ridge, smooth) in enumerate(ranges):
        depth = i / (n_ranges - 1)  # 0 = farthest
        stop = float(ranges[i + 1][3].max()) if i + 1 < n_ranges else None
        haze = 0.74 * (1.0 - depth) ** 1.3 + (0.12 if "fog" in lay.features else 0.0)
        colour = mix(pal.land, pal.haze, haze)
        bottom = mix(colour, pal.haze, 0.3 if depth < 1 else 0.12)
        snow = None
        if i < 2 and lay.time != "neon" and "desert" not in lay.features:
            snow = base - height * (0.74 + 0.1 * fractal_noise_1d(p.w, cells * 6, scene.noise, octaves=3))
        snow_colour = mix(mix((252, 252, 255), pal.light, 0.4 if low_sun else 0.1), pal.haze, haze * 0.5)
        if scene.night:
            snow_colour = mix((165, 178, 215), pal.haze, haze * 0.5)
        paint_ridge(scene, ridge, colour, 1.0, smooth, 0.28, rim=0.6 * (1 - depth * 0.5), snow=snow,
                         snow_colour=snow_colour, bottom=bottom, stop=stop)  # fmt: skip
        if i < n_ranges - 1:
            paint_haze_band(scene, base, 0.16 + (0.3 if "fog" in lay.features else 0.0))


def paint_hills(scene: Scene, snowy: bool = False, low: bool = False) -> None:
    """Rolling hills in layers (or, `low`, dark foothills before mountains), grass and flowers on a field."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    aspect = p.w / p.unit
    green = mix(pal.land, hsv(0.25, 0.55, 0.55), 0.6 if lay.time in ("day", "dawn") else 0.25)
    if lay.time == "sunset":
        green = mix(green, (150, 90, 60), 0.3)
    if snowy:
        green = mix((238, 242, 252), pal.haze, 0.15)
    layers = 2 if low else 3
    for i in range(layers):
        depth = (i + (1 if low else 0)) / 3
        base = lay.horizon + p.h * (0.05 + 0.085 * i + (0.05 if low else 0))
        amp = p.h * (0.09 - 0.012 * i)
        prof = fractal_noise_1d(p.w, (0.9 + 0.5 * i) * aspect, scene.noise, octaves=3, gain=0.35)
        colour = mix(green, pal.haze, 0.55 * (1 - depth) ** 1.3)
        if low:  # the dark foreground in front of a mountain range
            colour = mix(colour, pal.shadow, 0.35 + 0.25 * i)
        if snowy:
            colour = mix(colour, mix((200, 212, 238), pal.shadow, 0.2 * i), 0.4)
        paint_ridge(scene, base - amp * prof, colour, 0.8, shade_depth=0.15, rim=0.35,
                         bottom=mix(colour, pal.shadow, 0.35))  # fmt: skip
        if low and i == 0 and not snowy:
            paint_treeline(scene, base - amp * prof, colour)
    if "field" in lay.features and not snowy:
        paint_grass(scene, flowers="flowers" in lay.features)


def paint_treeline(scene: Scene, ridge: np.ndarray, colour: Any) -> None:
    """Small pines along a ridge, for scale."""
    p = scene.painter
    trees = []
    x = scene.choices.uniform(0, p.unit * 0.02)
    while x < p.w:
        if scene.choices.random() < 0.55:
            s = p.unit * scene.choices.uniform(0.025, 0.05)
            trees.append((x, float(ridge[min(p.w - 1, int(x))]) + s * 0.15, s))
        x += p.unit * scene.choices.uniform(0.008, 0.03)
    if not trees:
        return
    top = min(b - s for _, b, s in trees)

    def draw(pen: Pen) -> None:
        for tx, b, s in trees:
            pen.polygon([(tx - s * 0.2, b), (tx + s * 0.2, b), (tx, b - s)])

    m, y0, x0 = p.shapes(draw, (0, top - 2, p.w, ridge.max() + p.unit * 0.02))
    p.put(m, mix(colour, scene.palette.shadow, 0.25), y0, x0)


def paint_grass(scene: Scene, flowers: bool) -> None:
    """Blades of grass over the near ground, and with `flowers` dots of colour among them."""
    p, pal = scene.painter, scene.palette
    y_top = scene.layout.horizon + p.h * 0.2
    blades = []
    for _ in range(int(p.w * 0.7)):
        x, y = scene.choices.uniform(0, p.w), scene.choices.uniform(y_top, p.h)
        ln = p.unit * scene.choices.uniform(0.02, 0.05) * (0.4 + (y - y_top) / (p.h - y_top))
        blades.append((x, y, ln, scene.choices.uniform(-0.35, 0.35)))

    def draw(pen: Pen) -> None:
        for x, y, ln, lean in blades:
            pen.line([(x, y), (x + lean * ln, y - ln)], 1.0)

    m, y0, x0 = p.shapes(draw, (0, y_top - p.unit * 0.06, p.w, p.h))
    blade = mix(mix(pal.land, hsv(0.24, 0.6, 0.65), 0.5), pal.light, 0.2)
    p.put(m * 0.7, blade, y0, x0, outline=False)
    if flowers:
        cols = [(235, 70, 80), (250, 215, 80), (250, 250, 245), (195, 110, 220)]
        for _ in range(int(p.w * 0.2)):
            x, y = scene.choices.uniform(0, p.w), scene.choices.uniform(y_top + p.h * 0.02, p.h)
            r = p.unit * 0.005 * (0.6 + 1.4 * (y - y_top) / (p.h - y_top))
            scene.painter.disc(x, y, r, cols[scene.choices.randrange(len(cols))])


def paint_dunes(scene: Scene) -> None:
    """Four rows of dunes with sharp crests, shaded steeply towards the light."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    aspect = p.w / p.unit
    sand = mix(pal.land, pal.light, 0.15) if not scene.night else mix((75, 82, 120), pal.light, 0.12)
    for i in range(4):
        depth = i / 3
        base = lay.horizon + p.h * (0.03 + 0.09 * i)
        amp = p.h * (0.07 + 0.025 * i)
        crest = 1.0 - np.abs(2.0 * value_noise_1d(p.w, (0.8 + 0.4 * i) * aspect, scene.noise) - 1.0)
        ridge = base - amp * (0.8 * crest**1.4 + 0.2 * fractal_noise_1d(p.w, 3 * aspect, scene.noise, octaves=3))
        colour = mix(sand, pal.haze, 0.6 * (1 - depth) ** 1.2)
        paint_ridge(scene, ridge, colour, 1.8, shade_depth=0.25, rim=0.4, bottom=mix(colour, pal.shadow, 0.2))
