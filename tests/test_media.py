"""Segment timing, exact-length sound, and the join: stream-copied picture, one continuous sound track."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.media.ffmpeg import FrameEncoder, ffmpeg_exe, read_wav, write_wav
from pipeline.media.join import encode_soundtrack, join_segments
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import (
    NARRATION_LEAD,
    NARRATION_RMS_DBFS,
    build_scene_audio,
    fit_clip,
    level_narration,
    samples_for_frames,
    segment_frames,
)
from tests.media import ffprobe, sound, streams

PROFILE = EncodeProfile(320, 180)
RATE = PROFILE.audio_rate


def test_segment_lasts_the_requested_duration_when_narration_fits():
    assert segment_frames(5, None, 24) == 120
    assert segment_frames(5, 3.0, 24) == 120


def test_segment_stretches_to_fit_the_narration_with_lead_and_tail():
    frames = segment_frames(5, 6.0, 24)
    assert frames / 24 >= NARRATION_LEAD + 6.0 and frames / 24 < NARRATION_LEAD + 6.0 + 0.5 + 1 / 24


def test_scene_audio_has_exactly_the_segments_length(tmp_path):
    voice = tmp_path / "v.wav"
    write_wav(voice, (np.sin(np.arange(22050) / 10) * 8000).astype(np.int16), 22050)
    for frames in (48, 49, 131):
        out = build_scene_audio(voice, frames, PROFILE, tmp_path / f"m{frames}.wav")
        samples, rate = read_wav(out)
        assert rate == RATE and samples.shape == (samples_for_frames(frames, PROFILE), 2)
        assert len(samples) == frames * RATE // 24
        lead = round(NARRATION_LEAD * RATE)
        assert np.all(samples[: lead - 1] == 0), "silence before the first word"
        assert np.abs(samples[lead + 1000 : lead + 5000]).max() > 1000, "narration starts after the lead"


def test_silent_scene_gets_silence(tmp_path):
    samples, _ = read_wav(build_scene_audio(None, 48, PROFILE, tmp_path / "s.wav"))
    assert samples.shape == (96000, 2) and not samples.any()


def test_levelling_brings_quiet_and_loud_voices_together():
    t = np.arange(48000) / 48000
    quiet = np.stack([np.sin(2 * np.pi * 200 * t) * 800] * 2, axis=1).astype(np.int16)
    loud = np.stack([np.sin(2 * np.pi * 200 * t) * 30000] * 2, axis=1).astype(np.int16)
    a, b = (level_narration(x).astype(np.float32) for x in (quiet, loud))
    rms = [20 * np.log10(np.sqrt(np.mean(np.square(x / 32768)))) for x in (a, b)]
    assert abs(rms[0] - rms[1]) < 0.5 and abs(rms[0] - NARRATION_RMS_DBFS) < 1.0
    assert np.abs(b).max() <= 32767 * 10 ** (-1 / 20) + 1


def _video(path: Path, frames: int, shade: int) -> Path:
    with FrameEncoder(path, PROFILE) as enc:
        for i in range(frames):
            enc.write(np.full((PROFILE.height, PROFILE.width, 3), (shade + i) % 256, dtype=np.uint8))
    return path


def _continuous_tone(tmp_path: Path, frame_counts: list[int], freq: float = 441.0) -> tuple[list[Path], np.ndarray]:
    """One unbroken sine, cut into per-segment WAVs exactly at the picture's boundaries."""
    total = sum(samples_for_frames(f, PROFILE) for f in frame_counts)
    t = np.arange(total) / RATE
    tone = np.sin(2 * np.pi * freq * t) * 0.5
    pcm = np.stack([tone, tone], axis=1)
    parts, start = [], 0
    for i, frames in enumerate(frame_counts):
        n = samples_for_frames(frames, PROFILE)
        part = tmp_path / f"a{i}.wav"
        write_wav(part, np.round(pcm[start : start + n] * 32767).astype(np.int16), RATE)
        parts.append(part)
        start += n
    return parts, tone


def _dropouts(signal: np.ndarray, boundaries: list[int], expected_rms: float) -> list[float]:
    """Lowest 5 ms RMS near each boundary, relative to the tone's RMS (1.0 = unbroken, ~0 = a gap)."""
    window = 240
    worst = []
    for b in boundaries:
        lo, hi = max(0, b - 2400), min(len(signal) - window, b + 2400)
        rms = [np.sqrt(np.mean(np.square(signal[i : i + window]))) for i in range(lo, hi, 24)]
        worst.append(min(rms) / expected_rms)
    return worst


FRAME_COUNTS = [48, 37, 61, 50, 43]


def _boundaries() -> list[int]:
    return list(np.cumsum([samples_for_frames(f, PROFILE) for f in FRAME_COUNTS])[:-1])


@pytest.mark.slow
def test_join_copies_the_picture_and_keeps_the_sound_continuous(tmp_path):
    videos = [_video(tmp_path / f"v{i}.mp4", f, 40 * i) for i, f in enumerate(FRAME_COUNTS)]
    audios, tone = _continuous_tone(tmp_path, FRAME_COUNTS)
    track = encode_soundtrack(audios, tmp_path / "track.m4a", PROFILE)
    out = join_segments(videos, track, tmp_path / "final.mp4", PROFILE)

    report = ffprobe(out)
    (video,) = streams(report, "video")
    (audio,) = streams(report, "audio")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert int(video["nb_read_frames"]) == sum(FRAME_COUNTS)
    assert audio["codec_name"] == "aac" and int(audio["sample_rate"]) == RATE and audio["channels"] == 2
    expected = sum(FRAME_COUNTS) / 24
    assert float(video["duration"]) == pytest.approx(expected, abs=1 / 24)
    assert float(audio["duration"]) == pytest.approx(expected, abs=1 / 24)

    decoded = sound(out)
    assert abs(len(decoded) - len(tone)) <= RATE // 24, "sound and picture lengths agree within a frame"
    assert min(_dropouts(decoded, _boundaries(), np.sqrt(np.mean(np.square(tone))))) > 0.8
    # No drift: the end of the track is still in phase with the original tone.
    tail = slice(len(tone) - RATE // 2, len(tone) - 1000)
    lag = _lag(decoded[tail], tone[tail])
    assert abs(lag) <= 2, f"sound drifted by {lag} samples"


def _lag(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    corr = np.correlate(a[:n], b[:n], mode="full")
    return int(np.argmax(corr) - (n - 1))


@pytest.mark.slow
def test_the_continuity_check_catches_separately_encoded_aac(tmp_path):
    """The naive way (each segment with its own AAC, concatenated by stream copy) leaves gaps: the check sees them."""
    audios, tone = _continuous_tone(tmp_path, FRAME_COUNTS)
    parts = []
    for i, (a, f) in enumerate(zip(audios, FRAME_COUNTS)):
        video = _video(tmp_path / f"v{i}.mp4", f, 0)
        part = tmp_path / f"seg{i}.mp4"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(video), "-i", str(a), "-c:v", "copy", "-c:a", "aac",
                        "-b:a", "192k", str(part)], check=True)  # fmt: skip
        parts.append(part)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    naive = tmp_path / "naive.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(naive)], check=True)  # fmt: skip
    decoded = sound(naive)
    worst = min(_dropouts(decoded, _boundaries(), np.sqrt(np.mean(np.square(tone)))))
    tail = slice(len(tone) - RATE // 2, len(tone) - 1000)
    drift = abs(_lag(decoded[tail], tone[tail])) if len(decoded) >= len(tone) - 1000 else 10**6
    assert worst < 0.8 or drift > 2, "the naive join should show a gap or drift; if not, the check is too weak"


@pytest.mark.slow
def test_fit_clip_scales_crops_and_holds_the_last_frame(tmp_path):
    src = tmp_path / "src.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=400x300:rate=30:duration=1",
                    "-pix_fmt", "yuv444p", "-c:v", "libx264", str(src)], check=True)  # fmt: skip
    out = fit_clip(src, tmp_path / "fit.mp4", 60, PROFILE)
    (video,) = streams(ffprobe(out), "video")
    assert (video["width"], video["height"]) == (PROFILE.width, PROFILE.height)
    assert video["pix_fmt"] == "yuv420p" and video["r_frame_rate"] == "24/1"
    assert int(video["nb_read_frames"]) == 60
    assert float(video["duration"]) == pytest.approx(2.5, abs=1 / 24)


def test_hold_last_frame_lengthens_without_reencoding_the_clip(tmp_path):
    from pipeline.media.segment import hold_last_frame

    clip = _video(tmp_path / "clip.mp4", 30, 100)
    out = hold_last_frame(clip, 30, tmp_path / "held.mp4", 50, PROFILE)
    (video,) = streams(ffprobe(out), "video")
    assert int(video["nb_read_frames"]) == 50
    assert float(video["duration"]) == pytest.approx(50 / 24, abs=1 / 48)
    # The clip's own packets are copied byte for byte: its first frame decodes identically.
    from tests.media import frame_at

    assert np.array_equal(frame_at(out, 0, 320, 180), frame_at(clip, 0, 320, 180))
    held = frame_at(out, 45 / 24, 320, 180).astype(int)
    last = frame_at(clip, 29 / 24, 320, 180).astype(int)
    assert np.abs(held - last).mean() < 2


def test_encoder_budget_lets_two_720p_run_together_but_not_two_1080p():
    import threading

    from pipeline.media.ffmpeg import EncoderBudget

    budget = EncoderBudget(280)
    small, large = EncoderBudget.cost_mb(1280, 720), EncoderBudget.cost_mb(1920, 1080)
    budget.acquire(small)
    budget.acquire(small)  # fits: returns at once
    budget.release(small)
    budget.release(small)

    budget.acquire(large)
    second = threading.Thread(target=budget.acquire, args=(large,))
    second.start()
    second.join(timeout=0.3)
    assert second.is_alive(), "a second 1080p encoder must wait"
    budget.release(large)
    second.join(timeout=2)
    assert not second.is_alive()
    budget.release(large)
    assert budget.used_mb == 0


def test_an_encoder_larger_than_the_budget_still_runs_alone():
    import threading

    from pipeline.media.ffmpeg import EncoderBudget

    budget = EncoderBudget(100)
    large = EncoderBudget.cost_mb(1920, 1080)
    assert large > budget.budget_mb
    alone = threading.Thread(target=budget.acquire, args=(large,), daemon=True)
    alone.start()
    alone.join(timeout=2)
    assert not alone.is_alive(), "an encoder larger than the whole budget waited for ever on an idle budget"
    assert budget.used_mb == large
    # ... and it runs alone: a second encoder, even a small one, waits until it is released.
    small = threading.Thread(target=budget.acquire, args=(EncoderBudget.cost_mb(256, 144),), daemon=True)
    small.start()
    small.join(timeout=0.3)
    assert small.is_alive(), "a second encoder started beside one over the budget"
    budget.release(large)
    small.join(timeout=2)
    assert not small.is_alive()
    assert budget.used_mb == EncoderBudget.cost_mb(256, 144)
