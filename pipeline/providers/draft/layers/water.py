"""Water layers: the sea mirroring the sky, surf on a beach, rocks and a sailing boat."""

from __future__ import annotations

import math

import numpy as np

from pipeline.providers.draft.canvas import Pen
from pipeline.providers.draft.layers.terrain import paint_ridge
from pipeline.providers.draft.noise import fractal_noise_1d, fractal_noise_2d, value_noise_2d
from pipeline.providers.draft.raster import colour_array, mix, smoothstep
from pipeline.providers.draft.scene import Scene


def paint_sea(scene: Scene) -> None:
    """The sea from the horizon down: the sky mirrored, rows of waves, the path of light."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    top = int(lay.horizon)
    hh = p.h - top
    ys = p.ys[top:]
    v = (ys - lay.horizon + 1.0) / hh  # 0 at the horizon, 1 at the bottom of the frame
    # The water mirrors the sky's colours, deepening towards the viewer.
    mirror = np.clip((lay.horizon - (ys[:, 0] - lay.horizon) * 1.5).astype(np.int64), 0, top - 1)
    sky = p.img[:, mirror].mean(axis=2, keepdims=True)  # (3, rows, 1)
    water = sky * (0.7 - 0.4 * v)[None] + colour_array(pal.water) * (0.3 + 0.4 * v)[None]
    # Rows of waves: each band brightens towards its crest and drops into a darker trough.
    wob = fractal_noise_2d(p.w, hh, 2.5 * p.w / p.unit, 2.0, scene.noise, octaves=3)
    q = np.sqrt(v) * 10.0 + 0.9 * wob
    frac = q - np.floor(q)
    if p.anime:
        frac = np.floor(frac * 3.0) / 3.0
    near = smoothstep(0.0, 0.3, v)
    water = water * (1.0 + (0.3 * frac - 0.16) * near)[None]
    crest = smoothstep(0.88, 0.97, frac) * (1.0 - smoothstep(0.97, 1.0, frac)) * near
    foam = colour_array(mix((255, 255, 255), pal.light, 0.2)) * (0.6 if scene.night else 1.0)
    water += (foam - water) * (crest * 0.5)[None]
    # The path of light under the sun or the moon, broken up by the ripples.
    if lay.light_visible or lay.time == "neon":
        width = p.w * (0.025 + 0.1 * v)
        path = np.exp(-(((p.xs - lay.light_x) / width) ** 2))
        ripple = value_noise_2d(p.w, hh, 28 * p.w / p.unit, 50, scene.noise)
        glitter = path * smoothstep(0.45, 0.7, ripple * 0.6 + frac * 0.45)
        amount = 0.85 if lay.time in ("sunset", "dawn", "night", "neon") else 0.55
        water += (colour_array(pal.light) - water) * (glitter * amount)[None]
    p.put(np.clip(ys - lay.horizon + 0.5, 0.0, 1.0) * np.ones((1, p.w), np.float32), water, top)
    p.img[:, top] = p.img[:, top] * 0.5 + colour_array(pal.sky_horizon)[:, 0] * 0.5  # a crisp horizon line


def paint_shore(scene: Scene) -> None:
    """Surf breaking on a beach (with rocks) in the foreground, when the words ask for one."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    f = lay.features
    if not f & {"beach", "rocks"} or "lighthouse" in f and "beach" not in f:
        if "rocks" in f:
            paint_rocks(scene, p.h * 0.86, few=True)
        return
    aspect = p.w / p.unit
    shore_y = p.h * 0.8
    wob = fractal_noise_1d(p.w, 2.0 * aspect, scene.noise, octaves=3)
    # The breaking wave: a translucent face under a ragged foam crest, whitewater running up the sand.
    crest_y = shore_y - p.h * (0.09 + 0.035 * wob)
    y0 = int(crest_y.min() - p.h * 0.04)
    ys = p.ys[y0:]
    rel = (ys - crest_y[None, :]) / (shore_y - crest_y[None, :])  # 0 at the crest, 1 at the shore
    n1 = fractal_noise_2d(p.w, p.h - y0, 9 * aspect, 4, scene.noise, octaves=3)
    n2 = fractal_noise_2d(p.w, p.h - y0, 16 * aspect, 7, scene.noise, octaves=3)
    face = mix(pal.water, (105, 185, 180) if not scene.night else (60, 90, 120), 0.45)
    col = colour_array(face) * (0.72 + 0.5 * np.clip(1 - rel, 0, 1))[None]
    col += (colour_array(pal.light) - col) * (0.3 * np.clip(1 - rel, 0, 1) ** 3)[None]
    cap = smoothstep(0.5, 0.6, n1 * 0.8 + (1.0 - np.abs(rel - 0.05) / 0.16) * 0.55)
    wash = smoothstep(0.55, 0.62, n2 * 0.9 + (rel - 0.5) * 0.6) * (rel > 0.3)
    foam_amt = np.maximum(cap, wash)
    if p.anime:
        foam_amt = (foam_amt > 0.5).astype(np.float32)
    foam = colour_array(mix((255, 255, 255), pal.light, 0.15)) * (0.7 if scene.night else 1.0)
    shade = 1.0 - 0.12 * np.clip(n2 - 0.4, 0, 1)[None] if not p.anime else 1.0
    col += (foam * shade - col) * foam_amt[None]
    body = np.clip((ys - crest_y[None, :]) + (n1 - 0.5) * p.unit * 0.05 + p.unit * 0.01 + 0.5, 0, 1)
    p.put(body.astype(np.float32), col, y0)
    # Sand, with a darker wet strip and a lace of foam at the waterline.
    sand = mix(mix((218, 192, 152), pal.light, 0.2), pal.shadow, 0.12 if not scene.night else 0.7)
    beach = shore_y + p.h * 0.025 * (wob - 0.5)
    paint_ridge(scene, beach, mix(sand, pal.shadow, 0.3), 0.3, bottom=sand)
    ly0 = int(beach.min()) - 2
    lace = np.exp(-(((p.ys[ly0:] - beach[None, :] - p.h * 0.006) / (p.h * 0.004)) ** 2))
    p.put(lace.astype(np.float32) * 0.7, foam[:, 0, 0], ly0, outline=False)
    if "rocks" in f:
        paint_rocks(scene, shore_y)


def paint_rocks(scene: Scene, shore_y: float, few: bool = False) -> None:
    """Rounded rocks along the shore, lit from the light's side; `few` with foam at their foot."""
    p, pal = scene.painter, scene.palette
    places = [(0.14, 1.0), (0.86, 0.85), (0.3, 0.45), (0.72, 0.5), (0.05, 0.6), (0.95, 0.55)]
    rock = mix(pal.shadow, (70, 64, 62), 0.45 if not scene.night else 0.1)
    for fx, size in places[:3] if few else places:
        cx = p.w * (fx + scene.choices.uniform(-0.03, 0.03))
        r = p.unit * 0.1 * size * scene.choices.uniform(0.8, 1.2)
        cy = shore_y - p.h * 0.01 + scene.choices.uniform(0, 0.04) * p.h
        pts = []
        for k in range(10):
            a = math.pi + math.pi * k / 9
            rr = r * scene.choices.uniform(0.7, 1.1)
            pts.append((cx + math.cos(a) * rr * 1.3, cy + math.sin(a) * rr * 0.85))
        pts += [(cx + r * 1.3, cy + r * 0.5), (cx - r * 1.3, cy + r * 0.5)]

        def draw(pen: Pen, pts: list = pts) -> None:
            pen.polygon(pts)

        m, y0, x0 = p.shapes(draw, (cx - r * 1.5, cy - r * 1.1, cx + r * 1.5, cy + r * 0.6))
        yy = p.ys[y0 : y0 + m.shape[0]]
        xx = p.xs[:, x0 : x0 + m.shape[1]]
        toward = 1.0 if scene.layout.light_x > cx else -1.0
        s = 0.6 * np.tanh((xx - cx) * toward / (r * 0.4)) + 0.6 * np.tanh((cy - r * 0.2 - yy) / (r * 0.4))
        p.put(m, colour_array(rock) * p.shade(np.clip(s, -1, 1))[None], y0, x0)
        if not few:
            continue
        # Foam where the water meets the rock.
        fm = np.exp(-(((yy - cy - r * 0.45) / (r * 0.12)) ** 2)) * np.clip(1 - np.abs(xx - cx) / (r * 1.5), 0, 1)
        p.put(fm.astype(np.float32) * 0.8, (245, 248, 250) if not scene.night else (150, 160, 190), y0, x0, outline=False)


def paint_boat(scene: Scene) -> None:
    """A small sailing boat on the water, opposite the light, with its reflection."""
    p, lay = scene.painter, scene.layout
    x = p.w * (0.3 if lay.light_x > p.w / 2 else 0.7) + scene.choices.uniform(-0.04, 0.04) * p.w
    y = lay.horizon + p.h * 0.06
    s = p.unit * 0.055
    dark = mix(lay.palette.shadow, (20, 20, 30), 0.5)
    sail = np.asarray((242, 238, 226) if not scene.night else (150, 150, 178), np.float32)
    box = (x - s * 1.5, y - s * 2.2, x + s * 1.5, y + s * 0.6)

    def hull(pen: Pen) -> None:
        pen.polygon([(x - s, y), (x + s, y), (x + s * 0.7, y + s * 0.3), (x - s * 0.75, y + s * 0.3)])
        pen.line([(x, y - s * 1.9), (x, y)], s * 0.05)

    def sails(pen: Pen) -> None:
        pen.polygon([(x, y - s * 1.8), (x + s * 0.9, y - s * 0.12), (x, y - s * 0.12)])
        pen.polygon([(x - s * 0.06, y - s * 1.5), (x - s * 0.06, y - s * 0.12), (x - s * 0.7, y - s * 0.12)])

    ms, y0, x0 = p.shapes(sails, box)
    p.put(ms, sail * p.shade(0.6), y0, x0)
    mh, y0, x0 = p.shapes(hull, box)
    p.put(mh, dark, y0, x0)
    ref = np.exp(-(((p.ys[int(y + s * 0.3) : int(y + s * 1.2)] - y - s * 0.35) / (s * 0.3)) ** 2))
    ref = ref * np.exp(-(((p.xs - x) / s) ** 2)) * 0.3
    p.veil(ref.astype(np.float32), dark, int(y + s * 0.3))
