"""Offline image provider `draft`: an animatic frame for a prompt, drawn with Pillow and numpy.

The picture is composed from the words of the user's prompt (mountains, sunset, sea, city, forest, rain, fog, a
lighthouse, a traveller, …), lit by its time of day and finished in the style's look: soft grain and vignette for
photorealistic, brush strokes on canvas for artistic, flat cel shading with ink outlines for anime, shaded forms
with light shafts and bloom for 3D. The user's words go on a slate that the camera-move provider draws at the
top edge of the video (meta "slate"). Same request → same bytes.

The painter, by module:
  prompt      words → scene elements (features) and the time of day
  palettes    the colours for a time of day and scenery (or an abstract prompt's mood)
  raster      colour arithmetic and numpy ↔ Pillow conversions
  noise       smooth random fields (value noise and its fractal sums)
  canvas      Pen (shapes onto a supersampled mask) and Painter (the float canvas, masks, shading, glows)
  scene       the layout (horizon, light, street) and the state the layers share
  layers      the table of layers, each with the condition that draws it; one module per part of the picture
  finishes    the style finishes (photorealistic, artistic, anime, 3d)
  title_card  the slate: a small label with the style and the prompt, at the top edge of the video
  frame       one frame start to finish: paint, finish, scale
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.base import ImageProvider, ImageRequest, StepContext, StepOutput, register
from pipeline.providers.draft.frame import render
from pipeline.providers.draft.title_card import slate_text


@register
class DraftImageProvider(ImageProvider):
    name = "draft"
    label = "Draft renderer (offline)"
    display_name = "offline sketch"
    # 5: a small slate near the top instead of a subtitle-like band at the bottom; 6: no slate in the still (the
    # motion provider draws it at the top edge of the video, after the camera move)
    version = "6"
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
        words = request.scene_prompt if request.scene_prompt.strip() else request.prompt
        slate = slate_text(words, request.style)
        return StepOutput(out, {"width": request.width, "height": request.height, "slate": slate})
