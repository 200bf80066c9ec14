"""The sound's finish, timed: bed fit + ducking + loudness normalisation (pipeline.media.music.finish_sound), in
seconds per minute of video, on speech-shaped synthetic narration (sentences of 2–5 s, pauses of 0.4–2 s) under a
bundled bed. Also prints what the finish did: music level in pauses and under speech on the music stem (the
ducking), loudness before and after, true peak, limiter gain reduction.

Bed synthesis is timed on its own: it happens once per (mood, version) and a caller caches it.

`--sidechain` also ducks the same music with ffmpeg's sidechaincompress (threshold 0.03, ratio 20, attack 150 ms,
release 400 ms: the usual ducking recipe) and prints the same figures for both, plus how far the gain moves in
10 ms and how much the music comes up inside a 0.4 s gap between sentences.

`--step` also times the render's finish step as a render runs it (pipeline/finish_step.py): the scenes' mix WAVs
(6 s each) read and joined, the finish, the mix and the stems written, then the sound track's AAC encode.

Usage: python bench/music.py [--minutes 1 3] [--repeat 2] [--mood upbeat] [--sidechain] [--step]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (puts the repo on sys.path)

from pipeline.media import beds  # noqa: E402
from pipeline.media.ffmpeg import read_wav, run_ffmpeg, write_wav  # noqa: E402
from pipeline.media.music import (  # noqa: E402
    active_rms_db,
    duck_gain,
    finish_sound,
    fit_bed,
    level_music,
    music_source,
    speech_intervals,
    to_float,
    to_int16,
)

RATE = 48000


def narration(minutes: float, seed: int = 1) -> tuple[np.ndarray, list[tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * RATE)
    x = np.zeros(total, np.float32)
    spans, t = [], 1.0
    while True:
        length = rng.uniform(2.0, 5.0)
        if t + length > minutes * 60 - 1.0:
            break
        a, b = int(t * RATE), int((t + length) * RATE)
        tt = np.arange(b - a) / RATE
        buzz = sum(np.sin(2 * np.pi * 140 * k * tt) / k for k in range(1, 8))
        syll = 0.55 + 0.45 * np.sin(2 * np.pi * 4.2 * tt) ** 2
        edge = np.minimum(1.0, np.minimum(tt / 0.02, (tt[-1] - tt) / 0.02))
        x[a:b] = (buzz + 0.2 * rng.standard_normal(b - a)) * syll * edge
        spans.append((t, t + length))
        t += length + rng.choice([0.4, 0.6, 1.5, 2.0])
    stereo = np.stack([x, x], axis=1)
    stereo *= np.float32(10 ** ((-17.0 - active_rms_db(stereo)) / 20))
    return stereo, spans


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x.astype(np.float64))) + 1e-20))


def frame_db(x: np.ndarray, frame: int = RATE // 100) -> np.ndarray:
    n = len(x) // frame
    power = np.mean(np.square(x[: n * frame].astype(np.float64)).reshape(n, frame, -1), axis=(1, 2))
    return 10 * np.log10(power + 1e-20)


def compare_sidechain(voice: np.ndarray, bed: np.ndarray, spans: list[tuple[float, float]]) -> None:
    """Our envelope against ffmpeg's sidechaincompress, on the same levelled, fitted music."""
    import tempfile

    music = fit_bed(level_music(bed), len(voice), crossfade_s=0.0)
    ours = music * duck_gain(len(voice), speech_intervals(voice))[:, None]
    with tempfile.TemporaryDirectory() as tmp:
        m, v, out = Path(tmp) / "m.wav", Path(tmp) / "v.wav", Path(tmp) / "o.wav"
        write_wav(m, to_int16(music), RATE)
        write_wav(v, to_int16(voice), RATE)
        run_ffmpeg(["-i", str(m), "-i", str(v), "-filter_complex",
                    "[0:a][1:a]sidechaincompress=threshold=0.03:ratio=20:attack=150:release=400[o]",
                    "-map", "[o]", str(out)])  # fmt: skip
        theirs = np.zeros_like(music)
        decoded = to_float(read_wav(out)[0])[: len(voice)]
        theirs[: len(decoded)] = decoded  # it drops a few ms at the end
    ref = frame_db(music)
    gaps = [(e, s2) for (_, e), (s2, _) in zip(spans, spans[1:]) if s2 - e < 0.5]
    for name, ducked in (("ours", ours), ("sidechaincompress", theirs)):
        gain = frame_db(ducked) - ref  # the music's gain, 10 ms frames
        inside = np.concatenate([gain[int((s + 0.2) * 100) : int((e - 0.2) * 100)] for s, e in spans])
        in_gaps = np.concatenate([gain[int(e * 100) : int(s * 100)] for e, s in gaps]) if gaps else np.zeros(1)
        print(f"  {name:18s} under speech {np.median(inside):6.1f} dB (spread {np.percentile(inside, 5):.1f}.."
              f"{np.percentile(inside, 95):.1f}), largest 10 ms step {np.abs(np.diff(gain[:-10])).max():.1f} dB, "
              f"highest inside 0.4 s gaps {in_gaps.max():.1f} dB")


def time_step(voice: np.ndarray, minutes: float, mood: str, repeat: int) -> None:
    """The finish step and the sound track encode on `voice` cut into 6 s scene mixes, as a render runs them."""
    import tempfile

    from pipeline.cancel import CancelToken
    from pipeline.finish_step import make_finished_sound
    from pipeline.media.join import encode_soundtrack
    from pipeline.media.profile import EncodeProfile
    from pipeline.music_track import MusicTrack, track_identity
    from pipeline.providers.base import StepContext
    from pipeline.store import Asset, Store

    profile = EncodeProfile(1280, 720)
    track = MusicTrack(f"bundled:{mood}", track_identity(f"bundled:{mood}"))
    params = {"profile": profile, "volume_db": -18.0, "duck_db": 12.0, "loudness_lufs": -14.0}
    with tempfile.TemporaryDirectory() as tmp:
        store, pcm, scene = Store(Path(tmp) / "home"), to_int16(voice), 6 * RATE
        mixes = []
        for i, a in enumerate(range(0, len(pcm), scene)):
            path = Path(tmp) / f"mix{i}.wav"
            write_wav(path, pcm[a : a + scene], RATE)
            mixes.append(Asset(f"mix{i}", "", path, {"frames": len(pcm[a : a + scene]) * profile.fps // RATE}))
        finish, encode = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            out = make_finished_sound(mixes, track, params, StepContext(Path(tmp), CancelToken()), store, "stems")
            finish.append(time.perf_counter() - start)
            start = time.perf_counter()
            encode_soundtrack([out.path], Path(tmp) / "soundtrack.m4a", profile, "mp4")
            encode.append(time.perf_counter() - start)
    print(f"  finish step {min(finish):.2f} s + sound track encode {min(encode):.2f} s = "
          f"{(min(finish) + min(encode)) / minutes:.2f} s per minute of video ({len(mixes)} scene mixes)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--mood", default="upbeat", choices=beds.MOODS)
    parser.add_argument("--sidechain", action="store_true")
    parser.add_argument("--step", action="store_true", help="also time the render's finish step and encode")
    args = parser.parse_args()

    start = time.perf_counter()
    source = music_source(f"bundled:{args.mood}")
    bed = source.pcm
    took = time.perf_counter() - start
    print(f"bed synthesis ({args.mood}, {len(bed) / RATE:.1f} s loop): {took:.2f} s (once, cached)")

    for minutes in args.minutes:
        voice, spans = narration(minutes)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            sound = finish_sound(voice, source)
            times.append(time.perf_counter() - start)
        music = to_float(sound.music)
        inside = np.concatenate([music[int((s + 0.2) * RATE) : int((e - 0.2) * RATE)] for s, e in spans])
        pauses = [(e, s2) for (_, e), (s2, _) in zip(spans, spans[1:]) if s2 - e >= 1.5]
        outside = np.concatenate([music[int((e + 0.45) * RATE) : int((s - 0.2) * RATE)] for e, s in pauses])
        best = min(times)
        print(
            f"{minutes:g} min: finish {best:.2f} s (median {statistics.median(times):.2f}) = "
            f"{best / minutes:.2f} s per minute of video | ducking {db(outside) - db(inside):.1f} dB on the music "
            f"stem | {sound.before.integrated:.1f} → {sound.after.integrated:.1f} LUFS, true peak "
            f"{sound.after.true_peak:.1f} dBTP, gain {sound.gain_db:+.1f} dB, limiter ≤ {sound.limited_db:.1f} dB"
        )
        if args.sidechain:
            compare_sidechain(voice, bed, spans)
        if args.step:
            time_step(voice, minutes, args.mood, args.repeat)


if __name__ == "__main__":
    main()
