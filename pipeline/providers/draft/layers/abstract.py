"""The picture for a prompt without scenery words: soft hills, ribbons of light and orbs."""

from __future__ import annotations

import math

import numpy as np

from pipeline.providers.draft.layers.terrain import paint_ridge
from pipeline.providers.draft.noise import fractal_noise_1d
from pipeline.providers.draft.palettes import hsv, hue_of
from pipeline.providers.draft.raster import disc_mask, mix
from pipeline.providers.draft.scene import Scene


def paint_abstract(scene: Scene) -> None:
    """No scenery words: flowing soft hills, ribbons of light and floating orbs in the prompt's colours."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    aspect = p.w / p.unit
    land_hue = hue_of(pal.land)
    for i in range(4):
        depth = i / 3
        base = lay.horizon + p.h * 0.1 * i
        amp = p.h * (0.16 - 0.02 * i)
        prof = fractal_noise_1d(p.w, (0.7 + 0.3 * i) * aspect, scene.noise, octaves=2, gain=0.3)
        colour = mix(hsv(land_hue + 0.07 * i, 0.5, 0.3 + 0.14 * (3 - i)), pal.haze, 0.6 * (1 - depth))
        paint_ridge(scene, base - amp * prof, colour, 0.8, shade_depth=0.3, rim=0.5, bottom=mix(colour, pal.shadow, 0.4))
    # Ribbons of light over the sky.
    sky_hue = hue_of(pal.sky_mid)
    for j in range(3):
        phase = scene.choices.uniform(0, 6.28)
        curve = lay.horizon * (0.32 + 0.16 * j) + p.h * 0.06 * np.sin(p.xs[0] / p.w * (2.2 + j) * math.pi + phase)
        d = p.ys[: int(lay.horizon)] - curve[None, :]
        band = np.exp(-((d / (p.h * (0.012 + 0.01 * j))) ** 2)) * 0.4
        if p.anime:
            band = (band > 0.15).astype(np.float32) * 0.5
        p.veil(band, hsv(sky_hue + 0.12 * (j - 1), 0.3, 1.0))
    # Floating orbs, like out-of-focus lights.
    for _ in range(14):
        x, y = scene.choices.uniform(0.12, 0.88) * p.w, scene.choices.uniform(0.1, 0.6) * p.h
        m, y0, x0 = disc_mask(x, y, p.unit * scene.choices.uniform(0.012, 0.05))
        p.put(m * scene.choices.uniform(0.18, 0.4), mix(pal.light, (255, 255, 255), 0.4), y0, x0, outline=False)
