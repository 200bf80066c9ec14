"""Shared by the land layers: a filled ridge line shaded by its slope towards the light, and haze at its foot."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.providers.draft.raster import colour_array
from pipeline.providers.draft.scene import Scene


def paint_ridge(scene: Scene, ridge: np.ndarray, colour: Any, light_amount: float = 1.0, smooth: np.ndarray | None = None,
                shade_depth: float = 0.2, rim: float = 0.0, snow: np.ndarray | None = None, snow_colour: Any = None,
                bottom: Any = None, texture: np.ndarray | None = None, outline: bool = True,
                stop: float | None = None) -> None:  # fmt: skip
    """Fill below a ridge line (y per x), its faces shaded by their slope towards the light.

    `stop`: the row from which a nearer layer will cover everything, so there is no need to paint further.
    """
    p, lay = scene.painter, scene.layout
    top = float(ridge.min())
    y0 = max(0, int(top) - 1)
    y1 = p.h if stop is None else max(y0 + 1, min(p.h, int(stop) + 2))
    ys = p.ys[y0:y1]
    depth = ys - ridge[None, :]
    mask = depth + np.float32(0.5)
    np.clip(mask, 0.0, 1.0, out=mask)
    sr = ridge if smooth is None else smooth
    dh = -np.gradient(sr) / max(1.0, p.unit * 0.004)
    side = np.tanh((p.xs[0] - lay.light_x) / (p.w * 0.06))
    s = (np.tanh(dh * 2.5) * side).astype(np.float32)  # > 0: the face turns towards the light
    if p.anime:
        # Cel shading: a face is lit or in shadow all the way down (gentle slopes stay flat).
        light = p.shade(np.broadcast_to(s[None, :] if light_amount >= 1 else 0 * s[None, :], depth.shape), light_amount)
    else:
        fade = np.maximum(depth, 0)
        fade *= np.float32(-1.0 / (p.h * shade_depth))
        np.exp(fade, out=fade)
        fade *= 0.7
        fade += 0.3
        fade *= s[None, :]
        light = p.shade(fade, light_amount)
    if texture is not None:
        light *= texture[y0:y1]
    base = colour_array(colour)
    if bottom is not None:
        t = np.clip((ys - top) * (1.0 / (p.h - top + 1)), 0, 1)[None]
        col = (base + (colour_array(bottom) - base) * t) * light[None]
    else:
        col = base * light[None]
    if snow is not None:
        r1 = max(0, min(len(ys), int(snow.max()) - y0 + 2))
        sm = np.clip((snow[None, :] - ys[:r1]) * 0.8, 0.0, 1.0)
        if p.anime:
            sm = (sm > 0.5).astype(np.float32)
        snow_col = colour_array(snow_colour) * p.shade(s[None, :], 1.3)[None]
        col[:, :r1] += (snow_col - col[:, :r1]) * sm[None]
    if rim > 0 and p.style in ("3d", "photorealistic") and not scene.layout.time == "overcast":
        width = max(1.0, p.unit * 0.005)
        r1 = max(0, min(len(ys), int(ridge.max() + width * 6) - y0))
        edge = np.exp(-np.maximum(depth[:r1], 0) / width) * np.clip(s[None, :] + 0.4, 0, 1)
        col[:, :r1] += (colour_array(lay.palette.light) - col[:, :r1]) * (edge * rim * 0.8)[None]
    p.put(mask, col, y0, outline=outline)


def paint_haze_band(scene: Scene, base: float, strength: float, colour: Any = None) -> None:
    """Atmospheric haze (or mist) pooling at the foot of the layers drawn so far."""
    p = scene.painter
    y0, y1 = max(0, int(base - p.h * 0.3)), min(p.h, int(base + p.h * 0.06))
    if y1 <= y0:
        return
    a = np.exp(-(((p.ys[y0:y1] - base) / (p.h * 0.11)) ** 2)) * strength
    p.veil(np.broadcast_to(a, (y1 - y0, p.w)), scene.palette.haze if colour is None else colour, y0)
