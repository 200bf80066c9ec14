"""Final assembly: ours against the naive moviepy way
(`concatenate_videoclips(...).write_videofile(codec="libx264", audio_codec="aac")`) on the same 6 scenes × 5 s
720p segments. Goal: ours ≥ 50× faster.

Ours is two steps: the sound track (the scenes' PCM concatenated and encoded to AAC once; in a render it runs as
soon as every narration is mixed, while pictures are still rendering) and the join (stream copy of the pictures
and the sound track). Both are reported: the join alone, and sound track + join.

Usage: python bench/assembly.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (puts the repo on sys.path)

from pipeline.media.ffmpeg import FrameEncoder, write_wav  # noqa: E402
from pipeline.media.join import encode_soundtrack, join_segments  # noqa: E402
from pipeline.media.profile import EncodeProfile  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5, help="runs of our join (median reported)")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
