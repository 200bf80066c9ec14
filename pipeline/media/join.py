"""Assembly: one continuous sound track encoded once, then the final join, a stream copy of everything.

Every segment was encoded with identical parameters (pipeline.media.ffmpeg.x264_args), so the ffmpeg concat
demuxer can copy the picture without decoding it. Sound is never joined as AAC: separately encoded AAC
segments each carry encoder priming and padding, which adds gaps (clicks and drift) at every boundary. The scene
tracks are PCM of exact length, concatenated sample for sample, and the whole track is encoded once — as soon as
every narration is mixed, while pictures may still be rendering — so the join itself encodes nothing.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Literal

from pipeline.errors import MediaError
from pipeline.media.ffmpeg import EncoderBudget, run_ffmpeg
from pipeline.cancel import CancelToken
from pipeline.media.profile import EncodeProfile

JOIN_VERSION = "1"
AUDIO_BITRATE = "192k"
# webm's picture: the joined H.264 transcoded once (a VP9 stream cannot be built from our H.264 segments by copy).
VP9_ARGS = ["-b:v", "0", "-crf", "32", "-row-mt", "1", "-deadline", "realtime", "-cpu-used", "8"]


def concat_wavs(parts: list[Path], out: Path) -> Path:
    """Concatenate PCM WAV files of one format, sample for sample."""
    params = None
    with wave.open(str(out), "wb") as dst:
        for part in parts:
            with wave.open(str(part), "rb") as src:
                p = (src.getnchannels(), src.getsampwidth(), src.getframerate())
                if params is None:
                    params = p
                    dst.setnchannels(p[0])
                    dst.setsampwidth(p[1])
                    dst.setframerate(p[2])
                elif p != params:
                    raise MediaError(f"{part.name} has audio format {p}, expected {params}")
                dst.writeframes(src.readframes(src.getnframes()))
    return out


def encode_soundtrack(
    mixes: list[Path],
    out: Path,
    profile: EncodeProfile,
    fmt: Literal["mp4", "mov", "webm"] = "mp4",
    cancel: CancelToken | None = None,
) -> Path:
    """Concatenate the scenes' PCM sample for sample and encode the whole track once (AAC, or Opus for webm)."""
    if not mixes:
        raise MediaError("a sound track needs at least one scene")
    track = concat_wavs(mixes, out.parent / "soundtrack.wav")
    if fmt == "webm":
        codec = ["-c:a", "libopus", "-b:a", "128k"]
    else:
        codec = ["-c:a", "aac", "-aac_coder", profile.aac_coder, "-b:a", AUDIO_BITRATE]
    args = ["-i", str(track), *codec, "-ar", str(profile.audio_rate), "-ac", str(profile.audio_channels), str(out)]
    run_ffmpeg(args, cancel, what="encoding the sound track")
    return out


def soundtrack_suffix(fmt: str) -> str:
    return ".ogg" if fmt == "webm" else ".m4a"


def join_segments(
    videos: list[Path],
    soundtrack: Path,
    out: Path,
    profile: EncodeProfile,
    fmt: Literal["mp4", "mov", "webm"] = "mp4",
    cancel: CancelToken | None = None,
    encoders: EncoderBudget | None = None,
) -> Path:
    """Join the scenes' pictures (stream copy; VP9 transcode for webm) with the encoded sound track (copied)."""
    if not videos:
        raise MediaError("join needs at least one segment")
    listing = out.parent / "segments.ffconcat"
    lines = ["ffconcat version 1.0"] + [f"file '{_quote(v.resolve())}'" for v in videos]
    listing.write_text("\n".join(lines) + "\n")
    args = ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(soundtrack),
            "-map", "0:v:0", "-map", "1:a:0", "-c:a", "copy"]  # fmt: skip
    if fmt == "webm":
        args += ["-c:v", "libvpx-vp9", *VP9_ARGS]
    else:
        args += ["-c:v", "copy", "-movflags", "+faststart"]
    args += [str(out)]
    encodes = (profile.width, profile.height) if fmt == "webm" else None  # stream copy otherwise: no encoder
    run_ffmpeg(args, cancel, what="joining the scenes", encodes=encodes, encoders=encoders)
    return out


def _quote(path: Path) -> str:
    return str(path).replace("'", "'\\''")
