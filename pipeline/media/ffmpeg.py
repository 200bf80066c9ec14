"""ffmpeg plumbing: the binary from imageio-ffmpeg, cancellable runs, a raw-frame encoder, probing, PCM I/O.

Nothing needs a system ffmpeg. Every ffmpeg process in Reelsmith is started from this module.
"""

from __future__ import annotations

import functools
import queue
import subprocess
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from pipeline.errors import Cancelled, MediaError
from pipeline.cancel import CancelToken
from pipeline.media.budget import EncoderBudget, holding_budget  # noqa: F401 - re-exported
from pipeline.media.profile import EncodeProfile


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(
    args: Sequence[str],
    cancel: CancelToken | None = None,
    what: str = "ffmpeg",
    encodes: tuple[int, int] | None = None,
    encoders: EncoderBudget | None = None,
) -> None:
    """Run ffmpeg with `args`; stop it promptly when `cancel` is set; raise MediaError with its last words.

    `encodes=(width, height)` when the run encodes video, so it waits for room in the `encoders` memory budget
    (the step context's: the process's one budget, sized by the engine's settings).
    """
    if encodes is not None and encoders is not None:
        with encoders.holding(EncoderBudget.cost_mb(*encodes), cancel):
            return run_ffmpeg(args, cancel, what)
    _logged_run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], cancel, what)


def _logged_run(cmd: list[str], cancel: CancelToken | None, what: str) -> str:
    """Run one ffmpeg command to its end, or kill it at a stop; return what it logged (MediaError on failure)."""
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
    log = err.decode(errors="replace")
    if proc.returncode != 0:
        tail = log.strip().splitlines()[-3:]
        raise MediaError(f"{what} failed: {' | '.join(tail) or f'exit code {proc.returncode}'}")
    return log


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
        *(["-x264-params", profile.x264_params] if profile.x264_params else []),
        "-an",
    ]  # fmt: skip


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.709 limited-range planar YUV 4:2:0 (what every segment is tagged as), chroma averaged over 2×2."""
    x = rgb.astype(np.float32) / 255.0
    kr, kb = 0.2126, 0.0722
    y = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - kb))
    cr = (x[..., 0] - y) / (2 * (1 - kr))
    h, w = y.shape
    h2, w2 = h // 2 * 2, w // 2 * 2

    def quarter(c: np.ndarray) -> np.ndarray:
        c = c[:h2, :w2].reshape(h2 // 2, 2, w2 // 2, 2).mean(axis=(1, 3))
        return np.clip(np.round(128 + 224 * c), 16, 240).astype(np.uint8)

    return np.clip(np.round(16 + 219 * y), 16, 235).astype(np.uint8), quarter(cb), quarter(cr)


def force_keyframes_args(keyframes: Sequence[int]) -> list[str]:
    """ffmpeg options forcing a keyframe (closed-GOP IDR with x264) at each frame number; none for none."""
    if not keyframes:
        return []
    return ["-force_key_frames", "expr:" + "+".join(f"eq(n,{k})" for k in keyframes)]


class FrameEncoder:
    """Encode frames straight into an H.264 file in the given profile.

    `write(rgb)` takes HxWx3 uint8 RGB (ffmpeg converts to BT.709); `write_yuv(y, u, v)` takes planes already in
    BT.709 limited range (cheaper: half the bytes, no conversion). Frames are piped by a writer thread and x264
    runs in its own process, so drawing, piping and encoding overlap on both cores.
    """

    def __init__(
        self, path: Path, profile: EncodeProfile, cancel: CancelToken | None = None, planar: bool = False,
        keyframes: Sequence[int] = (),
        encoders: EncoderBudget | None = None,
    ):
        self.path = path
        self.profile = profile
        self.cancel = cancel
        self.frames = 0
        w, h = profile.width, profile.height
        self._cost = EncoderBudget.cost_mb(w, h)
        self._encoders = encoders  # the memory budget this encoder waits for room in (None: unbudgeted)
        if encoders is not None:
            encoders.acquire(self._cost, cancel)
        self._released = False
        source = ["-pix_fmt", "yuv420p"] if planar else ["-pix_fmt", "rgb24"]
        convert = [] if planar else ["-vf", TO_BT709]
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", *source, "-s", f"{w}x{h}", "-r", str(profile.fps), "-i", "-",
            *convert, *x264_args(profile), *force_keyframes_args(keyframes), "-movflags", "+faststart", str(path),
        ]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        # Frame buffers reused in turn for planar frames; more of them than can be in flight (queued + writing).
        self._ring: list[np.ndarray] = []
        self._ring_next = 0
        self._broken = False
        self._writer = threading.Thread(target=self._pump, name="frame-writer", daemon=True)
        self._writer.start()

    def _pump(self) -> None:
        assert self._proc.stdin is not None
        while (chunk := self._queue.get()) is not None:
            if self._broken:
                continue
            try:
                self._proc.stdin.write(chunk)
            except (BrokenPipeError, ValueError):
                self._broken = True
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    def _put(self, data: Any) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            self.abort()
            raise Cancelled("render stopped")
        if self._broken:
            self._fail()
        self._queue.put(data)
        self.frames += 1

    def write(self, rgb: np.ndarray) -> None:
        self._put(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())

    def write_yuv(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        py, pu, pv = self.planar_frame()
        py[:], pu[:], pv[:] = y, u, v
        self.write_planar_frame()

    def planar_frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Writable Y, U, V planes of the next frame buffer: draw into them, then `write_planar_frame()`."""
        w, h = self.profile.width, self.profile.height
        if not self._ring:
            self._ring = [np.empty(w * h * 3 // 2, np.uint8) for _ in range(self._queue.maxsize + 2)]
        buf = self._ring[self._ring_next]
        luma, chroma = w * h, (w // 2) * (h // 2)
        return (buf[:luma].reshape(h, w), buf[luma : luma + chroma].reshape(h // 2, w // 2),
                buf[luma + chroma :].reshape(h // 2, w // 2))  # fmt: skip

    def write_planar_frame(self) -> None:
        self._put(memoryview(self._ring[self._ring_next]))
        self._ring_next = (self._ring_next + 1) % len(self._ring)

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join()
        self._proc.wait()
        self._release()
        if self._proc.returncode != 0 or self._broken:
            self._fail()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            if self._encoders is not None:
                self._encoders.release(self._cost)

    def abort(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._release()
        if self._writer.is_alive():
            self._broken = True
            while self._writer.is_alive():
                try:
                    self._queue.put(None, timeout=0.05)
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        pass

    def _fail(self) -> None:
        self.abort()
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        raise MediaError(f"encoding {self.path.name} failed: {err.strip()[-300:] or 'the encoder stopped'}")

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



def ffmpeg_report(args: Sequence[str], cancel: CancelToken | None = None, what: str = "ffmpeg") -> str:
    """Run ffmpeg at log level info and return what it logged (filters such as ebur128 print their measurements
    there). Cancellable like run_ffmpeg; raises MediaError when ffmpeg fails."""
    return _logged_run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", *args], cancel,
                       what)
