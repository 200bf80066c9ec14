"""Weather over everything else: fog, lightning, rain and falling snow."""

from __future__ import annotations

import numpy as np

from pipeline.providers.draft.canvas import Pen
from pipeline.providers.draft.noise import fractal_noise_2d
from pipeline.providers.draft.raster import mix
from pipeline.providers.draft.scene import Scene


def paint_fog(scene: Scene) -> None:
    """Fog lying along the horizon in drifting banks."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    n = fractal_noise_2d(p.w, p.h, 2.5 * p.w / p.unit, 4.0, scene.noise, octaves=3)
    y = p.ys / p.h
    band = np.exp(-(((y - lay.horizon / p.h - 0.06) / 0.2) ** 2))
    a = np.clip(band * (0.2 + 0.55 * n), 0, 0.7)
    p.veil(a, mix(pal.haze, (235, 238, 240), 0.0 if scene.night else 0.4))


def paint_lightning(scene: Scene) -> None:
    """A forked bolt from the cloud base to the horizon, with a glow around it."""
    p, lay = scene.painter, scene.layout
    x = p.w * scene.choices.uniform(0.25, 0.75)
    y, end = p.h * 0.18, lay.horizon
    points = [(x, y)]
    while y < end:
        y += p.h * scene.choices.uniform(0.02, 0.05)
        x += p.unit * scene.choices.uniform(-0.04, 0.04)
        points.append((x, min(y, end)))
    fork = points[len(points) // 3 :][: max(2, len(points) // 3)]
    fork = [fork[0]] + [(fx + p.unit * 0.03 * (i + 1), fy + p.h * 0.01 * i) for i, (fx, fy) in enumerate(fork[1:])]

    def draw(pen: Pen) -> None:
        pen.line(points, p.unit * 0.005, joint="curve")
        pen.line(fork, p.unit * 0.003, joint="curve")

    m, y0, x0 = p.shapes(draw)
    p.glow(points[len(points) // 2][0], (points[0][1] + end) / 2, p.unit * 0.12, (200, 210, 255), 0.35, squash=0.6)
    p.put(m, (245, 245, 255), y0, x0)


def paint_rain(scene: Scene) -> None:
    """Slanting streaks of rain over the whole frame."""
    p, lay = scene.painter, scene.layout
    choices = scene.choices
    drops = [(choices.uniform(-0.1, 1.1) * p.w, choices.uniform(-0.1, 1.0) * p.h, choices.uniform(0.03, 0.08) * p.unit,
              choices.random()) for _ in range(int(p.w * p.h / 650))]  # fmt: skip

    def draw(pen: Pen) -> None:
        for x, y, ln, b in drops:
            pen.line([(x, y), (x - ln * 0.18, y + ln)], 1.0, fill=int(90 + 150 * b))

    m, y0, x0 = p.shapes(draw, supersample=1)
    p.put(m * 0.45, (200, 210, 235) if lay.time != "neon" else (225, 205, 255), y0, x0, outline=False)


def paint_snowfall(scene: Scene) -> None:
    """Falling snowflakes over the whole frame."""
    p = scene.painter
    choices = scene.choices
    flakes = [(choices.uniform(0, p.w), choices.uniform(0, p.h), choices.uniform(0.6, 2.2) * p.unit / 540)
              for _ in range(int(p.w * p.h / 900))]  # fmt: skip

    def draw(pen: Pen) -> None:
        for x, y, r in flakes:
            pen.ellipse(x, y, r, r)

    m, y0, x0 = p.shapes(draw)
    p.put(m * 0.85, (250, 250, 255), y0, x0, outline=False)
