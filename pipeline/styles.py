"""The four style presets, as data, in one place.

`prompt_suffix` is what a text-to-image model is told (from the original design); the offline draft renderer
reads the rest to look different per style.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StyleName = Literal["photorealistic", "artistic", "anime", "3d"]


@dataclass(frozen=True)
class StylePreset:
    name: str
    label: str
    prompt_suffix: str


STYLE_PRESETS: dict[str, StylePreset] = {
    "photorealistic": StylePreset(
        "photorealistic", "Photorealistic", "photorealistic, high detail, 4k, cinematic lighting"
    ),
    "artistic": StylePreset("artistic", "Artistic", "artistic, painterly, expressive brushstrokes"),
    "anime": StylePreset("anime", "Anime", "anime style, cel shaded, vibrant colors"),
    "3d": StylePreset("3d", "3D render", "3d rendered, octane render, volumetric lighting"),
}


def enhance_prompt(prompt: str, style: str) -> str:
    """The prompt a model receives: the user's words, then the style's modifiers."""
    prompt = prompt.strip().rstrip(",.")
    return f"{prompt}, {STYLE_PRESETS[style].prompt_suffix}"
