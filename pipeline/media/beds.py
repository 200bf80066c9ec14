"""Music beds the project makes itself: synthesised by this code, so their licence is the project's.

A bed is 48 kHz stereo int16 PCM of one loop. Every note is written into the loop circularly (a tail that runs
past the end continues at the start), so the bed is a periodic signal: played back to back it has no seam at
all, and looping it needs no crossfade. The bytes depend only on (mood, BED_VERSION): no random generator whose
stream could change between numpy versions (noise comes from an integer hash), so a caller may cache a bed under
that key.
"""

from __future__ import annotations

import functools

import numpy as np

from pipeline.errors import InputError

BED_VERSION = "1"
BED_RATE = 48000
MOODS = ("calm", "upbeat")
# Peak of every bed; the music's level in a mix is set later (pipeline.media.music.level_music).
BED_PEAK_DBFS = -3.0

_TABLE_SIZE = 4096


def bundled_bed(mood: str) -> np.ndarray:
    """The bundled bed for `mood` (one of MOODS): int16 samples shaped (n, 2) at 48 kHz, read-only.

    A pure function of (mood, BED_VERSION); computed once per process (about a second of CPU).
    """
    if mood not in MOODS:
        raise InputError(f"music.track: no bundled bed named {mood!r}; choose one of {', '.join(MOODS)}")
    return _synthesise(mood)


def bed_key(mood: str) -> str:
    """The cache key of a bundled bed: its bytes change only when this key does."""
    return f"bed-{mood}-v{BED_VERSION}"


@functools.lru_cache(maxsize=len(MOODS))
def _synthesise(mood: str) -> np.ndarray:
    song = _calm() if mood == "calm" else _upbeat()
    song -= song.mean(axis=0, keepdims=True)  # no DC; a constant offset keeps the loop periodic
    song *= 10 ** (BED_PEAK_DBFS / 20) / float(np.abs(song).max())
    pcm = np.round(song * 32767.0).astype(np.int16)
    pcm.setflags(write=False)
    return pcm


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


@functools.lru_cache(maxsize=8)
def _wavetable(harmonics: tuple[float, ...]) -> np.ndarray:
    """One cycle of a sum of harmonics (amplitude per harmonic), with the first sample repeated at the end."""
    phase = np.arange(_TABLE_SIZE + 1) / _TABLE_SIZE * 2 * np.pi
    table = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(harmonics))
    return table / np.abs(table).max()


def _osc(harmonics: tuple[float, ...], hz: float, n: int, phase: float = 0.0) -> np.ndarray:
    """The wavetable read at `hz`, linearly interpolated: (phase + hz·k/rate) mod 1 of the table, sample k.

    Computed in place, operation for operation as that formula (the same bytes), in a third less time: the bed
    is made while a cold render's pictures encode, so its CPU is theirs."""
    table = _wavetable(harmonics)
    pos = np.arange(n, dtype=np.float64)
    pos *= hz
    pos /= BED_RATE
    pos += phase
    np.mod(pos, 1.0, out=pos)
    pos *= _TABLE_SIZE
    i = pos.astype(np.int64)
    pos -= i  # the fraction between table[i] and table[i + 1]
    upper = table[i + 1]
    upper *= pos
    out = np.subtract(1.0, pos, out=pos)
    out *= table[i]
    out += upper
    return out


def _noise(n: int, seed: int) -> np.ndarray:
    """White noise in [-1, 1) from an integer hash (splitmix64): the same on every machine and numpy version."""
    offset = np.uint64((seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    x = (np.arange(n, dtype=np.uint64) + offset) * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(29)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53) * 2.0 - 1.0


def _smoothstep(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))


def _envelope(n: int, attack: int, release: int) -> np.ndarray:
    """Raised-cosine attack, sustain, raised-cosine release: no corner anywhere, so no click."""
    env = np.ones(n)
    attack, release = min(attack, n // 2), min(release, n // 2)
    env[:attack] = _smoothstep(attack)
    env[n - release :] = _smoothstep(release)[::-1]
    return env


def _place(song: np.ndarray, start: int, left: np.ndarray, right: np.ndarray) -> None:
    """Add a stereo sound at `start`, wrapping round the end of the loop."""
    total = len(song)
    pos = 0
    while pos < len(left):
        at = (start + pos) % total
        take = min(len(left) - pos, total - at)
        song[at : at + take, 0] += left[pos : pos + take]
        song[at : at + take, 1] += right[pos : pos + take]
        pos += take


def _pad(song: np.ndarray, start: int, length: int, notes: list[int], level: float) -> None:
    """A soft pad: each note a mellow wavetable, detuned a few cents apart in left and right for width."""
    release = BED_RATE * 2
    n = length + release
    env = _envelope(n, int(BED_RATE * 1.2), release)
    timbre = (1.0, 0.35, 0.12, 0.05)
    for j, note in enumerate(notes):
        hz = _midi_hz(note)
        left = _osc(timbre, hz * 2 ** (-4 / 1200), n, 0.13 * j)
        right = _osc(timbre, hz * 2 ** (4 / 1200), n, 0.29 * j)
        _place(song, start, left * env * level, right * env * level)


def _pluck(song: np.ndarray, start: int, note: float, level: float, decay: float, pan: float) -> None:
    """A plucked or bell-like note: bright attack that mellows as it decays."""
    n = int(BED_RATE * decay * 5)
    t = np.arange(n) / BED_RATE
    hz = _midi_hz(note)
    body = np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(4 * np.pi * hz * t) * np.exp(-t / (decay * 0.3))
    sound = body * np.exp(-t / decay) * _envelope(n, int(BED_RATE * 0.004), int(BED_RATE * 0.05)) * level
    _place(song, start, sound * np.sqrt(1 - pan), sound * np.sqrt(pan))


def _kick(song: np.ndarray, start: int, level: float) -> None:
    n = int(BED_RATE * 0.35)
    t = np.arange(n) / BED_RATE
    hz = 45 + 75 * np.exp(-t / 0.04)
    phase = 2 * np.pi * np.cumsum(hz) / BED_RATE
    sound = np.sin(phase) * np.exp(-t / 0.12) * _envelope(n, int(BED_RATE * 0.002), int(BED_RATE * 0.03)) * level
    _place(song, start, sound, sound)


def _hat(song: np.ndarray, start: int, level: float, seed: int, decay: float = 0.03) -> None:
    n = int(BED_RATE * decay * 5)
    noise = _noise(n + 2, seed)
    bright = noise[2:] - 2 * noise[1:-1] + noise[:-2]  # second difference: keeps the hiss, drops the body
    t = np.arange(n) / BED_RATE
    sound = bright * np.exp(-t / decay) * _envelope(n, int(BED_RATE * 0.001), int(BED_RATE * 0.01)) * level / 4
    _place(song, start, sound * 0.8, sound)


def _snap(song: np.ndarray, start: int, level: float, seed: int) -> None:
    """A soft clap: a short noise burst with a little body."""
    n = int(BED_RATE * 0.25)
    noise = _noise(n + 1, seed)
    t = np.arange(n) / BED_RATE
    sound = (np.diff(noise) * 0.5 + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.06)
    sound *= _envelope(n, int(BED_RATE * 0.002), int(BED_RATE * 0.02)) * level
    _place(song, start, sound, sound * 0.9)


def _calm() -> np.ndarray:
    """72 bpm, I–vi–IV–V in C with sevenths, two bars each: a soft pad, a bass note and a slow bell arpeggio."""
    beat = BED_RATE * 60 // 72  # 40 000 samples: the loop is a whole number of samples
    chords = [[48, 52, 55, 59, 64], [45, 52, 55, 60, 64], [41, 48, 53, 57, 64], [43, 50, 55, 59, 62]]
    song = np.zeros((beat * 32, 2))
    pattern = [0, 2, 4, 3, 1, 3, 4, 2]
    for c, chord in enumerate(chords):
        bar0 = c * 8 * beat
        _pad(song, bar0, 8 * beat, chord, 0.16)
        _pluck(song, bar0, chord[0] - 12, 0.35, 1.2, 0.5)
        _pluck(song, bar0 + 4 * beat, chord[0] - 12, 0.3, 1.2, 0.5)
        for b in range(8):
            note = chord[pattern[b]] + 12
            _pluck(song, bar0 + b * beat, note, 0.18 if b % 2 else 0.24, 0.9, 0.3 + 0.4 * (b % 2))
    return song


def _upbeat() -> np.ndarray:
    """120 bpm, I–V–vi–IV in C, a bar each, twice: pad, eighth-note plucks, bass, kick, hats and a soft clap."""
    beat = BED_RATE // 2  # 24 000 samples
    chords = [[48, 55, 60, 64], [43, 55, 59, 62], [45, 57, 60, 64], [41, 57, 60, 65]]
    song = np.zeros((beat * 32, 2))
    arp = [1, 2, 3, 2, 1, 3, 2, 3]
    for bar in range(8):
        chord = chords[bar % 4]
        bar0 = bar * 4 * beat
        _pad(song, bar0, 4 * beat, chord[1:], 0.07)
        for e in range(8):
            at = bar0 + e * beat // 2
            _pluck(song, at, chord[arp[e]] + 12, 0.16 if e % 2 else 0.2, 0.25, 0.25 + 0.5 * ((e * 3) % 2))
        for e, step in enumerate((0, 3, 4, 6)):
            _pluck(song, bar0 + step * beat // 2, chord[0] - 12 + (12 if e == 3 else 0), 0.45, 0.35, 0.5)
        for b in range(4):
            if b % 2 == 0:
                _kick(song, bar0 + b * beat, 0.6)
            else:
                _snap(song, bar0 + b * beat, 0.18, seed=bar * 4 + b)
            _hat(song, bar0 + b * beat + beat // 2, 0.16, seed=1000 + bar * 4 + b)
    return song
