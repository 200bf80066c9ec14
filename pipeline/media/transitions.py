"""Transitions between scenes, re-encoding only the frames where two scenes overlap.

A transition of O frames overlaps scene i's last O frames with scene i+1's first O frames, so the video is O frames
shorter. Each segment that has a transition is encoded with keyframes forced at its cut points (frame O_in after
its head, frame n - O_out before its tail: `cut_keyframes`), so the join can stream-copy every segment's middle,
[O_in, n - O_out), cut on keyframes, and only the blended O frames of each boundary are encoded, by
`render_transition`, once per boundary and cached. The join's cost grows with the number of transitions, not with
the video's length:

    scene i:   ──copy──────┐
                           ├── transition piece (O frames, encoded) ──┐
    scene i+1:             └─ (its first O frames are in the piece)   └──copy──────────

Sound: `overlap_mixes` lays the scenes' PCM mixes end to end with each overlap crossfaded (equal power), so the
sound track is exactly as long as the picture. A scene's narration is placed after its incoming overlap and ends
before its outgoing one (see pipeline.media.segment.segment_frames), so in an overlap only silence and the voices'
soft edges meet: no word is cut or spoken over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from pipeline.cancel import CancelToken
from pipeline.errors import MediaError
from pipeline.media.budget import EncoderBudget
from pipeline.media.ffmpeg import force_keyframes_args, read_wav, run_ffmpeg, write_wav, x264_args
from pipeline.media.join import VP9_ARGS
from pipeline.media.mp4index import read_video_index
from pipeline.media.profile import EncodeProfile

TRANSITION_VERSION = "3"  # 2: fade_black reaches black at its midpoint; 3: crossfade by overlay (exact chroma)
TransitionType = Literal["cut", "crossfade", "fade_black"]


def cut_keyframes(frames: int, head: int, tail: int) -> tuple[int, ...]:
    """The frames a segment of `frames` must start a GOP at so its middle can be cut out by stream copy."""
    return tuple(k for k in (head, frames - tail) if 0 < k < frames)


def middle_is_copyable(path: Path, frames: int, head: int, tail: int, held_from: int | None = None) -> bool:
    """Whether a clip already in the profile can be a segment with these overlaps as it is (no re-encode): some GOP
    starts at or after the head's cut and at or before the tail's, so the join can copy a middle out of it and the
    transitions re-encode from the nearest keyframes (at most a GOP more each). `held_from`: the clip is lengthened
    from that frame by a held still, which starts a GOP there."""
    try:
        keys = set(read_video_index(path).keyframes)
    except MediaError:
        return False
    if held_from is not None:
        keys = {k for k in keys if k < held_from} | {held_from}
    start = 0 if not head else min((k for k in keys if k >= head), default=frames)
    end = frames if not tail else max((k for k in keys if k <= frames - tail), default=0)
    return start <= end


@dataclass(frozen=True)
class TransitionPiece:
    """The encoded frames of one boundary: scene i from frame `a_from` to its end, blended with scene i+1 from its
    start to frame `b_to` (the cut points, when the segments have keyframes there)."""

    path: Path
    a_from: int
    b_to: int
    frames: int


def render_transition(
    a: Path, b: Path, kind: TransitionType, overlap: int, profile: EncodeProfile, out: Path,
    cancel: CancelToken | None = None, encoders: EncoderBudget | None = None,
) -> TransitionPiece:  # fmt: skip
    """Encode the boundary between segments `a` and `b`: a's tail crossfaded (or faded through black) into b's head
    over `overlap` frames, from a's last keyframe at or before the overlap to b's first keyframe at or after it."""
    if kind not in ("crossfade", "fade_black"):
        raise MediaError(f"no picture to render for a {kind!r} transition")
    ia, ib = read_video_index(a), read_video_index(b)
    if not 0 < overlap <= min(ia.frames, ib.frames):
        raise MediaError(f"a transition of {overlap} frames does not fit scenes of {ia.frames} and {ib.frames}")
    a_from = ia.keyframe_at_or_before(ia.frames - overlap)
    b_to = ib.keyframe_at_or_after(overlap)
    b_to = ib.frames if b_to is None else b_to
    fps = profile.fps
    frames = (ia.frames - a_from) + b_to - overlap
    # Input seeking to a's keyframe (rounded up to the microsecond, so the seek lands on it, not the one before);
    # decoding a from its start would cost a whole scene per boundary. One decoding and one filter thread each:
    # the pieces are a dozen frames, run two at a time, where threads cost more in set-up than they save.
    seek = ["-ss", _seconds(math.ceil(a_from * 1_000_000 / fps))] if a_from else []
    chain = _blend(kind, ia.frames - overlap - a_from, overlap, b_to) + f",format={profile.pix_fmt}[v]"
    args = ["-threads", "1", *seek, "-i", str(a), "-threads", "1", "-i", str(b), "-filter_complex_threads", "1",
            "-filter_complex", chain, "-map", "[v]", "-frames:v", str(frames), *piece_x264_args(profile),
            "-movflags", "+faststart", str(out)]  # fmt: skip
    run_ffmpeg(args, cancel, what="rendering a transition", encodes=(profile.width, profile.height), encoders=encoders)
    return TransitionPiece(out, a_from, b_to, frames)


# What the pieces change of the segments' encoder settings: only analysis, never the stream's headers (SPS/PPS:
# entropy coder, reference and B-frame counts, weighted prediction, 8x8 transform), so the join still copies them
# into one stream. Full-pel motion search and a fixed B-frame pattern: on the bench's 720p crossfade, 0.149 ->
# 0.114 CPU s for 12 frames at the same size (214 vs 213 KB) and PSNR (44.6 vs 44.8 dB).
PIECE_X264_PARAMS = "subme=0:b-adapt=0"


def piece_x264_args(profile: EncodeProfile) -> list[str]:
    """The segments' x264 arguments with the pieces' cheaper analysis (PIECE_X264_PARAMS) appended."""
    params = f"{profile.x264_params}:{PIECE_X264_PARAMS}" if profile.x264_params else PIECE_X264_PARAMS
    return x264_args(replace(profile, x264_params=params))


def _blend(kind: TransitionType, a_plain: int, overlap: int, b_to: int) -> str:
    """The filter graph from a (from its keyframe: `a_plain` frames before the overlap) and b (up to `b_to`): a's
    plain frames, the overlap, then b's plain frames after it.

    crossfade: b laid over a with an opacity rising frame by frame (frame k of the overlap is k/overlap b, the
    weights of ffmpeg's xfade fade). An alpha fade and overlay, not xfade: a third of the CPU per frame (xfade's
    fade is plain C in floats), and xfade also misplaces chroma (up to 45 levels off in a 4:2:0 frame) where the
    overlay is exact to rounding. fade_black: a fades out over the overlap's first half and b fades in over its
    second, so the midpoint is black (xfade's fadeblack only dims it): a's frames up to the middle, then b's from
    the middle on, the same number of frames as a crossfade."""
    if kind == "crossfade":
        parts = []
        a_over, b_over = "[0:v]setpts=PTS-STARTPTS", "[1:v]setpts=PTS-STARTPTS"
        if a_plain:
            parts.append(f"{a_over},split[a0][a1];[a0]trim=end_frame={a_plain}[pre]")
            a_over = f"[a1]trim=start_frame={a_plain},setpts=PTS-STARTPTS"
        if b_to > overlap:
            parts.append(f"{b_over},trim=end_frame={b_to},split[b0][b1];"
                         f"[b1]trim=start_frame={overlap},setpts=PTS-STARTPTS[post]")  # fmt: skip
            b_over = "[b0]null"
        parts.append(f"{a_over}[ao];{b_over},trim=end_frame={overlap},format=yuva420p,"
                     f"fade=t=in:alpha=1:start_frame=0:nb_frames={overlap}[bo];"
                     "[ao][bo]overlay=format=yuv420:eof_action=pass[mid]")  # fmt: skip
        pieces = ["[pre]"] * bool(a_plain) + ["[mid]"] + ["[post]"] * (b_to > overlap)
        joined = "".join(pieces) + f"concat=n={len(pieces)}" if len(pieces) > 1 else "[mid]null"
        return ";".join(parts) + ";" + joined
    out, into = overlap // 2, overlap - overlap // 2  # a one-frame overlap is b's first frame, from black
    fade_out = f",fade=t=out:start_frame={a_plain}:nb_frames={out}" if out else ""
    return (f"[0:v]trim=end_frame={a_plain + out},setpts=PTS-STARTPTS{fade_out}[a];"
            f"[1:v]trim=start_frame={out}:end_frame={b_to},setpts=PTS-STARTPTS,"
            f"fade=t=in:start_frame=0:nb_frames={into}[b];"
            "[a][b]concat=n=2:v=1:a=0")  # fmt: skip


def _seconds(us: int) -> str:
    return f"{us / 1_000_000:.6f}"


def transition_listing(
    segments: Sequence[Path], pieces: Sequence[TransitionPiece | None], fps: int
) -> list[str]:
    """The ffconcat lines of a join with transitions: each segment's copied middle, then its boundary's piece.

    inpoint: the keyframe's time, rounded up to the microsecond (the demuxer seeks to the keyframe at or before
    it); outpoint: half a frame before the next cut's decode time (the demuxer stops at the first packet whose
    decode time reaches it); duration: set on every entry from exact frame counts, so timestamps never drift."""
    if len(pieces) != len(segments) - 1:
        raise MediaError(f"{len(segments)} scenes need {len(segments) - 1} boundaries, got {len(pieces)}")
    lines, shown = ["ffconcat version 1.0"], 0

    def add(path: Path, frames: int, extra: list[str]) -> None:
        nonlocal shown
        start, end = round(shown * 1_000_000 / fps), round((shown + frames) * 1_000_000 / fps)
        lines.extend([f"file '{_quote(path.resolve())}'", *extra, f"duration {_seconds(end - start)}"])
        shown += frames

    for i, segment in enumerate(segments):
        index = read_video_index(segment)
        incoming, outgoing = (pieces[i - 1] if i else None), (pieces[i] if i < len(pieces) else None)
        start = incoming.b_to if incoming else 0
        end = outgoing.a_from if outgoing else index.frames
        if end < start:
            raise MediaError(f"scene {i + 1} is too short for its transitions: no frames left between them")
        extra = []
        if start:
            extra.append(f"inpoint {_seconds(math.ceil(start * 1_000_000 / fps))}")
        if end < index.frames:
            extra.append(f"outpoint {index.dts_seconds(end) - 0.5 / fps:.6f}")
        if end > start:
            add(segment, end - start, extra)
        if outgoing is not None:
            add(outgoing.path, outgoing.frames, [])
    return lines


def join_with_transitions(
    segments: Sequence[Path], pieces: Sequence[TransitionPiece | None], soundtrack: Path, out: Path,
    profile: EncodeProfile, fmt: str = "mp4", cancel: CancelToken | None = None, encoders: EncoderBudget | None = None,
) -> Path:  # fmt: skip
    """Stream-copy the segments' middles and the transition pieces, in order, with the sound track (copied);
    webm transcodes the joined picture to VP9 as the plain join does."""
    listing = out.parent / "segments.ffconcat"
    listing.write_text("\n".join(transition_listing(segments, pieces, profile.fps)) + "\n")
    args = ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(soundtrack), "-map", "0:v:0", "-map", "1:a:0",
            "-c:a", "copy"]  # fmt: skip
    if fmt == "webm":
        args += ["-c:v", "libvpx-vp9", *VP9_ARGS]
    else:
        args += ["-c:v", "copy", "-movflags", "+faststart"]
    run_ffmpeg([*args, str(out)], cancel, what="joining the scenes and their transitions",
               encodes=(profile.width, profile.height) if fmt == "webm" else None, encoders=encoders)  # fmt: skip
    return out


def overlap_mixes(mixes: Sequence[Path], overlaps: Sequence[int], profile: EncodeProfile, out: Path) -> Path:
    """The scenes' PCM mixes end to end, each boundary's `overlaps[i]` frames crossfaded (equal power), as a WAV."""
    write_wav(out, overlapped_pcm(mixes, overlaps, profile), profile.audio_rate)
    return out


def overlapped_pcm(mixes: Sequence[Path], overlaps: Sequence[int], profile: EncodeProfile) -> np.ndarray:
    """The scenes' PCM mixes end to end, each boundary's `overlaps[i]` frames crossfaded (equal power): int16."""
    if len(overlaps) != len(mixes) - 1:
        raise MediaError(f"{len(mixes)} scenes need {len(mixes) - 1} overlaps, got {len(overlaps)}")
    parts = [read_wav(m)[0].astype(np.float32) for m in mixes]
    lengths = [round(o * profile.audio_rate / profile.fps) for o in overlaps]
    total = sum(len(p) for p in parts) - sum(lengths)
    track = np.zeros((total, profile.audio_channels), dtype=np.float32)
    at = 0
    for i, part in enumerate(parts):
        fade_in = lengths[i - 1] if i else 0
        fade_out = lengths[i] if i < len(lengths) else 0
        gain = np.ones(len(part), dtype=np.float32)
        if fade_in:
            gain[:fade_in] = np.sin(np.linspace(0, np.pi / 2, fade_in, dtype=np.float32))
        if fade_out:
            gain[len(part) - fade_out :] *= np.cos(np.linspace(0, np.pi / 2, fade_out, dtype=np.float32))
        start = at - fade_in
        track[start : start + len(part)] += part * gain[:, None]
        at = start + len(part)
    return np.clip(np.round(track), -32768, 32767).astype(np.int16)


def _quote(path: Path) -> str:
    return str(path).replace("'", "'\\''")
