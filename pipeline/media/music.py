"""The sound's finish: a music bed fitted to the video, ducked under the narration, mixed and brought to a loudness.

Building blocks, each a function of arrays (48 kHz float32 PCM shaped (n, 2), ±1 full scale, unless it says int16):

    music_source(track)         `none` | `bundled:<mood>` | a file path → MusicBed (pcm, looped, key) or None
    load_music(path)            a person's own file, any format ffmpeg reads → float PCM
    bundled_bed(mood)           (pipeline.media.beds) the project's own beds → int16 PCM
    level_music(pcm, volume_db) the bed's level: its RMS (over its sounding parts) at volume_db dBFS
    fit_bed(pcm, n, ...)        looped with equal-power crossfaded seams, or trimmed; faded in and out
    speech_intervals(narration) where someone speaks, from the narration's short-term RMS
    duck_gain(n, intervals,...) the music's gain curve: down duck_db while speaking, smooth, held over short gaps
    finish_sound(...)           all of the above, the mix, loudness normalisation, and the stems
    write_stems(sound, folder)  narration.wav, music.wav, mix.wav

Levels: the narration arrives levelled to −17 dBFS RMS (pipeline.media.segment.NARRATION_RMS_DBFS); `volume_db`
is the music's RMS on that same scale, before the final loudness gain moves everything together. With the
defaults the music sits 1 dB under the voice where nobody speaks and 13 dB under it while someone does.

Ducking is a gain envelope computed here, not ffmpeg's sidechaincompress: a compressor's reduction depends on how
loud the voice is (a quiet sentence ducks less, a loud word more: the music moves with the syllables), it reacts
after the voice starts (no lookahead), and it has no hold, so it lets the music up in every breath. Working
offline on the whole track, we know where speech starts and ends: the music goes down exactly duck_db, starting
`attack` before the first word, stays down through gaps shorter than `hold`, and comes back over `release`.
Measured by `bench/music.py --sidechain` on 1 min of speech-shaped narration: ours −12.0 dB under speech, ≤ 1.5 dB
per 10 ms, still −12.0 dB inside 0.4 s gaps; sidechaincompress (threshold 0.03, ratio 20, attack 150 ms, release
400 ms) −14.5 dB (−15.1..−14.0 with the voice), up to 5.2 dB per 10 ms, back to −0.2 dB inside 0.4 s gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.cancel import CancelToken
from pipeline.errors import InputError, MediaError
from pipeline.media.beds import BED_RATE, bed_key, bundled_bed
from pipeline.media.ffmpeg import decode_audio, write_wav
from pipeline.media.loudness import CHUNK, Loudness, db_curve_to_gain, normalise
from pipeline.store import file_sha256

MUSIC_VERSION = "1"
RATE = BED_RATE
DEFAULT_VOLUME_DB = -18.0
DEFAULT_DUCK_DB = 12.0
DEFAULT_LOUDNESS_LUFS = -14.0
TRUE_PEAK_DB = -1.0
LOOP_CROSSFADE_S = 1.5
FADE_IN_S = 1.0
FADE_OUT_S = 2.0
ATTACK_S = 0.15
RELEASE_S = 0.4
HOLD_S = 1.0
# Voice activity: 10 ms frames louder than both this floor and (the loud frames' level − VAD_RANGE_DB).
VAD_FRAME_S = 0.01
VAD_FLOOR_DBFS = -60.0
VAD_RANGE_DB = 30.0
VAD_MIN_SPEECH_S = 0.05


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 PCM → float32 in ±1; float input is returned as float32."""
    if pcm.dtype == np.int16:
        return pcm.astype(np.float32) / 32768.0
    return np.asarray(pcm, dtype=np.float32)


def to_int16(pcm: np.ndarray, gain: np.ndarray | None = None) -> np.ndarray:
    """float PCM (times a per-sample `gain`, if given) → int16, in chunks so no full-length float temporary."""
    out = np.empty(pcm.shape, dtype=np.int16)
    for a in range(0, len(pcm), CHUNK):
        part = pcm[a : a + CHUNK] * np.float32(32767.0)
        if gain is not None:
            part *= gain[a : a + CHUNK, None] if part.ndim == 2 else gain[a : a + CHUNK]
        np.clip(np.round(part, out=part), -32768, 32767, out=part)
        out[a : a + CHUNK] = part
    return out


def load_music(path: Path, rate: int = RATE) -> np.ndarray:
    """A person's own music file (anything ffmpeg decodes) as float32 stereo PCM at `rate`, DC removed."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"music.track: no file at {path}")
    pcm = to_float(decode_audio(path, rate, 2))
    if len(pcm) < rate // 10:
        raise MediaError(f"{path.name} has no usable sound (under 0.1 s of audio)")
    return pcm - pcm.mean(axis=0, keepdims=True)


@dataclass(frozen=True)
class MusicBed:
    """A bed ready to fit: float PCM (n, 2) at 48 kHz; `looped` when it is periodic (a bundled bed: its copies
    follow one another without a crossfade); `key` changes whenever its sound does (for a step's content key)."""

    pcm: np.ndarray
    looped: bool
    key: str


def music_source(track: str, rate: int = RATE) -> MusicBed | None:
    """The storyboard's `music.track`: `none`, `bundled:<mood>` or a path to a person's own file (None for none)."""
    if track in ("", "none"):
        return None
    if track.startswith("bundled:"):
        mood = track.split(":", 1)[1]
        return MusicBed(to_float(bundled_bed(mood)), looped=True, key=bed_key(mood))
    path = Path(track)
    pcm = load_music(path, rate)
    return MusicBed(pcm, looped=False, key=f"file-{file_sha256(path)[:32]}-v{MUSIC_VERSION}")


def active_rms_db(pcm: np.ndarray, rate: int = RATE, window_s: float = 0.1) -> float:
    """RMS in dBFS over the windows that sound (louder than −60 dBFS), so silences do not lower the level."""
    window = max(1, int(rate * window_s))
    usable = len(pcm) // window * window
    if usable == 0:
        return float(20 * np.log10(max(float(np.sqrt(np.mean(np.square(pcm)))) if len(pcm) else 0.0, 1e-10)))
    frames = np.sqrt(np.mean(np.square(pcm[:usable].reshape(-1, window, pcm.shape[1])), axis=(1, 2)))
    sounding = frames[frames > 10 ** (VAD_FLOOR_DBFS / 20)]
    if len(sounding) == 0:
        return -120.0
    return float(20 * np.log10(np.sqrt(np.mean(np.square(sounding)))))


def level_music(pcm: np.ndarray, volume_db: float = DEFAULT_VOLUME_DB, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale music so its sounding RMS is `volume_db` dBFS (peaks kept under `peak_dbfs`)."""
    level = active_rms_db(pcm)
    if level <= -119.0:
        return np.zeros_like(pcm)
    gain = 10 ** ((volume_db - level) / 20)
    peak = float(np.abs(pcm).max()) * gain
    ceiling = 10 ** (peak_dbfs / 20)
    if peak > ceiling:
        gain *= ceiling / peak
    return (pcm * np.float32(gain)).astype(np.float32)


def _ramp(n: int) -> np.ndarray:
    """Raised-cosine ramp 0 → 1 over n samples."""
    return (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))).astype(np.float32)


def fit_bed(
    pcm: np.ndarray,
    samples: int,
    rate: int = RATE,
    crossfade_s: float = LOOP_CROSSFADE_S,
    fade_in_s: float = FADE_IN_S,
    fade_out_s: float = FADE_OUT_S,
) -> np.ndarray:
    """Loop or trim `pcm` to exactly `samples`, then fade in and out.

    Each repeat overlaps the previous by `crossfade_s` with an equal-power (cos/sin) crossfade, so a file that was
    not made to loop has no click and no dip at the seam. A bundled bed is periodic by construction: pass
    `crossfade_s=0` and the copies simply follow one another.
    """
    if samples < 0:
        raise InputError(f"music: a length of {samples} samples is not a length")
    if len(pcm) == 0:
        raise MediaError("music: the bed has no samples")
    channels = pcm.shape[1]
    out = np.zeros((samples, channels), dtype=np.float32)
    overlap = min(int(round(crossfade_s * rate)), len(pcm) // 4)
    if overlap > 0:
        theta = np.linspace(0.0, np.pi / 2, overlap, dtype=np.float32)[:, None]
        fade_out_w, fade_in_w = np.cos(theta), np.sin(theta)
    pos = 0
    first = True
    while pos < samples:
        if first or overlap == 0:
            take = min(len(pcm), samples - pos)
            out[pos : pos + take] = pcm[:take]
            pos += take
            first = False
            continue
        # `pos` is the end of what is written; the next copy starts `overlap` earlier.
        start = pos - overlap
        seam = min(overlap, samples - start)
        out[start : start + seam] = (
            out[start : start + seam] * fade_out_w[:seam] + pcm[:seam] * fade_in_w[:seam]
        )
        take = min(len(pcm) - overlap, samples - pos)
        if take > 0:
            out[pos : pos + take] = pcm[overlap : overlap + take]
        pos += max(take, 0)
        if take <= 0:
            break
    fade_in = min(int(fade_in_s * rate), samples // 2)
    fade_out = min(int(fade_out_s * rate), samples - fade_in)
    if fade_in:
        out[:fade_in] *= _ramp(fade_in)[:, None]
    if fade_out:
        out[samples - fade_out :] *= _ramp(fade_out)[::-1, None]
    return out


def speech_intervals(narration: np.ndarray, rate: int = RATE) -> list[tuple[float, float]]:
    """Where someone speaks, in seconds: runs of 10 ms frames whose RMS is over the voice-activity threshold.

    The threshold follows the narration's own level (30 dB under its loud frames, never under −60 dBFS), so a
    quiet voice is found as well as a loud one. Blips shorter than 50 ms are ignored.
    """
    x = to_float(narration)
    frame = int(rate * VAD_FRAME_S)
    count = len(x) // frame
    if count == 0:
        return []
    frames = x[: count * frame].reshape(count, frame, -1)
    rms_db = 10 * np.log10(np.mean(np.square(frames), axis=(1, 2)) + 1e-20)
    loud = float(np.percentile(rms_db, 95))
    active = rms_db > max(VAD_FLOOR_DBFS, loud - VAD_RANGE_DB)
    edges = np.diff(np.r_[0, active.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = (ends - starts) * VAD_FRAME_S >= VAD_MIN_SPEECH_S
    return [(float(s * VAD_FRAME_S), float(e * VAD_FRAME_S)) for s, e in zip(starts[keep], ends[keep])]


def duck_gain(
    samples: int,
    intervals: list[tuple[float, float]],
    rate: int = RATE,
    duck_db: float = DEFAULT_DUCK_DB,
    attack_s: float = ATTACK_S,
    release_s: float = RELEASE_S,
    hold_s: float = HOLD_S,
) -> np.ndarray:
    """The music's gain per sample (linear, float32): 1 in pauses, 10^(−duck_db/20) while someone speaks.

    Speech closer than `hold_s` to the next speech counts as one stretch, so the music stays down through short
    gaps. Each stretch is a trapezoid in dB with raised-cosine sides: the fall ends as the voice begins (it starts
    `attack_s` earlier: the whole track is known, so we can look ahead) and the rise starts as the voice ends.
    """
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start - merged[-1][1] < hold_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    step = VAD_FRAME_S / 10  # 1 ms grid for the curve, interpolated to samples
    grid = int(np.ceil(samples / rate / step)) + 2
    t = np.arange(grid) * step
    depth = np.zeros(grid, dtype=np.float64)
    for start, end in merged:
        lo = max(0, int((start - attack_s) / step) - 1)
        hi = min(grid, int((end + release_s) / step) + 2)
        if lo >= hi:
            continue
        tt = t[lo:hi]
        fall = np.clip((tt - (start - attack_s)) / attack_s, 0, 1) if attack_s > 0 else (tt >= start) * 1.0
        rise = np.clip(((end + release_s) - tt) / release_s, 0, 1) if release_s > 0 else (tt <= end) * 1.0
        shape = np.minimum(fall, rise)
        shape = 0.5 - 0.5 * np.cos(np.pi * shape)
        depth[lo:hi] = np.maximum(depth[lo:hi], shape)
    return db_curve_to_gain(samples, t * rate, -duck_db * depth)


@dataclass(frozen=True)
class FinishedSound:
    """The finished sound of a video, every array exactly `samples` long (int16, (n, 2), 48 kHz).

    `mix` is what goes into the video; `narration` and `music` are the stems as mixed (the music after ducking),
    both with the final loudness gain, so narration + music = mix (to rounding).
    """

    mix: np.ndarray
    narration: np.ndarray
    music: np.ndarray
    samples: int
    rate: int
    before: Loudness
    after: Loudness
    gain_db: float
    limited_db: float
    reached_target: bool
    speech: list[tuple[float, float]]


@dataclass(frozen=True)
class StemPaths:
    """The three WAV files `write_stems` wrote."""

    narration: Path
    music: Path
    mix: Path


def check_inputs(narration: np.ndarray, volume_db: float, duck_db: float, loudness_lufs: float) -> None:
    """Refuse settings that cannot make a sensible mix, naming the storyboard field (before any work)."""
    if narration.ndim != 2 or narration.shape[1] != 2:
        raise InputError(f"the narration track must be stereo PCM shaped (n, 2), got {narration.shape}")
    if not -60.0 <= volume_db <= 0.0:
        raise InputError(f"music.volume_db: {volume_db} is outside -60..0 dB")
    if not 0.0 <= duck_db <= 40.0:
        raise InputError(f"music.duck_db: {duck_db} is outside 0..40 dB")
    if not -40.0 <= loudness_lufs <= -5.0:
        raise InputError(f"output.loudness_lufs: {loudness_lufs} is outside -40..-5 LUFS")


def finish_sound(
    narration: np.ndarray,
    music: MusicBed | None = None,
    *,
    volume_db: float = DEFAULT_VOLUME_DB,
    duck_db: float = DEFAULT_DUCK_DB,
    loudness_lufs: float = DEFAULT_LOUDNESS_LUFS,
    true_peak_db: float = TRUE_PEAK_DB,
    speech: list[tuple[float, float]] | None = None,
    rate: int = RATE,
    cancel: CancelToken | None = None,
) -> FinishedSound:
    """Mix the video's narration (its whole timeline: PCM (n, 2), int16 or float) with a music bed, duck the
    music under the voice, and bring the mix to `loudness_lufs` (true peak ≤ `true_peak_db`).

    `music` is a bed from `music_source` (any length; None for no music). `speech` overrides the voice activity
    found in the narration (seconds). The result is exactly as long as the narration.
    """
    # 1. validate
    check_inputs(narration, volume_db, duck_db, loudness_lufs)
    if cancel is not None:
        cancel.check()
    voice = to_float(narration)
    samples = len(voice)
    # 2. the bed: levelled, fitted to the length, ducked
    if speech is None:
        speech = speech_intervals(voice, rate)
    if music is not None and samples:
        crossfade = 0.0 if music.looped else LOOP_CROSSFADE_S
        bed = fit_bed(level_music(music.pcm, volume_db), samples, rate, crossfade)
        bed *= duck_gain(samples, speech, rate, duck_db)[:, None]
    else:
        bed = np.zeros_like(voice)
    # 3. mix and bring to the loudness target; the same gain curve goes on the stems
    if cancel is not None:
        cancel.check()
    mix = voice + bed
    if samples == 0:
        empty = Loudness(-70.0, 0.0, -np.inf)
        return FinishedSound(to_int16(mix), to_int16(voice), to_int16(bed), 0, rate, empty, empty, 0.0, 0.0,
                             False, speech)  # fmt: skip
    level = normalise(mix, loudness_lufs, true_peak_db, rate, cancel)
    mixed = to_int16(mix, level.gain)
    del mix
    return FinishedSound(
        mix=mixed,
        narration=to_int16(voice, level.gain),
        music=to_int16(bed, level.gain),
        samples=samples,
        rate=rate,
        before=level.before,
        after=level.after,
        gain_db=level.gain_db,
        limited_db=level.limited_db,
        reached_target=level.reached_target,
        speech=speech,
    )


def write_stems(sound: FinishedSound, folder: Path) -> StemPaths:
    """Write narration.wav, music.wav and mix.wav (48 kHz 16-bit stereo, each exactly the video's length)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = StemPaths(folder / "narration.wav", folder / "music.wav", folder / "mix.wav")
    write_wav(paths.narration, sound.narration, sound.rate)
    write_wav(paths.music, sound.music, sound.rate)
    write_wav(paths.mix, sound.mix, sound.rate)
    return paths
