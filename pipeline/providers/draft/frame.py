"""One frame, start to finish: read the request, paint the scene's layers, apply the style's finish and scale it
to the requested size (the slate is drawn later, over the video: title_card.py).

Drawing happens at a fixed internal size (short side 540 px, so every output size shows the same picture); the
result is scaled up.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image

from pipeline.providers.base import ImageRequest, StepContext
from pipeline.providers.draft.canvas import Painter
from pipeline.providers.draft.finishes import apply_finish
from pipeline.providers.draft.layers import paint_scene
from pipeline.providers.draft.prompt import stable_hash
from pipeline.providers.draft.scene import Scene
from pipeline.providers.draft.title_card import STYLE_LABELS

INTERNAL_SHORT_SIDE = 540


def render(request: ImageRequest, ctx: StepContext) -> Image.Image:
    """The finished frame for a request."""
    w, h = request.width, request.height
    scene, style_noise = prepare(request)
    painter = scene.painter
    paint_scene(scene, ctx)
    ctx.progress(0.6)
    picture = apply_finish(painter, scene.layout, style_noise)
    ctx.progress(0.75)
    if (painter.w, painter.h) != (w, h):
        picture = picture.resize((w, h), Image.BICUBIC if painter.style == "anime" else Image.BILINEAR)
    return picture


def prepare(request: ImageRequest) -> tuple[Scene, np.random.Generator]:
    """The scene to paint at the internal size (nothing painted yet), and the random source of the style's finish."""
    w, h = request.width, request.height
    words = request.scene_prompt if request.scene_prompt.strip() else request.prompt
    style = request.style if request.style in STYLE_LABELS else "photorealistic"
    seed = request.seed & 0xFFFFFFFFFFFFFFFF
    # The composition depends on the words and the seed only, so a scene keeps its layout in every style.
    scene_choices = random.Random(seed ^ stable_hash(words))
    style_noise = np.random.default_rng(seed ^ stable_hash(f"{words}\x00{style}"))
    scale = INTERNAL_SHORT_SIDE / min(w, h)
    iw, ih = max(32, round(w * scale)), max(32, round(h * scale))
    return Scene(Painter(iw, ih, style), words, scene_choices), style_noise
