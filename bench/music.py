"""The sound's finish, timed: bed fit + ducking + loudness normalisation (pipeline.media.music.finish_sound), in
seconds per minute of video, on speech-shaped synthetic narration (sentences of 2–5 s, pauses of 0.4–2 s) under a
bundled bed. Also prints what the finish did: music level in pauses and under speech on the music stem (the
ducking), loudness before and after, true peak, limiter gain reduction.

Bed synthesis is timed on its own: it happens once per (mood, version) and a caller caches it.

Usage: python bench/music.py [--minutes 1 3] [--repeat 2] [--mood upbeat]
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
from pipeline.media.music import active_rms_db, finish_sound, to_float  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--mood", default="upbeat", choices=beds.MOODS)
    args = parser.parse_args()

    start = time.perf_counter()
    bed = to_float(beds.bundled_bed(args.mood))
    print(f"bed synthesis ({args.mood}, {len(bed) / RATE:.1f} s loop): {time.perf_counter() - start:.2f} s (once, cached)")

    for minutes in args.minutes:
        voice, spans = narration(minutes)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            sound = finish_sound(voice, bed, looped=True)
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


if __name__ == "__main__":
    main()
