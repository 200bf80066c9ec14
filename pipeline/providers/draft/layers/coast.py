"""The headland: a cliff, the lighthouse on it and its beams."""

from __future__ import annotations

import math

import numpy as np

from pipeline.providers.draft.canvas import Pen
from pipeline.providers.draft.layers.terrain import paint_ridge
from pipeline.providers.draft.noise import fractal_noise_1d, value_noise_2d
from pipeline.providers.draft.palettes import hsv
from pipeline.providers.draft.raster import colour_array, mix, resize_planar, smoothstep
from pipeline.providers.draft.scene import Scene


def paint_cliff(scene: Scene) -> None:
    """A headland on the lighthouse's side: a grassy top and a steep rocky face down to the sea."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    right = lay.light_x < p.w / 2  # the cliff stands opposite the light
    edge_x = p.w * (0.6 if right else 0.4)
    top_y = lay.horizon - p.h * 0.07
    n = fractal_noise_1d(p.w, 10 * p.w / p.unit, scene.noise, octaves=4)
    xs = np.arange(p.w, dtype=np.float32)
    d = (xs - edge_x) if right else (edge_x - xs)  # > 0 on the plateau
    plateau = top_y - p.h * 0.02 * np.clip(d / p.w, 0, 1) * 3 + p.h * 0.01 * n
    face = top_y + (-d) * 2.6 + p.h * 0.05 * n
    ridge = np.where(d > 0, plateau, face).astype(np.float32)
    ridge = np.minimum(ridge, p.h + 5.0)
    rock = mix(pal.shadow, (110, 98, 90), 0.4) if not scene.night else mix(pal.shadow, (70, 74, 100), 0.45)
    strata = value_noise_2d(p.w, p.h, 40 * p.w / p.unit, 5, scene.noise)
    layers = value_noise_2d(p.w, p.h, 3 * p.w / p.unit, 30, scene.noise)
    texture = 0.85 + 0.3 * (0.6 * strata + 0.4 * layers)
    if p.anime:
        texture = np.where(texture > 1.05, 1.08, 0.94).astype(np.float32)
    paint_ridge(scene, ridge, rock, 1.4, shade_depth=0.4, rim=0.5, bottom=mix(rock, pal.shadow, 0.55), texture=texture)
    # Grass on the top, hanging a little over the edge.
    grass = mix(hsv(0.26, 0.5, 0.5), pal.shadow, 0.6 if scene.night else 0.2)
    g_bottom = ridge + p.h * (0.018 + 0.012 * n)
    y0 = int(ridge.min())
    ys = p.ys[y0:]
    m = np.clip(ys - ridge[None, :] + 0.5, 0, 1) * np.clip(g_bottom[None, :] - ys, 0, 1) * (d > -p.w * 0.015)[None, :]
    p.put(m.astype(np.float32), grass, y0)
    scene.cliff_at = (edge_x, top_y, right)


def paint_lighthouse(scene: Scene) -> None:
    """A striped lighthouse and the keeper's cottage on the cliff; its beams under a dark sky."""
    p, lay = scene.painter, scene.layout
    edge_x, top_y, right = scene.cliff_at
    x = edge_x + (p.w * 0.11 if right else -p.w * 0.11)
    base = top_y + p.h * 0.005
    height = p.h * 0.3
    top = base - height
    bw, tw = p.unit * 0.045, p.unit * 0.03
    lantern_y = top - p.h * 0.035
    dark_sky = scene.night or "rain" in lay.features or "fog" in lay.features or "storm" in scene.prompt.lower()
    box = (x - p.unit * 0.1, lantern_y - p.h * 0.06, x + p.unit * 0.1, base + 2)

    def body(pen: Pen) -> None:
        pen.polygon([(x - bw, base), (x + bw, base), (x + tw, top), (x - tw, top)])

    def stripes(pen: Pen) -> None:
        for i in (1, 3):
            ya, yb = base + (top - base) * i / 5, base + (top - base) * (i + 1) / 5
            ha, hb = bw + (tw - bw) * i / 5, bw + (tw - bw) * (i + 1) / 5
            pen.polygon([(x - ha, ya), (x + ha, ya), (x + hb, yb), (x - hb, yb)])

    def cap(pen: Pen) -> None:
        pen.rect(x - tw * 1.4, top - p.h * 0.007, x + tw * 1.4, top + p.h * 0.004)
        pen.polygon([(x - tw * 0.95, lantern_y - p.h * 0.016), (x + tw * 0.95, lantern_y - p.h * 0.016),
                     (x, lantern_y - p.h * 0.05)])  # fmt: skip
        pen.rect(x - tw * 0.95, lantern_y - p.h * 0.02, x + tw * 0.95, lantern_y - p.h * 0.013)

    def lamp(pen: Pen) -> None:
        pen.rect(x - tw * 0.72, lantern_y - p.h * 0.014, x + tw * 0.72, top - p.h * 0.006)

    def house(pen: Pen) -> None:  # the keeper's cottage
        hx = x + (-1 if right else 1) * p.unit * 0.055
        hw, hh = p.unit * 0.045, p.h * 0.045
        pen.rect(hx - hw, base - hh, hx + hw, base + 1)
        pen.polygon([(hx - hw * 1.15, base - hh), (hx + hw * 1.15, base - hh), (hx, base - hh * 1.8)])

    mb, y0, x0 = p.shapes(body, box)
    xx = p.xs[:, x0 : x0 + mb.shape[1]]
    toward = 1.0 if lay.light_x > x else -1.0
    light = p.shade(np.tanh((xx - x) * toward / (bw * 0.5)) * 0.9, 1.2)[None]
    white = np.asarray((236, 234, 226) if not scene.night else (165, 170, 195), np.float32)
    red = np.asarray((196, 48, 46) if not scene.night else (120, 38, 52), np.float32)
    hm, hy, hx = p.shapes(house, (x - p.unit * 0.2, base - p.h * 0.1, x + p.unit * 0.2, base + 2))
    p.put(hm, white * 0.85, hy, hx)
    p.put(mb, colour_array(white) * light, y0, x0)
    p.put(p.shapes(stripes, box)[0], colour_array(red) * light, y0, x0)
    p.put(p.shapes(cap, box)[0], (42, 42, 52), y0, x0)
    p.put(p.shapes(lamp, box)[0], (255, 238, 165), y0, x0)
    if dark_sky:
        paint_lighthouse_beams(scene, x, lantern_y - p.h * 0.004, right)


def paint_lighthouse_beams(scene: Scene, x: float, y: float, right: bool) -> None:
    """Two beams sweeping out of the lantern, computed at half size (they are soft anyway)."""
    p = scene.painter
    h2, w2 = p.h // 2, p.w // 2
    yy = np.arange(h2, dtype=np.float32)[:, None] * 2 - y
    xx = np.arange(w2, dtype=np.float32)[None, :] * 2 - x
    ang = np.arctan2(yy, xx)
    dist = np.sqrt(xx * xx + yy * yy)
    beam = np.zeros((h2, w2), np.float32)
    for a0 in ((math.pi + 0.1, 0.06) if right else (-0.1, math.pi - 0.06)):
        diff = (ang - a0 + math.pi) % (2 * math.pi) - math.pi
        beam += np.exp(-((diff / 0.055) ** 2)) * np.exp(-dist / (p.w * 0.5))
    beam *= 0.5 * smoothstep(0.0, p.unit * 0.04, dist)
    if p.anime:
        beam = np.floor(beam * 4 + 0.3) / 4
    full = resize_planar(np.clip(beam * 255, 0, 255), p.w, p.h) / 255.0
    p.veil(full, (255, 242, 195))
    p.glow(x, y, p.unit * 0.055, (255, 240, 180), 0.85)
