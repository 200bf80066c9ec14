"""Final assembly: ours against the naive moviepy way
(`concatenate_videoclips(...).write_videofile(codec="libx264", audio_codec="aac")`) on the same 6 scenes × 5 s
720p segments. Goal: ours ≥ 50× faster.

Ours is two steps: the sound track (the scenes' PCM concatenated and encoded to AAC once; in a render it runs as
soon as every narration is mixed, while pictures are still rendering) and the join (stream copy of the pictures
and the sound track). Both are reported: the join alone, and sound track + join.

Transitions (issue 14): the join of 6 and 24 scenes with 0, 2 and all-boundary crossfades (0.5 s). The segments are
encoded as the segment step encodes them when transitions are planned (keyframes forced at the cut points), and
"join" is everything a render does after the segments exist: one transition step per crossfade (encoding only the
overlapped frames; two at a time, as the runner runs media steps) plus the final stream-copy join. In a render each
transition step starts as soon as its two segments exist, so after the last segment only its own (at most two)
transitions and the copy remain; this measures the worst case, every transition made at once (e.g. a changed
transition type). CPU seconds (of the ffmpeg processes) are printed beside the wall time: on a shared machine they
say more than the wall clock. Goal: 24 scenes with crossfades at every boundary under 3 s on two cores.

Where a 720p 12-frame crossfade piece's CPU goes (one ffmpeg process, measured whole): start-up ~15 ms, decoding
the 2 x 12 frames ~90 ms (the keyframe at each cut alone ~15 ms), blending ~18 ms (alpha fade + overlay; xfade's fade
took ~65 ms), encoding the 12 frames ~110 ms. Running the pieces in one process would save only the start-ups.

Usage: python bench/assembly.py [--repeat N] [--transitions-only]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (puts the repo on sys.path)

from pipeline.local_steps import MEDIA_CONCURRENCY  # noqa: E402
from pipeline.media.ffmpeg import FrameEncoder, ffmpeg_exe, write_wav, x264_args  # noqa: E402
from pipeline.media.join import encode_soundtrack, join_segments  # noqa: E402
from pipeline.media.profile import EncodeProfile  # noqa: E402
from pipeline.plan import QUALITY_PRESETS  # noqa: E402
from pipeline.media.transitions import (  # noqa: E402
    cut_keyframes,
    force_keyframes_args,
    join_with_transitions,
    render_transition,
)

SCENES, SECONDS = 6, 5
PROFILE = EncodeProfile(1280, 720, crf=21, preset="superfast")


def make_segments(work: Path) -> tuple[list[Path], list[Path]]:
    videos, audios = [], []
    yy, xx = np.mgrid[0:720, 0:1280]
    for s in range(SCENES):
        path = work / f"seg{s}.mp4"
        with FrameEncoder(path, PROFILE) as enc:
            for f in range(SECONDS * PROFILE.fps):
                shift = f * 3 + s * 200
                frame = np.dstack([(xx + shift) % 256, (yy + s * 40) % 256, ((xx + yy) // 4 + s * 30) % 256])
                enc.write(frame.astype(np.uint8))
        videos.append(path)
        t = np.arange(SECONDS * PROFILE.audio_rate) / PROFILE.audio_rate
        tone = (np.sin(2 * np.pi * (220 + 40 * s) * t) * 8000).astype(np.int16)
        wav = work / f"seg{s}.wav"
        write_wav(wav, np.stack([tone, tone], axis=1), PROFILE.audio_rate)
        audios.append(wav)
    return videos, audios


def ours(videos: list[Path], audios: list[Path], work: Path) -> tuple[float, float]:
    """(sound track encode seconds, join seconds)."""
    out_dir = work / "ours"
    out_dir.mkdir(exist_ok=True)
    start = time.perf_counter()
    track = encode_soundtrack(audios, out_dir / "track.m4a", PROFILE)
    middle = time.perf_counter()
    join_segments(videos, track, out_dir / "final.mp4", PROFILE)
    return middle - start, time.perf_counter() - middle


def naive(videos: list[Path], audios: list[Path], work: Path) -> float:
    from moviepy import AudioFileClip, VideoFileClip, concatenate_videoclips

    start = time.perf_counter()
    clips = [VideoFileClip(str(v)).with_audio(AudioFileClip(str(a))) for v, a in zip(videos, audios)]
    final = concatenate_videoclips(clips)
    final.write_videofile(str(work / "naive.mp4"), codec="libx264", audio_codec="aac", logger=None,
                          temp_audiofile_path=str(work))  # fmt: skip
    for clip in clips:
        clip.close()
    return time.perf_counter() - start


OVERLAP = PROFILE.fps // 2  # 0.5 s crossfades
# The delivery profile a render uses (output.quality: medium), which the transition pieces must match.
RENDER_PROFILE = EncodeProfile(1280, 720, **QUALITY_PRESETS["medium"])


def make_transition_segments(work: Path, scenes: int) -> list[Path]:
    """`scenes` moving 5 s 720p segments with GOPs at both cut points (what the segment step makes for crossfades);
    encoded by ffmpeg from a test source, which is quicker to set up than drawing frames in Python."""
    out = []
    for s in range(scenes):
        path = work / f"x{scenes}-{s}.mp4"
        frames = SECONDS * PROFILE.fps
        keys = cut_keyframes(frames, OVERLAP if s else 0, OVERLAP if s < scenes - 1 else 0)
        source = f"testsrc2=size={PROFILE.width}x{PROFILE.height}:rate={PROFILE.fps},hue=h={s * 37}"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", str(frames),
                        *x264_args(RENDER_PROFILE), *force_keyframes_args(keys), str(path)], check=True)  # fmt: skip
        out.append(path)
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def join_with_crossfades(videos: list[Path], track: Path, every: int | None, work: Path) -> tuple[float, float]:
    """(wall, CPU) seconds for the transition steps (crossfades at `every` boundaries, spread; None = none) and
    the final join."""
    boundaries = len(videos) - 1
    chosen = set() if not every else {round(i * boundaries / every) for i in range(every)}
    out = work / f"join-{len(videos)}-{every}"
    out.mkdir(exist_ok=True)
    start, cpu = time.perf_counter(), _children_cpu()

    def piece(b: int):
        return render_transition(videos[b], videos[b + 1], "crossfade", OVERLAP, RENDER_PROFILE, out / f"t{b}.mp4")

    with ThreadPoolExecutor(MEDIA_CONCURRENCY) as pool:
        made = dict(zip(sorted(chosen), pool.map(piece, sorted(chosen))))
    pieces = [made.get(b) for b in range(boundaries)]
    if chosen:
        join_with_transitions(videos, pieces, track, out / "final.mp4", RENDER_PROFILE)
    else:
        join_segments(videos, track, out / "final.mp4", RENDER_PROFILE)
    return time.perf_counter() - start, _children_cpu() - cpu


def transitions_bench(work: Path, repeat: int) -> None:
    print(f"join with 0.5 s crossfades, 5 s 720p scenes (medians of {repeat}; includes each transition step):")
    for scenes in (6, 24):
        videos = make_transition_segments(work, scenes)
        t = np.arange(SECONDS * scenes * PROFILE.audio_rate) / PROFILE.audio_rate
        tone = (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16)
        write_wav(work / "long.wav", np.stack([tone, tone], axis=1), PROFILE.audio_rate)
        track = encode_soundtrack([work / "long.wav"], work / f"track{scenes}.m4a", PROFILE)
        for every in (None, 2, scenes - 1):
            runs = [join_with_crossfades(videos, track, every, work) for _ in range(repeat)]
            label = f"{every or 0} transitions"
            goal = "  (goal < 3 s)" if scenes == 24 and every == scenes - 1 else ""
            wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
            print(f"  {scenes:>2} scenes, {label:<15} {wall:6.2f} s  ({cpu:5.2f} CPU s){goal}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5, help="runs of our join (median reported)")
    parser.add_argument("--transitions-only", action="store_true", help="only the joins with transitions")
    args = parser.parse_args()
    if args.transitions_only:
        with tempfile.TemporaryDirectory() as tmp:
            transitions_bench(Path(tmp), args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        videos, audios = make_segments(work)
        runs = [ours(videos, audios, work) for _ in range(args.repeat)]
        naive_time = naive(videos, audios, work)
        join = statistics.median(j for _, j in runs)
        both = statistics.median(t + j for t, j in runs)
        print(f"assembly of {SCENES} x {SECONDS} s 720p (medians of {args.repeat}); naive moviepy: {naive_time:.2f} s")
        print(f"  final join (stream copy):          {join:.3f} s -> {naive_time / join:.0f}x faster (goal >= 50x)")
        print(f"  sound track encode + final join:   {both:.3f} s -> {naive_time / both:.0f}x faster")
        transitions_bench(work, args.repeat)


if __name__ == "__main__":
    main()
