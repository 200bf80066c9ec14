"""Smooth random fields: value noise and its fractal sums, in one and two dimensions."""

from __future__ import annotations

import numpy as np
from PIL import Image


def value_noise_1d(n: int, cells: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth value noise in 0..1 over n samples with about `cells` bumps (Catmull-Rom interpolated)."""
    cells = max(1, int(round(cells)))
    pts = rng.random(cells + 4)
    x = np.linspace(1.0, cells + 1.0, n, endpoint=False)
    i = x.astype(np.int64)
    f = x - i
    p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
    v = p1 + 0.5 * f * (p2 - p0 + f * (2 * p0 - 5 * p1 + 4 * p2 - p3 + f * (3 * (p1 - p2) + p3 - p0)))
    return np.clip(v, 0.0, 1.0).astype(np.float32)


def fractal_noise_1d(n: int, cells: float, rng: np.random.Generator, octaves: int = 5, gain: float = 0.5) -> np.ndarray:
    """Octaves of value noise, each twice as fine and `gain` times as strong (0..1)."""
    total, amp, norm = np.zeros(n, np.float32), 1.0, 0.0
    for o in range(octaves):
        total += amp * value_noise_1d(n, cells * 2**o, rng)
        norm += amp
        amp *= gain
    return total / norm


def value_noise_2d(w: int, h: int, cx: float, cy: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth 2D value noise in about 0..1 with `cx` × `cy` cells (bicubic upscaling of a random grid)."""
    cx, cy = max(1, int(round(cx))), max(1, int(round(cy)))
    grid = Image.fromarray(rng.random((cy + 3, cx + 3)).astype(np.float32))
    return np.asarray(grid.resize((w, h), Image.BICUBIC, box=(1, 1, cx + 1, cy + 1)))


def fractal_noise_2d(w: int, h: int, cx: float, cy: float, rng: np.random.Generator, octaves: int = 4, gain: float = 0.5):
    """Octaves of 2D value noise, each twice as fine and `gain` times as strong (about 0..1)."""
    total, amp, norm = np.zeros((h, w), np.float32), 1.0, 0.0
    for o in range(octaves):
        total += amp * value_noise_2d(w, h, cx * 2**o, cy * 2**o, rng)
        norm += amp
        amp *= gain
    return total / norm
