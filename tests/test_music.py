"""The sound's finish: bundled beds, fitting, ducking under narration, loudness and stems (pipeline.media.music)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from pipeline.cancel import CancelToken
from pipeline.errors import Cancelled, InputError
from pipeline.media import beds
from pipeline.media.ffmpeg import read_wav, run_ffmpeg, write_wav
from pipeline.media.loudness import measure_loudness, peak_limiter_gain
from pipeline.media.music import (
    active_rms_db,
    duck_gain,
    finish_sound,
    fit_bed,
    load_music,
    music_source,
    speech_intervals,
    to_float,
    write_stems,
)

RATE = 48000

# Narration of a 20 s timeline: sentences with a 0.4 s gap inside a stretch (stays ducked), a 1.5 s pause
# (music comes back) and a 3 s pause (where the undipped level is measured).
SPEECH = [(1.0, 4.0), (4.4, 7.0), (8.5, 11.5), (14.5, 18.0)]
SHORT_GAP = (4.0, 4.4)
PAUSE = (7.0, 8.5)
LONG_PAUSE = (11.5, 14.5)
SECONDS = 20.0


def synthetic_narration(level_db: float = -17.0, seconds: float = SECONDS, speech=SPEECH) -> np.ndarray:
    """Speech-shaped bursts: a voiced buzz (harmonics of 140 Hz) plus breath noise, syllables at ~4 Hz."""
    n = int(seconds * RATE)
    x = np.zeros(n, np.float64)
    rng = np.random.default_rng(7)
    for start, end in speech:
        a, b = int(start * RATE), int(end * RATE)
        t = np.arange(b - a) / RATE
        buzz = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
        syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.2 * t) ** 2
        edge = np.minimum(1.0, np.minimum(t / 0.02, (t[-1] - t) / 0.02))
        x[a:b] = (buzz + 0.2 * rng.standard_normal(b - a)) * syllables * edge
    stereo = np.stack([x, x], axis=1)
    stereo *= 10 ** ((level_db - active_rms_db(stereo)) / 20)
    return stereo.astype(np.float32)


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x.astype(np.float64))) + 1e-20))


def section(x: np.ndarray, start: float, end: float) -> np.ndarray:
    return x[int(start * RATE) : int(end * RATE)]


@pytest.fixture(scope="module")
def finished():
    """The normal case, computed once: synthetic narration under the calm bed."""
    return finish_sound(synthetic_narration(), music_source("bundled:calm"))


# --- beds -------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mood", beds.MOODS)
def test_bundled_bed_is_deterministic_and_clean(mood):
    bed = beds.bundled_bed(mood)
    again = beds._synthesise.__wrapped__(mood)  # a fresh synthesis, not the cached array
    assert hashlib.sha256(bed.tobytes()).hexdigest() == hashlib.sha256(again.tobytes()).hexdigest()
    assert bed.dtype == np.int16 and bed.shape[1] == 2
    assert 16.0 <= len(bed) / RATE <= 32.0
    x = to_float(bed)
    assert np.abs(x).max() < 10 ** (-2.9 / 20)  # peak −3 dBFS: never clips
    assert np.abs(x.mean(axis=0)).max() < 1e-4  # no DC
    assert -24.0 < active_rms_db(x) < -12.0  # a bed, not silence, not a wall


def test_unknown_mood_names_the_field():
    with pytest.raises(InputError, match="music.track.*calm"):
        music_source("bundled:sad")


@pytest.mark.slow
@pytest.mark.parametrize("mood", beds.MOODS)
def test_bundled_bed_loops_without_a_seam(mood):
    bed = to_float(beds.bundled_bed(mood))
    looped = fit_bed(bed, 2 * len(bed) + RATE, crossfade_s=0.0, fade_in_s=0, fade_out_s=0)
    seam = len(bed)
    jump = np.abs(looped[seam] - looped[seam - 1]).max()
    assert jump < 0.02
    # The jump at the seam is no bigger than the bed's own largest moves around that point in the loop.
    around = np.abs(np.diff(np.concatenate([bed[-RATE // 10 :], bed[: RATE // 10]]), axis=0)).max()
    assert jump <= around

    def level_step(x: np.ndarray, at: int) -> float:
        return abs(rms_db(x[at - RATE // 20 : at]) - rms_db(x[at : at + RATE // 20]))

    # The level moves across the seam (a downbeat) no more than across the bed's other chord changes.
    changes = [level_step(bed, k * len(bed) // 4) for k in (1, 2, 3)]
    assert level_step(looped, seam) <= max(changes) + 0.5


def not_a_loop(seconds: float = 5.0) -> np.ndarray:
    """A music file that was not made to loop: smooth noise and a tone, ending on a step."""
    n = int(seconds * RATE)
    rng = np.random.default_rng(3)
    smooth = np.convolve(rng.standard_normal(n + 47), np.ones(48) / 48, mode="valid")
    t = np.arange(n) / RATE
    x = 0.5 * smooth + 0.25 * np.sin(2 * np.pi * 220.3 * t)
    x[-RATE // 100 :] += 0.25  # ends on a step
    return np.stack([x, x * 0.9], axis=1).astype(np.float32)


def test_crossfaded_loop_has_no_click_and_no_dip():
    bed = not_a_loop()
    naive = np.concatenate([bed, bed])
    assert np.abs(naive[len(bed)] - naive[len(bed) - 1]).max() > 0.2  # the file alone would click
    looped = fit_bed(bed, 3 * len(bed), crossfade_s=1.5, fade_in_s=0, fade_out_s=0)
    jumps = np.abs(np.diff(looped, axis=0)).max()
    assert jumps <= np.abs(np.diff(bed[:-RATE // 100], axis=0)).max() * 1.5
    level = rms_db(bed[: -RATE // 100])
    windows = looped[: len(looped) // 4800 * 4800].reshape(-1, 4800, 2)
    assert max(abs(rms_db(w) - level) for w in windows) < 2.5  # equal power: no dip in the seam


@pytest.mark.parametrize("crossfade", [0.0, 1.5])
@pytest.mark.parametrize("samples", [1, 1000, RATE // 2, 5 * RATE - 1, 5 * RATE, 5 * RATE + 1, 18 * RATE + 7])
def test_fit_is_exact_to_the_sample_and_fades(samples, crossfade):
    bed = not_a_loop()
    out = fit_bed(bed, samples, crossfade_s=crossfade)
    assert out.shape == (samples, 2)
    if samples > 100:
        assert np.abs(out[0]).max() == 0.0 and np.abs(out[-1]).max() < 1e-6  # faded in from and out to silence
    if samples >= 4 * RATE:
        middle = section(out, 1.5, 2.0)
        assert np.allclose(middle, section(bed, 1.5, 2.0))  # unfaded in between


@pytest.mark.slow
def test_load_music_reads_other_formats_to_48k_stereo(tmp_path):
    mono = (not_a_loop(2.0)[:, 0] * 32767).astype(np.int16)
    src = tmp_path / "song-44k.wav"
    write_wav(src, mono[: 2 * 44100], 44100)
    m4a = tmp_path / "song.m4a"
    run_ffmpeg(["-i", str(src), "-c:a", "aac", "-b:a", "128k", str(m4a)])
    for path in (src, m4a):
        pcm = load_music(path)
        assert pcm.dtype == np.float32 and pcm.shape[1] == 2
        assert abs(len(pcm) - 2 * RATE) < RATE // 20
    with pytest.raises(InputError, match="music.track"):
        load_music(tmp_path / "missing.mp3")
    own = music_source(str(m4a))
    assert not own.looped and own.key == music_source(str(m4a)).key
    bundled = music_source("bundled:calm")
    assert bundled.looped and bundled.key == beds.bed_key("calm")
    assert music_source("none") is None


# --- ducking ----------------------------------------------------------------------------------------------------


def test_voice_activity_finds_the_sentences():
    found = speech_intervals(synthetic_narration())
    assert len(found) == len(SPEECH)
    for (s, e), (fs, fe) in zip(SPEECH, found):
        assert abs(fs - s) <= 0.03 and abs(fe - e) <= 0.03
    quiet = speech_intervals(synthetic_narration(level_db=-50.0))
    assert len(quiet) == len(SPEECH)


@pytest.mark.slow
def test_music_stem_is_ducked_at_least_10_db_under_narration(finished):
    music = to_float(finished.music)
    inside = np.concatenate([section(music, s + 0.2, e - 0.2) for s, e in SPEECH])
    pause = section(music, LONG_PAUSE[0] + 0.5, LONG_PAUSE[1] - 0.3)
    assert rms_db(pause) - rms_db(inside) >= 10.0


def gain_db(gain: np.ndarray) -> np.ndarray:
    return 20 * np.log10(gain.astype(np.float64))


def test_ducking_never_pumps_holds_short_gaps_and_comes_back_in_pauses():
    gain = gain_db(duck_gain(int(SECONDS * RATE), speech_intervals(synthetic_narration()), duck_db=12.0))
    steps = np.abs(np.diff(gain[:: RATE // 100]))
    assert steps.max() <= 1.5  # at most 1.5 dB per 10 ms
    # Direction changes only at stretch edges: one fall and one rise per stretch (3 stretches), no flutter.
    moving = np.sign(np.round(np.diff(gain[:: RATE // 100]), 3))
    moving = moving[moving != 0]
    assert np.count_nonzero(np.diff(moving)) == 2 * 3 - 1
    gap = section(gain, *SHORT_GAP)
    assert gap.max() <= -11.9  # a 0.4 s gap stays down
    pause = section(gain, PAUSE[0] + 0.45, PAUSE[1] - 0.2)
    assert pause.min() >= -0.1  # back up in a 1.5 s pause
    speaking = np.concatenate([section(gain, s, e) for s, e in SPEECH])
    assert speaking.max() <= -11.9  # fully down from the first word (lookahead) to the last


def test_speech_intervals_can_be_given_instead_of_found():
    gain = gain_db(duck_gain(10 * RATE, [(2.0, 3.0)], duck_db=15.0))
    assert section(gain, 2.0, 3.0).max() <= -14.9
    assert gain[: int(1.8 * RATE)].min() >= -0.01 and gain[int(3.45 * RATE) :].min() >= -0.01


# --- loudness and stems -----------------------------------------------------------------------------------------


def test_peak_limiter_keeps_every_sample_under_the_ceiling():
    t = np.arange(RATE) / RATE
    x = np.stack([np.sin(2 * np.pi * 200 * t) * (0.3 + 0.9 * (t > 0.5))] * 2, axis=1).astype(np.float32)
    gain = peak_limiter_gain(x, 0.8)
    assert np.abs(x * gain[:, None]).max() <= 0.8 + 1e-6
    assert gain[: RATE // 3].min() == pytest.approx(1.0)  # untouched well before the loud part
    assert np.abs(np.diff(20 * np.log10(gain[::48]))).max() < 1.5  # smooth, ≤ 1.5 dB per ms


@pytest.mark.slow
@pytest.mark.parametrize("case, narration_db, volume_db", [
    ("normal", -17.0, -18.0),
    ("loud", -4.0, -8.0),
    ("near-silent", -55.0, -60.0),
])  # fmt: skip
def test_mix_lands_at_the_target_loudness(case, narration_db, volume_db, finished):
    if case == "normal":
        sound = finished
    else:
        narration = synthetic_narration(level_db=narration_db)
        if case == "loud":
            narration = np.clip(narration * 1.6, -1, 1)  # a hot recording that clips
        sound = finish_sound(narration, music_source("bundled:upbeat"), volume_db=volume_db)
    measured = measure_loudness(to_float(sound.mix))
    assert abs(measured.integrated - (-14.0)) <= 1.0, (case, measured)
    assert measured.true_peak <= -1.0, (case, measured)
    assert sound.reached_target


@pytest.mark.slow
def test_stems_are_the_video_length_and_add_up_to_the_mix(finished, tmp_path):
    n = int(SECONDS * RATE)
    assert finished.mix.shape == finished.narration.shape == finished.music.shape == (n, 2)
    total = finished.narration.astype(np.int32) + finished.music.astype(np.int32)
    assert np.abs(total - finished.mix).max() <= 2
    paths = write_stems(finished, tmp_path / "stems")
    for path in (paths.narration, paths.music, paths.mix):
        pcm, rate = read_wav(path)
        assert rate == RATE and pcm.shape == (n, 2)


@pytest.mark.slow
def test_silence_and_no_music_do_not_fail():
    silent = finish_sound(np.zeros((5 * RATE, 2), np.int16), music_source("bundled:calm"))
    assert silent.mix.shape == (5 * RATE, 2)
    assert silent.reached_target  # the music alone is brought to the target
    nothing = finish_sound(np.zeros((RATE, 2), np.int16), None)
    assert not nothing.reached_target and not nothing.mix.any()
    voice_only = finish_sound(synthetic_narration(), None)
    assert abs(voice_only.after.integrated + 14.0) <= 1.0 and not voice_only.music.any()


def test_bad_settings_name_the_field():
    with pytest.raises(InputError, match="music.duck_db"):
        finish_sound(synthetic_narration(seconds=1.0, speech=[]), None, duck_db=-3)
    with pytest.raises(InputError, match="output.loudness_lufs"):
        finish_sound(synthetic_narration(seconds=1.0, speech=[]), None, loudness_lufs=3)


def peaky_narration() -> np.ndarray:
    """Speech at −17 dBFS RMS with plosive-like peaks up to −1 dBFS: bringing it to −14 LUFS needs the limiter."""
    x = synthetic_narration()
    for s, e in SPEECH:
        for at in np.arange(s + 0.3, e - 0.3, 0.7):
            i = int(at * RATE)
            x[i : i + 96] = 0.89 * np.hanning(96)[:, None] * np.sign(np.sin(np.arange(96) / 4))[:, None]
    return x


@pytest.mark.slow
def test_peaks_are_limited_to_the_true_peak_ceiling():
    sound = finish_sound(peaky_narration(), music_source("bundled:calm"))
    measured = measure_loudness(to_float(sound.mix))
    assert sound.limited_db > 1.0  # the limiter did work
    assert abs(measured.integrated + 14.0) <= 1.0 and measured.true_peak <= -1.0


@pytest.mark.slow
def test_ducks_under_a_real_voice(tmp_path):
    """Piper's bundled voice (offline, ~1 s): two sentences with a 2 s pause, levelled as a scene's narration is."""
    pytest.importorskip("piper")
    from pipeline.media.ffmpeg import decode_audio
    from pipeline.media.segment import level_narration
    from pipeline.providers.piper import _joe_model_path, _load_voice

    voice = _load_voice(_joe_model_path())
    sentences = []
    for i, text in enumerate(["The river bends where the old mill stands.", "Every spring, the water rises."]):
        raw = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
        path = tmp_path / f"sentence{i}.wav"
        write_wav(path, np.frombuffer(raw, np.int16), 22050)
        sentences.append(level_narration(decode_audio(path, RATE, 2)))
    lead, pause = int(0.5 * RATE), int(2.0 * RATE)
    timeline = np.concatenate([np.zeros((lead, 2), np.int16), sentences[0], np.zeros((pause, 2), np.int16),
                               sentences[1], np.zeros((RATE, 2), np.int16)])  # fmt: skip
    first_end = (lead + len(sentences[0])) / RATE
    second = (first_end + 2.0, first_end + 2.0 + len(sentences[1]) / RATE)
    sound = finish_sound(timeline, music_source("bundled:calm"))
    music = to_float(sound.music)
    inside = np.concatenate(
        [section(music, 0.5 + 0.3, first_end - 0.3), section(music, second[0] + 0.3, second[1] - 0.3)]
    )
    gap = section(music, first_end + 0.6, second[0] - 0.3)
    assert rms_db(gap) - rms_db(inside) >= 10.0
    assert abs(measure_loudness(to_float(sound.mix)).integrated + 14.0) <= 1.0


@pytest.mark.slow
def test_a_stopped_render_stops_the_finish():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        finish_sound(synthetic_narration(seconds=2.0, speech=[(0.5, 1.5)]), music_source("bundled:calm"), cancel=token)


@pytest.mark.slow
def test_the_mix_keeps_its_loudness_through_the_sound_tracks_aac_encode(finished, tmp_path):
    """How a render will use it: mix.wav becomes the one PCM track that join.encode_soundtrack encodes once."""
    from pipeline.media.ffmpeg import decode_audio
    from pipeline.media.join import encode_soundtrack
    from pipeline.media.profile import EncodeProfile

    paths = write_stems(finished, tmp_path)
    track = encode_soundtrack([paths.mix], tmp_path / "soundtrack.m4a", EncodeProfile(1280, 720))
    measured = measure_loudness(to_float(decode_audio(track)))
    assert abs(measured.integrated + 14.0) <= 1.0 and measured.true_peak <= -1.0
