"""Offline image provider `draft`: an animatic frame for a prompt, drawn with Pillow and numpy.

The picture is composed from the prompt's words (mountains, sun, sea, city, forest, rain, …), lit by its time of
day, finished in the style's look (photorealistic grain, painterly strokes, cel-shaded anime, rendered 3D) and
captioned with the prompt on a title card. Same request → same bytes.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import textwrap
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pipeline.providers.base import ImageProvider, ImageRequest, StepContext, StepOutput, register

RGB = tuple[int, int, int]

FEATURES: dict[str, str] = {
    "mountain": r"mountain|peak|alps|alpine|summit|ridge|cliff|valley|hill",
    "sun": r"\bsun\b|sunset|sunrise|golden hour|dusk|dawn|sunlit|sunny",
    "night": r"night|moon|star|midnight|dark",
    "sea": r"ocean|sea\b|waves?|beach|coast|shore|harbou?r|lake|river|water",
    "city": r"city|street|skyline|building|tower|urban|downtown|rooftop|cyberpunk|neon|alley",
    "neon": r"neon|cyberpunk|synthwave|futuristic",
    "forest": r"forest|trees?|woods|pine|jungle",
    "rain": r"rain|storm|drizzle|downpour",
    "fog": r"fog|mist|haze|smoke",
    "desert": r"desert|dune|sand",
    "snow": r"snow|winter|ice|frozen",
    "field": r"field|meadow|grass|farm|prairie",
    "lighthouse": r"lighthouse",
    "boat": r"boat|ship|sail|yacht",
    "birds": r"bird|gull|seabird|flock",
    "figure": r"person|figure|man\b|woman|traveller|traveler|character|walker|walks|child|keeper",
}


def _features(prompt: str) -> set[str]:
    text = prompt.lower()
    # A leading word boundary only: "stars" and "mountains" match, "street" does not match "tree".
    found = {name for name, pattern in FEATURES.items() if re.search(rf"\b(?:{pattern})", text)}
    if "lighthouse" in found or "boat" in found:
        found.add("sea")
    return found


@dataclass(frozen=True)
class Palette:
    sky_top: RGB
    sky_horizon: RGB
    land: RGB
    water: RGB
    light: RGB  # the sun's / moon's / neon's colour


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(a[i] + (b[i] - a[i]) * t)) for i in range(3))  # type: ignore[return-value]


def _palette(feats: set[str], rnd: random.Random) -> Palette:
    if "neon" in feats:
        return Palette((12, 6, 40), (120, 30, 110), (18, 14, 40), (30, 20, 70), (255, 60, 200))
    if "night" in feats:
        return Palette((6, 10, 35), (40, 55, 110), (15, 20, 40), (20, 35, 70), (235, 235, 210))
    if "sun" in feats:
        if re.search(r"dawn|sunrise", " ".join(feats)) or rnd.random() < 0.0:
            pass
        return Palette((70, 60, 140), (255, 170, 90), (70, 45, 70), (90, 70, 120), (255, 220, 140))
    if "desert" in feats:
        return Palette((90, 150, 220), (250, 215, 170), (210, 160, 100), (80, 140, 190), (255, 245, 210))
    if "snow" in feats:
        return Palette((120, 150, 190), (225, 230, 240), (230, 235, 245), (100, 130, 170), (255, 255, 240))
    if "rain" in feats or "fog" in feats:
        return Palette((70, 80, 95), (160, 170, 180), (60, 70, 75), (70, 85, 100), (230, 230, 220))
    # A daylight palette whose hue follows the prompt, so abstract prompts still differ.
    hue = rnd.random()
    top = _hsv(hue, 0.55, 0.75)
    return Palette(top, _hsv((hue + 0.08) % 1, 0.25, 0.98), _hsv((hue + 0.35) % 1, 0.45, 0.45),
                   _hsv((hue + 0.5) % 1, 0.5, 0.6), (255, 250, 225))  # fmt: skip


def _hsv(h: float, s: float, v: float) -> RGB:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _vertical_gradient(w: int, h: int, top: RGB, bottom: RGB, gamma: float = 1.0) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None] ** gamma
    col = np.array(top, np.float32)[None, :] * (1 - t) + np.array(bottom, np.float32)[None, :] * t
    return np.repeat(col[:, None, :], w, axis=1)


def _ridge(w: int, base: float, amp: float, rnd: random.Random, roughness: int = 5, peaks: bool = True) -> np.ndarray:
    """A smooth deterministic ridge line, y per x: a few broad peaks with finer detail on them."""
    x = np.linspace(0, 1, w, dtype=np.float32)
    y = np.zeros(w, np.float32)
    for k in range(1, roughness + 1):
        freq = rnd.uniform(0.7, 1.3) * (0.8 + 1.2 * k)
        wave = np.sin(2 * math.pi * freq * x + rnd.uniform(0, 6.28))
        if peaks and k <= 2:
            wave = 1.0 - 2.0 * np.abs(wave)  # pointed summits, rounded valleys
        y += wave / (k**1.5)
    y = (y - y.min()) / max(float(y.max() - y.min()), 1e-6)
    return base - amp * y


def _fill_below(img: np.ndarray, ys: np.ndarray, colour_top: RGB, colour_bottom: RGB) -> None:
    h = img.shape[0]
    rows = np.arange(h, dtype=np.float32)[:, None]
    mask = rows >= ys[None, :]
    grad = _vertical_gradient(1, h, colour_top, colour_bottom)[:, 0, :]
    img[mask] = np.broadcast_to(grad[:, None, :], img.shape)[mask]


def _glow(img: np.ndarray, cx: float, cy: float, radius: float, colour: RGB, strength: float) -> None:
    h, w, _ = img.shape
    reach = radius * 2.2  # exp(-(2.2)^2) < 1%: nothing to draw further out
    x0, x1 = max(0, int(cx - reach)), min(w, int(cx + reach) + 1)
    y0, y1 = max(0, int(cy - reach)), min(h, int(cy + reach) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.ogrid[y0:y1, x0:x1]
    a = (np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2)) * strength)[..., None].astype(np.float32)
    region = img[y0:y1, x0:x1]
    region[:] = region * (1 - a) + np.array(colour, np.float32) * a


@register
class DraftImageProvider(ImageProvider):
    name = "draft"
    label = "Draft renderer (offline)"
    version = "2"
    default_model = "draft-v1"
    models = ("draft-v1",)
    max_concurrency = 2

    def cache_fields(self, request: ImageRequest) -> dict:
        # Steps, guidance and model-side prompt modifiers do not change a draft; the words and the style do.
        return {"scene_prompt": request.scene_prompt, "style": request.style, "size": [request.width, request.height],
                "seed": request.seed}  # fmt: skip

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        ctx.progress(0.0)
        w, h = request.width, request.height
        digest = hashlib.sha256(f"{request.scene_prompt}|{request.style}".encode()).digest()
        rnd = random.Random(request.seed ^ int.from_bytes(digest[:8], "big"))
        # Scenery is drawn at half size (soft shapes, fast) and scaled up; the text is drawn at full size.
        sw, sh = w // 2, h // 2
        scene = self._scenery(request.scene_prompt, sw, sh, rnd)
        ctx.progress(0.5)
        picture = self._finish(Image.fromarray(scene), request.style, rnd).resize((w, h), Image.BICUBIC)
        ctx.progress(0.8)
        self._title_card(picture, request.scene_prompt, request.style)
        out = ctx.workdir / "image.png"
        picture.save(out, format="PNG", optimize=False, compress_level=1)
        ctx.progress(1.0)
        return StepOutput(out, {"width": w, "height": h})

    # -- composition ---------------------------------------------------------------------------------------

    def _scenery(self, prompt: str, w: int, h: int, rnd: random.Random) -> np.ndarray:
        feats = _features(prompt)
        pal = _palette(feats, rnd)
        horizon = h * rnd.uniform(0.56, 0.66)
        img = _vertical_gradient(w, h, pal.sky_top, pal.sky_horizon, gamma=0.8)
        img[int(horizon):] = _vertical_gradient(w, h - int(horizon), pal.sky_horizon, pal.land)

        if "night" in feats or "neon" in feats:
            for _ in range(int(w * h / 900)):
                x, y = rnd.uniform(0, w), rnd.uniform(0, horizon * 0.8)
                b = rnd.uniform(120, 255)
                img[int(y), int(x)] = (b, b, min(255, b + 20))
        # The light: a low sun, a moon, or a glow over the city.
        lx = w * rnd.uniform(0.3, 0.7)
        if "sun" in feats or "night" in feats or "desert" in feats:
            ly = horizon - h * (0.08 if "sun" in feats else 0.3)
            _glow(img, lx, ly, h * 0.45, pal.light, 0.55)
            _glow(img, lx, ly, h * (0.06 if "sun" in feats else 0.04), pal.light, 1.0)
        elif "neon" in feats:
            _glow(img, w / 2, horizon, h * 0.5, pal.light, 0.35)

        canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(canvas, "RGBA")
        if not feats & {"night", "neon", "rain"}:
            self._clouds(canvas, w, horizon, rnd)
            draw = ImageDraw.Draw(canvas, "RGBA")
        arr = np.asarray(canvas).astype(np.float32)

        if "mountain" in feats or not feats & {"city", "sea", "forest", "desert", "field"}:
            for layer, depth in enumerate((0.75, 0.45, 0.0)):
                colour = _mix(pal.land, pal.sky_horizon, depth)
                ridge = _ridge(w, horizon + layer * h * 0.06, h * (0.24 - layer * 0.06), rnd)
                _fill_below(arr, ridge, _mix(colour, (255, 255, 255), 0.15 if "snow" in feats else 0), colour)
        if "desert" in feats:
            for layer in range(3):
                ridge = _ridge(w, horizon + layer * h * 0.09, h * 0.06, rnd, roughness=2, peaks=False)
                _fill_below(arr, ridge, _mix((235, 190, 120), pal.sky_horizon, 0.4 - layer * 0.15),
                            (200 - layer * 25, 145 - layer * 20, 80))  # fmt: skip
        if "field" in feats:
            for layer in range(3):
                ridge = _ridge(w, horizon + layer * h * 0.08, h * 0.05, rnd, roughness=2, peaks=False)
                _fill_below(arr, ridge, _mix((110, 160, 70), pal.sky_horizon, 0.3 - layer * 0.1), (50, 100, 40))
        if "sea" in feats:
            self._sea(arr, w, h, horizon, pal, lx, rnd)
        canvas = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(canvas, "RGBA")
        if "city" in feats:
            self._city(draw, w, h, horizon, pal, "neon" in feats, rnd)
        if "forest" in feats:
            self._forest(draw, w, h, horizon, pal, rnd)
        if "lighthouse" in feats:
            self._lighthouse(draw, w, h, horizon, pal, "night" in feats or "rain" in feats, rnd)
        if "boat" in feats:
            self._boat(draw, w * rnd.uniform(0.2, 0.8), horizon + h * 0.05, h * 0.05, pal)
        if "figure" in feats:
            self._figure(draw, w * rnd.uniform(0.35, 0.65), h * 0.86, h * 0.2, "rain" in feats, pal)
        if "birds" in feats:
            for _ in range(rnd.randint(4, 8)):
                x, y, s = rnd.uniform(0.2, 0.8) * w, rnd.uniform(0.15, 0.4) * h, rnd.uniform(0.008, 0.015) * w
                draw.line([(x - s, y - s * 0.4), (x, y), (x + s, y - s * 0.4)], fill=(30, 30, 40, 220), width=2)
        if "rain" in feats:
            for _ in range(int(w * h / 700)):
                x, y, ln = rnd.uniform(0, w), rnd.uniform(0, h), rnd.uniform(0.02, 0.05) * h
                draw.line([(x, y), (x - ln * 0.2, y + ln)], fill=(200, 210, 230, 70), width=1)
        if "snow" in feats:
            for _ in range(int(w * h / 1200)):
                x, y, r = rnd.uniform(0, w), rnd.uniform(0, h), rnd.uniform(0.6, 2.0)
                draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 200))
        out = np.asarray(canvas).astype(np.float32)
        if "fog" in feats:
            fog = _vertical_gradient(w, h, (0, 0, 0), (0, 0, 0))
            t = np.exp(-(((np.arange(h) - horizon) / (h * 0.18)) ** 2))[:, None, None]
            out = out * (1 - 0.55 * t) + np.array(_mix(pal.sky_horizon, (235, 235, 240), 0.6), np.float32) * 0.55 * t
            del fog
        return np.clip(out, 0, 255).astype(np.uint8)

    def _clouds(self, canvas: Image.Image, w: int, horizon: float, rnd: random.Random) -> None:
        layer = Image.new("L", canvas.size, 0)
        d = ImageDraw.Draw(layer)
        for _ in range(rnd.randint(3, 6)):
            cx, cy = rnd.uniform(0, w), rnd.uniform(0.08, 0.45) * horizon
            for _ in range(6):
                rx, ry = rnd.uniform(0.04, 0.1) * w, rnd.uniform(0.015, 0.04) * w
                ox, oy = rnd.uniform(-0.06, 0.06) * w, rnd.uniform(-0.01, 0.01) * w
                d.ellipse((cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry), fill=110)
        layer = layer.filter(ImageFilter.GaussianBlur(w / 90))
        canvas.paste(Image.new("RGB", canvas.size, (255, 250, 245)), mask=layer)

    def _sea(self, arr, w, h, horizon, pal: Palette, lx: float, rnd: random.Random) -> None:
        top = int(horizon + h * 0.04)
        arr[top:] = _vertical_gradient(w, h - top, _mix(pal.water, pal.sky_horizon, 0.45), pal.water)
        # A path of light on the water under the sun or moon.
        band = np.exp(-(((np.arange(w) - lx) / (w * 0.06)) ** 2))[None, :, None]
        depth = np.linspace(0.9, 0.2, h - top)[:, None, None]
        arr[top:] = arr[top:] * (1 - 0.45 * band * depth) + np.array(pal.light, np.float32) * 0.45 * band * depth
        # Wave crests: thin bright lines, closer ones larger.
        x = np.arange(w)
        for i in range(26):
            t = (i / 26) ** 1.6
            y0 = top + t * (h - top)
            amp = 1 + 6 * t
            phase = rnd.uniform(0, 6.28)
            ys = (y0 + amp * np.sin(x / (8 + 40 * t) + phase)).astype(int)
            ok = (ys >= top) & (ys < h - 1)
            shade = 0.35 + 0.4 * t
            arr[ys[ok], x[ok]] = arr[ys[ok], x[ok]] * (1 - shade) + 245 * shade
        # A beach in the foreground when the prompt says so.
        if rnd.random() < 2:  # always a strip of shore to anchor the frame
            shore = _ridge(w, h * 0.97, h * 0.05, rnd, roughness=2, peaks=False)
            _fill_below(arr, shore, (205, 180, 140), (150, 125, 95))

    def _city(self, draw, w, h, horizon, pal: Palette, neon: bool, rnd: random.Random) -> None:
        x = -rnd.uniform(0, 0.05) * w
        while x < w:
            bw = rnd.uniform(0.05, 0.12) * w
            bh = rnd.uniform(0.2, 0.55) * h
            top = horizon + h * 0.12 - bh
            body = _mix(pal.land, (0, 0, 0), 0.35)
            draw.rectangle((x, top, x + bw, h), fill=body + (255,))
            for wy in np.arange(top + h * 0.02, h, h * 0.035):
                for wx in np.arange(x + bw * 0.12, x + bw - bw * 0.15, bw * 0.2):
                    if rnd.random() < (0.45 if neon else 0.3):
                        lit = rnd.choice([(255, 210, 120), (255, 235, 180)]) if not neon else rnd.choice(
                            [(255, 80, 200), (80, 220, 255), (255, 200, 90)])  # fmt: skip
                        draw.rectangle((wx, wy, wx + bw * 0.09, wy + h * 0.015), fill=lit + (230,))
            if neon and rnd.random() < 0.5:
                sign = rnd.choice([(255, 40, 180), (40, 220, 255), (180, 80, 255)])
                sy = top + rnd.uniform(0.1, 0.4) * bh
                draw.rectangle((x + bw * 0.15, sy, x + bw * 0.85, sy + h * 0.03), outline=sign + (255,), width=2)
            x += bw * rnd.uniform(0.85, 1.05)
        if neon:  # a wet street reflecting the signs
            street = horizon + h * 0.12
            for _ in range(int(w / 6)):
                sx = rnd.uniform(0, w)
                colour = rnd.choice([(255, 40, 180), (40, 220, 255), (255, 200, 90)])
                draw.line([(sx, street + rnd.uniform(0, 0.2) * h), (sx, h)], fill=colour + (40,), width=2)

    def _forest(self, draw, w, h, horizon, pal: Palette, rnd: random.Random) -> None:
        for layer in range(3):
            colour = _mix(_mix(pal.land, (20, 60, 40), 0.6), pal.sky_horizon, 0.5 - layer * 0.22)
            base = horizon + h * (0.05 + layer * 0.12)
            for _ in range(int(14 + layer * 6)):
                x = rnd.uniform(-0.05, 1.05) * w
                th = rnd.uniform(0.12, 0.25) * h * (1 + layer * 0.5)
                tw = th * 0.32
                draw.polygon([(x, base - th), (x - tw / 2, base), (x + tw / 2, base)], fill=colour + (255,))
            draw.rectangle((0, base, w, h), fill=colour + (255,))

    def _lighthouse(self, draw, w, h, horizon, pal: Palette, lit: bool, rnd: random.Random) -> None:
        x = w * rnd.choice([0.28, 0.72])
        base, top = horizon + h * 0.08, horizon - h * 0.28
        bw, tw = w * 0.045, w * 0.03
        draw.polygon([(x - bw, base), (x + bw, base), (x + tw, top), (x - tw, top)], fill=(235, 235, 230, 255))
        for i in range(1, 4):
            y = base + (top - base) * i / 4
            half = bw + (tw - bw) * i / 4
            draw.rectangle((x - half, y - h * 0.02, x + half, y + h * 0.02), fill=(190, 40, 40, 255))
        draw.rectangle((x - tw * 1.1, top - h * 0.06, x + tw * 1.1, top), fill=(40, 40, 50, 255))
        draw.rectangle((x - tw * 0.7, top - h * 0.05, x + tw * 0.7, top - h * 0.01), fill=(255, 230, 140, 255))
        if lit:
            ly = top - h * 0.03
            draw.polygon([(x, ly), (x - w * 0.45, ly - h * 0.12), (x - w * 0.45, ly + h * 0.06)],
                         fill=(255, 240, 180, 50))  # fmt: skip
        cliff = [(x - w * 0.2, h), (x - bw * 1.8, base), (x + bw * 2.5, base), (x + w * 0.25, h)]
        draw.polygon(cliff, fill=_mix(pal.land, (0, 0, 0), 0.3) + (255,))

    def _boat(self, draw, x, y, s, pal: Palette) -> None:
        dark = _mix(pal.land, (0, 0, 0), 0.5) + (255,)
        draw.polygon([(x - s, y), (x + s, y), (x + s * 0.7, y + s * 0.35), (x - s * 0.7, y + s * 0.35)], fill=dark)
        draw.polygon([(x, y - s * 1.6), (x, y - s * 0.1), (x + s * 0.8, y - s * 0.1)], fill=(240, 235, 225, 255))
        draw.line([(x, y - s * 1.7), (x, y)], fill=dark, width=2)

    def _figure(self, draw, x, base, size, umbrella: bool, pal: Palette) -> None:
        dark = (20, 18, 28, 255)
        head = size * 0.09
        draw.ellipse((x - head, base - size, x + head, base - size + 2 * head), fill=dark)
        draw.polygon([(x - size * 0.13, base - size * 0.78), (x + size * 0.13, base - size * 0.78),
                      (x + size * 0.16, base - size * 0.3), (x - size * 0.16, base - size * 0.3)], fill=dark)  # fmt: skip
        draw.line([(x - size * 0.06, base - size * 0.3), (x - size * 0.1, base)], fill=dark, width=max(2, int(size * 0.07)))
        draw.line([(x + size * 0.06, base - size * 0.3), (x + size * 0.12, base)], fill=dark, width=max(2, int(size * 0.07)))
        if umbrella:
            r = size * 0.32
            draw.pieslice((x - r, base - size * 1.2, x + r, base - size * 1.2 + 2 * r), 180, 360, fill=(200, 30, 60, 255))
            draw.line([(x, base - size * 1.2 + r), (x, base - size * 0.6)], fill=dark, width=2)

    # -- the style's finish --------------------------------------------------------------------------------

    def _finish(self, picture: Image.Image, style: str, rnd: random.Random) -> Image.Image:
        w, h = picture.size
        if style == "anime":
            # Outlines from the shapes (strong edges of the unquantised picture), not from the sky's colour bands.
            lum = picture.convert("L").filter(ImageFilter.SMOOTH_MORE)
            edges = lum.filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 40 else 0)
            flat = picture.filter(ImageFilter.SMOOTH_MORE).quantize(colors=18, method=Image.Quantize.MEDIANCUT,
                                                                    dither=Image.Dither.NONE).convert("RGB")  # fmt: skip
            arr = np.asarray(flat).astype(np.float32)
            grey = arr.mean(axis=2, keepdims=True)
            arr = np.clip(grey + (arr - grey) * 1.35, 0, 255)  # livelier colour
            arr[np.asarray(edges) > 0] *= 0.2
            return Image.fromarray(arr.astype(np.uint8))
        arr = np.asarray(picture).astype(np.float32)
        yy, xx = np.ogrid[:h, :w]
        dist = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
        if style == "photorealistic":
            nrng = np.random.default_rng(rnd.randrange(2**32))
            arr += nrng.normal(0, 4.0, (h, w, 1)).astype(np.float32)
            arr *= (1 - 0.35 * np.clip(dist - 0.45, 0, 1) ** 1.5)[..., None]
        elif style == "3d":
            bright = Image.fromarray(np.clip((arr - 150) * 2, 0, 255).astype(np.uint8)).resize((w // 2, h // 2))
            bloom = np.asarray(bright.filter(ImageFilter.GaussianBlur(w / 60)).resize((w, h))).astype(np.float32)
            arr = arr * 0.95 + bloom * 0.45
            arr = arr * (1 - 0.25 * np.clip(dist - 0.6, 0, 1))[..., None]
            grey = arr.mean(axis=2, keepdims=True)
            arr = grey + (arr - grey) * 1.1
        elif style == "artistic":
            canvas = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
            src = np.asarray(canvas)
            draw = ImageDraw.Draw(canvas, "RGBA")
            for _ in range(int(w * h / 90)):
                x, y = rnd.randrange(w), rnd.randrange(h)
                r, g, b = (int(c) for c in src[y, x])
                jitter = rnd.randint(-18, 18)
                angle = rnd.uniform(-0.6, 0.6) + (math.pi / 2 if rnd.random() < 0.25 else 0)
                length = rnd.uniform(4, 11)
                dx, dy = math.cos(angle) * length, math.sin(angle) * length
                draw.line([(x - dx, y - dy), (x + dx, y + dy)],
                          fill=(min(255, max(0, r + jitter)), min(255, max(0, g + jitter)), min(255, max(0, b)), 150),
                          width=rnd.randint(2, 4))  # fmt: skip
            arr = np.asarray(canvas).astype(np.float32) * np.array([1.06, 1.0, 0.9], np.float32)
            paper = np.random.default_rng(rnd.randrange(2**32)).normal(0, 4.0, (h // 2, w // 2, 1))
            arr += np.kron(paper, np.ones((2, 2, 1)))[:h, :w].astype(np.float32)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))

    # -- the title card ------------------------------------------------------------------------------------

    def _title_card(self, picture: Image.Image, prompt: str, style: str) -> None:
        w, h = picture.size
        short = min(w, h)
        size = max(14, round(short * 0.042))
        font = ImageFont.load_default(size=size)
        chars = max(16, int(w * 0.72 / (size * 0.52)))
        lines = textwrap.wrap(" ".join(prompt.split()), width=chars)
        if len(lines) > 3:
            lines = lines[:3]
            lines[-1] = lines[-1][: max(0, chars - 1)].rstrip() + "…"
        line_h = round(size * 1.3)
        pad = round(size * 0.7)
        box_h = line_h * len(lines) + 2 * pad
        text_w = max(d for d in (ImageFont.load_default(size=size).getlength(line) for line in lines))
        # Inside the title-safe area (the inner 80%), so a camera move over the frame never cuts the caption.
        safe_x, safe_y = round(w * 0.12), round(h * 0.1)
        box_w = min(w - 2 * safe_x, round(text_w) + 2 * pad)
        left = (w - box_w) // 2
        box = (left, h - safe_y - box_h, left + box_w, h - safe_y)
        overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(overlay)
        d.rounded_rectangle(box, radius=round(size * 0.6), fill=(8, 10, 18, 150))
        for i, line in enumerate(lines):
            d.text((box[0] + pad, box[1] + pad + i * line_h), line, font=font, fill=(250, 248, 240, 255))
        label_font = ImageFont.load_default(size=max(11, round(size * 0.55)))
        label = f"{ {'3d': '3D'}.get(style, style.upper()) } · DRAFT"
        lb = d.textbbox((0, 0), label, font=label_font)
        lp = round(size * 0.35)
        lx, ly = round(w * 0.08), round(h * 0.08)
        d.rounded_rectangle((lx, ly, lx + lb[2] + 2 * lp, ly + lb[3] + 2 * lp), radius=lp, fill=(8, 10, 18, 120))
        d.text((lx + lp, ly + lp), label, font=label_font, fill=(255, 255, 255, 230))
        picture.paste(Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB"))
