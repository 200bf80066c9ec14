"""Living things: a figure (a traveller, someone under an umbrella) and a flock of birds."""

from __future__ import annotations

import re

import numpy as np

from pipeline.providers.draft.canvas import Pen
from pipeline.providers.draft.raster import mix
from pipeline.providers.draft.scene import Scene


TRAVELLER_WORDS = r"travel|wander|hike|hiking|explor|pilgrim|journey"  # a backpack and a walking staff


def paint_figure(scene: Scene) -> None:
    """A walking figure, standing where the scenery puts people; a red umbrella in the rain."""
    p, lay = scene.painter, scene.layout
    x, foot, size = _where_the_figure_stands(scene)
    umbrella = "rain" in lay.features
    traveller = re.search(TRAVELLER_WORDS, scene.prompt.lower()) is not None

    def draw(pen: Pen) -> None:
        _silhouette(pen, x, foot, size, traveller, umbrella)

    def canopy(pen: Pen) -> None:
        pen.pieslice(x - 0.42 * size, foot - 1.28 * size, x + 0.42 * size, foot - 0.64 * size, 180, 360)

    box = (x - size * 0.6, foot - size * 1.4, x + size * 0.6, foot + 2)
    m, y0, x0 = p.shapes(draw, box, supersample=3)
    dark = mix(lay.palette.shadow, (12, 12, 20), 0.6)
    p.put(m, dark, y0, x0)
    if umbrella:  # a red umbrella, so the figure reads against a dark, wet street
        um, uy, ux = p.shapes(canopy, box, supersample=3)
        p.put(um, (196, 40, 58) if not scene.night else (170, 30, 60), uy, ux)
    # A soft contact shadow, and a rim of light on the side facing the light (smooth styles).
    rows = p.ys[int(foot - size * 0.1) : int(foot + size * 0.1)]
    sh = np.exp(-(((p.xs - x) / (size * 0.3)) ** 2) - ((rows - foot) / (size * 0.03)) ** 2)
    p.veil((sh * 0.4).astype(np.float32), (10, 10, 15), int(foot - size * 0.1))
    if p.style in ("3d", "photorealistic") and lay.light_visible:
        side = 1 if lay.light_x > x else -1
        rim = np.clip(m - np.roll(m, -side * 2, axis=1), 0, 1) * 0.75
        p.put(rim, lay.palette.light, y0, x0, outline=False)


def _where_the_figure_stands(scene: Scene) -> tuple[float, float, float]:
    """(x, foot, height): on the forest path, the city's pavement, the beach, the cliff top, or the near ground."""
    p, lay = scene.painter, scene.layout
    x = p.w * 0.5
    if "forest" in lay.features:
        foot, size = lay.horizon + p.h * 0.2, p.h * 0.15
    elif "city" in lay.features:
        foot, size = lay.ground + p.h * 0.05, p.h * 0.17
        x = p.w * (0.42 if lay.light_x > p.w / 2 else 0.58)
    elif "sea" in lay.features and lay.features & {"beach", "rocks"}:
        foot, size, x = p.h * 0.82, p.h * 0.17, p.w * (0.4 if lay.light_x > p.w / 2 else 0.6)
    elif "cliff" in lay.features or "lighthouse" in lay.features:
        edge_x, top_y, right = scene.cliff_at
        foot, size, x = top_y + p.h * 0.005, p.h * 0.1, edge_x + (p.w * 0.03 if right else -p.w * 0.03)
    else:
        foot, size = lay.horizon + p.h * 0.17, p.h * 0.16
    return x, foot, size


def _silhouette(pen: Pen, x: float, foot: float, size: float, traveller: bool, umbrella: bool) -> None:
    """A person mid-stride, `size` tall with feet at (x, foot); shapes are given in units of the height."""

    def at(pts: list) -> list:
        return [(x + dx * size, foot + dy * size) for dx, dy in pts]

    pen.ellipse(x, foot - 0.9 * size, 0.075 * size, 0.08 * size)
    pen.polygon(at([(-0.12, -0.8), (0.12, -0.8), (0.16, -0.36), (0.19, -0.3), (-0.19, -0.3), (-0.16, -0.36)]))
    pen.polygon(at([(-0.11, -0.32), (-0.01, -0.32), (-0.08, 0.0), (-0.15, 0.0)]))  # legs, mid-stride
    pen.polygon(at([(0.01, -0.32), (0.11, -0.32), (0.16, 0.0), (0.09, 0.0)]))
    if traveller:
        pen.polygon(at([(0.1, -0.79), (0.25, -0.74), (0.25, -0.45), (0.12, -0.45)]))  # backpack
        pen.line(at([(-0.24, -0.92), (-0.3, 0.0)]), size * 0.025)  # walking staff
    if umbrella:
        pen.line(at([(0.0, -0.96), (0.0, -0.6)]), size * 0.02)


def paint_birds(scene: Scene) -> None:
    """A small flock in the sky, away from the light."""
    p, lay = scene.painter, scene.layout
    cx = p.w * (0.6 if lay.light_x < p.w / 2 else 0.4)
    cy = lay.horizon * 0.42
    choices = scene.choices
    flock = [(cx + choices.gauss(0, p.w * 0.06), cy + choices.gauss(0, p.h * 0.045), choices.uniform(0.6, 1.0),
              choices.uniform(0.2, 0.6)) for _ in range(choices.randint(5, 9))]  # fmt: skip

    def draw(pen: Pen) -> None:
        for bx, by, sc, flap in flock:
            s = p.unit * 0.022 * sc
            pen.line([(bx - s, by - s * flap), (bx - s * 0.35, by - s * 0.12), (bx, by), (bx + s * 0.35, by - s * 0.12),
                      (bx + s, by - s * flap)], p.unit * 0.004, joint="curve")  # fmt: skip

    m, y0, x0 = p.shapes(draw, supersample=3)
    p.put(m, mix(lay.palette.shadow, (20, 20, 30), 0.5), y0, x0, outline=False)
