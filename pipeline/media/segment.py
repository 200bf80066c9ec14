"""A scene's segment: its picture fitted to the common format and exact length, and its sound as exact PCM.

Timing rule: a scene lasts its requested duration, stretched when its narration (plus a short lead-in and
tail) is longer; the picture then holds its last frame, so no word is ever cut. Narration shorter than the
picture is padded with silence. The segment's audio has exactly frames × rate / fps samples, so picture and
sound agree to the sample, and the joined sound track is built from PCM and encoded once (no AAC priming gaps).
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np

from pipeline.errors import MediaError
from pipeline.media.ffmpeg import (
    TO_BT709,
    EncoderBudget,
    FrameEncoder,
    decode_audio,
    holding_budget,
    ffmpeg_exe,
    probe,
    run_ffmpeg,
    write_wav,
    x264_args,
)
from pipeline.cancel import CancelToken
from pipeline.media.profile import EncodeProfile
from pipeline.media.ffmpeg import force_keyframes_args

# Picture before the first word, and after the last word before the cut.
NARRATION_LEAD = 0.25
NARRATION_TAIL = 0.45
# Narration is levelled to this RMS (dBFS, over its voiced parts) so scenes from different voices match.
NARRATION_RMS_DBFS = -17.0  # about -16 LUFS, the usual loudness for web video
PEAK_CEILING_DBFS = -1.0
# Seconds over which narration cut short by its scene's end fades out (`output.max_scene_seconds`).
NARRATION_CUT_FADE = 0.15

SEGMENT_VERSION = "2"


def segment_frames(duration: float, narration_seconds: float | None, fps: int, head: int = 0, tail: int = 0,
                   max_seconds: float | None = None) -> int:  # fmt: skip
    """Frames in a scene's segment: the requested duration, or longer if the narration needs it, but never more
    than `max_seconds` (then the narration is cut).

    `head`/`tail`: frames the previous/next scene's transition overlaps this one by; the narration (with its lead
    and tail) must fit between them, so neither scene's voice is spoken over or cut by the other's."""
    need = float(duration)
    if narration_seconds:
        need = max(need, NARRATION_LEAD + narration_seconds + NARRATION_TAIL + (head + tail) / fps)
    if max_seconds is not None:
        need = min(need, float(max_seconds))
    return math.ceil(need * fps - 1e-6)


def samples_for_frames(frames: int, profile: EncodeProfile) -> int:
    return round(frames * profile.audio_rate / profile.fps)


def clip_in_profile(meta: dict, profile: EncodeProfile) -> bool:
    """Whether a clip was encoded in the delivery profile (so it can be stream-copied, not re-encoded)."""
    return meta.get("profile") == profile.id and isinstance(meta.get("frames"), int)


def hold_last_frame(
    clip: Path, clip_frames: int, out: Path, frames: int, profile: EncodeProfile, cancel: CancelToken | None = None,
    encoders: EncoderBudget | None = None,
) -> Path:
    """Lengthen a clip that is already in the profile by holding its last frame, without re-encoding the clip.

    Only the still tail is encoded (a still encodes at hundreds of frames a second); clip and tail are then
    joined by stream copy. Identical encoder settings give identical stream parameters, so the copy is valid.
    """
    extra = frames - clip_frames
    if extra <= 0:
        raise MediaError(f"nothing to hold: the clip has {clip_frames} frames, the segment needs {frames}")
    y, u, v = last_frame_planes(clip, profile.width, profile.height, encoders)
    tail = out.parent / "hold.mp4"
    with FrameEncoder(tail, profile, cancel, planar=True, encoders=encoders) as encoder:
        for _ in range(extra):
            encoder.write_yuv(y, u, v)
    listing = out.parent / "hold.ffconcat"
    listing.write_text(f"ffconcat version 1.0\nfile '{clip.resolve()}'\nfile '{tail.resolve()}'\n")
    run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(out)],
               cancel, what=f"lengthening {clip.name}")  # fmt: skip
    return out


def last_frame_planes(clip: Path, width: int, height: int, encoders: EncoderBudget | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The clip's final picture as its decoded Y, U, V planes (no colour conversion, so no drift)."""
    # Single-threaded: a frame-threaded decoder holds several frames (~90 MB at 1080p) for one picture.
    with holding_budget(encoders, EncoderBudget.cost_mb(width, height) / 3):
        raw = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-threads", "1", "-sseof", "-0.5", "-i", str(clip),
             "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
            capture_output=True,
        )  # fmt: skip
    luma, chroma = width * height, (width // 2) * (height // 2)
    size = luma + 2 * chroma
    if raw.returncode != 0 or len(raw.stdout) < size:
        raise MediaError(f"cannot read the last frame of {clip.name}: {raw.stderr.decode(errors='replace')[-200:]}")
    frame = np.frombuffer(raw.stdout[-size:], dtype=np.uint8)
    return (frame[:luma].reshape(height, width), frame[luma : luma + chroma].reshape(height // 2, width // 2),
            frame[luma + chroma :].reshape(height // 2, width // 2))  # fmt: skip


def fit_clip(
    clip: Path,
    out: Path,
    frames: int,
    profile: EncodeProfile,
    cancel: CancelToken | None = None,
    watermark: Path | None = None,
    keyframes: tuple[int, ...] = (),
    label: Path | None = None,
    encoders: EncoderBudget | None = None,
) -> Path:
    """Re-encode a clip into the profile: cover-fit to size, constant fps, hold the last frame to `frames`; with
    GOPs starting at `keyframes` too (a transition's cut points); the watermark goes in the bottom-right corner,
    the label in the top-right."""
    info = probe(clip)
    if not info.has_video:
        raise MediaError(f"{clip.name} has no video stream")
    w, h = profile.width, profile.height
    hold = max(0.0, frames / profile.fps - info.duration) + 1.0
    chain = (
        f"[0:v]scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,crop={w}:{h},setsar=1,"
        f"fps={profile.fps},tpad=stop_mode=clone:stop_duration={hold:.3f}"
    )
    args: list[str] = ["-i", str(clip)]
    marks = [(png, at) for png, at in ((watermark, f"W-w-{w // 60}:H-h-{h // 40}"), (label, f"W-w-{w // 60}:{h // 40}"))
             if png is not None]  # fmt: skip
    for n, (png, at) in enumerate(marks, start=1):
        args += ["-loop", "1", "-i", str(png)]
        below = "base" if n == 1 else f"marked{n - 1}"
        chain += f"[{below}];[{below}][{n}:v]overlay={at}:format=auto"
    chain += f",{TO_BT709}[v]"
    args += ["-filter_complex", chain, "-map", "[v]", "-frames:v", str(frames)]
    args += [*x264_args(profile), *force_keyframes_args(keyframes), "-movflags", "+faststart", str(out)]
    run_ffmpeg(args, cancel, what=f"fitting {clip.name}", encodes=(w, h), encoders=encoders)
    return out


def build_scene_audio(
    voice: Path | None, frames: int, profile: EncodeProfile, out: Path, lead: float = NARRATION_LEAD
) -> Path:
    """Write the scene's sound as PCM WAV of exactly the segment's length: silence, narration, silence."""
    total = samples_for_frames(frames, profile)
    track = np.zeros((total, profile.audio_channels), dtype=np.int16)
    if voice is not None:
        speech = level_narration(decode_audio(voice, profile.audio_rate, profile.audio_channels))
        start = min(round(lead * profile.audio_rate), total)
        n = min(len(speech), total - start)
        track[start : start + n] = speech[:n]
        if n < len(speech):  # a scene capped shorter than its narration (a preview): fade the cut, no click
            fade = min(n, round(NARRATION_CUT_FADE * profile.audio_rate))
            ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
            track[start + n - fade : start + n] = np.round(track[start + n - fade : start + n] * ramp).astype(np.int16)
    write_wav(out, track, profile.audio_rate)
    return out


def level_narration(pcm: np.ndarray) -> np.ndarray:
    """Bring speech to a common loudness with a peak ceiling, and soften its edges so the cut never clicks."""
    if len(pcm) == 0:
        return pcm
    x = pcm.astype(np.float32) / 32768.0
    # Loudness over the voiced 20 ms windows only, so pauses between sentences do not count as quiet speech.
    window = 960
    usable = len(x) // window * window
    if usable:
        windows = np.sqrt(np.mean(np.square(x[:usable].reshape(-1, window, x.shape[1])), axis=(1, 2)))
        voiced = windows > 10 ** (-50 / 20)
        if voiced.any():
            rms = float(np.sqrt(np.mean(np.square(windows[voiced]))))
            gain = 10 ** (NARRATION_RMS_DBFS / 20) / max(rms, 1e-6)
            peak = float(np.abs(x).max()) * gain
            ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
            if peak > ceiling:
                gain *= ceiling / peak
            x *= gain
    fade = min(len(x) // 2, 240)  # 5 ms at 48 kHz
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
