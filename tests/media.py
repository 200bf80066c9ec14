"""Looking at media as a person would, in tests: ffprobe's report, decoded frames and sound."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from pipeline.media.ffmpeg import decode_audio, ffmpeg_exe


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON report (Debian's ffprobe: an independent reader of what our ffmpeg wrote)."""
    exe = shutil.which("ffprobe")
    assert exe, "ffprobe is missing: install Debian's ffmpeg package (.ci/run does)"
    out = subprocess.run(
        [exe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-count_frames", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def streams(report: dict, kind: str) -> list[dict]:
    return [s for s in report["streams"] if s["codec_type"] == kind]


def frame_at(path: Path, seconds: float, width: int, height: int) -> np.ndarray:
    """One decoded RGB frame at a time position."""
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    )  # fmt: skip
    return np.frombuffer(out.stdout, dtype=np.uint8).reshape(height, width, 3)


def sound(path: Path, rate: int = 48000) -> np.ndarray:
    """The whole sound track as mono float32 in -1..1."""
    return decode_audio(path, rate, 2).astype(np.float32).mean(axis=1) / 32768.0


def rms_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(np.square(samples)))), 1e-9)))
