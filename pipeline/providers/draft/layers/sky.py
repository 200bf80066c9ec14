"""Sky layers: the graded sky, stars, the sun or moon, clouds and a rainbow."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pipeline.providers.draft.noise import fractal_noise_2d
from pipeline.providers.draft.raster import colour_array, disc_mask, mix, resize_planar, smoothstep
from pipeline.providers.draft.scene import Scene


def paint_sky(scene: Scene) -> None:
    """The sky's gradient down to the horizon, warmed around the light (flat bands in anime)."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    t = np.clip(p.ys[:, 0] / lay.horizon, 0.0, 1.0)[:, None]
    top, mid, hor = (np.array(c, np.float32) for c in (pal.sky_top, pal.sky_mid, pal.sky_horizon))
    k = 0.6
    col = np.where(t < k, mix(top, mid, smoothstep(0, 1, t / k)), mix(mid, hor, smoothstep(0, 1, (t - k) / (1 - k))))
    p.img[:] = col.T[:, :, None]
    # Warmth spreading along the horizon around the light (separable, and only where sky can show).
    if (lay.light_visible and lay.time in ("sunset", "dawn", "day")) or not scene.scenery or lay.time == "neon":
        r1 = min(p.h, int(lay.horizon + p.h * 0.12))
        gx = np.exp(-(((p.xs[0] - lay.light_x) / (p.w * 0.5)) ** 2))
        gy = np.exp(-(((p.ys[:r1, 0] - lay.horizon) / (p.h * 0.33)) ** 2))
        g = np.outer(gy * (pal.glow * (0.45 if lay.time == "day" else 0.75) * 0.6), gx).astype(np.float32)
        sky = p.img[:, :r1]
        diff = colour_array(pal.light) - sky
        diff *= g
        sky += diff
    if p.anime:  # flat bands of colour that follow the glow
        hz = int(lay.horizon) + 1
        band = p.img[:, :hz]
        band *= np.float32(1 / 14.0)
        np.round(band, out=band)
        band *= np.float32(14.0)


def paint_stars(scene: Scene) -> None:
    """Stars, thinning towards the horizon; the brightest get a small cross."""
    p, lay = scene.painter, scene.layout
    n = int(p.w * p.h / 450)
    xs = scene.noise.integers(0, p.w, n)
    ys = (scene.noise.random(n) ** 1.5 * lay.horizon * 0.95).astype(np.int64)
    b = scene.noise.random(n) ** 3
    amt = ((0.3 + 0.7 * b) * (1.0 - ys / lay.horizon) ** 0.5)[None, :].astype(np.float32)
    star = np.array([245, 245, 255], np.float32)
    p.img[:, ys, xs] += (star[:, None] - p.img[:, ys, xs]) * amt
    for i in np.nonzero(b > 0.8)[0][:60]:  # the bright ones get a small cross
        x, y = int(xs[i]), int(ys[i])
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            if 0 <= x + dx < p.w and 0 <= y + dy < p.h:
                p.img[:, y + dy, x + dx] += (star - p.img[:, y + dy, x + dx]) * 0.45


def paint_light(scene: Scene) -> None:
    """The sun (disc and glow), the moon (a crescent), or the neon glow over a city."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    x, y, u = lay.light_x, lay.light_y, p.unit
    if lay.time == "neon":
        p.glow(x, y + p.h * 0.1, u * 0.6, pal.light, 0.3, squash=1.8)
        return
    if not lay.light_visible:
        return
    if lay.time == "night":
        r = u * 0.05
        p.glow(x, y, r * 5.0, (140, 160, 215), 0.3)
        p.glow(x, y, r * 1.8, (215, 222, 240), 0.35)
        scene.painter.disc(x, y, r, (244, 242, 228))
        # The crescent: a disc of the sky's colour over the moon, a little offset.
        m, y0, x0 = disc_mask(x + r * 0.42, y - r * 0.22, r * 0.9)
        behind = p.img[:, int(y), min(p.w - 1, int(x + r * 3))].copy()
        p.put(m, behind * 0.92 + np.float32(0.08) * np.array([244, 242, 228], np.float32), y0, x0, outline=False)
        return
    low = lay.time in ("sunset", "dawn")
    r = u * (0.07 if low else 0.05)
    p.glow(x, y, u * (0.5 if low else 0.35), pal.light, 0.6 if low else 0.35)
    p.glow(x, y, r * 2.4, (255, 246, 222), 0.55)
    scene.painter.disc(x, y, r, (255, 248, 222) if low else (255, 253, 242))


def paint_clouds(scene: Scene) -> None:
    """Clouds from fractal noise: streaks at sunset and dawn, cumulus by day, a low ceiling when overcast."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    full_h, full_w = int(lay.horizon), p.w
    h, w = full_h // 2, full_w // 2  # clouds are soft: drawn at half size and scaled up
    heavy = lay.time == "overcast" or "rain" in lay.features or "storm" in scene.prompt.lower()
    low = lay.time in ("sunset", "dawn")
    aspect = w / p.unit
    # Long streaks at sunset and dawn, puffy cumulus by day, a low ceiling when overcast.
    cx, cy = (2.6 * aspect, 4.0) if low else (2.6 * aspect, 2.6)
    n = fractal_noise_2d(w, h, cx, cy, scene.noise, octaves=4, gain=0.45)
    y = np.arange(h, dtype=np.float32)[:, None] / max(h, 1)
    centre = scene.choices.uniform(0.22, 0.4) if not heavy else 0.15
    band = np.exp(-(((y - centre) / (0.45 if heavy else 0.2)) ** 2))
    cover = 0.34 if heavy and not scene.night else 0.42 if heavy else (0.47 if "clouds" in lay.features or low else 0.54)
    density = n * (0.55 + 0.45 * band) - cover + (0.12 if heavy else 0.0) * band
    density *= smoothstep(0.0, 0.25, 1.0 - y)  # thin out towards the horizon
    soft = 0.025 if p.anime else 0.07
    mask = smoothstep(0.0, soft, density) * (0.96 if heavy else 0.92)
    if float(mask.max()) <= 0.01:
        return
    # Lit from above by a high sun and from below by a low one: compare density a little up and down.
    k = max(2, int(p.unit * 0.0075))
    d = np.zeros_like(density)
    d[k:-k] = density[: -2 * k] - density[2 * k :]
    s = np.tanh((d if low else -d) * 14.0)
    if p.anime:  # two tones, with a boundary that stays smooth when scaled up
        s = np.tanh((s + 0.1) * 25.0)
    t = (0.5 + 0.5 * s)[None].astype(np.float32)
    if scene.night:
        lit, shadow = mix(pal.sky_mid, (110, 120, 160), 0.4), mix(pal.sky_top, pal.sky_mid, 0.4)
        if p.anime:
            lit = mix(pal.sky_top, pal.sky_mid, 0.8)
    elif heavy:
        lit, shadow = mix(pal.sky_horizon, (255, 255, 255), 0.2), mix(pal.sky_top, (30, 35, 45), 0.35)
    elif low:
        lit, shadow = mix(pal.light, (255, 160, 120), 0.35), mix(pal.sky_top, pal.sky_mid, 0.45)
    else:
        lit, shadow = np.array((255, 255, 252), np.float32), mix(pal.sky_mid, (150, 162, 190), 0.5)
    colour = colour_array(shadow) + colour_array(lit - shadow) * t
    # Thicker cloud is darker inside (smooth styles only).
    if not p.anime:
        colour *= (1.0 - 0.18 * np.clip(density * 4.0, 0, 1))[None]
    rows = np.flatnonzero(mask.max(axis=1) > 0.004)
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    mask = Image.fromarray(mask[r0:r1].astype(np.float32)).resize((full_w, (r1 - r0) * 2), Image.BILINEAR)
    p.put(np.asarray(mask), resize_planar(colour[:, r0:r1], full_w, (r1 - r0) * 2), r0 * 2, outline=p.anime)


def paint_rainbow(scene: Scene) -> None:
    """A soft arc of colour standing on the horizon, fading towards its feet."""
    p, lay = scene.painter, scene.layout
    cx, cy = p.w * (0.4 if lay.light_x > p.w / 2 else 0.6), lay.horizon + p.h * 0.15
    radius, width = p.unit * 0.62, p.unit * 0.014
    y1 = int(lay.horizon) + 1
    y0 = max(0, int(cy - radius - width * 8))
    d = np.sqrt((p.xs - cx) ** 2 + (p.ys[y0:y1] - cy) ** 2)
    fade = 0.35 * smoothstep(0.0, p.h * 0.25, lay.horizon - p.ys[y0:y1])
    colours = [(230, 60, 60), (240, 150, 50), (245, 225, 80), (90, 200, 90), (70, 140, 230), (110, 80, 200), (150, 80, 190)]
    for i, colour in enumerate(colours):
        band = np.clip(1.0 - np.abs(d - (radius - i * width)) / (width * 0.75), 0, 1) * fade
        p.veil(band.astype(np.float32), colour, y0)
