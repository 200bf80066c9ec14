"""Trees: a forest in layers with a path through it, and a lone tree."""

from __future__ import annotations

import math

import numpy as np

from pipeline.providers.draft.canvas import Pen
from pipeline.providers.draft.layers.terrain import paint_haze_band
from pipeline.providers.draft.palettes import hsv
from pipeline.providers.draft.raster import colour_array, mix
from pipeline.providers.draft.scene import Scene


def paint_forest(scene: Scene) -> None:
    """A forest in four layers of trees, far to near, lit on one side; a clearing and path for a figure."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    pines = "pine" in lay.features or "snow" in lay.features
    figure = "figure" in lay.features
    green = mix(pal.land, hsv(0.38, 0.5, 0.36), 0.55 if lay.time in ("day", "dawn", "overcast") else 0.2)
    fog = "fog" in lay.features
    lit_side = 1 if lay.light_x > p.w / 2 else -1
    floor = p.new_id()
    layers = 4
    for i in range(layers):
        depth = i / (layers - 1)
        base = lay.horizon + p.h * 0.07 * i
        size = p.h * (0.15 + 0.12 * i) * (1.0 if pines else 0.8)
        count = int((24 - 5 * i) * p.w / p.unit * (1.0 if pines else 0.6))
        trees = []
        for k in range(count):
            x = (k + scene.choices.uniform(0.1, 0.9)) / count * p.w * 1.1 - p.w * 0.05
            if figure and i >= 2 and abs(x - p.w / 2) < p.w * (0.08 + 0.06 * i):
                continue  # a clearing for the path and the traveller
            trees.append((x, base + scene.choices.uniform(0, 0.03) * p.h, size * scene.choices.uniform(0.7, 1.15)))
        box = (0, base - size * 1.2, p.w, base + p.h * 0.035)

        def draw(pen: Pen, trees: list = trees, half: int = 0) -> None:
            for x, b, s in trees:
                draw_tree(pen, x, b, s, pines, half)

        m, y0, x0 = p.shapes(draw, box)
        lm = p.shapes(lambda pen, trees=trees: draw(pen, trees, lit_side), box)[0]
        haze = (0.82 if fog else 0.58) * (1 - depth) ** 1.1
        colour = mix(green, pal.haze, haze)
        if "snow" in lay.features:
            colour = mix(colour, (225, 232, 245), 0.2)
        p.put(m, colour_array(colour) * p.shade(lm * 2 - 1, 0.8)[None], y0, x0)
        # The forest floor is one shape across the layers, so anime ink outlines the trees, not the strips.
        p.fill_below(base + p.h * 0.004, colour, ident=floor)
        if i < layers - 1:
            paint_haze_band(scene, base + p.h * 0.02, 0.6 if fog else 0.22)
    if figure:
        paint_path(scene)


def draw_tree(pen: Pen, x: float, base: float, s: float, pine: bool, half: int) -> None:
    """A pine in three tiers, or a round broadleaf; `half` keeps only its left (-1) or right (1) half."""
    trunk = s * 0.035
    if pine:
        polys = [[(x - trunk, base), (x + trunk, base), (x + trunk, base - s * 0.2), (x - trunk, base - s * 0.2)]]
        for j in range(3):
            yb = base - s * (0.12 + 0.24 * j)
            hw = s * 0.34 * (1.0 - 0.25 * j) / 2
            polys.append([(x - hw, yb), (x + hw, yb), (x, yb - s * (0.5 - 0.07 * j))])
    else:
        r = s * 0.26
        polys = [[(x - trunk * 1.5, base), (x + trunk * 1.5, base), (x + trunk, base - s * 0.5), (x - trunk, base - s * 0.5)]]
        for ox, oy, rr in ((0, -0.62, 1.0), (-0.5, -0.5, 0.75), (0.5, -0.48, 0.8), (0, -0.8, 0.7)):
            cx, cy, R = x + ox * r, base + oy * s, r * rr
            polys.append([(cx + R * math.cos(a * math.pi / 8), cy + R * math.sin(a * math.pi / 8)) for a in range(16)])
    for poly in polys:
        if half:
            poly = [(x + max(0.0, (px - x) * half) * half, py) for px, py in poly]
        pen.polygon(poly)


def paint_lone_tree(scene: Scene) -> None:
    """One big tree standing off-centre on the nearest rise, its lit side towards the light."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    x = p.w * (0.3 if lay.light_x > p.w / 2 else 0.7)
    base = lay.horizon + p.h * (0.2 if "sea" not in lay.features else 0.3)
    size = p.h * 0.46
    pine = "pine" in lay.features
    box = (x - size * 0.6, base - size * 1.05, x + size * 0.6, base + 2)
    m, y0, x0 = p.shapes(lambda pen: draw_tree(pen, x, base, size, pine, 0), box)
    lit = p.shapes(lambda pen: draw_tree(pen, x, base, size, pine, 1 if lay.light_x > x else -1), box)[0]
    green = mix(pal.land, hsv(0.3, 0.55, 0.4), 0.5 if lay.time in ("day", "dawn") else 0.2)
    colour = mix(green, pal.shadow, 0.25 if not scene.night else 0.6)
    p.put(m, colour_array(colour) * p.shade(lit * 2 - 1, 1.0)[None], y0, x0)


def paint_path(scene: Scene) -> None:
    """A path winding from the foreground into the forest."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    top = lay.horizon + p.h * 0.16
    ys = p.ys[int(top) :]
    t = (ys - top) / (p.h - top)
    half = p.w * (0.006 + 0.1 * t)
    centre = p.w / 2 + p.w * 0.03 * np.sin(t * 3.0)
    m = np.clip(half - np.abs(p.xs - centre) + 0.5, 0, 1)
    col = mix(mix(pal.haze, (150, 130, 100), 0.5), pal.shadow, 0.3)
    p.put(m.astype(np.float32), colour_array(col) * (0.8 + 0.3 * t)[None], int(top))
