"""Style finishes: the look each style gives the painted canvas (grain, brush strokes, cel ink, bloom).

Each takes the painter (whose canvas it may change in place) and returns the picture at the internal size.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from pipeline.providers.draft.canvas import Painter
from pipeline.providers.draft.noise import value_noise_2d
from pipeline.providers.draft.raster import blur, colour_array, from_image, mix, resize_planar, smoothstep, to_image
from pipeline.providers.draft.scene import Layout


def saturate(img: np.ndarray, amount: float) -> np.ndarray:
    """More (or less) colour, in place."""
    grey = (img[0] + img[1] + img[2]) * np.float32(1.0 / 3.0)
    img -= grey
    img *= amount
    img += grey
    return img


def tone_curve(contrast: float, lift: tuple[float, float, float] = (0, 0, 0), gain: tuple[float, float, float] = (1, 1, 1),
               shadows: tuple[float, float, float] = (0, 0, 0), highs: tuple[float, float, float] = (0, 0, 0)) -> list[int]:  # fmt: skip
    """A per-channel tone curve for Image.point: an S-curve, a colour gain and lift, tinted shadows/highlights."""
    x = np.arange(256, dtype=np.float32) / 255.0
    s = x + contrast * x * (1 - x) * (2 * x - 1)
    lut = []
    for c in range(3):
        y = s * gain[c] + lift[c] / 255.0 + shadows[c] * (1 - s) ** 2 + highs[c] * s**2
        lut += [int(v) for v in np.clip(y * 255.0 + 0.5, 0, 255)]
    return lut


def vignette(p: Painter, strength: float, start: float = 0.15) -> Image.Image:
    """A darkening towards the corners, as an RGB image to multiply with."""
    w, h = max(8, p.w // 8), max(8, p.h // 8)
    yy = (np.arange(h, dtype=np.float32)[:, None] / (h - 1) - 0.5) ** 2
    xx = (np.arange(w, dtype=np.float32)[None, :] / (w - 1) - 0.5) ** 2
    v = (1.0 - strength * np.clip((xx + yy) * 2.2 - start, 0, 1) ** 1.2) * 255.0
    return to_image(v).convert("RGB").resize((p.w, p.h), Image.BILINEAR)


def film_grain(p: Painter, rng: np.random.Generator, sigma: float) -> Image.Image:
    """Monochrome noise around 128, as an RGB image for ImageChops.add(..., offset=-128)."""
    g = rng.standard_normal((p.h, p.w), dtype=np.float32)
    g *= sigma
    g += 128.5
    np.clip(g, 0, 255, out=g)
    band = Image.fromarray(g.astype(np.uint8))
    return Image.merge("RGB", (band, band, band))


def anime_finish(p: Painter, lay: Layout, rng: np.random.Generator) -> Image.Image:
    """Cel look: stronger colour and ink outlines wherever one shape meets another."""
    img = to_image(saturate(p.img, 1.3))
    # Ink outlines wherever one shape meets another.
    ids = p.ids
    edge = np.zeros(ids.shape, np.uint8)
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    edge[1:, :] |= ids[1:, :] != ids[:-1, :]
    ink = Image.blend(img, Image.new("RGB", img.size, tuple(int(c) for c in mix(lay.palette.shadow, (15, 10, 25), 0.7))), 0.8)
    return Image.composite(ink, img, Image.fromarray(edge * 255))


def three_d_finish(p: Painter, lay: Layout, rng: np.random.Generator) -> Image.Image:
    """Rendered look: bloom, light shafts from the light, luminous air on the horizon, a contrasty curve."""
    h, w = p.h, p.w
    q = 4  # light shafts and bloom work at quarter size
    small = p.img[:, ::q, ::q]
    sh, sw = small.shape[1:]
    light = blur(np.clip(small - 215.0, 0, None) * 1.5, 5.0) * 0.3  # bloom
    if lay.light_visible or lay.time == "neon":
        # Light shafts: the bright area around the light, smeared outwards from it (a radial blur by zooming).
        cx, cy = lay.light_x / q, lay.light_y / q
        yy, xx = np.arange(sh, dtype=np.float32)[:, None], np.arange(sw, dtype=np.float32)[None, :]
        near = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (min(sw, sh) * 0.3) ** 2))
        src = np.clip(small - 170.0, 0, None) * near[None]
        im = to_image(src)
        acc = src.copy()
        for k in range(1, 9):
            f = 1.0 + 0.07 * k
            big = from_image(im.resize((int(sw * f), int(sh * f)), Image.BILINEAR))
            ox, oy = int(cx * f - cx), int(cy * f - cy)
            acc += big[:, oy : oy + sh, ox : ox + sw] * (1.0 - k / 10)
        light += blur(acc / 4.0, 1.5) * 0.3
    # Volumetric haze: a luminous layer of air lying along the horizon; a darker, occluded foreground.
    hz = lay.horizon
    y = np.arange(h, dtype=np.float32)
    air = (np.exp(-(((y - hz) / (h * 0.12)) ** 2)) * 0.3)[:, None]
    floor = (1.0 - 0.22 * smoothstep(hz + h * 0.1, float(h), y))[:, None]
    img3 = p.img
    img3 += (colour_array(mix(lay.palette.haze, lay.palette.light, 0.35)) - img3) * air[None]
    img3 *= floor[None]
    img = to_image(saturate(img3, 1.35))
    img = ImageChops.add(img, to_image(light).resize((w, h), Image.BILINEAR))
    # A contrasty curve with cool shadows and warm highlights: the "rendered" look.
    img = img.point(tone_curve(0.5, shadows=(-0.02, 0.0, 0.03), highs=(0.02, 0.0, -0.035)))
    return ImageChops.multiply(img, vignette(p, 0.28))


def kuwahara(img: np.ndarray, r: int) -> np.ndarray:
    """Kuwahara filter: each pixel takes the mean of its calmest quadrant, which reads as flat dabs of paint."""
    _, h, w = img.shape
    lum = img[0] * 0.3 + img[1] * 0.59 + img[2] * 0.11
    box = ImageFilter.BoxBlur(r)
    mean = from_image(to_image(img).filter(box))
    m1 = from_image(to_image(lum).filter(box))
    m2 = from_image(to_image(lum * lum / 255.0).filter(box)) * 255.0
    var = m2 - m1 * m1
    pm = np.pad(mean, ((0, 0), (r, r), (r, r)), mode="edge")
    pv = np.pad(var, r, mode="edge")
    quads = [(dy, dx) for dy in (0, 2 * r) for dx in (0, 2 * r)]
    best = np.argmin(np.stack([pv[dy : dy + h, dx : dx + w] for dy, dx in quads]), axis=0)
    out = pm[:, :h, :w].copy()
    for k, (dy, dx) in enumerate(quads[1:], 1):
        np.copyto(out, pm[:, dy : dy + h, dx : dx + w], where=(best == k)[None])
    return out


def brush_streaks(w: int, h: int, angle: float, length: float, width: float, rng: np.random.Generator) -> np.ndarray:
    """Noise stretched into streaks `length` × `width` px, turned by `angle` degrees: the marks of a brush."""
    if not angle:
        return value_noise_2d(w, h, w / length, h / width, rng)
    d = int(math.ceil(math.hypot(w, h))) + 2
    n = value_noise_2d(d, d, d / length, d / width, rng)
    im = Image.fromarray(n).rotate(angle, resample=Image.BILINEAR)
    left, top = (d - w) // 2, (d - h) // 2
    return np.asarray(im.crop((left, top, left + w, top + h)), np.float32)


def artistic_finish(p: Painter, lay: Layout, rng: np.random.Generator) -> Image.Image:
    """Painted look: dabs of paint, brush strokes that shift light and hue, a warm varnish."""
    h, w, u = p.h, p.w, p.unit
    h2, w2, u2 = h // 2, w // 2, u / 2
    # Dabs of paint: a Kuwahara filter at half size, so the dabs are broad, its hard seams softened a little.
    half = resize_planar(p.img, w2, h2)
    paint = kuwahara(half, 2)
    paint *= 0.7
    paint += half * np.float32(0.3)
    # Brush strokes in two directions: level strokes in the sky and the distance, slanted patches below.
    flat = brush_streaks(w2, h2, 0.0, u2 * 0.045, u2 * 0.009, rng)
    slant = brush_streaks(w2, h2, 22.0, u2 * 0.04, u2 * 0.01, rng)
    choice = value_noise_2d(w2, h2, 4 * w / u, 4, rng)
    below = smoothstep(lay.horizon * 0.45, lay.horizon * 0.55, np.arange(h2, dtype=np.float32)[:, None])
    w_slant = smoothstep(0.4, 0.5, choice) * below
    strokes = flat + (slant - flat) * w_slant - 0.5
    # Each stroke lifts or lowers the light and shifts the hue a little, the way a loaded brush does.
    hue_dir = np.stack([value_noise_2d(w2, h2, 5 * w / u, 5, rng) for _ in range(3)]) - 0.5
    st = strokes[None]
    paint *= 1.0 + 0.24 * st
    paint += st * hue_dir * 36.0
    img = to_image(saturate(paint, 1.12)).filter(ImageFilter.GaussianBlur(0.4)).resize((w, h), Image.BILINEAR)
    # A warm varnish and a soft vignette.
    img = img.point(tone_curve(0.1, lift=(20, 13, 2), gain=(1.0, 0.95, 0.84)))  # paper glowing through
    return ImageChops.multiply(img, vignette(p, 0.18, 0.3))


def photorealistic_finish(p: Painter, lay: Layout, rng: np.random.Generator) -> Image.Image:
    """Photographic look: natural colour, soft contrast, lifted blacks, a vignette and film grain."""
    # Natural colour: a little less saturated, soft contrast, lifted film blacks, a warm print tone.
    img = to_image(saturate(p.img, 0.88)).point(tone_curve(0.2, lift=(9, 7, 5), gain=(0.97, 0.96, 0.93)))
    img = ImageChops.multiply(img, vignette(p, 0.38, 0.1))
    # Film grain, monochrome; scaled up with the picture it lands at one to two output pixels.
    return ImageChops.add(img, film_grain(p, rng, 3.2), 1.0, -128)


FINISHES: dict[str, Callable[[Painter, Layout, np.random.Generator], Image.Image]] = {
    "photorealistic": photorealistic_finish,
    "artistic": artistic_finish,
    "anime": anime_finish,
    "3d": three_d_finish,
}


def apply_finish(p: Painter, lay: Layout, rng: np.random.Generator) -> Image.Image:
    """The style's finish (photorealistic for an unknown style); the painter's canvas may be changed in place."""
    return FINISHES.get(p.style, photorealistic_finish)(p, lay, rng)
