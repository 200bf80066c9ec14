"""The canvas: a float RGB picture at the internal size, painted through anti-aliased masks, shaded the style's way.

`Pen` draws shapes (polygons, lines, ellipses) given in scene pixels onto a supersampled Pillow canvas; `Painter`
turns those into coverage masks and paints colours through them, keeping for every pixel which shape it shows
(anime ink follows the borders between shapes).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageDraw

from pipeline.providers.draft.raster import colour_array, disc_mask

# How strongly light and shadow change a surface's colour, by style.
SHADE_STRENGTH = {"photorealistic": 0.24, "artistic": 0.3, "anime": 0.28, "3d": 0.42}


class Pen:
    """Draws shapes given in scene pixels onto a supersampled, offset 'L' canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, scale: int, origin_x: int, origin_y: int):
        self.draw, self.scale, self.origin_x, self.origin_y = draw, scale, origin_x, origin_y

    def _to_canvas(self, pts: list) -> list:
        """Scene pixels → canvas pixels."""
        return [((x - self.origin_x) * self.scale, (y - self.origin_y) * self.scale) for x, y in pts]

    def polygon(self, pts: list, fill: int = 255) -> None:
        self.draw.polygon(self._to_canvas(pts), fill=fill)

    def line(self, pts: list, width: float, fill: int = 255, joint: str | None = None) -> None:
        self.draw.line(self._to_canvas(pts), fill=fill, width=max(1, round(width * self.scale)), joint=joint)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: int = 255) -> None:
        (x0, y0), (x1, y1) = self._to_canvas([(cx - rx, cy - ry), (cx + rx, cy + ry)])
        self.draw.ellipse((x0, y0, x1, y1), fill=fill)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: int = 255) -> None:
        (a, b), (c, d) = self._to_canvas([(x0, y0), (x1, y1)])
        self.draw.rectangle((a, b, c, d), fill=fill)

    def pieslice(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill: int = 255) -> None:
        (a, b), (c, d) = self._to_canvas([(x0, y0), (x1, y1)])
        self.draw.pieslice((a, b, c, d), start, end, fill=fill)


class Painter:
    """The canvas (float RGB at the internal size) and the ways to paint on it."""

    def __init__(self, w: int, h: int, style: str):
        self.w, self.h, self.style = w, h, style
        self.unit = float(min(w, h))  # sizes are given in units of the short side, so portrait frames work too
        self.img = np.zeros((3, h, w), np.float32)  # planar RGB
        self.ids = np.zeros((h, w), np.int16)  # which shape each pixel shows: anime ink follows its borders
        self.next_id = 1
        self.ys = np.arange(h, dtype=np.float32)[:, None]
        self.xs = np.arange(w, dtype=np.float32)[None, :]
        self.anime = style == "anime"

    def shade(self, s: Any, amount: float = 1.0) -> np.ndarray:
        """Light factor for a surface lit `s` (-1 in shadow … 1 facing the light): smooth, or cel tones for anime."""
        s = np.asarray(s, np.float32)
        if self.anime:
            s = np.where(s > 0.15, 1.0, np.where(s < -0.2, -1.0, 0.0)).astype(np.float32)
        return 1.0 + SHADE_STRENGTH.get(self.style, 0.25) * amount * s

    def new_id(self) -> int:
        """A fresh shape id (anime ink outlines the borders between shapes)."""
        self.next_id += 1
        return self.next_id - 1

    def put(self, mask: np.ndarray, colour: Any, y0: int = 0, x0: int = 0, outline: bool = True,
            ident: int | None = None) -> None:  # fmt: skip
        """Paint `colour` (RGB, or a planar array broadcastable to the mask) through `mask` (0..1) at (y0, x0).

        With `outline`, the painted pixels become a shape of their own (or of shape `ident`) for anime ink.
        """
        mh, mw = mask.shape
        ya, xa = max(0, y0), max(0, x0)
        yb, xb = min(self.h, y0 + mh), min(self.w, x0 + mw)
        if ya >= yb or xa >= xb:
            return
        m = mask[ya - y0 : yb - y0, xa - x0 : xb - x0]
        col = np.asarray(colour, np.float32)
        region = self.img[:, ya:yb, xa:xb]
        if col.ndim == 1:
            for c in range(3):
                plane = region[c]
                diff = col[c] - plane
                diff *= m
                plane += diff
        else:
            if col.shape[1] > 1:
                col = col[:, ya - y0 : yb - y0]
            if col.shape[2] > 1:
                col = col[:, :, xa - x0 : xb - x0]
            diff = col - region
            diff *= m
            region += diff
        if outline:
            self.ids[ya:yb, xa:xb][m > 0.5] = self.new_id() if ident is None else ident

    def fill_below(self, y: float, colour: Any, ident: int | None = None) -> None:
        """Fill everything below the row y (anti-aliased) with one colour."""
        r = int(math.floor(y))
        if r >= self.h:
            return
        if r >= 0:
            frac = 1.0 - (y - r)
            self.img[:, r] += (colour_array(colour)[:, 0] - self.img[:, r]) * np.float32(frac)
        self.img[:, max(0, r + 1) :] = colour_array(colour)
        self.ids[max(0, r + 1) :] = self.new_id() if ident is None else ident

    def veil(self, alpha: np.ndarray, colour: Any, y0: int = 0, x0: int = 0) -> None:
        """A translucent wash (fog, haze, light) over everything drawn so far; no ink outline."""
        self.put(alpha, colour, y0, x0, outline=False)

    def shapes(self, draw_fn: Callable[[Pen], None], box: tuple[float, float, float, float] | None = None,
               supersample: int = 2) -> tuple[np.ndarray, int, int]:  # fmt: skip
        """A 0..1 coverage mask of the shapes draw_fn draws, over `box` (x0, y0, x1, y1), supersampled `supersample`×."""
        x0, y0, x1, y1 = box if box is not None else (0, 0, self.w, self.h)
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(self.w, int(math.ceil(x1))), min(self.h, int(math.ceil(y1)))
        if x1 <= x0 or y1 <= y0:
            return np.zeros((1, 1), np.float32), 0, 0
        canvas = Image.new("L", ((x1 - x0) * supersample, (y1 - y0) * supersample), 0)
        draw_fn(Pen(ImageDraw.Draw(canvas), supersample, x0, y0))
        if supersample > 1:
            canvas = canvas.reduce(supersample)
        return np.asarray(canvas, np.float32) * (1.0 / 255.0), y0, x0

    def glow(self, cx: float, cy: float, radius: float, colour: Any, strength: float, squash: float = 1.0) -> None:
        """A soft round (or, with squash > 1, flattened) glow; separable, so large ones stay cheap."""
        reach = radius * 2.1
        y0, y1 = max(0, int(cy - reach / squash)), min(self.h, int(cy + reach / squash) + 1)
        x0, x1 = max(0, int(cx - reach)), min(self.w, int(cx + reach) + 1)
        if y0 >= y1 or x0 >= x1:
            return
        gy = np.exp(-(((np.arange(y0, y1, dtype=np.float32) - cy) * squash / radius) ** 2))
        gx = np.exp(-(((np.arange(x0, x1, dtype=np.float32) - cx) / radius) ** 2))
        g = np.outer(gy, gx) * strength
        if self.anime:
            if radius > self.unit * 0.2:
                return  # anime skies get their light from the posterised sky instead
            g = np.floor(g * 3.0 + 0.35) / 3.0 * 0.7  # a couple of flat rings
        g = np.clip(g, 0, 1).astype(np.float32)
        col = np.asarray(colour, np.float32)
        for c in range(3):
            plane = self.img[c, y0:y1, x0:x1]
            diff = col[c] - plane
            diff *= g
            plane += diff

    def disc(self, cx: float, cy: float, r: float, colour: Any, outline: bool = False) -> None:
        """An anti-aliased disc of one colour (a sun, a flower)."""
        mask, y0, x0 = disc_mask(cx, cy, r)
        self.put(mask, colour, y0, x0, outline=outline)
