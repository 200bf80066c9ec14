"""Offline image provider `draft`: an animatic frame for a prompt, drawn with Pillow and numpy.

The picture is composed from the words of the user's prompt (mountains, sunset, sea, city, forest, rain, fog, a
lighthouse, a traveller, …), lit by its time of day and finished in the style's look: soft grain and vignette for
photorealistic, brush strokes on canvas for artistic, flat cel shading with ink outlines for anime, shaded forms
with light shafts and bloom for 3D. The user's words are printed on a title card. Same request → same bytes.

Drawing happens at a fixed internal size (short side 540 px, so every output size shows the same picture) as a
stack of anti-aliased layers in numpy; the result is scaled up and the text is drawn crisply at full size.
Essential elements stay inside the middle of the frame: the motion step later zooms and pans by up to ~15%.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from pipeline.providers.base import ImageProvider, ImageRequest, StepContext, StepOutput, register

RGB = tuple[float, float, float]
INTERNAL_SHORT_SIDE = 540

# ---------------------------------------------------------------------------------------------------------------
# Reading the prompt

# Each pattern must start at a word boundary: plurals match ("mountains") but "street" is not a "tree".
FEATURES: dict[str, str] = {
    "mountain": r"mountain|peaks?\b|alps|alpine|summit|ridge|valley|volcano|himalaya|canyon|fjord",
    "hill": r"hills?\b|hillside|rolling",
    "sunset": r"sunset|golden hour|golden light|dusk|evening|twilight|magic hour|sundown",
    "dawn": r"dawn|sunrise|daybreak|first light",
    "sun": r"sun\b|suns\b|sunny|sunlit|sunlight|sunshine|sunbeam",
    "night": r"night|moon|stars?\b|starry|starlit|midnight|galaxy|milky way|nocturnal",
    "sea": r"ocean|seas?\b|seaside|waves?\b|beach|coast|shore|surf\b|harbou?r|bay\b|lake|tide|island|river|pond|"
    r"water\b",
    "beach": r"beach|shore|sand\b|sandy|coast|surf\b|waves? crash",
    "rocks": r"rock|boulder|stones?\b|crag",
    "cliff": r"cliff|headland|bluff",
    "city": r"city|cities|street|skyline|buildings?\b|skyscraper|towers?\b|urban|downtown|rooftop|cyberpunk|"
    r"metropolis|alley|tokyo|new york",
    "neon": r"neon|cyberpunk|synthwave|vaporwave|futuristic|blade runner",
    "forest": r"forest|trees\b|woods\b|woodland|pines\b|jungle|grove|taiga",
    "tree": r"tree\b|oak\b|willow|baobab|pine\b",
    "pine": r"pine|firs?\b|spruce|conifer|taiga|forest",
    "rain": r"rain(?!bow)|storm|drizzle|downpour|thunder|wet\b",
    "lightning": r"lightning|thunder",
    "fog": r"fog|mist|haze|hazy|smoke|smog",
    "desert": r"desert|dunes?\b|sahara|arid",
    "snow": r"snow|winter|icy\b|ice\b|frozen|glacier|arctic|blizzard",
    "field": r"fields?\b|meadow|grass|farm|prairie|pasture|countryside|flowers?\b",
    "flowers": r"flower|blossom|bloom|popp(y|ies)|tulip|wildflower|lavender",
    "clouds": r"cloud|overcast|skies\b",
    "rainbow": r"rainbow",
    "lighthouse": r"lighthouse",
    "boat": r"boat|ship|sail|yacht|canoe|ferry",
    "birds": r"birds?\b|gulls?\b|seagull|flock|crows?\b|eagle|swallows",
    "figure": r"person|people|figure|man\b|woman|girl|boy|traveller|traveler|wanderer|hiker|walker|walks?\b|"
    r"walking|child|stranger|silhouette|explorer|samurai|knight|detective|keeper|she\b|he\b",
}
SCENERY = {"mountain", "hill", "sea", "city", "forest", "tree", "desert", "snow", "field"}
# Words that give an abstract prompt its hue (0..1).
MOODS: dict[str, float] = {
    "joy": 0.09, "happy": 0.12, "happiness": 0.12, "warm": 0.06, "love": 0.95, "hope": 0.14, "fire": 0.03,
    "calm": 0.5, "peace": 0.45, "serene": 0.48, "sad": 0.62, "melanchol": 0.64, "lonel": 0.66, "blue": 0.6,
    "dream": 0.78, "myster": 0.75, "anger": 0.0, "rage": 0.0, "energy": 0.08, "nature": 0.3, "fresh": 0.35,
}  # fmt: skip


def _features(prompt: str) -> set[str]:
    text = prompt.lower()
    found = {name for name, pattern in FEATURES.items() if re.search(rf"\b(?:{pattern})", text)}
    if found & {"lighthouse", "boat"}:
        found.add("sea")
    if "flowers" in found:
        found.add("field")
    if "neon" in found:
        found.add("city")
    if "forest" in found:
        found.discard("tree")
    elif "tree" not in found:
        found.discard("pine")
    return found


def _time_of_day(feats: set[str]) -> str:
    if "neon" in feats:
        return "neon"
    if "night" in feats:
        return "night"
    if "sunset" in feats:
        return "sunset"
    if "dawn" in feats:
        return "dawn"
    if feats & {"rain", "fog", "lightning"} and "sun" not in feats:
        return "overcast"
    return "day"


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


# ---------------------------------------------------------------------------------------------------------------
# Colour


def _mix(a: Any, b: Any, t: Any) -> np.ndarray:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a + (b - a) * np.asarray(t, np.float32)


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return r * 255, g * 255, b * 255


def _hue(rgb: Any) -> float:
    return colorsys.rgb_to_hsv(*(float(c) / 255 for c in rgb))[0]


def _smoothstep(e0: float, e1: float, x: Any) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass
class Palette:
    sky_top: RGB
    sky_mid: RGB
    sky_horizon: RGB
    light: RGB  # sun, moon or neon glow
    land: RGB  # the nearest ground, before haze
    haze: RGB  # the colour distance fades into
    water: RGB
    shadow: RGB  # the tint of shaded faces and silhouettes
    glow: float = 0.6  # how strongly the light warms the sky


def _palette(time: str, feats: set[str], prompt: str, rnd: random.Random) -> Palette:
    j = rnd.uniform(-0.015, 0.015)  # a small hue shift, so two sunsets are not the very same colour

    def c(h: float, s: float, v: float) -> RGB:
        return _hsv(h + j, s, v)

    if time == "neon":
        return Palette(c(0.70, 0.85, 0.10), c(0.76, 0.8, 0.26), c(0.88, 0.7, 0.62), (255, 70, 200),
                       c(0.72, 0.6, 0.10), c(0.83, 0.55, 0.42), c(0.72, 0.6, 0.18), c(0.70, 0.7, 0.09), 0.6)  # fmt: skip
    if time == "night":
        return Palette(c(0.64, 0.85, 0.09), c(0.63, 0.7, 0.2), c(0.6, 0.5, 0.4), (240, 240, 225),
                       c(0.62, 0.5, 0.1), c(0.61, 0.45, 0.34), c(0.61, 0.6, 0.22), c(0.66, 0.7, 0.1), 0.35)  # fmt: skip
    if time == "sunset":
        return Palette(c(0.69, 0.5, 0.4), c(0.98, 0.5, 0.9), c(0.1, 0.72, 1.0), (255, 222, 140),
                       c(0.8, 0.45, 0.2), c(0.06, 0.45, 0.92), c(0.75, 0.4, 0.42), c(0.77, 0.55, 0.22), 0.9)  # fmt: skip
    if time == "dawn":
        return Palette(c(0.6, 0.45, 0.62), c(0.95, 0.25, 0.93), c(0.11, 0.38, 1.0), (255, 240, 205),
                       c(0.64, 0.35, 0.28), c(0.02, 0.14, 0.92), c(0.58, 0.35, 0.62), c(0.66, 0.45, 0.34), 0.75)  # fmt: skip
    if time == "overcast":
        return Palette(c(0.58, 0.14, 0.44), c(0.58, 0.1, 0.6), c(0.56, 0.07, 0.76), (235, 235, 228),
                       c(0.42, 0.22, 0.22), c(0.57, 0.07, 0.74), c(0.55, 0.2, 0.4), c(0.6, 0.25, 0.2), 0.2)  # fmt: skip
    if not feats & SCENERY:
        # Abstract: the hue comes from a mood word, or else from the prompt's hash.
        text = prompt.lower()
        hue = next((h for word, h in MOODS.items() if word in text), None)
        hue = (_stable_hash(prompt) % 1000) / 1000 if hue is None else hue + j
        return Palette(_hsv(hue + 0.6, 0.55, 0.6), _hsv(hue + 0.93, 0.4, 0.95), _hsv(hue + 0.04, 0.5, 1.0),
                       _hsv(hue + 0.08, 0.18, 1.0), _hsv(hue + 0.8, 0.55, 0.42), _hsv(hue + 0.01, 0.28, 0.98),
                       _hsv(hue + 0.55, 0.5, 0.6), _hsv(hue + 0.72, 0.6, 0.28), 0.85)  # fmt: skip
    if "desert" in feats:
        return Palette(c(0.58, 0.6, 0.78), c(0.56, 0.33, 0.93), c(0.1, 0.2, 1.0), (255, 250, 225),
                       c(0.07, 0.6, 0.78), c(0.08, 0.2, 0.98), c(0.55, 0.5, 0.7), c(0.02, 0.5, 0.42), 0.5)  # fmt: skip
    if "snow" in feats:
        return Palette(c(0.6, 0.45, 0.72), c(0.58, 0.2, 0.9), c(0.55, 0.08, 0.98), (255, 252, 240),
                       c(0.58, 0.14, 0.9), c(0.58, 0.1, 0.95), c(0.58, 0.35, 0.62), c(0.63, 0.4, 0.5), 0.4)  # fmt: skip
    return Palette(c(0.6, 0.62, 0.8), c(0.57, 0.38, 0.93), c(0.54, 0.15, 0.99), (255, 250, 230),
                   c(0.3, 0.5, 0.42), c(0.57, 0.17, 0.95), c(0.55, 0.55, 0.62), c(0.62, 0.45, 0.28), 0.45)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Noise


def _noise1d(n: int, cells: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth value noise in 0..1 over n samples with about `cells` bumps (Catmull-Rom interpolated)."""
    cells = max(1, int(round(cells)))
    pts = rng.random(cells + 4)
    x = np.linspace(1.0, cells + 1.0, n, endpoint=False)
    i = x.astype(np.int64)
    f = x - i
    p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
    v = p1 + 0.5 * f * (p2 - p0 + f * (2 * p0 - 5 * p1 + 4 * p2 - p3 + f * (3 * (p1 - p2) + p3 - p0)))
    return np.clip(v, 0.0, 1.0).astype(np.float32)


def _fbm1d(n: int, cells: float, rng: np.random.Generator, octaves: int = 5, gain: float = 0.5) -> np.ndarray:
    total, amp, norm = np.zeros(n, np.float32), 1.0, 0.0
    for o in range(octaves):
        total += amp * _noise1d(n, cells * 2**o, rng)
        norm += amp
        amp *= gain
    return total / norm


def _noise2d(w: int, h: int, cx: float, cy: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth 2D value noise in about 0..1 with `cx` × `cy` cells (bicubic upscaling of a random grid)."""
    cx, cy = max(1, int(round(cx))), max(1, int(round(cy)))
    grid = Image.fromarray(rng.random((cy + 3, cx + 3)).astype(np.float32))
    return np.asarray(grid.resize((w, h), Image.BICUBIC, box=(1, 1, cx + 1, cy + 1)))


def _fbm2d(w: int, h: int, cx: float, cy: float, rng: np.random.Generator, octaves: int = 4, gain: float = 0.5):
    total, amp, norm = np.zeros((h, w), np.float32), 1.0, 0.0
    for o in range(octaves):
        total += amp * _noise2d(w, h, cx * 2**o, cy * 2**o, rng)
        norm += amp
        amp *= gain
    return total / norm


# Pictures are float32 arrays of 0..255 in *planar* layout, (3, h, w): numpy is several times faster on whole
# planes than on interleaved (h, w, 3) pixels. Masks and other fields are (h, w).


def _c(rgb: Any) -> np.ndarray:
    """A colour, shaped to broadcast over planar fields."""
    return np.asarray(rgb, np.float32).reshape(3, 1, 1)


def _u8(a: np.ndarray) -> np.ndarray:
    b = a + np.float32(0.5)
    np.clip(b, 0, 255, out=b)
    return b.astype(np.uint8)


def _to_image(a: np.ndarray) -> Image.Image:
    """A planar (3, h, w) array as an RGB image, or an (h, w) array as an 'L' image."""
    if a.ndim == 2:
        return Image.fromarray(_u8(a))
    return Image.merge("RGB", [Image.fromarray(_u8(a[c])) for c in range(3)])


def _planar(im: Image.Image) -> np.ndarray:
    if im.mode == "L":
        return np.asarray(im, np.float32)
    return np.stack([np.asarray(band, np.float32) for band in im.split()])


def _blur(a: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur of a 0..255 float array, planar or (h, w) (8-bit precision is plenty here)."""
    return _planar(_to_image(a).filter(ImageFilter.GaussianBlur(radius)))


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    return _planar(_to_image(a).resize((w, h), Image.BILINEAR))


# ---------------------------------------------------------------------------------------------------------------
# The painter: anti-aliased layers over a float canvas, shaded the style's way


class Pen:
    """Draws shapes given in scene pixels onto a supersampled, offset 'L' canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, k: int, ox: int, oy: int):
        self.d, self.k, self.ox, self.oy = draw, k, ox, oy

    def _p(self, pts: list) -> list:
        return [((x - self.ox) * self.k, (y - self.oy) * self.k) for x, y in pts]

    def polygon(self, pts: list, fill: int = 255) -> None:
        self.d.polygon(self._p(pts), fill=fill)

    def line(self, pts: list, width: float, fill: int = 255, joint: str | None = None) -> None:
        self.d.line(self._p(pts), fill=fill, width=max(1, round(width * self.k)), joint=joint)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: int = 255) -> None:
        (x0, y0), (x1, y1) = self._p([(cx - rx, cy - ry), (cx + rx, cy + ry)])
        self.d.ellipse((x0, y0, x1, y1), fill=fill)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: int = 255) -> None:
        (a, b), (c, d) = self._p([(x0, y0), (x1, y1)])
        self.d.rectangle((a, b, c, d), fill=fill)

    def pieslice(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill: int = 255) -> None:
        (a, b), (c, d) = self._p([(x0, y0), (x1, y1)])
        self.d.pieslice((a, b, c, d), start, end, fill=fill)


STRENGTH = {"photorealistic": 0.24, "artistic": 0.3, "anime": 0.28, "3d": 0.42}


class Painter:
    """The canvas (float RGB at the internal size) and the ways to paint on it."""

    def __init__(self, w: int, h: int, style: str):
        self.w, self.h, self.style = w, h, style
        self.u = float(min(w, h))  # sizes are given in units of the short side, so portrait frames work too
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
        return 1.0 + STRENGTH.get(self.style, 0.25) * amount * s

    def new_id(self) -> int:
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
            self.img[:, r] += (_c(colour)[:, 0] - self.img[:, r]) * np.float32(frac)
        self.img[:, max(0, r + 1) :] = _c(colour)
        self.ids[max(0, r + 1) :] = self.new_id() if ident is None else ident

    def veil(self, alpha: np.ndarray, colour: Any, y0: int = 0, x0: int = 0) -> None:
        """A translucent wash (fog, haze, light) over everything drawn so far; no ink outline."""
        self.put(alpha, colour, y0, x0, outline=False)

    def shapes(self, draw_fn: Callable[[Pen], None], box: tuple[float, float, float, float] | None = None,
               ss: int = 2) -> tuple[np.ndarray, int, int]:  # fmt: skip
        """A 0..1 coverage mask of the shapes draw_fn draws, over `box` (x0, y0, x1, y1), supersampled ss×."""
        x0, y0, x1, y1 = box if box is not None else (0, 0, self.w, self.h)
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(self.w, int(math.ceil(x1))), min(self.h, int(math.ceil(y1)))
        if x1 <= x0 or y1 <= y0:
            return np.zeros((1, 1), np.float32), 0, 0
        canvas = Image.new("L", ((x1 - x0) * ss, (y1 - y0) * ss), 0)
        draw_fn(Pen(ImageDraw.Draw(canvas), ss, x0, y0))
        if ss > 1:
            canvas = canvas.reduce(ss)
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
            if radius > self.u * 0.2:
                return  # anime skies get their light from the posterised sky instead
            g = np.floor(g * 3.0 + 0.35) / 3.0 * 0.7  # a couple of flat rings
        g = np.clip(g, 0, 1).astype(np.float32)
        col = np.asarray(colour, np.float32)
        for c in range(3):
            plane = self.img[c, y0:y1, x0:x1]
            diff = col[c] - plane
            diff *= g
            plane += diff


# ---------------------------------------------------------------------------------------------------------------
# The scene


@dataclass
class Layout:
    feats: set[str]
    time: str
    pal: Palette
    horizon: float
    light_x: float
    light_y: float
    light_visible: bool
    ground: float  # the street level of a city (px)


class _Scene:
    """Draws the layers of one frame from back to front."""

    def __init__(self, p: Painter, prompt: str, rnd: random.Random):
        self.p, self.prompt, self.rnd = p, prompt, rnd
        self.rng = np.random.default_rng(rnd.getrandbits(64))
        feats = _features(prompt)
        time = _time_of_day(feats)
        self.scenery = bool(feats & SCENERY)
        pal = _palette(time, feats, prompt, rnd)
        h, w = p.h, p.w
        portrait = h > w
        if "sea" in feats:
            horizon = h * (0.5 if portrait else 0.54)
        elif "city" in feats:
            horizon = h * (0.6 if portrait else 0.64)
        elif "mountain" in feats:
            horizon = h * (0.6 if portrait else 0.64)
        else:
            horizon = h * rnd.uniform(0.56, 0.6)
        light_x = w * rnd.choice([rnd.uniform(0.32, 0.42), rnd.uniform(0.58, 0.68)])
        if time in ("sunset", "dawn"):
            light_y = horizon - h * (0.2 if "mountain" in feats else 0.07)
        elif time == "night":
            light_y = h * rnd.uniform(0.17, 0.24)
        elif time == "neon":
            light_y, light_x = horizon - h * 0.12, w * 0.5
        else:
            light_y = h * 0.2
        visible = time in ("sunset", "dawn", "night") or "sun" in feats or not self.scenery
        ground = h * (0.76 if portrait else 0.78)
        self.lay = Layout(feats, time, pal, horizon, light_x, light_y, visible, ground)
        self.night = time in ("night", "neon")

    # -- the whole frame ------------------------------------------------------------------------------------

    def draw(self, ctx: StepContext) -> None:
        f, lay = self.lay.feats, self.lay
        self.sky()
        if self.night:
            self.stars()
        self.light()
        if "clouds" in f or lay.time in ("day", "sunset", "dawn", "overcast") or "night" in f and "rain" in f:
            self.clouds()
        if "rainbow" in f:
            self.rainbow()
        ctx.progress(0.15)
        if not self.scenery:
            self.abstract()
        if "mountain" in f:
            self.mountains()
        if "sea" in f:
            self.sea()
        elif "desert" in f:
            self.dunes()
        if f & {"field", "hill"} or ("snow" in f and not f & {"forest", "city", "sea"}) or f & SCENERY == {"tree"}:
            self.hills(snowy="snow" in f)
        elif "mountain" in f and not f & {"forest", "city", "desert", "sea"}:
            self.hills(snowy="snow" in f, low=True)
        ctx.progress(0.3)
        if "city" in f:
            self.city()
        if "forest" in f:
            self.forest()
        if "tree" in f:
            self.lone_tree()
        if "cliff" in f or "lighthouse" in f:
            self.cliff()
        if "lighthouse" in f:
            self.lighthouse()
        if "sea" in f:
            self.shore()
        if "boat" in f:
            self.boat()
        if "figure" in f:
            self.figure()
        if "birds" in f:
            self.birds()
        ctx.progress(0.45)
        if "fog" in f:
            self.fog()
        if "lightning" in f:
            self.lightning()
        if "rain" in f:
            self.rain()
        if "snow" in f:
            self.snowfall()

    # -- sky ------------------------------------------------------------------------------------------------

    def sky(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        t = np.clip(p.ys[:, 0] / lay.horizon, 0.0, 1.0)[:, None]
        top, mid, hor = (np.array(c, np.float32) for c in (pal.sky_top, pal.sky_mid, pal.sky_horizon))
        k = 0.6
        col = np.where(t < k, _mix(top, mid, _smoothstep(0, 1, t / k)), _mix(mid, hor, _smoothstep(0, 1, (t - k) / (1 - k))))
        p.img[:] = col.T[:, :, None]
        # Warmth spreading along the horizon around the light (separable, and only where sky can show).
        if (lay.light_visible and lay.time in ("sunset", "dawn", "day")) or not self.scenery or lay.time == "neon":
            r1 = min(p.h, int(lay.horizon + p.h * 0.12))
            gx = np.exp(-(((p.xs[0] - lay.light_x) / (p.w * 0.5)) ** 2))
            gy = np.exp(-(((p.ys[:r1, 0] - lay.horizon) / (p.h * 0.33)) ** 2))
            g = np.outer(gy * (pal.glow * (0.45 if lay.time == "day" else 0.75) * 0.6), gx).astype(np.float32)
            sky = p.img[:, :r1]
            diff = _c(pal.light) - sky
            diff *= g
            sky += diff
        if p.anime:  # flat bands of colour that follow the glow
            hz = int(lay.horizon) + 1
            band = p.img[:, :hz]
            band *= np.float32(1 / 14.0)
            np.round(band, out=band)
            band *= np.float32(14.0)

    def stars(self) -> None:
        p, lay = self.p, self.lay
        n = int(p.w * p.h / 450)
        xs = self.rng.integers(0, p.w, n)
        ys = (self.rng.random(n) ** 1.5 * lay.horizon * 0.95).astype(np.int64)
        b = self.rng.random(n) ** 3
        amt = ((0.3 + 0.7 * b) * (1.0 - ys / lay.horizon) ** 0.5)[None, :].astype(np.float32)
        star = np.array([245, 245, 255], np.float32)
        p.img[:, ys, xs] += (star[:, None] - p.img[:, ys, xs]) * amt
        for i in np.nonzero(b > 0.8)[0][:60]:  # the bright ones get a small cross
            x, y = int(xs[i]), int(ys[i])
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                if 0 <= x + dx < p.w and 0 <= y + dy < p.h:
                    p.img[:, y + dy, x + dx] += (star - p.img[:, y + dy, x + dx]) * 0.45

    def light(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        x, y, u = lay.light_x, lay.light_y, p.u
        if lay.time == "neon":
            p.glow(x, y + p.h * 0.1, u * 0.6, pal.light, 0.3, squash=1.8)
            return
        if not lay.light_visible:
            return
        if lay.time == "night":
            r = u * 0.05
            p.glow(x, y, r * 5.0, (140, 160, 215), 0.3)
            p.glow(x, y, r * 1.8, (215, 222, 240), 0.35)
            self.disc(x, y, r, (244, 242, 228))
            # The crescent: a disc of the sky's colour over the moon, a little offset.
            m, y0, x0 = self.disc_mask(x + r * 0.42, y - r * 0.22, r * 0.9)
            behind = p.img[:, int(y), min(p.w - 1, int(x + r * 3))].copy()
            p.put(m, behind * 0.92 + np.float32(0.08) * np.array([244, 242, 228], np.float32), y0, x0, outline=False)
            return
        low = lay.time in ("sunset", "dawn")
        r = u * (0.07 if low else 0.05)
        p.glow(x, y, u * (0.5 if low else 0.35), pal.light, 0.6 if low else 0.35)
        p.glow(x, y, r * 2.4, (255, 246, 222), 0.55)
        self.disc(x, y, r, (255, 248, 222) if low else (255, 253, 242))

    def disc_mask(self, cx: float, cy: float, r: float) -> tuple[np.ndarray, int, int]:
        y0, x0 = int(cy - r - 2), int(cx - r - 2)
        yy = np.arange(y0, int(cy + r + 3), dtype=np.float32)[:, None] + 0.5
        xx = np.arange(x0, int(cx + r + 3), dtype=np.float32)[None, :] + 0.5
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        return np.clip(r - d + 0.5, 0.0, 1.0), y0, x0

    def disc(self, cx: float, cy: float, r: float, colour: Any, outline: bool = False) -> None:
        m, y0, x0 = self.disc_mask(cx, cy, r)
        self.p.put(m, colour, y0, x0, outline=outline)

    def clouds(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        full_h, full_w = int(lay.horizon), p.w
        h, w = full_h // 2, full_w // 2  # clouds are soft: drawn at half size and scaled up
        heavy = lay.time == "overcast" or "rain" in lay.feats or "storm" in self.prompt.lower()
        low = lay.time in ("sunset", "dawn")
        aspect = w / p.u
        # Long streaks at sunset and dawn, puffy cumulus by day, a low ceiling when overcast.
        cx, cy = (2.6 * aspect, 4.0) if low else (2.6 * aspect, 2.6)
        n = _fbm2d(w, h, cx, cy, self.rng, octaves=4, gain=0.45)
        y = np.arange(h, dtype=np.float32)[:, None] / max(h, 1)
        centre = self.rnd.uniform(0.22, 0.4) if not heavy else 0.15
        band = np.exp(-(((y - centre) / (0.45 if heavy else 0.2)) ** 2))
        cover = 0.34 if heavy and not self.night else 0.42 if heavy else (0.47 if "clouds" in lay.feats or low else 0.54)
        density = n * (0.55 + 0.45 * band) - cover + (0.12 if heavy else 0.0) * band
        density *= _smoothstep(0.0, 0.25, 1.0 - y)  # thin out towards the horizon
        soft = 0.025 if p.anime else 0.07
        mask = _smoothstep(0.0, soft, density) * (0.96 if heavy else 0.92)
        if float(mask.max()) <= 0.01:
            return
        # Lit from above by a high sun and from below by a low one: compare density a little up and down.
        k = max(2, int(p.u * 0.0075))
        d = np.zeros_like(density)
        d[k:-k] = density[: -2 * k] - density[2 * k :]
        s = np.tanh((d if low else -d) * 14.0)
        if p.anime:  # two tones, with a boundary that stays smooth when scaled up
            s = np.tanh((s + 0.1) * 25.0)
        t = (0.5 + 0.5 * s)[None].astype(np.float32)
        if self.night:
            lit, shadow = _mix(pal.sky_mid, (110, 120, 160), 0.4), _mix(pal.sky_top, pal.sky_mid, 0.4)
            if p.anime:
                lit = _mix(pal.sky_top, pal.sky_mid, 0.8)
        elif heavy:
            lit, shadow = _mix(pal.sky_horizon, (255, 255, 255), 0.2), _mix(pal.sky_top, (30, 35, 45), 0.35)
        elif low:
            lit, shadow = _mix(pal.light, (255, 160, 120), 0.35), _mix(pal.sky_top, pal.sky_mid, 0.45)
        else:
            lit, shadow = np.array((255, 255, 252), np.float32), _mix(pal.sky_mid, (150, 162, 190), 0.5)
        colour = _c(shadow) + _c(lit - shadow) * t
        # Thicker cloud is darker inside (smooth styles only).
        if not p.anime:
            colour *= (1.0 - 0.18 * np.clip(density * 4.0, 0, 1))[None]
        rows = np.flatnonzero(mask.max(axis=1) > 0.004)
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        mask = Image.fromarray(mask[r0:r1].astype(np.float32)).resize((full_w, (r1 - r0) * 2), Image.BILINEAR)
        p.put(np.asarray(mask), _resize(colour[:, r0:r1], full_w, (r1 - r0) * 2), r0 * 2, outline=p.anime)

    def rainbow(self) -> None:
        """A soft arc of colour standing on the horizon, fading towards its feet."""
        p, lay = self.p, self.lay
        cx, cy = p.w * (0.4 if lay.light_x > p.w / 2 else 0.6), lay.horizon + p.h * 0.15
        radius, width = p.u * 0.62, p.u * 0.014
        y1 = int(lay.horizon) + 1
        y0 = max(0, int(cy - radius - width * 8))
        d = np.sqrt((p.xs - cx) ** 2 + (p.ys[y0:y1] - cy) ** 2)
        fade = 0.35 * _smoothstep(0.0, p.h * 0.25, lay.horizon - p.ys[y0:y1])
        colours = [(230, 60, 60), (240, 150, 50), (245, 225, 80), (90, 200, 90), (70, 140, 230), (110, 80, 200), (150, 80, 190)]
        for i, colour in enumerate(colours):
            band = np.clip(1.0 - np.abs(d - (radius - i * width)) / (width * 0.75), 0, 1) * fade
            p.veil(band.astype(np.float32), colour, y0)

    # -- ground shapes ---------------------------------------------------------------------------------------

    def ridge_layer(self, ridge: np.ndarray, colour: Any, light_amount: float = 1.0, smooth: np.ndarray | None = None,
                    shade_depth: float = 0.2, rim: float = 0.0, snow: np.ndarray | None = None, snow_colour: Any = None,
                    bottom: Any = None, texture: np.ndarray | None = None, outline: bool = True,
                    stop: float | None = None) -> None:  # fmt: skip
        """Fill below a ridge line (y per x), its faces shaded by their slope towards the light.

        `stop`: the row from which a nearer layer will cover everything, so there is no need to paint further.
        """
        p, lay = self.p, self.lay
        top = float(ridge.min())
        y0 = max(0, int(top) - 1)
        y1 = p.h if stop is None else max(y0 + 1, min(p.h, int(stop) + 2))
        ys = p.ys[y0:y1]
        depth = ys - ridge[None, :]
        mask = depth + np.float32(0.5)
        np.clip(mask, 0.0, 1.0, out=mask)
        sr = ridge if smooth is None else smooth
        dh = -np.gradient(sr) / max(1.0, p.u * 0.004)
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
        base = _c(colour)
        if bottom is not None:
            t = np.clip((ys - top) * (1.0 / (p.h - top + 1)), 0, 1)[None]
            col = (base + (_c(bottom) - base) * t) * light[None]
        else:
            col = base * light[None]
        if snow is not None:
            r1 = max(0, min(len(ys), int(snow.max()) - y0 + 2))
            sm = np.clip((snow[None, :] - ys[:r1]) * 0.8, 0.0, 1.0)
            if p.anime:
                sm = (sm > 0.5).astype(np.float32)
            snow_col = _c(snow_colour) * p.shade(s[None, :], 1.3)[None]
            col[:, :r1] += (snow_col - col[:, :r1]) * sm[None]
        if rim > 0 and p.style in ("3d", "photorealistic") and not self.lay.time == "overcast":
            width = max(1.0, p.u * 0.005)
            r1 = max(0, min(len(ys), int(ridge.max() + width * 6) - y0))
            edge = np.exp(-np.maximum(depth[:r1], 0) / width) * np.clip(s[None, :] + 0.4, 0, 1)
            col[:, :r1] += (_c(lay.pal.light) - col[:, :r1]) * (edge * rim * 0.8)[None]
        p.put(mask, col, y0, outline=outline)

    def haze_band(self, base: float, strength: float, colour: Any = None) -> None:
        """Atmospheric haze (or mist) pooling at the foot of the layers drawn so far."""
        p = self.p
        y0, y1 = max(0, int(base - p.h * 0.3)), min(p.h, int(base + p.h * 0.06))
        if y1 <= y0:
            return
        a = np.exp(-(((p.ys[y0:y1] - base) / (p.h * 0.11)) ** 2)) * strength
        p.veil(np.broadcast_to(a, (y1 - y0, p.w)), self.lay.pal.haze if colour is None else colour, y0)

    def mountains(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        aspect = p.w / p.u
        n_ranges = 3
        low_sun = lay.light_visible and lay.time in ("sunset", "dawn")
        ranges = []
        for i in range(n_ranges):
            base = lay.horizon + p.h * 0.035 * i
            height = p.h * (0.36 - 0.1 * i) * (0.7 if "sea" in lay.feats else 1.0)
            cells = (1.5 + 1.0 * i) * aspect
            big = _noise1d(p.w, cells, self.rng)
            peaks = (1.0 - np.abs(2.0 * big - 1.0)) ** 1.5  # ridged noise: sharp summits, round valleys
            detail = _fbm1d(p.w, cells * 5, self.rng, octaves=4)
            profile = 0.82 * peaks + 0.18 * detail
            profile = (profile - profile.min()) / max(1e-6, float(profile.max() - profile.min()))
            if low_sun:  # a valley where the sun goes down
                profile *= 1.0 - 0.75 * np.exp(-(((p.xs[0] - lay.light_x) / (p.w * (0.09 + 0.05 * i))) ** 2))
            ranges.append((base, height, cells, base - height * (0.15 + 0.85 * profile), base - height * peaks))
        for i, (base, height, cells, ridge, smooth) in enumerate(ranges):
            depth = i / (n_ranges - 1)  # 0 = farthest
            stop = float(ranges[i + 1][3].max()) if i + 1 < n_ranges else None
            haze = 0.74 * (1.0 - depth) ** 1.3 + (0.12 if "fog" in lay.feats else 0.0)
            colour = _mix(pal.land, pal.haze, haze)
            bottom = _mix(colour, pal.haze, 0.3 if depth < 1 else 0.12)
            snow = None
            if i < 2 and lay.time != "neon" and "desert" not in lay.feats:
                snow = base - height * (0.74 + 0.1 * _fbm1d(p.w, cells * 6, self.rng, octaves=3))
            snow_colour = _mix(_mix((252, 252, 255), pal.light, 0.4 if low_sun else 0.1), pal.haze, haze * 0.5)
            if self.night:
                snow_colour = _mix((165, 178, 215), pal.haze, haze * 0.5)
            self.ridge_layer(ridge, colour, 1.0, smooth, 0.28, rim=0.6 * (1 - depth * 0.5), snow=snow,
                             snow_colour=snow_colour, bottom=bottom, stop=stop)  # fmt: skip
            if i < n_ranges - 1:
                self.haze_band(base, 0.16 + (0.3 if "fog" in lay.feats else 0.0))

    def hills(self, snowy: bool = False, low: bool = False) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        aspect = p.w / p.u
        green = _mix(pal.land, _hsv(0.25, 0.55, 0.55), 0.6 if lay.time in ("day", "dawn") else 0.25)
        if lay.time == "sunset":
            green = _mix(green, (150, 90, 60), 0.3)
        if snowy:
            green = _mix((238, 242, 252), pal.haze, 0.15)
        layers = 2 if low else 3
        for i in range(layers):
            depth = (i + (1 if low else 0)) / 3
            base = lay.horizon + p.h * (0.05 + 0.085 * i + (0.05 if low else 0))
            amp = p.h * (0.09 - 0.012 * i)
            prof = _fbm1d(p.w, (0.9 + 0.5 * i) * aspect, self.rng, octaves=3, gain=0.35)
            colour = _mix(green, pal.haze, 0.55 * (1 - depth) ** 1.3)
            if low:  # the dark foreground in front of a mountain range
                colour = _mix(colour, pal.shadow, 0.35 + 0.25 * i)
            if snowy:
                colour = _mix(colour, _mix((200, 212, 238), pal.shadow, 0.2 * i), 0.4)
            self.ridge_layer(base - amp * prof, colour, 0.8, shade_depth=0.15, rim=0.35,
                             bottom=_mix(colour, pal.shadow, 0.35))  # fmt: skip
            if low and i == 0 and not snowy:
                self.treeline(base - amp * prof, colour)
        if "field" in lay.feats and not snowy:
            self.grass(flowers="flowers" in lay.feats)

    def treeline(self, ridge: np.ndarray, colour: Any) -> None:
        """Small pines along a ridge, for scale."""
        p = self.p
        trees = []
        x = self.rnd.uniform(0, p.u * 0.02)
        while x < p.w:
            if self.rnd.random() < 0.55:
                s = p.u * self.rnd.uniform(0.025, 0.05)
                trees.append((x, float(ridge[min(p.w - 1, int(x))]) + s * 0.15, s))
            x += p.u * self.rnd.uniform(0.008, 0.03)
        if not trees:
            return
        top = min(b - s for _, b, s in trees)

        def draw(pen: Pen) -> None:
            for tx, b, s in trees:
                pen.polygon([(tx - s * 0.2, b), (tx + s * 0.2, b), (tx, b - s)])

        m, y0, x0 = p.shapes(draw, (0, top - 2, p.w, ridge.max() + p.u * 0.02))
        p.put(m, _mix(colour, self.lay.pal.shadow, 0.25), y0, x0)

    def grass(self, flowers: bool) -> None:
        p, pal = self.p, self.lay.pal
        y_top = self.lay.horizon + p.h * 0.2
        blades = []
        for _ in range(int(p.w * 0.7)):
            x, y = self.rnd.uniform(0, p.w), self.rnd.uniform(y_top, p.h)
            ln = p.u * self.rnd.uniform(0.02, 0.05) * (0.4 + (y - y_top) / (p.h - y_top))
            blades.append((x, y, ln, self.rnd.uniform(-0.35, 0.35)))

        def draw(pen: Pen) -> None:
            for x, y, ln, lean in blades:
                pen.line([(x, y), (x + lean * ln, y - ln)], 1.0)

        m, y0, x0 = p.shapes(draw, (0, y_top - p.u * 0.06, p.w, p.h))
        blade = _mix(_mix(pal.land, _hsv(0.24, 0.6, 0.65), 0.5), pal.light, 0.2)
        p.put(m * 0.7, blade, y0, x0, outline=False)
        if flowers:
            cols = [(235, 70, 80), (250, 215, 80), (250, 250, 245), (195, 110, 220)]
            for _ in range(int(p.w * 0.2)):
                x, y = self.rnd.uniform(0, p.w), self.rnd.uniform(y_top + p.h * 0.02, p.h)
                r = p.u * 0.005 * (0.6 + 1.4 * (y - y_top) / (p.h - y_top))
                self.disc(x, y, r, cols[self.rnd.randrange(len(cols))])

    def dunes(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        aspect = p.w / p.u
        sand = _mix(pal.land, pal.light, 0.15) if not self.night else _mix((75, 82, 120), pal.light, 0.12)
        for i in range(4):
            depth = i / 3
            base = lay.horizon + p.h * (0.03 + 0.09 * i)
            amp = p.h * (0.07 + 0.025 * i)
            crest = 1.0 - np.abs(2.0 * _noise1d(p.w, (0.8 + 0.4 * i) * aspect, self.rng) - 1.0)
            ridge = base - amp * (0.8 * crest**1.4 + 0.2 * _fbm1d(p.w, 3 * aspect, self.rng, octaves=3))
            colour = _mix(sand, pal.haze, 0.6 * (1 - depth) ** 1.2)
            self.ridge_layer(ridge, colour, 1.8, shade_depth=0.25, rim=0.4, bottom=_mix(colour, pal.shadow, 0.2))

    # -- water ------------------------------------------------------------------------------------------------

    def sea(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        top = int(lay.horizon)
        hh = p.h - top
        ys = p.ys[top:]
        v = (ys - lay.horizon + 1.0) / hh  # 0 at the horizon, 1 at the bottom of the frame
        # The water mirrors the sky's colours, deepening towards the viewer.
        mirror = np.clip((lay.horizon - (ys[:, 0] - lay.horizon) * 1.5).astype(np.int64), 0, top - 1)
        sky = p.img[:, mirror].mean(axis=2, keepdims=True)  # (3, rows, 1)
        water = sky * (0.7 - 0.4 * v)[None] + _c(pal.water) * (0.3 + 0.4 * v)[None]
        # Rows of waves: each band brightens towards its crest and drops into a darker trough.
        wob = _fbm2d(p.w, hh, 2.5 * p.w / p.u, 2.0, self.rng, octaves=3)
        q = np.sqrt(v) * 10.0 + 0.9 * wob
        frac = q - np.floor(q)
        if p.anime:
            frac = np.floor(frac * 3.0) / 3.0
        near = _smoothstep(0.0, 0.3, v)
        water = water * (1.0 + (0.3 * frac - 0.16) * near)[None]
        crest = _smoothstep(0.88, 0.97, frac) * (1.0 - _smoothstep(0.97, 1.0, frac)) * near
        foam = _c(_mix((255, 255, 255), pal.light, 0.2)) * (0.6 if self.night else 1.0)
        water += (foam - water) * (crest * 0.5)[None]
        # The path of light under the sun or the moon, broken up by the ripples.
        if lay.light_visible or lay.time == "neon":
            width = p.w * (0.025 + 0.1 * v)
            path = np.exp(-(((p.xs - lay.light_x) / width) ** 2))
            ripple = _noise2d(p.w, hh, 28 * p.w / p.u, 50, self.rng)
            glitter = path * _smoothstep(0.45, 0.7, ripple * 0.6 + frac * 0.45)
            amount = 0.85 if lay.time in ("sunset", "dawn", "night", "neon") else 0.55
            water += (_c(pal.light) - water) * (glitter * amount)[None]
        p.put(np.clip(ys - lay.horizon + 0.5, 0.0, 1.0) * np.ones((1, p.w), np.float32), water, top)
        p.img[:, top] = p.img[:, top] * 0.5 + _c(pal.sky_horizon)[:, 0] * 0.5  # a crisp horizon line

    def shore(self) -> None:
        """Surf breaking on a beach (with rocks) in the foreground, when the words ask for one."""
        p, lay, pal = self.p, self.lay, self.lay.pal
        f = lay.feats
        if not f & {"beach", "rocks"} or "lighthouse" in f and "beach" not in f:
            if "rocks" in f:
                self.rocks(p.h * 0.86, few=True)
            return
        aspect = p.w / p.u
        shore_y = p.h * 0.8
        wob = _fbm1d(p.w, 2.0 * aspect, self.rng, octaves=3)
        # The breaking wave: a translucent face under a ragged foam crest, whitewater running up the sand.
        crest_y = shore_y - p.h * (0.09 + 0.035 * wob)
        y0 = int(crest_y.min() - p.h * 0.04)
        ys = p.ys[y0:]
        rel = (ys - crest_y[None, :]) / (shore_y - crest_y[None, :])  # 0 at the crest, 1 at the shore
        n1 = _fbm2d(p.w, p.h - y0, 9 * aspect, 4, self.rng, octaves=3)
        n2 = _fbm2d(p.w, p.h - y0, 16 * aspect, 7, self.rng, octaves=3)
        face = _mix(pal.water, (105, 185, 180) if not self.night else (60, 90, 120), 0.45)
        col = _c(face) * (0.72 + 0.5 * np.clip(1 - rel, 0, 1))[None]
        col += (_c(pal.light) - col) * (0.3 * np.clip(1 - rel, 0, 1) ** 3)[None]
        cap = _smoothstep(0.5, 0.6, n1 * 0.8 + (1.0 - np.abs(rel - 0.05) / 0.16) * 0.55)
        wash = _smoothstep(0.55, 0.62, n2 * 0.9 + (rel - 0.5) * 0.6) * (rel > 0.3)
        foam_amt = np.maximum(cap, wash)
        if p.anime:
            foam_amt = (foam_amt > 0.5).astype(np.float32)
        foam = _c(_mix((255, 255, 255), pal.light, 0.15)) * (0.7 if self.night else 1.0)
        shade = 1.0 - 0.12 * np.clip(n2 - 0.4, 0, 1)[None] if not p.anime else 1.0
        col += (foam * shade - col) * foam_amt[None]
        body = np.clip((ys - crest_y[None, :]) + (n1 - 0.5) * p.u * 0.05 + p.u * 0.01 + 0.5, 0, 1)
        p.put(body.astype(np.float32), col, y0)
        # Sand, with a darker wet strip and a lace of foam at the waterline.
        sand = _mix(_mix((218, 192, 152), pal.light, 0.2), pal.shadow, 0.12 if not self.night else 0.7)
        beach = shore_y + p.h * 0.025 * (wob - 0.5)
        self.ridge_layer(beach, _mix(sand, pal.shadow, 0.3), 0.3, bottom=sand)
        ly0 = int(beach.min()) - 2
        lace = np.exp(-(((p.ys[ly0:] - beach[None, :] - p.h * 0.006) / (p.h * 0.004)) ** 2))
        p.put(lace.astype(np.float32) * 0.7, foam[:, 0, 0], ly0, outline=False)
        if "rocks" in f:
            self.rocks(shore_y)

    def rocks(self, shore_y: float, few: bool = False) -> None:
        p, pal = self.p, self.lay.pal
        places = [(0.14, 1.0), (0.86, 0.85), (0.3, 0.45), (0.72, 0.5), (0.05, 0.6), (0.95, 0.55)]
        rock = _mix(pal.shadow, (70, 64, 62), 0.45 if not self.night else 0.1)
        for fx, size in places[:3] if few else places:
            cx = p.w * (fx + self.rnd.uniform(-0.03, 0.03))
            r = p.u * 0.1 * size * self.rnd.uniform(0.8, 1.2)
            cy = shore_y - p.h * 0.01 + self.rnd.uniform(0, 0.04) * p.h
            pts = []
            for k in range(10):
                a = math.pi + math.pi * k / 9
                rr = r * self.rnd.uniform(0.7, 1.1)
                pts.append((cx + math.cos(a) * rr * 1.3, cy + math.sin(a) * rr * 0.85))
            pts += [(cx + r * 1.3, cy + r * 0.5), (cx - r * 1.3, cy + r * 0.5)]

            def draw(pen: Pen, pts: list = pts) -> None:
                pen.polygon(pts)

            m, y0, x0 = p.shapes(draw, (cx - r * 1.5, cy - r * 1.1, cx + r * 1.5, cy + r * 0.6))
            yy = p.ys[y0 : y0 + m.shape[0]]
            xx = p.xs[:, x0 : x0 + m.shape[1]]
            toward = 1.0 if self.lay.light_x > cx else -1.0
            s = 0.6 * np.tanh((xx - cx) * toward / (r * 0.4)) + 0.6 * np.tanh((cy - r * 0.2 - yy) / (r * 0.4))
            p.put(m, _c(rock) * p.shade(np.clip(s, -1, 1))[None], y0, x0)
            if not few:
                continue
            # Foam where the water meets the rock.
            fm = np.exp(-(((yy - cy - r * 0.45) / (r * 0.12)) ** 2)) * np.clip(1 - np.abs(xx - cx) / (r * 1.5), 0, 1)
            p.put(fm.astype(np.float32) * 0.8, (245, 248, 250) if not self.night else (150, 160, 190), y0, x0, outline=False)

    def cliff(self) -> None:
        """A headland on the lighthouse's side: a grassy top and a steep rocky face down to the sea."""
        p, lay, pal = self.p, self.lay, self.lay.pal
        right = lay.light_x < p.w / 2  # the cliff stands opposite the light
        edge_x = p.w * (0.6 if right else 0.4)
        top_y = lay.horizon - p.h * 0.07
        n = _fbm1d(p.w, 10 * p.w / p.u, self.rng, octaves=4)
        xs = np.arange(p.w, dtype=np.float32)
        d = (xs - edge_x) if right else (edge_x - xs)  # > 0 on the plateau
        plateau = top_y - p.h * 0.02 * np.clip(d / p.w, 0, 1) * 3 + p.h * 0.01 * n
        face = top_y + (-d) * 2.6 + p.h * 0.05 * n
        ridge = np.where(d > 0, plateau, face).astype(np.float32)
        ridge = np.minimum(ridge, p.h + 5.0)
        rock = _mix(pal.shadow, (110, 98, 90), 0.4) if not self.night else _mix(pal.shadow, (70, 74, 100), 0.45)
        strata = _noise2d(p.w, p.h, 40 * p.w / p.u, 5, self.rng)
        layers = _noise2d(p.w, p.h, 3 * p.w / p.u, 30, self.rng)
        texture = 0.85 + 0.3 * (0.6 * strata + 0.4 * layers)
        if p.anime:
            texture = np.where(texture > 1.05, 1.08, 0.94).astype(np.float32)
        self.ridge_layer(ridge, rock, 1.4, shade_depth=0.4, rim=0.5, bottom=_mix(rock, pal.shadow, 0.55), texture=texture)
        # Grass on the top, hanging a little over the edge.
        grass = _mix(_hsv(0.26, 0.5, 0.5), pal.shadow, 0.6 if self.night else 0.2)
        g_bottom = ridge + p.h * (0.018 + 0.012 * n)
        y0 = int(ridge.min())
        ys = p.ys[y0:]
        m = np.clip(ys - ridge[None, :] + 0.5, 0, 1) * np.clip(g_bottom[None, :] - ys, 0, 1) * (d > -p.w * 0.015)[None, :]
        p.put(m.astype(np.float32), grass, y0)
        self.cliff_at = (edge_x, top_y, right)

    def lighthouse(self) -> None:
        p, lay = self.p, self.lay
        edge_x, top_y, right = self.cliff_at
        x = edge_x + (p.w * 0.11 if right else -p.w * 0.11)
        base = top_y + p.h * 0.005
        height = p.h * 0.3
        top = base - height
        bw, tw = p.u * 0.045, p.u * 0.03
        lantern_y = top - p.h * 0.035
        dark_sky = self.night or "rain" in lay.feats or "fog" in lay.feats or "storm" in self.prompt.lower()
        box = (x - p.u * 0.1, lantern_y - p.h * 0.06, x + p.u * 0.1, base + 2)

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
            hx = x + (-1 if right else 1) * p.u * 0.055
            hw, hh = p.u * 0.045, p.h * 0.045
            pen.rect(hx - hw, base - hh, hx + hw, base + 1)
            pen.polygon([(hx - hw * 1.15, base - hh), (hx + hw * 1.15, base - hh), (hx, base - hh * 1.8)])

        mb, y0, x0 = p.shapes(body, box)
        xx = p.xs[:, x0 : x0 + mb.shape[1]]
        toward = 1.0 if lay.light_x > x else -1.0
        light = p.shade(np.tanh((xx - x) * toward / (bw * 0.5)) * 0.9, 1.2)[None]
        white = np.asarray((236, 234, 226) if not self.night else (165, 170, 195), np.float32)
        red = np.asarray((196, 48, 46) if not self.night else (120, 38, 52), np.float32)
        hm, hy, hx = p.shapes(house, (x - p.u * 0.2, base - p.h * 0.1, x + p.u * 0.2, base + 2))
        p.put(hm, white * 0.85, hy, hx)
        p.put(mb, _c(white) * light, y0, x0)
        p.put(p.shapes(stripes, box)[0], _c(red) * light, y0, x0)
        p.put(p.shapes(cap, box)[0], (42, 42, 52), y0, x0)
        p.put(p.shapes(lamp, box)[0], (255, 238, 165), y0, x0)
        if dark_sky:
            self.beams(x, lantern_y - p.h * 0.004, right)

    def beams(self, x: float, y: float, right: bool) -> None:
        """Two beams sweeping out of the lantern, computed at half size (they are soft anyway)."""
        p = self.p
        h2, w2 = p.h // 2, p.w // 2
        yy = np.arange(h2, dtype=np.float32)[:, None] * 2 - y
        xx = np.arange(w2, dtype=np.float32)[None, :] * 2 - x
        ang = np.arctan2(yy, xx)
        dist = np.sqrt(xx * xx + yy * yy)
        beam = np.zeros((h2, w2), np.float32)
        for a0 in ((math.pi + 0.1, 0.06) if right else (-0.1, math.pi - 0.06)):
            diff = (ang - a0 + math.pi) % (2 * math.pi) - math.pi
            beam += np.exp(-((diff / 0.055) ** 2)) * np.exp(-dist / (p.w * 0.5))
        beam *= 0.5 * _smoothstep(0.0, p.u * 0.04, dist)
        if p.anime:
            beam = np.floor(beam * 4 + 0.3) / 4
        full = _resize(np.clip(beam * 255, 0, 255), p.w, p.h) / 255.0
        p.veil(full, (255, 242, 195))
        p.glow(x, y, p.u * 0.055, (255, 240, 180), 0.85)

    def boat(self) -> None:
        p, lay = self.p, self.lay
        x = p.w * (0.3 if lay.light_x > p.w / 2 else 0.7) + self.rnd.uniform(-0.04, 0.04) * p.w
        y = lay.horizon + p.h * 0.06
        s = p.u * 0.055
        dark = _mix(lay.pal.shadow, (20, 20, 30), 0.5)
        sail = np.asarray((242, 238, 226) if not self.night else (150, 150, 178), np.float32)
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

    # -- city -------------------------------------------------------------------------------------------------

    def city(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        neon = lay.time == "neon"
        lit_night = self.night or "rain" in lay.feats or lay.time == "sunset"
        street = lay.ground
        toward = 1.0 if lay.light_x < p.w / 2 else -1.0
        if neon:
            palette = np.array([(255, 90, 205), (90, 230, 255), (255, 195, 100), (185, 130, 255)], np.float32)
        elif lit_night:
            palette = np.array([(255, 205, 120), (255, 226, 160), (250, 180, 100)], np.float32)
        else:
            palette = np.array([(205, 218, 232), (175, 195, 215), (232, 236, 242)], np.float32)
        for layer in range(3):
            depth = layer / 2  # 0 far, 1 near
            base = street - p.h * 0.035 * (2 - layer)
            tall = p.h * (0.3 + 0.14 * layer) * (1.12 if neon else 1.0)
            buildings = []
            x = -self.rnd.uniform(0, 0.05) * p.w
            while x < p.w:
                bw = p.u * self.rnd.uniform(0.07, 0.15) * (0.75 + 0.5 * depth)
                bh = tall * self.rnd.uniform(0.45, 1.0)
                if layer == 2 and abs(x + bw / 2 - p.w / 2) < p.w * 0.14:
                    bh *= 0.5  # keep the middle open, down the street
                buildings.append((x, bw, base - bh))
                x += bw + p.u * self.rnd.uniform(-0.01, 0.012)
            haze = (0.6 if not neon else 0.5) * (1 - depth)
            body = _mix(_mix(pal.shadow, (10, 10, 18), 0.4 if lit_night else 0.0), pal.haze, haze)
            if not lit_night:
                body = _mix(_mix((125, 135, 155), pal.haze, haze), pal.shadow, 0.15)
            y0 = max(0, int(min(t for _, _, t in buildings)))
            y1 = min(p.h, int(base) + 1)
            n = y1 - y0
            mask = np.zeros((n, p.w), np.float32)
            shade = np.ones(p.w, np.float32)
            wstep, hstep = p.u * (0.02 + 0.008 * depth), p.u * (0.028 + 0.01 * depth)
            on = 0.45 if lit_night else 0.14
            # Lit windows: per building a small grid of cells (a pane in one corner of each), scaled up with
            # nearest-neighbour into a layer of its own.
            panes = Image.new("RGBA", (p.w, n), (0, 0, 0, 0))
            tops = []
            for bx, bw, top in buildings:
                a, b = max(0, int(math.ceil(bx))), min(p.w, int(bx + bw))
                ra = max(0, int(top) - y0)
                if a >= b or ra >= n:
                    continue
                mask[ra:, a:b] = 1.0
                tops.append((a, b, ra))
                # The façade: lighter on the side facing the light.
                fx = (np.arange(a, b, dtype=np.float32) - bx) / bw
                shade[a:b] = p.shade(np.tanh((fx - 0.5) * 4) * toward * 0.6, 0.8)
                cols = int((bw - wstep * 0.4) / wstep)
                rows = int((base - top - p.u * 0.03) / hstep)
                if cols < 1 or rows < 1:
                    continue
                cells = np.zeros((rows * 2, cols * 2, 4), np.uint8)
                lit = self.rng.random((rows, cols)) < on
                cells[1::2, 1::2, :3] = palette[self.rng.integers(0, len(palette), (rows, cols))].astype(np.uint8)
                cells[1::2, 1::2, 3] = lit * 255
                grid = Image.fromarray(cells).resize((int(cols * wstep), int(rows * hstep)), Image.NEAREST)
                panes.paste(grid, (int(bx + wstep * 0.1), int(top - y0 + p.u * 0.012)))
            col = np.empty((3, n, p.w), np.float32)
            col[:] = _c(body)
            col *= shade[None, None, :]
            # The top of each building catches the glow of the sky.
            k = max(2, int(p.h * 0.12))
            glow = (1.0 + 0.25 * np.exp(-np.arange(k, dtype=np.float32) / (p.h * 0.04)) * (1 - depth * 0.5))[None, :, None]
            for a, b, ra in tops:
                col[:, ra : ra + k, a:b] *= glow[:, : n - ra]
            win = np.asarray(panes)
            alpha = win[..., 3] * np.float32((0.4 + 0.5 * depth) / 255.0)
            for c in range(3):
                plane = col[c]
                diff = win[..., c] - plane
                diff *= alpha
                plane += diff
            p.put(mask, col, y0)
            self.rooftops(buildings, depth, _mix(body, pal.shadow, 0.2))
            if layer < 2:
                self.haze_band(base, 0.22 if not neon else 0.3)
            if neon and layer >= 1:
                self.neon_signs(buildings, base, depth)
        self.street(street, lit_night, neon)

    def rooftops(self, buildings: list, depth: float, colour: Any) -> None:
        p = self.p
        items = []
        for bx, bw, top in buildings:
            r = self.rnd.random()
            if r < 0.3:
                items.append(("antenna", bx + bw * self.rnd.uniform(0.3, 0.7), top, p.u * self.rnd.uniform(0.03, 0.07)))
            elif r < 0.5:
                items.append(("block", bx + bw * 0.2, top, bw * 0.5))
        if not items:
            return

        def draw(pen: Pen) -> None:
            for kind, x, top, size in items:
                if kind == "antenna":
                    pen.line([(x, top), (x, top - size)], 1.0 + depth)
                else:
                    pen.rect(x, top - p.u * 0.02, x + size, top + 1)

        top = min(t for _, _, t, _ in items) - p.u * 0.08
        m, y0, x0 = p.shapes(draw, (0, top, p.w, max(t for _, _, t, _ in items) + 2))
        p.put(m, colour, y0, x0)

    def neon_signs(self, buildings: list, base: float, depth: float) -> None:
        p = self.p
        colours = [(255, 50, 180), (40, 230, 255), (255, 170, 40), (170, 90, 255), (60, 255, 150)]
        rects = []
        for bx, bw, top in buildings:
            if self.rnd.random() > 0.6 or bx < 0 or bx + bw > p.w:
                continue
            c = colours[self.rnd.randrange(len(colours))]
            if self.rnd.random() < 0.55:  # a tall sign hanging off the façade
                sw, sh = p.u * 0.022 * (0.8 + depth), p.u * self.rnd.uniform(0.08, 0.16) * (0.8 + depth)
                sx = bx + (bw - sw * 1.2 if self.rnd.random() < 0.5 else sw * 0.2)
            else:
                sw, sh = bw * 0.7, p.u * 0.026 * (0.8 + depth)
                sx = bx + bw * 0.15
            sy = self.rnd.uniform(top + p.h * 0.04, max(top + p.h * 0.05, base - sh - p.h * 0.08))
            rects.append((sx, sy, sw, sh, c))
        if not rects:
            return
        # Bright tubes with a white-hot core, and a coloured halo around them (blurred at quarter size, and only
        # over the band of rows that has signs).
        q = 4
        halo = np.zeros((3, p.h // q + 1, p.w // q + 1), np.float32)
        for sx, sy, sw, sh, c in rects:
            halo[:, int(sy / q) : int((sy + sh) / q) + 1, int(sx / q) : int((sx + sw) / q) + 1] = _c(c)
            m, y0, x0 = p.shapes(lambda pen, a=(sx, sy, sw, sh): pen.rect(a[0], a[1], a[0] + a[2], a[1] + a[3]),
                                 (sx - 2, sy - 2, sx + sw + 3, sy + sh + 3))  # fmt: skip
            core = np.zeros_like(m)
            inset = max(1, int(min(sw, sh) * 0.25))
            core[inset + 2 : -inset - 2, inset + 2 : -inset - 2] = 1.0
            p.put(m, c, y0, x0)
            p.put(core * 0.7, (255, 255, 255), y0, x0, outline=False)
        reach = p.u * 0.05
        r0 = max(0, int((min(r[1] for r in rects) - reach) / q))
        r1 = min(halo.shape[1], int((max(r[1] + r[3] for r in rects) + reach) / q) + 1)
        band = _blur(halo, p.u * 0.006)[:, r0:r1]
        top, rows = r0 * q, min(p.h - r0 * q, (r1 - r0) * q)
        glow = _resize(band, p.w, (r1 - r0) * q)[:, :rows]
        glow *= np.float32(0.85)
        p.img[:, top : top + rows] += glow

    def street(self, street: float, wet: bool, neon: bool) -> None:
        """A wet street mirroring the city (night, rain, neon), or a plain pavement by day."""
        p, pal = self.p, self.lay.pal
        top = int(street)
        hh = p.h - top
        if hh <= 0:
            return
        if wet:
            src = np.clip(2 * top - np.arange(top, p.h), 0, p.h - 1)
            refl = p.img[:, src]
            # Light stretches vertically on wet asphalt; ripples shift it sideways.
            small = _to_image(refl).resize((p.w, max(1, hh // 10)), Image.BILINEAR)
            refl = _planar(small.resize((p.w, hh), Image.BICUBIC))
            shift = np.round(np.sin(np.arange(hh) * 0.45) * 2.0).astype(np.int64)
            for d in range(-2, 3):
                rows = shift == d
                if d and rows.any():
                    refl[:, rows] = np.roll(refl[:, rows], d, axis=2)
            fade = (0.8 - 0.4 * np.linspace(0, 1, hh, dtype=np.float32))[None, :, None] * (0.8 if neon else 0.6)
            refl *= fade
            col = refl + _c(_mix(pal.shadow, (12, 12, 20), 0.5))
        else:
            col = _c(_mix(pal.shadow, (100, 100, 105), 0.55))
        p.put(np.ones((hh, p.w), np.float32), col, top)
        # Lane markings receding to the middle of the frame.
        v = np.linspace(0, 1, hh, dtype=np.float32)[:, None]
        lane = np.exp(-(((p.xs - p.w / 2) / (p.u * (0.002 + 0.01 * v))) ** 2)) * (np.sin(v * 28 - 1) > 0.25)
        p.put((lane * 0.45).astype(np.float32), (230, 222, 205), top, outline=False)

    # -- forest and figures -------------------------------------------------------------------------------------

    def forest(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        pines = "pine" in lay.feats or "snow" in lay.feats
        figure = "figure" in lay.feats
        green = _mix(pal.land, _hsv(0.38, 0.5, 0.36), 0.55 if lay.time in ("day", "dawn", "overcast") else 0.2)
        fog = "fog" in lay.feats
        lit_side = 1 if lay.light_x > p.w / 2 else -1
        floor = p.new_id()
        layers = 4
        for i in range(layers):
            depth = i / (layers - 1)
            base = lay.horizon + p.h * 0.07 * i
            size = p.h * (0.15 + 0.12 * i) * (1.0 if pines else 0.8)
            count = int((24 - 5 * i) * p.w / p.u * (1.0 if pines else 0.6))
            trees = []
            for k in range(count):
                x = (k + self.rnd.uniform(0.1, 0.9)) / count * p.w * 1.1 - p.w * 0.05
                if figure and i >= 2 and abs(x - p.w / 2) < p.w * (0.08 + 0.06 * i):
                    continue  # a clearing for the path and the traveller
                trees.append((x, base + self.rnd.uniform(0, 0.03) * p.h, size * self.rnd.uniform(0.7, 1.15)))
            box = (0, base - size * 1.2, p.w, base + p.h * 0.035)

            def draw(pen: Pen, trees: list = trees, half: int = 0) -> None:
                for x, b, s in trees:
                    self.tree(pen, x, b, s, pines, half)

            m, y0, x0 = p.shapes(draw, box)
            lm = p.shapes(lambda pen, trees=trees: draw(pen, trees, lit_side), box)[0]
            haze = (0.82 if fog else 0.58) * (1 - depth) ** 1.1
            colour = _mix(green, pal.haze, haze)
            if "snow" in lay.feats:
                colour = _mix(colour, (225, 232, 245), 0.2)
            p.put(m, _c(colour) * p.shade(lm * 2 - 1, 0.8)[None], y0, x0)
            # The forest floor is one shape across the layers, so anime ink outlines the trees, not the strips.
            p.fill_below(base + p.h * 0.004, colour, ident=floor)
            if i < layers - 1:
                self.haze_band(base + p.h * 0.02, 0.6 if fog else 0.22)
        if figure:
            self.path()

    def tree(self, pen: Pen, x: float, base: float, s: float, pine: bool, half: int) -> None:
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

    def lone_tree(self) -> None:
        """One big tree standing off-centre on the nearest rise, its lit side towards the light."""
        p, lay, pal = self.p, self.lay, self.lay.pal
        x = p.w * (0.3 if lay.light_x > p.w / 2 else 0.7)
        base = lay.horizon + p.h * (0.2 if "sea" not in lay.feats else 0.3)
        size = p.h * 0.46
        pine = "pine" in lay.feats
        box = (x - size * 0.6, base - size * 1.05, x + size * 0.6, base + 2)
        m, y0, x0 = p.shapes(lambda pen: self.tree(pen, x, base, size, pine, 0), box)
        lit = p.shapes(lambda pen: self.tree(pen, x, base, size, pine, 1 if lay.light_x > x else -1), box)[0]
        green = _mix(pal.land, _hsv(0.3, 0.55, 0.4), 0.5 if lay.time in ("day", "dawn") else 0.2)
        colour = _mix(green, pal.shadow, 0.25 if not self.night else 0.6)
        p.put(m, _c(colour) * p.shade(lit * 2 - 1, 1.0)[None], y0, x0)

    def lightning(self) -> None:
        """A forked bolt from the cloud base to the horizon, with a glow around it."""
        p, lay = self.p, self.lay
        x = p.w * self.rnd.uniform(0.25, 0.75)
        y, end = p.h * 0.18, lay.horizon
        points = [(x, y)]
        while y < end:
            y += p.h * self.rnd.uniform(0.02, 0.05)
            x += p.u * self.rnd.uniform(-0.04, 0.04)
            points.append((x, min(y, end)))
        fork = points[len(points) // 3 :][: max(2, len(points) // 3)]
        fork = [fork[0]] + [(fx + p.u * 0.03 * (i + 1), fy + p.h * 0.01 * i) for i, (fx, fy) in enumerate(fork[1:])]

        def draw(pen: Pen) -> None:
            pen.line(points, p.u * 0.005, joint="curve")
            pen.line(fork, p.u * 0.003, joint="curve")

        m, y0, x0 = p.shapes(draw)
        p.glow(points[len(points) // 2][0], (points[0][1] + end) / 2, p.u * 0.12, (200, 210, 255), 0.35, squash=0.6)
        p.put(m, (245, 245, 255), y0, x0)

    def path(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        top = lay.horizon + p.h * 0.16
        ys = p.ys[int(top) :]
        t = (ys - top) / (p.h - top)
        half = p.w * (0.006 + 0.1 * t)
        centre = p.w / 2 + p.w * 0.03 * np.sin(t * 3.0)
        m = np.clip(half - np.abs(p.xs - centre) + 0.5, 0, 1)
        col = _mix(_mix(pal.haze, (150, 130, 100), 0.5), pal.shadow, 0.3)
        p.put(m.astype(np.float32), _c(col) * (0.8 + 0.3 * t)[None], int(top))

    def figure(self) -> None:
        p, lay = self.p, self.lay
        x = p.w * 0.5
        if "forest" in lay.feats:
            foot, size = lay.horizon + p.h * 0.2, p.h * 0.15
        elif "city" in lay.feats:
            foot, size = lay.ground + p.h * 0.05, p.h * 0.17
            x = p.w * (0.42 if lay.light_x > p.w / 2 else 0.58)
        elif "sea" in lay.feats and lay.feats & {"beach", "rocks"}:
            foot, size, x = p.h * 0.82, p.h * 0.17, p.w * (0.4 if lay.light_x > p.w / 2 else 0.6)
        elif "cliff" in lay.feats or "lighthouse" in lay.feats:
            edge_x, top_y, right = self.cliff_at
            foot, size, x = top_y + p.h * 0.005, p.h * 0.1, edge_x + (p.w * 0.03 if right else -p.w * 0.03)
        else:
            foot, size = lay.horizon + p.h * 0.17, p.h * 0.16
        umbrella = "rain" in lay.feats
        traveller = re.search(r"travel|wander|hike|hiking|explor|pilgrim|journey", self.prompt.lower()) is not None

        def draw(pen: Pen) -> None:
            def P(pts: list) -> list:
                return [(x + dx * size, foot + dy * size) for dx, dy in pts]

            pen.ellipse(x, foot - 0.9 * size, 0.075 * size, 0.08 * size)
            pen.polygon(P([(-0.12, -0.8), (0.12, -0.8), (0.16, -0.36), (0.19, -0.3), (-0.19, -0.3), (-0.16, -0.36)]))
            pen.polygon(P([(-0.11, -0.32), (-0.01, -0.32), (-0.08, 0.0), (-0.15, 0.0)]))  # legs, mid-stride
            pen.polygon(P([(0.01, -0.32), (0.11, -0.32), (0.16, 0.0), (0.09, 0.0)]))
            if traveller:
                pen.polygon(P([(0.1, -0.79), (0.25, -0.74), (0.25, -0.45), (0.12, -0.45)]))  # backpack
                pen.line(P([(-0.24, -0.92), (-0.3, 0.0)]), size * 0.025)  # walking staff
            if umbrella:
                pen.line(P([(0.0, -0.96), (0.0, -0.6)]), size * 0.02)

        def canopy(pen: Pen) -> None:
            pen.pieslice(x - 0.42 * size, foot - 1.28 * size, x + 0.42 * size, foot - 0.64 * size, 180, 360)

        box = (x - size * 0.6, foot - size * 1.4, x + size * 0.6, foot + 2)
        m, y0, x0 = p.shapes(draw, box, ss=3)
        dark = _mix(lay.pal.shadow, (12, 12, 20), 0.6)
        p.put(m, dark, y0, x0)
        if umbrella:  # a red umbrella, so the figure reads against a dark, wet street
            um, uy, ux = p.shapes(canopy, box, ss=3)
            p.put(um, (196, 40, 58) if not self.night else (170, 30, 60), uy, ux)
        # A soft contact shadow, and a rim of light on the side facing the light (smooth styles).
        sh = np.exp(-(((p.xs - x) / (size * 0.3)) ** 2) - ((p.ys[int(foot - size * 0.1) : int(foot + size * 0.1)] - foot) / (size * 0.03)) ** 2)
        p.veil((sh * 0.4).astype(np.float32), (10, 10, 15), int(foot - size * 0.1))
        if p.style in ("3d", "photorealistic") and lay.light_visible:
            side = 1 if lay.light_x > x else -1
            rim = np.clip(m - np.roll(m, -side * 2, axis=1), 0, 1) * 0.75
            p.put(rim, lay.pal.light, y0, x0, outline=False)

    def birds(self) -> None:
        p, lay = self.p, self.lay
        cx = p.w * (0.6 if lay.light_x < p.w / 2 else 0.4)
        cy = lay.horizon * 0.42
        flock = [(cx + self.rnd.gauss(0, p.w * 0.06), cy + self.rnd.gauss(0, p.h * 0.045), self.rnd.uniform(0.6, 1.0),
                  self.rnd.uniform(0.2, 0.6)) for _ in range(self.rnd.randint(5, 9))]  # fmt: skip

        def draw(pen: Pen) -> None:
            for bx, by, sc, flap in flock:
                s = p.u * 0.022 * sc
                pen.line([(bx - s, by - s * flap), (bx - s * 0.35, by - s * 0.12), (bx, by), (bx + s * 0.35, by - s * 0.12),
                          (bx + s, by - s * flap)], p.u * 0.004, joint="curve")  # fmt: skip

        m, y0, x0 = p.shapes(draw, ss=3)
        p.put(m, _mix(lay.pal.shadow, (20, 20, 30), 0.5), y0, x0, outline=False)

    # -- abstract ----------------------------------------------------------------------------------------------

    def abstract(self) -> None:
        """No scenery words: flowing soft hills, ribbons of light and floating orbs in the prompt's colours."""
        p, lay, pal = self.p, self.lay, self.lay.pal
        aspect = p.w / p.u
        land_hue = _hue(pal.land)
        for i in range(4):
            depth = i / 3
            base = lay.horizon + p.h * 0.1 * i
            amp = p.h * (0.16 - 0.02 * i)
            prof = _fbm1d(p.w, (0.7 + 0.3 * i) * aspect, self.rng, octaves=2, gain=0.3)
            colour = _mix(_hsv(land_hue + 0.07 * i, 0.5, 0.3 + 0.14 * (3 - i)), pal.haze, 0.6 * (1 - depth))
            self.ridge_layer(base - amp * prof, colour, 0.8, shade_depth=0.3, rim=0.5, bottom=_mix(colour, pal.shadow, 0.4))
        # Ribbons of light over the sky.
        sky_hue = _hue(pal.sky_mid)
        for j in range(3):
            phase = self.rnd.uniform(0, 6.28)
            curve = lay.horizon * (0.32 + 0.16 * j) + p.h * 0.06 * np.sin(p.xs[0] / p.w * (2.2 + j) * math.pi + phase)
            d = p.ys[: int(lay.horizon)] - curve[None, :]
            band = np.exp(-((d / (p.h * (0.012 + 0.01 * j))) ** 2)) * 0.4
            if p.anime:
                band = (band > 0.15).astype(np.float32) * 0.5
            p.veil(band, _hsv(sky_hue + 0.12 * (j - 1), 0.3, 1.0))
        # Floating orbs, like out-of-focus lights.
        for _ in range(14):
            x, y = self.rnd.uniform(0.12, 0.88) * p.w, self.rnd.uniform(0.1, 0.6) * p.h
            m, y0, x0 = self.disc_mask(x, y, p.u * self.rnd.uniform(0.012, 0.05))
            p.put(m * self.rnd.uniform(0.18, 0.4), _mix(pal.light, (255, 255, 255), 0.4), y0, x0, outline=False)

    # -- weather -----------------------------------------------------------------------------------------------

    def fog(self) -> None:
        p, lay, pal = self.p, self.lay, self.lay.pal
        n = _fbm2d(p.w, p.h, 2.5 * p.w / p.u, 4.0, self.rng, octaves=3)
        y = p.ys / p.h
        band = np.exp(-(((y - lay.horizon / p.h - 0.06) / 0.2) ** 2))
        a = np.clip(band * (0.2 + 0.55 * n), 0, 0.7)
        p.veil(a, _mix(pal.haze, (235, 238, 240), 0.0 if self.night else 0.4))

    def rain(self) -> None:
        p, lay = self.p, self.lay
        drops = [(self.rnd.uniform(-0.1, 1.1) * p.w, self.rnd.uniform(-0.1, 1.0) * p.h, self.rnd.uniform(0.03, 0.08) * p.u,
                  self.rnd.random()) for _ in range(int(p.w * p.h / 650))]  # fmt: skip

        def draw(pen: Pen) -> None:
            for x, y, ln, b in drops:
                pen.line([(x, y), (x - ln * 0.18, y + ln)], 1.0, fill=int(90 + 150 * b))

        m, y0, x0 = p.shapes(draw, ss=1)
        p.put(m * 0.45, (200, 210, 235) if lay.time != "neon" else (225, 205, 255), y0, x0, outline=False)

    def snowfall(self) -> None:
        p = self.p
        flakes = [(self.rnd.uniform(0, p.w), self.rnd.uniform(0, p.h), self.rnd.uniform(0.6, 2.2) * p.u / 540)
                  for _ in range(int(p.w * p.h / 900))]  # fmt: skip

        def draw(pen: Pen) -> None:
            for x, y, r in flakes:
                pen.ellipse(x, y, r, r)

        m, y0, x0 = p.shapes(draw)
        p.put(m * 0.85, (250, 250, 255), y0, x0, outline=False)


# ---------------------------------------------------------------------------------------------------------------
# Style finishes


def _saturate(img: np.ndarray, amount: float) -> np.ndarray:
    """More (or less) colour, in place."""
    grey = (img[0] + img[1] + img[2]) * np.float32(1.0 / 3.0)
    img -= grey
    img *= amount
    img += grey
    return img


def _curve_lut(contrast: float, lift: tuple[float, float, float] = (0, 0, 0), gain: tuple[float, float, float] = (1, 1, 1),
               shadows: tuple[float, float, float] = (0, 0, 0), highs: tuple[float, float, float] = (0, 0, 0)) -> list[int]:  # fmt: skip
    """A per-channel tone curve for Image.point: an S-curve, a colour gain and lift, tinted shadows/highlights."""
    x = np.arange(256, dtype=np.float32) / 255.0
    s = x + contrast * x * (1 - x) * (2 * x - 1)
    lut = []
    for c in range(3):
        y = s * gain[c] + lift[c] / 255.0 + shadows[c] * (1 - s) ** 2 + highs[c] * s**2
        lut += [int(v) for v in np.clip(y * 255.0 + 0.5, 0, 255)]
    return lut


def _vignette(p: Painter, strength: float, start: float = 0.15) -> Image.Image:
    """A darkening towards the corners, as an RGB image to multiply with."""
    w, h = max(8, p.w // 8), max(8, p.h // 8)
    yy = (np.arange(h, dtype=np.float32)[:, None] / (h - 1) - 0.5) ** 2
    xx = (np.arange(w, dtype=np.float32)[None, :] / (w - 1) - 0.5) ** 2
    v = (1.0 - strength * np.clip((xx + yy) * 2.2 - start, 0, 1) ** 1.2) * 255.0
    return _to_image(v).convert("RGB").resize((p.w, p.h), Image.BILINEAR)


def _grain(p: Painter, rng: np.random.Generator, sigma: float) -> Image.Image:
    """Monochrome noise around 128, as an RGB image for ImageChops.add(..., offset=-128)."""
    g = rng.standard_normal((p.h, p.w), dtype=np.float32)
    g *= sigma
    g += 128.5
    np.clip(g, 0, 255, out=g)
    band = Image.fromarray(g.astype(np.uint8))
    return Image.merge("RGB", (band, band, band))


def _anime(p: Painter, lay: Layout) -> Image.Image:
    img = _to_image(_saturate(p.img, 1.3))
    # Ink outlines wherever one shape meets another.
    ids = p.ids
    edge = np.zeros(ids.shape, np.uint8)
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    edge[1:, :] |= ids[1:, :] != ids[:-1, :]
    ink = Image.blend(img, Image.new("RGB", img.size, tuple(int(c) for c in _mix(lay.pal.shadow, (15, 10, 25), 0.7))), 0.8)
    return Image.composite(ink, img, Image.fromarray(edge * 255))


def _three_d(p: Painter, lay: Layout) -> Image.Image:
    h, w = p.h, p.w
    q = 4  # light shafts and bloom work at quarter size
    small = p.img[:, ::q, ::q]
    sh, sw = small.shape[1:]
    light = _blur(np.clip(small - 215.0, 0, None) * 1.5, 5.0) * 0.3  # bloom
    if lay.light_visible or lay.time == "neon":
        # Light shafts: the bright area around the light, smeared outwards from it (a radial blur by zooming).
        cx, cy = lay.light_x / q, lay.light_y / q
        yy, xx = np.arange(sh, dtype=np.float32)[:, None], np.arange(sw, dtype=np.float32)[None, :]
        near = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (min(sw, sh) * 0.3) ** 2))
        src = np.clip(small - 170.0, 0, None) * near[None]
        im = _to_image(src)
        acc = src.copy()
        for k in range(1, 9):
            f = 1.0 + 0.07 * k
            big = _planar(im.resize((int(sw * f), int(sh * f)), Image.BILINEAR))
            ox, oy = int(cx * f - cx), int(cy * f - cy)
            acc += big[:, oy : oy + sh, ox : ox + sw] * (1.0 - k / 10)
        light += _blur(acc / 4.0, 1.5) * 0.3
    # Volumetric haze: a luminous layer of air lying along the horizon; a darker, occluded foreground.
    hz = lay.horizon
    y = np.arange(h, dtype=np.float32)
    air = (np.exp(-(((y - hz) / (h * 0.12)) ** 2)) * 0.3)[:, None]
    floor = (1.0 - 0.22 * _smoothstep(hz + h * 0.1, float(h), y))[:, None]
    img3 = p.img
    img3 += (_c(_mix(lay.pal.haze, lay.pal.light, 0.35)) - img3) * air[None]
    img3 *= floor[None]
    img = _to_image(_saturate(img3, 1.35))
    img = ImageChops.add(img, _to_image(light).resize((w, h), Image.BILINEAR))
    # A contrasty curve with cool shadows and warm highlights: the "rendered" look.
    img = img.point(_curve_lut(0.5, shadows=(-0.02, 0.0, 0.03), highs=(0.02, 0.0, -0.035)))
    return ImageChops.multiply(img, _vignette(p, 0.28))


def _kuwahara(img: np.ndarray, r: int) -> np.ndarray:
    """Kuwahara filter: each pixel takes the mean of its calmest quadrant, which reads as flat dabs of paint."""
    _, h, w = img.shape
    lum = img[0] * 0.3 + img[1] * 0.59 + img[2] * 0.11
    box = ImageFilter.BoxBlur(r)
    mean = _planar(_to_image(img).filter(box))
    m1 = _planar(_to_image(lum).filter(box))
    m2 = _planar(_to_image(lum * lum / 255.0).filter(box)) * 255.0
    var = m2 - m1 * m1
    pm = np.pad(mean, ((0, 0), (r, r), (r, r)), mode="edge")
    pv = np.pad(var, r, mode="edge")
    quads = [(dy, dx) for dy in (0, 2 * r) for dx in (0, 2 * r)]
    best = np.argmin(np.stack([pv[dy : dy + h, dx : dx + w] for dy, dx in quads]), axis=0)
    out = pm[:, :h, :w].copy()
    for k, (dy, dx) in enumerate(quads[1:], 1):
        np.copyto(out, pm[:, dy : dy + h, dx : dx + w], where=(best == k)[None])
    return out


def _streaks(w: int, h: int, angle: float, length: float, width: float, rng: np.random.Generator) -> np.ndarray:
    """Noise stretched into streaks `length` × `width` px, turned by `angle` degrees: the marks of a brush."""
    if not angle:
        return _noise2d(w, h, w / length, h / width, rng)
    d = int(math.ceil(math.hypot(w, h))) + 2
    n = _noise2d(d, d, d / length, d / width, rng)
    im = Image.fromarray(n).rotate(angle, resample=Image.BILINEAR)
    left, top = (d - w) // 2, (d - h) // 2
    return np.asarray(im.crop((left, top, left + w, top + h)), np.float32)


def _artistic(p: Painter, lay: Layout, rng: np.random.Generator) -> Image.Image:
    h, w, u = p.h, p.w, p.u
    h2, w2, u2 = h // 2, w // 2, u / 2
    # Dabs of paint: a Kuwahara filter at half size, so the dabs are broad, its hard seams softened a little.
    half = _resize(p.img, w2, h2)
    paint = _kuwahara(half, 2)
    paint *= 0.7
    paint += half * np.float32(0.3)
    # Brush strokes in two directions: level strokes in the sky and the distance, slanted patches below.
    flat = _streaks(w2, h2, 0.0, u2 * 0.045, u2 * 0.009, rng)
    slant = _streaks(w2, h2, 22.0, u2 * 0.04, u2 * 0.01, rng)
    choice = _noise2d(w2, h2, 4 * w / u, 4, rng)
    below = _smoothstep(lay.horizon * 0.45, lay.horizon * 0.55, np.arange(h2, dtype=np.float32)[:, None])
    w_slant = _smoothstep(0.4, 0.5, choice) * below
    strokes = flat + (slant - flat) * w_slant - 0.5
    # Each stroke lifts or lowers the light and shifts the hue a little, the way a loaded brush does.
    hue_dir = np.stack([_noise2d(w2, h2, 5 * w / u, 5, rng) for _ in range(3)]) - 0.5
    st = strokes[None]
    paint *= 1.0 + 0.24 * st
    paint += st * hue_dir * 36.0
    img = _to_image(_saturate(paint, 1.12)).filter(ImageFilter.GaussianBlur(0.4)).resize((w, h), Image.BILINEAR)
    # A warm varnish and a soft vignette.
    img = img.point(_curve_lut(0.1, lift=(20, 13, 2), gain=(1.0, 0.95, 0.84)))  # paper glowing through
    return ImageChops.multiply(img, _vignette(p, 0.18, 0.3))


def _photorealistic(p: Painter, rng: np.random.Generator) -> Image.Image:
    # Natural colour: a little less saturated, soft contrast, lifted film blacks, a warm print tone.
    img = _to_image(_saturate(p.img, 0.88)).point(_curve_lut(0.2, lift=(9, 7, 5), gain=(0.97, 0.96, 0.93)))
    img = ImageChops.multiply(img, _vignette(p, 0.38, 0.1))
    # Film grain, monochrome; scaled up with the picture it lands at one to two output pixels.
    return ImageChops.add(img, _grain(p, rng, 3.2), 1.0, -128)


def _finish(p: Painter, lay: Layout, rng: np.random.Generator) -> Image.Image:
    """The style's finish; the painter's canvas may be changed in place."""
    if p.style == "anime":
        return _anime(p, lay)
    if p.style == "3d":
        return _three_d(p, lay)
    if p.style == "artistic":
        return _artistic(p, lay, rng)
    return _photorealistic(p, rng)


# ---------------------------------------------------------------------------------------------------------------
# The title card


_STYLE_LABELS = {"photorealistic": "PHOTOREAL", "artistic": "ARTISTIC", "anime": "ANIME", "3d": "3D"}
_glyphs: dict[str, bool] = {}


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)  # Pillow's built-in scalable font (Aileron): same on every machine


def _printable(text: str) -> str:
    """The text with characters the built-in font lacks replaced by near equivalents (é → e, — → -)."""
    font = _font(20)
    notdef = bytes(font.getmask("\U000f0000"))
    out = []
    for ch in " ".join(text.split()):
        ok = _glyphs.get(ch)
        if ok is None:
            ok = _glyphs[ch] = ch == " " or bytes(font.getmask(ch)) != notdef
        if ok:
            out.append(ch)
        elif ch in "‐‑‒–—―":
            out.append("-")
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(ord(c) < 128 for c in base) else "?")
    return "".join(out)


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_w: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most max_lines; what does not fit ends in an ellipsis."""
    words = text.split()
    lines: list[str] = []
    cur = ""
    for i, word in enumerate(words):
        trial = f"{cur} {word}".strip()
        if font.getlength(trial) <= max_w or not cur:
            cur = trial
            continue
        lines.append(cur)
        cur = word
        if len(lines) == max_lines:
            cur = " ".join([lines.pop()] + words[i:])
            break
    if cur:
        lines.append(cur)
    for i, line in enumerate(lines):
        if font.getlength(line) > max_w:
            lo, hi = 0, len(line)  # the longest start of the line that fits with an ellipsis (binary search)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if font.getlength(line[:mid].rstrip() + "…") <= max_w:
                    lo = mid
                else:
                    hi = mid - 1
            cut = line[:lo]
            if " " in cut and len(cut) - cut.rfind(" ") < 12:
                cut = cut[: cut.rfind(" ")]  # end on a whole word when that loses little
            lines[i] = cut.rstrip(" ,.;:-") + "…"
    return lines


def _rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    w, h = size
    big = Image.new("L", (w * 2, h * 2), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, w * 2 - 1, h * 2 - 1), radius=radius * 2, fill=255)
    return big.reduce(2)


def _title_card(picture: Image.Image, prompt: str, style: str) -> None:
    """The prompt on a frosted, rounded band near the bottom, and a small style label in the top-left corner."""
    w, h = picture.size
    size = max(14, round(min(h * 0.04, w * 0.05)))
    font = _font(size)
    pad_x, pad_y = round(size * 0.9), round(size * 0.55)
    text = _printable(prompt.strip()) or "Untitled scene"
    lines = _wrap(text, font, w * 0.8 - 2 * pad_x, 3 if h > w else 2)
    line_h = round(size * 1.28)
    ascent, descent = font.getmetrics()
    box_w = round(max(font.getlength(line) for line in lines) + 2 * pad_x)
    box_h = round(line_h * (len(lines) - 1) + ascent + descent * 0.6 + 2 * pad_y)
    left = (w - box_w) // 2
    bottom = h - round(h * (0.085 if h > w else 0.09))
    top = bottom - box_h
    # Frosted glass: the picture behind blurred and darkened, with a faint light edge.
    region = picture.crop((left, top, left + box_w, bottom))
    soft = region.reduce(2).filter(ImageFilter.GaussianBlur(size * 0.25)).resize(region.size, Image.BILINEAR)
    frosted = Image.blend(soft, Image.new("RGB", region.size, (10, 12, 20)), 0.58)
    radius = round(min(box_h / 2, size * 0.7))
    picture.paste(frosted, (left, top), _rounded_mask((box_w, box_h), radius))
    overlay = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    d.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=radius, outline=(255, 255, 255, 40), width=1)
    for i, line in enumerate(lines):
        x, y = (box_w - font.getlength(line)) / 2, pad_y + i * line_h
        d.text((x + 1, y + 2), line, font=font, fill=(0, 0, 0, 110))
        d.text((x, y), line, font=font, fill=(248, 246, 238, 255))
    picture.paste(overlay, (left, top), overlay)
    lsize = max(11, round(size * 0.48))
    lfont = _font(lsize)
    label = f"{_STYLE_LABELS.get(style, style.upper())} · draft"
    lp = round(lsize * 0.6)
    lh = round(lsize + lp * 1.2)
    pill = Image.new("RGBA", (round(lfont.getlength(label) + 2 * lp), lh), (0, 0, 0, 0))
    pd = ImageDraw.Draw(pill)
    pd.rounded_rectangle((0, 0, pill.width - 1, lh - 1), radius=lh // 2, fill=(10, 12, 20, 140))
    pd.text((lp, (lh - lsize) / 2 - lsize * 0.08), label, font=lfont, fill=(255, 255, 255, 225))
    picture.paste(pill, (round(w * 0.075), round(h * 0.075 if h <= w else h * 0.05)), pill)


# ---------------------------------------------------------------------------------------------------------------
# Output


def render(request: ImageRequest, ctx: StepContext) -> Image.Image:
    """The finished frame for a request (title card included)."""
    w, h = request.width, request.height
    words = request.scene_prompt if request.scene_prompt.strip() else request.prompt
    style = request.style if request.style in _STYLE_LABELS else "photorealistic"
    seed = request.seed & 0xFFFFFFFFFFFFFFFF
    # The composition depends on the words and the seed only, so a scene keeps its layout in every style.
    scene_rnd = random.Random(seed ^ _stable_hash(words))
    style_rng = np.random.default_rng(seed ^ _stable_hash(f"{words}\x00{style}"))
    scale = INTERNAL_SHORT_SIDE / min(w, h)
    iw, ih = max(32, round(w * scale)), max(32, round(h * scale))
    painter = Painter(iw, ih, style)
    scene = _Scene(painter, words, scene_rnd)
    scene.draw(ctx)
    ctx.progress(0.6)
    picture = _finish(painter, scene.lay, style_rng)
    ctx.progress(0.75)
    if (iw, ih) != (w, h):
        picture = picture.resize((w, h), Image.BICUBIC if style == "anime" else Image.BILINEAR)
    _title_card(picture, request.scene_prompt or words, style)
    return picture


@register
class DraftImageProvider(ImageProvider):
    name = "draft"
    label = "Draft renderer (offline)"
    version = "4"
    default_model = "draft-v1"
    models = ("draft-v1",)
    max_concurrency = 2

    def cache_fields(self, request: ImageRequest) -> dict[str, Any]:
        # The frame follows the user's words, the style, the size and the seed; model settings change nothing.
        fields: dict[str, Any] = {"scene_prompt": request.scene_prompt, "style": request.style,
                                  "size": [request.width, request.height], "seed": request.seed}  # fmt: skip
        if not request.scene_prompt.strip():
            fields["prompt"] = request.prompt
        return fields

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        ctx.progress(0.0)
        picture = render(request, ctx)
        ctx.progress(0.9)
        out = ctx.workdir / "image.png"
        # Fixed settings and no metadata: the same request gives the same bytes.
        picture.save(out, format="PNG", compress_level=1)
        ctx.progress(1.0)
        return StepOutput(out, {"width": request.width, "height": request.height})
