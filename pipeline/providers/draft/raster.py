"""Raster helpers: colour arithmetic and conversions between numpy fields and Pillow images.

Pictures are float32 arrays of 0..255 in *planar* layout, (3, h, w): numpy is several times faster on whole planes
than on interleaved (h, w, 3) pixels. Masks and other fields are (h, w).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageFilter


def mix(a: Any, b: Any, t: Any) -> np.ndarray:
    """Linear interpolation from a (t = 0) to b (t = 1), as float32."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a + (b - a) * np.asarray(t, np.float32)


def smoothstep(edge0: float, edge1: float, x: Any) -> np.ndarray:
    """0 below edge0, 1 above edge1, and a smooth S between."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def colour_array(rgb: Any) -> np.ndarray:
    """A colour, shaped (3, 1, 1) to broadcast over planar fields."""
    return np.asarray(rgb, np.float32).reshape(3, 1, 1)


def to_uint8(a: np.ndarray) -> np.ndarray:
    """A 0..255 float array rounded and clipped to bytes."""
    b = a + np.float32(0.5)
    np.clip(b, 0, 255, out=b)
    return b.astype(np.uint8)


def to_image(a: np.ndarray) -> Image.Image:
    """A planar (3, h, w) array as an RGB image, or an (h, w) array as an 'L' image."""
    if a.ndim == 2:
        return Image.fromarray(to_uint8(a))
    return Image.merge("RGB", [Image.fromarray(to_uint8(a[c])) for c in range(3)])


def from_image(im: Image.Image) -> np.ndarray:
    """An 'L' image as an (h, w) float array, any other as a planar (bands, h, w) one."""
    if im.mode == "L":
        return np.asarray(im, np.float32)
    return np.stack([np.asarray(band, np.float32) for band in im.split()])


def blur(a: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur of a 0..255 float array, planar or (h, w) (8-bit precision is plenty here)."""
    return from_image(to_image(a).filter(ImageFilter.GaussianBlur(radius)))


def resize_planar(a: np.ndarray, w: int, h: int) -> np.ndarray:
    """A 0..255 float array scaled (bilinear) to w × h, through 8 bits."""
    return from_image(to_image(a).resize((w, h), Image.BILINEAR))


def disc_mask(cx: float, cy: float, r: float) -> tuple[np.ndarray, int, int]:
    """An anti-aliased disc as a 0..1 mask, with the row and column of its top-left corner."""
    y0, x0 = int(cy - r - 2), int(cx - r - 2)
    yy = np.arange(y0, int(cy + r + 3), dtype=np.float32)[:, None] + 0.5
    xx = np.arange(x0, int(cx + r + 3), dtype=np.float32)[None, :] + 0.5
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    return np.clip(r - d + 0.5, 0.0, 1.0), y0, x0
