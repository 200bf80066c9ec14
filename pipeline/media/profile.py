"""The delivery format every scene segment is encoded to."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class EncodeProfile:
    """The one format every scene segment is encoded to, so the final join is a stream copy."""

    width: int
    height: int
    fps: int = 24
    crf: int = 20
    preset: str = "veryfast"
    pix_fmt: str = "yuv420p"
    x264_params: str = ""
    gop: int = 48
    timescale: int = 12288
    audio_rate: int = 48000
    audio_channels: int = 2
    aac_coder: str = "twoloop"  # ffmpeg's AAC coder for the sound track (`fast` for a draft: half the CPU)

    @property
    def id(self) -> str:
        tuned = f"-{self.x264_params}" if self.x264_params else ""
        return "h264-{width}x{height}-{fps}fps-crf{crf}-{preset}-{pix_fmt}-g{gop}-ts{timescale}".format(
            **dataclasses.asdict(self)
        ) + tuned
