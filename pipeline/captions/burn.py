"""Burn cue images into a scene's segment: decode its frames, blend each cue over the frames it is on screen,
encode again in the delivery profile (so the join still stream-copies every segment).

Blending happens on the decoded BT.709 YUV 4:2:0 planes, only inside each cue's rectangle: no RGB round trip
for the rest of the picture, and a frame without a cue is passed through unchanged (it is still re-encoded: a
segment is one H.264 stream).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.cancel import CancelToken
from pipeline.captions.render import CueFrame
from pipeline.errors import MediaError
from pipeline.media.budget import EncoderBudget
from pipeline.media.ffmpeg import FrameEncoder, ffmpeg_exe, rgb_to_yuv420
from pipeline.media.profile import EncodeProfile


@dataclass(frozen=True)
class _Patch:
    """A cue image ready to blend: its planes and alphas (chroma at half size), the frames it is shown on."""

    first: int
    last: int  # exclusive
    x: int  # even, so the chroma planes line up
    y: int
    luma: np.ndarray
    chroma_u: np.ndarray
    chroma_v: np.ndarray
    alpha: np.ndarray
    alpha_half: np.ndarray


def shown_frames(start: float, end: float, fps: int) -> tuple[int, int]:
    """The frames [first, last) whose display time k/fps lies in [start, end)."""
    return int(np.ceil(start * fps - 1e-6)), int(np.ceil(end * fps - 1e-6))


def cue_patch(frame: CueFrame, fps: int, width: int, height: int) -> _Patch | None:
    """`frame`'s image ready to blend into a `width` x `height` picture's planes (None: nothing of it shows)."""
    image = frame.image.image
    x, y = frame.image.x // 2 * 2, frame.image.y // 2 * 2
    w, h = min(image.width, width - x) // 2 * 2, min(image.height, height - y) // 2 * 2
    first, last = shown_frames(frame.start, frame.end, fps)
    if w <= 0 or h <= 0 or last <= first:
        return None
    rgba = np.asarray(image, dtype=np.uint8)[:h, :w]
    luma, u, v = rgb_to_yuv420(rgba[..., :3])
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    # Chroma of a half-transparent edge pixel is weighted by its alpha (premultiplied) before averaging.
    alpha_half = alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    weighted_u, weighted_v = _premultiplied_chroma(rgba, alpha)
    safe = np.maximum(alpha_half, 1e-6)
    u = np.where(alpha_half > 0, weighted_u / safe, u)
    v = np.where(alpha_half > 0, weighted_v / safe, v)
    return _Patch(first, last, x, y, luma.astype(np.float32), u.astype(np.float32), v.astype(np.float32), alpha,
                  alpha_half)  # fmt: skip


def _premultiplied_chroma(rgba: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = rgba[..., :3].astype(np.float32) / 255.0
    kr, kb = 0.2126, 0.0722
    y = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    cb = 128 + 224 * (x[..., 2] - y) / (2 * (1 - kb))
    cr = 128 + 224 * (x[..., 0] - y) / (2 * (1 - kr))
    h, w = alpha.shape

    def quarter(c: np.ndarray) -> np.ndarray:
        return (c * alpha).reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return quarter(cb), quarter(cr)


def _blend(plane: np.ndarray, x: int, y: int, over: np.ndarray, alpha: np.ndarray) -> None:
    h, w = over.shape
    region = plane[y : y + h, x : x + w].astype(np.float32)
    plane[y : y + h, x : x + w] = np.round(region + (over - region) * alpha).astype(np.uint8)


def blend_patch(p: _Patch, py: np.ndarray, pu: np.ndarray, pv: np.ndarray) -> None:
    """Lay `p` over a frame's Y, U and V planes, in place."""
    _blend(py, p.x, p.y, p.luma, p.alpha)
    _blend(pu, p.x // 2, p.y // 2, p.chroma_u, p.alpha_half)
    _blend(pv, p.x // 2, p.y // 2, p.chroma_v, p.alpha_half)


class Overlays:
    """Cue images blended into a clip's frames in turn: each is made ready when its first frame comes and dropped
    after its last, so only the images on screen are held (a karaoke scene has one per word)."""

    def __init__(self, cue_frames: Sequence[CueFrame], fps: int, width: int, height: int):
        self._pending = sorted(cue_frames, key=lambda f: f.start, reverse=True)  # next to show last
        self._fps, self._size = fps, (width, height)
        self._on: list[_Patch] = []

    def blend(self, index: int, py: np.ndarray, pu: np.ndarray, pv: np.ndarray) -> None:
        """Lay every image shown on frame `index` over its planes, in place (frames come in order)."""
        while self._pending and shown_frames(self._pending[-1].start, 0, self._fps)[0] <= index:
            patch = cue_patch(self._pending.pop(), self._fps, *self._size)
            if patch is not None:
                self._on.append(patch)
        self._on = [p for p in self._on if p.last > index]
        for p in self._on:
            if p.first <= index:
                blend_patch(p, py, pu, pv)


def burn_cues(segment: Path, out: Path, frames: int, profile: EncodeProfile, cue_frames: Sequence[CueFrame],
              cancel: CancelToken | None = None, keyframes: Sequence[int] = (),
              encoders: EncoderBudget | None = None) -> Path:  # fmt: skip
    """`segment` (in `profile`, `frames` long) with `cue_frames` drawn over it, encoded to `out`, with a keyframe
    at each of `keyframes` (a transition's cut points: the join copies the middle between them)."""
    w, h = profile.width, profile.height
    overlays = Overlays(cue_frames, profile.fps, w, h)
    luma, chroma = w * h, (w // 2) * (h // 2)
    size = luma + 2 * chroma
    # Single-threaded, as in last_frame_planes: a frame-threaded decoder holds several frames (~40 MB more at 1080p)
    # and decoding is a fraction of the encode it feeds.
    decode = [ffmpeg_exe(), "-v", "error", "-nostdin", "-threads", "1", "-i", str(segment), "-f", "rawvideo", "-pix_fmt",
              "yuv420p", "-"]
    decoder: subprocess.Popen[bytes] | None = None
    written = 0
    try:
        with FrameEncoder(out, profile, cancel, planar=True, keyframes=keyframes, encoders=encoders) as encoder:
            # Started once the encoder has room in the memory budget: a decoder started before would fill its
            # buffers (~90 MB at 1080p) while the encoder waits its turn.
            decoder = subprocess.Popen(decode, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert decoder.stdout is not None
            while written < frames:
                raw = decoder.stdout.read(size)
                if len(raw) < size:
                    break
                py, pu, pv = encoder.planar_frame()
                py[:] = np.frombuffer(raw, np.uint8, luma).reshape(h, w)
                pu[:] = np.frombuffer(raw, np.uint8, chroma, luma).reshape(h // 2, w // 2)
                pv[:] = np.frombuffer(raw, np.uint8, chroma, luma + chroma).reshape(h // 2, w // 2)
                overlays.blend(written, py, pu, pv)
                encoder.write_planar_frame()
                written += 1
            if written < frames:  # raised inside: the encoder is aborted, not finished
                raise MediaError(f"burning captions into {segment.name}: it has {written} frames, {frames} expected")
    finally:
        if decoder is not None:
            decoder.kill()
            decoder.wait()
    return out
