"""Frame sizes for image models that make only some sizes (FLUX: multiples of 16 or 32 px within 256..1440).

We ask for the frame's aspect at the size the frame needs (no larger: bigger costs more and is scaled away), then
fit the answer to the exact frame, cropping at most a sliver. A frame whose aspect cannot be made within that
sliver is refused before anything is paid for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageOps

MAX_CROP = 0.05  # |log(aspect error)| the fitting may crop away; beyond it the frame's aspect cannot be made


@dataclass(frozen=True)
class SizeGrid:
    step: int
    min_side: int = 256
    max_side: int = 1440

    def generation_size(self, width: int, height: int) -> tuple[int, int]:
        """The frame's aspect in multiples of `step` within min..max, as large as the frame needs and no larger."""
        scale = min(1.0, self.max_side / max(width, height))

        def side(value: float) -> int:
            snapped = math.floor(value * scale / self.step + 0.5) * self.step
            return min(self.max_side, max(self.min_side, snapped))

        return side(width), side(height)

    def problem(self, width: int, height: int, maker: str) -> str | None:
        """Why a `width`x`height` frame cannot be made (None when it can); `maker` names who makes it."""
        if width <= 0 or height <= 0:
            return f"the frame size {width}x{height} is not a picture size"
        w, h = self.generation_size(width, height)
        if abs(math.log((w / h) / (width / height))) > MAX_CROP:
            return (f"{maker} makes images {self.min_side} to {self.max_side} px a side (aspect ratios up to about "
                    f"5.6:1); a {width}x{height} frame cannot be made")  # fmt: skip
        return None


def fit_to_frame(image: Image.Image, width: int, height: int) -> Image.Image:
    """The generated picture scaled and centre-cropped to the exact frame."""
    return ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
