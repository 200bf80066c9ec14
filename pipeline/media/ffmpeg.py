"""ffmpeg plumbing: the binary from imageio-ffmpeg, cancellable runs, a raw-frame encoder, probing, PCM I/O.

Nothing needs a system ffmpeg. Every ffmpeg process in Reelsmith is started from this module.
"""

from __future__ import annotations

import functools
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.errors import Cancelled, MediaError
from pipeline.cancel import CancelToken
from pipeline.media.profile import EncodeProfile


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: Sequence[str], cancel: CancelToken | None = None, what: str = "ffmpeg") -> None:
    """Run ffmpeg with `args`; stop it promptly when `cancel` is set; raise MediaError with its last words."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            try:
                _, err = proc.communicate(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.cancelled:
                    proc.kill()
                    proc.wait()
                    raise Cancelled("render stopped") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise MediaError(f"{what} failed: {' | '.join(tail) or f'exit code {proc.returncode}'}")


# Every segment is converted with the same matrix and tagged the same, whatever its source.
TO_BT709 = "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"


def x264_args(profile: EncodeProfile) -> list[str]:
    """The encoder settings shared by every segment: identical parameters make the concat a stream copy."""
    return [
        "-c:v", "libx264",
        "-preset", profile.preset,
        "-crf", str(profile.crf),
        "-pix_fmt", profile.pix_fmt,
        "-profile:v", "high",
        "-g", str(profile.gop),
        "-keyint_min", str(profile.gop),
        "-sc_threshold", "0",
        "-r", str(profile.fps),
        "-video_track_timescale", str(profile.timescale),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        "-an",
    ]  # fmt: skip


class FrameEncoder:
    """Encode RGB frames (numpy HxWx3 uint8) straight into an H.264 file in the given profile.

    x264 (and the BT.709 colour conversion) run in ffmpeg's own process, so drawing and encoding use both cores.
    """

    def __init__(self, path: Path, profile: EncodeProfile, cancel: CancelToken | None = None):
        self.path = path
        self.profile = profile
        self.cancel = cancel
        self.frames = 0
        w, h = profile.width, profile.height
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(profile.fps), "-i", "-",
            "-vf", TO_BT709, *x264_args(profile), "-movflags", "+faststart", str(path),
        ]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, rgb: np.ndarray) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            self.abort()
            raise Cancelled("render stopped")
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
        except BrokenPipeError:
            self._fail()
        self.frames += 1

    def close(self) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        self._proc.wait()
        if self._proc.returncode != 0:
            self._fail()

    def abort(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _fail(self) -> None:
        self.abort()
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        raise MediaError(f"encoding {self.path.name} failed: {err.strip()[-300:]}")

    def __enter__(self) -> "FrameEncoder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None
    height: int | None
    fps: float | None
    frames: int | None
    has_video: bool
    has_audio: bool
    audio_rate: int | None


def probe(path: Path) -> MediaInfo:
    """Read a media file's streams and duration (moviepy's parser of ffmpeg's own report)."""
    from moviepy.video.io.ffmpeg_reader import ffmpeg_parse_infos

    try:
        info = ffmpeg_parse_infos(str(path), decode_file=False)
    except (OSError, IOError) as exc:
        raise MediaError(f"cannot read {Path(path).name}: {exc}") from None
    size = info.get("video_size") or (None, None)
    return MediaInfo(
        duration=float(info.get("duration") or 0.0),
        width=size[0],
        height=size[1],
        fps=info.get("video_fps"),
        frames=info.get("video_n_frames"),
        has_video=bool(info.get("video_found")),
        has_audio=bool(info.get("audio_found")),
        audio_rate=info.get("audio_fps"),
    )


def decode_audio(path: Path, rate: int = 48000, channels: int = 2) -> np.ndarray:
    """Decode any audio ffmpeg reads into int16 samples shaped (n, channels)."""
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", str(path), "-vn", "-f", "s16le", "-acodec", "pcm_s16le", "-ar", str(rate), "-ac", str(channels), "-",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise MediaError(f"cannot decode audio {Path(path).name}: {proc.stderr.decode(errors='replace')[-300:]}")
    return np.frombuffer(proc.stdout, dtype=np.int16).reshape(-1, channels)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    samples = np.ascontiguousarray(samples, dtype=np.int16)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return data.reshape(-1, channels), rate
