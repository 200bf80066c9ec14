"""Loudness: EBU R128 measurement (ffmpeg's ebur128 filter) and normalisation to a target with a true-peak ceiling.

Normalisation is two passes, like ffmpeg's loudnorm: measure, then one linear gain to the target. We apply that
gain ourselves (numpy) rather than with loudnorm's second pass, because loudnorm resamples to 192 kHz (the
length is then no longer exact to the sample) and, whenever the gain would push the true peak over the ceiling —
which levelled speech at −14 LUFS nearly always does — it drops linear mode for its dynamic mode, which rides
the gain through the whole programme. Here the gain stays linear and only the few peaks over the ceiling are
turned down by a lookahead peak limiter; the same gain curve can be applied to every stem, so the stems still
add up to the mix. The result is measured again with ebur128 (the same meter the tests use) and corrected once
or twice if the limiter cost loudness or a true peak slipped over the ceiling.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.cancel import CancelToken
from pipeline.errors import MediaError
from pipeline.media.ffmpeg import ffmpeg_report

# ebur128's absolute gate: a programme quieter than this has no measurable loudness (it reports −70).
SILENCE_LUFS = -70.0
# Gain we will add at most. A near-silent track is lifted to the target if that takes ≤ 50 dB; quieter ones (an
# empty or nearly empty track: its noise floor would become the programme) are lifted by 50 dB and the result says
# the target was not reached.
MAX_GAIN_DB = 50.0
LIMITER_BLOCK = 48  # 1 ms at 48 kHz
# Long tracks are worked in chunks of this many samples, so no full-length temporary is made.
CHUNK = 1 << 20
# How fast the limiter's gain may move: down at most 1 dB per ms (it looks ahead, so it starts early enough),
# back up at most 60 dB per second (a 3 dB reduction recovers in 50 ms).
LIMITER_ATTACK_DB_PER_S = 1000.0
LIMITER_RELEASE_DB_PER_S = 60.0


@dataclass(frozen=True)
class Loudness:
    """An EBU R128 measurement: integrated loudness (LUFS), loudness range (LU), true peak (dBTP)."""

    integrated: float
    lra: float
    true_peak: float


@dataclass(frozen=True)
class Normalised:
    """Result of `normalise`: the gain curve to apply (per sample, linear), and the loudness before and after."""

    gain: np.ndarray
    gain_db: float
    limited_db: float
    before: Loudness
    after: Loudness
    reached_target: bool


def measure_loudness(
    pcm: np.ndarray, rate: int = 48000, cancel: CancelToken | None = None, gain: np.ndarray | None = None
) -> Loudness:
    """Measure float PCM shaped (n, channels), full scale ±1, with ffmpeg's ebur128 filter (true peak on);
    with `gain` (one linear gain per sample), measure `pcm × gain` without holding that product in memory."""
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    with tempfile.TemporaryDirectory(prefix="reelsmith-loudness-") as tmp:
        raw = Path(tmp) / "pcm.f32"
        with open(raw, "wb") as f:
            for a in range(0, len(pcm), CHUNK):
                part = np.asarray(pcm[a : a + CHUNK], dtype=np.float32)
                if gain is not None:
                    part = part * (gain[a : a + CHUNK, None] if part.ndim == 2 else gain[a : a + CHUNK])
                np.ascontiguousarray(part).tofile(f)
        log = ffmpeg_report(
            ["-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-i", str(raw),
             "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
            cancel, what="measuring loudness",
        )  # fmt: skip
    summary = log[log.rfind("Summary:") :]

    def field(name: str) -> float:
        found = re.search(rf"{name}:\s+(-?inf|-?[0-9.]+)", summary)
        if not found:
            raise MediaError(f"measuring loudness failed: ebur128 printed no {name}")
        return float(found.group(1))

    return Loudness(integrated=field("I"), lra=field("LRA"), true_peak=field("Peak"))


def peak_limiter_gain(x: np.ndarray, ceiling: float, rate: int = 48000) -> np.ndarray:
    """Per-sample gain (≤ 1) that keeps |x · gain| ≤ `ceiling` (linear) on every sample, stereo-linked.

    Worked in 1 ms blocks: each block's needed reduction (in dB) spreads backwards over the attack (lookahead, so
    the gain is already down when the peak arrives) and recovers over the release; both are running minima, so
    numpy does it without a Python loop. Interpolating block gains that are the minimum of each block and its
    neighbours never exceeds any block's need, so no sample ends over the ceiling.
    """
    n = len(x)
    blocks = -(-n // LIMITER_BLOCK)
    block_peak = np.zeros(blocks, dtype=np.float32)
    step = CHUNK // LIMITER_BLOCK * LIMITER_BLOCK
    for a in range(0, n, step):
        part = np.abs(x[a : a + step])
        peak = part.max(axis=1) if part.ndim == 2 else part
        whole = len(peak) // LIMITER_BLOCK * LIMITER_BLOCK
        first = a // LIMITER_BLOCK
        block_peak[first : first + whole // LIMITER_BLOCK] = peak[:whole].reshape(-1, LIMITER_BLOCK).max(axis=1)
        if whole < len(peak):
            block_peak[first + whole // LIMITER_BLOCK] = peak[whole:].max()
    if n == 0 or float(block_peak.max()) <= ceiling:
        return np.ones(n, dtype=np.float32)
    need = np.minimum(0.0, 20 * np.log10(ceiling / np.maximum(block_peak, 1e-12)))
    block_s = LIMITER_BLOCK / rate
    # Release: g[b] = min over k ≤ b of need[k] + slope·(b − k); attack the same, backwards in time.
    rel, att = LIMITER_RELEASE_DB_PER_S * block_s, LIMITER_ATTACK_DB_PER_S * block_s
    idx = np.arange(blocks, dtype=np.float64)
    released = np.minimum.accumulate(need - rel * idx) + rel * idx
    rev = released[::-1]
    attacked = (np.minimum.accumulate(rev - att * idx) + att * idx)[::-1]
    g = np.minimum(0.0, attacked)
    g = np.minimum(g, np.minimum(np.r_[g[:1], g[:-1]], np.r_[g[1:], g[-1:]]))
    centres = (idx + 0.5) * LIMITER_BLOCK
    return db_curve_to_gain(n, centres, g)


def db_curve_to_gain(n: int, at_samples: np.ndarray, db: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """A gain curve given in dB at sample positions, interpolated to `n` samples as linear float32 gains.

    In chunks, so the float64 temporaries of a long video stay small (a 10-minute track is 28.8 M samples)."""
    out = np.empty(n, dtype=np.float32)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        out[a:b] = 10 ** (np.interp(np.arange(a, b), at_samples, db) / 20)
    return out


def normalise(
    pcm: np.ndarray,
    target_lufs: float = -14.0,
    true_peak_db: float = -1.0,
    rate: int = 48000,
    cancel: CancelToken | None = None,
) -> Normalised:
    """Find the gain curve that brings `pcm` (float, ±1 full scale, (n, channels)) to `target_lufs` with its
    true peak at or under `true_peak_db`. Returns the curve; the caller multiplies the mix and the stems by it."""
    # 1. measure
    before = measure_loudness(pcm, rate, cancel)
    if before.integrated <= SILENCE_LUFS + 0.05:
        ones = np.ones(len(pcm), dtype=np.float32)
        return Normalised(ones, 0.0, 0.0, before, before, reached_target=False)
    # 2. linear gain to the target (capped), a sample-peak limiter with a margin under the true-peak ceiling
    wanted_db = target_lufs - before.integrated
    gain_db = min(wanted_db, MAX_GAIN_DB)
    margin_db = 0.5  # inter-sample peaks of speech and music sit within ~0.5 dB of the sample peaks at 48 kHz
    after = before
    gain = np.ones(len(pcm), dtype=np.float32)
    for _ in range(3):
        linear = np.float32(10 ** (gain_db / 20))
        ceiling = 10 ** ((true_peak_db - margin_db) / 20)
        # |pcm · linear · g| ≤ ceiling  ⟺  |pcm · g| ≤ ceiling / linear: no scaled copy of the track needed
        gain = peak_limiter_gain(pcm, ceiling / float(linear), rate)
        gain *= linear
        # 3. measure again; correct the loudness the limiter took, or tighten the ceiling
        after = measure_loudness(pcm, rate, cancel, gain=gain)
        loud_ok = abs(after.integrated - target_lufs) <= 0.3 or gain_db >= MAX_GAIN_DB
        peak_ok = after.true_peak <= true_peak_db
        if loud_ok and peak_ok:
            break
        if not peak_ok:
            margin_db += after.true_peak - true_peak_db + 0.2
        if not loud_ok:
            gain_db = min(gain_db + target_lufs - after.integrated, MAX_GAIN_DB)
    limited_db = max(0.0, float(-20 * np.log10(max(float((gain / gain.max()).min()), 1e-12)))) if len(gain) else 0.0
    reached = abs(after.integrated - target_lufs) <= 1.0 and after.true_peak <= true_peak_db
    return Normalised(gain, gain_db, limited_db, before, after, reached_target=reached)
