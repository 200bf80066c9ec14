"""The city: rows of buildings with lit windows, rooftops, neon signs and the street."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from pipeline.providers.draft.canvas import Pen
from pipeline.providers.draft.layers.terrain import paint_haze_band
from pipeline.providers.draft.raster import blur, colour_array, from_image, mix, resize_planar, to_image
from pipeline.providers.draft.scene import Scene


# Lit window colours: neon, warm lamps at night (or in rain, or at sunset), and the sky reflected by day.
NEON_WINDOWS = np.array([(255, 90, 205), (90, 230, 255), (255, 195, 100), (185, 130, 255)], np.float32)
LAMPLIT_WINDOWS = np.array([(255, 205, 120), (255, 226, 160), (250, 180, 100)], np.float32)
DAYLIT_WINDOWS = np.array([(205, 218, 232), (175, 195, 215), (232, 236, 242)], np.float32)

Building = tuple[float, float, float]  # left x, width, top y


def paint_city(scene: Scene) -> None:
    """Three rows of buildings, far to near, each with haze at its foot (and neon signs), then the street."""
    p, lay, pal = scene.painter, scene.layout, scene.palette
    neon = lay.time == "neon"
    lit_night = scene.night or "rain" in lay.features or lay.time == "sunset"
    street = lay.ground
    for row in range(3):
        depth = row / 2  # 0 far, 1 near
        base = street - p.h * 0.035 * (2 - row)
        tall = p.h * (0.3 + 0.14 * row) * (1.12 if neon else 1.0)
        buildings = _place_buildings(scene, row, depth, base, tall)
        haze = (0.6 if not neon else 0.5) * (1 - depth)
        body = mix(mix(pal.shadow, (10, 10, 18), 0.4 if lit_night else 0.0), pal.haze, haze)
        if not lit_night:
            body = mix(mix((125, 135, 155), pal.haze, haze), pal.shadow, 0.15)
        _paint_buildings(scene, buildings, depth, base, body, lit_night)
        paint_rooftops(scene, buildings, depth, mix(body, pal.shadow, 0.2))
        if row < 2:
            paint_haze_band(scene, base, 0.22 if not neon else 0.3)
        if neon and row >= 1:
            paint_neon_signs(scene, buildings, base, depth)
    paint_street(scene, street, lit_night, neon)


def _place_buildings(scene: Scene, row: int, depth: float, base: float, tall: float) -> list[Building]:
    """A row of buildings side by side across the frame; the nearest row leaves the middle open."""
    p = scene.painter
    buildings = []
    x = -scene.choices.uniform(0, 0.05) * p.w
    while x < p.w:
        bw = p.unit * scene.choices.uniform(0.07, 0.15) * (0.75 + 0.5 * depth)
        bh = tall * scene.choices.uniform(0.45, 1.0)
        if row == 2 and abs(x + bw / 2 - p.w / 2) < p.w * 0.14:
            bh *= 0.5  # keep the middle open, down the street
        buildings.append((x, bw, base - bh))
        x += bw + p.unit * scene.choices.uniform(-0.01, 0.012)
    return buildings


def _paint_buildings(scene: Scene, buildings: list[Building], depth: float, base: float, body: Any,
                     lit_night: bool) -> None:  # fmt: skip
    """One row of buildings: façades shaded towards the light, tops catching the sky's glow, lit windows."""
    p, lay = scene.painter, scene.layout
    toward = 1.0 if lay.light_x < p.w / 2 else -1.0
    window_colours = NEON_WINDOWS if lay.time == "neon" else LAMPLIT_WINDOWS if lit_night else DAYLIT_WINDOWS
    y0 = max(0, int(min(t for _, _, t in buildings)))
    y1 = min(p.h, int(base) + 1)
    n = y1 - y0
    mask = np.zeros((n, p.w), np.float32)
    shade = np.ones(p.w, np.float32)
    wstep, hstep = p.unit * (0.02 + 0.008 * depth), p.unit * (0.028 + 0.01 * depth)
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
        grid = _windows(scene, bw, base - top, wstep, hstep, 0.45 if lit_night else 0.14, window_colours)
        if grid is not None:
            panes.paste(grid, (int(bx + wstep * 0.1), int(top - y0 + p.unit * 0.012)))
    col = np.empty((3, n, p.w), np.float32)
    col[:] = colour_array(body)
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


def _windows(scene: Scene, width: float, height: float, wstep: float, hstep: float, lit_share: float,
             colours: np.ndarray) -> Image.Image | None:  # fmt: skip
    """A façade's windows (RGBA, a share of them lit), or None when the building is too small for any."""
    cols = int((width - wstep * 0.4) / wstep)
    rows = int((height - scene.painter.unit * 0.03) / hstep)
    if cols < 1 or rows < 1:
        return None
    cells = np.zeros((rows * 2, cols * 2, 4), np.uint8)
    lit = scene.noise.random((rows, cols)) < lit_share
    cells[1::2, 1::2, :3] = colours[scene.noise.integers(0, len(colours), (rows, cols))].astype(np.uint8)
    cells[1::2, 1::2, 3] = lit * 255
    return Image.fromarray(cells).resize((int(cols * wstep), int(rows * hstep)), Image.NEAREST)


def paint_rooftops(scene: Scene, buildings: list, depth: float, colour: Any) -> None:
    """Antennas and blocks on some of a row's roofs."""
    p = scene.painter
    items = []
    for bx, bw, top in buildings:
        r = scene.choices.random()
        if r < 0.3:
            x = bx + bw * scene.choices.uniform(0.3, 0.7)
            items.append(("antenna", x, top, p.unit * scene.choices.uniform(0.03, 0.07)))
        elif r < 0.5:
            items.append(("block", bx + bw * 0.2, top, bw * 0.5))
    if not items:
        return

    def draw(pen: Pen) -> None:
        for kind, x, top, size in items:
            if kind == "antenna":
                pen.line([(x, top), (x, top - size)], 1.0 + depth)
            else:
                pen.rect(x, top - p.unit * 0.02, x + size, top + 1)

    top = min(t for _, _, t, _ in items) - p.unit * 0.08
    m, y0, x0 = p.shapes(draw, (0, top, p.w, max(t for _, _, t, _ in items) + 2))
    p.put(m, colour, y0, x0)


def paint_neon_signs(scene: Scene, buildings: list, base: float, depth: float) -> None:
    """Glowing signs on the nearer façades: bright tubes with a white core and a coloured halo."""
    p = scene.painter
    colours = [(255, 50, 180), (40, 230, 255), (255, 170, 40), (170, 90, 255), (60, 255, 150)]
    rects = []
    for bx, bw, top in buildings:
        if scene.choices.random() > 0.6 or bx < 0 or bx + bw > p.w:
            continue
        c = colours[scene.choices.randrange(len(colours))]
        if scene.choices.random() < 0.55:  # a tall sign hanging off the façade
            sw, sh = p.unit * 0.022 * (0.8 + depth), p.unit * scene.choices.uniform(0.08, 0.16) * (0.8 + depth)
            sx = bx + (bw - sw * 1.2 if scene.choices.random() < 0.5 else sw * 0.2)
        else:
            sw, sh = bw * 0.7, p.unit * 0.026 * (0.8 + depth)
            sx = bx + bw * 0.15
        sy = scene.choices.uniform(top + p.h * 0.04, max(top + p.h * 0.05, base - sh - p.h * 0.08))
        rects.append((sx, sy, sw, sh, c))
    if not rects:
        return
    # Bright tubes with a white-hot core, and a coloured halo around them (blurred at quarter size, and only
    # over the band of rows that has signs).
    q = 4
    halo = np.zeros((3, p.h // q + 1, p.w // q + 1), np.float32)
    for sx, sy, sw, sh, c in rects:
        halo[:, int(sy / q) : int((sy + sh) / q) + 1, int(sx / q) : int((sx + sw) / q) + 1] = colour_array(c)
        m, y0, x0 = p.shapes(lambda pen, a=(sx, sy, sw, sh): pen.rect(a[0], a[1], a[0] + a[2], a[1] + a[3]),
                             (sx - 2, sy - 2, sx + sw + 3, sy + sh + 3))  # fmt: skip
        core = np.zeros_like(m)
        inset = max(1, int(min(sw, sh) * 0.25))
        core[inset + 2 : -inset - 2, inset + 2 : -inset - 2] = 1.0
        p.put(m, c, y0, x0)
        p.put(core * 0.7, (255, 255, 255), y0, x0, outline=False)
    reach = p.unit * 0.05
    r0 = max(0, int((min(r[1] for r in rects) - reach) / q))
    r1 = min(halo.shape[1], int((max(r[1] + r[3] for r in rects) + reach) / q) + 1)
    band = blur(halo, p.unit * 0.006)[:, r0:r1]
    top, rows = r0 * q, min(p.h - r0 * q, (r1 - r0) * q)
    glow = resize_planar(band, p.w, (r1 - r0) * q)[:, :rows]
    glow *= np.float32(0.85)
    p.img[:, top : top + rows] += glow


def paint_street(scene: Scene, street: float, wet: bool, neon: bool) -> None:
    """A wet street mirroring the city (night, rain, neon), or a plain pavement by day."""
    p, pal = scene.painter, scene.palette
    top = int(street)
    hh = p.h - top
    if hh <= 0:
        return
    if wet:
        src = np.clip(2 * top - np.arange(top, p.h), 0, p.h - 1)
        refl = p.img[:, src]
        # Light stretches vertically on wet asphalt; ripples shift it sideways.
        small = to_image(refl).resize((p.w, max(1, hh // 10)), Image.BILINEAR)
        refl = from_image(small.resize((p.w, hh), Image.BICUBIC))
        shift = np.round(np.sin(np.arange(hh) * 0.45) * 2.0).astype(np.int64)
        for d in range(-2, 3):
            rows = shift == d
            if d and rows.any():
                refl[:, rows] = np.roll(refl[:, rows], d, axis=2)
        fade = (0.8 - 0.4 * np.linspace(0, 1, hh, dtype=np.float32))[None, :, None] * (0.8 if neon else 0.6)
        refl *= fade
        col = refl + colour_array(mix(pal.shadow, (12, 12, 20), 0.5))
    else:
        col = colour_array(mix(pal.shadow, (100, 100, 105), 0.55))
    p.put(np.ones((hh, p.w), np.float32), col, top)
    # Lane markings receding to the middle of the frame.
    v = np.linspace(0, 1, hh, dtype=np.float32)[:, None]
    lane = np.exp(-(((p.xs - p.w / 2) / (p.unit * (0.002 + 0.01 * v))) ** 2)) * (np.sin(v * 28 - 1) > 0.25)
    p.put((lane * 0.45).astype(np.float32), (230, 222, 205), top, outline=False)
