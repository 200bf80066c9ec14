"""How much memory x264 encoders may hold at once: one budget per process, sized by the engine's settings
(`EngineSettings.encoder_memory_mb`, pipeline/services.py) and handed to every encode through the step context.

Kept apart from pipeline/media/ffmpeg.py so that building the services does not import numpy.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from pipeline.cancel import CancelToken
from pipeline.errors import Cancelled


class EncoderBudget:
    """Limits how much memory x264 encoders (and the other large working sets: the finished sound's mix) may hold
    at once: one per Services, so one per process at the CLI and
    the studio (every render they start shares it).

    An x264 encoder holds frames (lookahead, references, threads): with our settings (sliced threads, 5-frame
    lookahead) measured ~217 MB at 1080p. Two or three at 720p fit the default budget; at 1080p they take turns,
    which costs little time because one encoder already uses both cores. One larger than the budget runs alone.
    """

    def __init__(self, budget_mb: float):
        self.budget_mb = budget_mb
        self.used_mb = 0.0
        self._cond = threading.Condition()

    @staticmethod
    def cost_mb(width: int, height: int) -> float:
        return 25.0 + 85.0 * (width * height) / (1280 * 720)

    @staticmethod
    def sound_cost_mb(samples: int) -> float:
        """The finished sound's working memory (pipeline.media.music.finish_sound: narration, bed, gains and mix
        as float arrays) for `samples` stereo samples: measured +171 MB for 110 s at 48 kHz, ~33 bytes a sample.
        Held in the same budget, so a long video's mix does not land on top of a 1080p encoder."""
        return 10.0 + 33.0 * samples / 1e6

    def acquire(self, cost_mb: float, cancel: CancelToken | None = None) -> None:
        with self._cond:
            while self.used_mb > 0 and self.used_mb + cost_mb > self.budget_mb:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("render stopped")
                self._cond.wait(timeout=0.1)
            self.used_mb += cost_mb

    def release(self, cost_mb: float) -> None:
        with self._cond:
            self.used_mb = max(0.0, self.used_mb - cost_mb)
            self._cond.notify_all()

    @contextlib.contextmanager
    def holding(self, cost_mb: float, cancel: CancelToken | None = None) -> Iterator[None]:
        self.acquire(cost_mb, cancel)
        try:
            yield
        finally:
            self.release(cost_mb)


def holding_budget(encoders: EncoderBudget | None, cost_mb: float,
                   cancel: CancelToken | None = None) -> contextlib.AbstractContextManager[None]:  # fmt: skip
    """Hold `cost_mb` of `encoders` (None: no budget to respect, as in a provider's unit test)."""
    return encoders.holding(cost_mb, cancel) if encoders is not None else contextlib.nullcontext()
