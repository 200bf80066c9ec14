"""Integration: render every example offline with the real providers, then look at and listen to the result.

The examples are bundled finished (issue 14): a music bed ducked under the narration, crossfades (and a fade
through black) between scenes, the sound at -14 LUFS. A scene's place in the video is where scene_starts puts it
(each transition's overlap taken off); its own picture and voice begin after its incoming overlap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.finish_step import write_stems
from pipeline.media.ffmpeg import decode_audio, read_wav
from pipeline.media.music import HOLD_S, speech_intervals
from pipeline.media.segment import NARRATION_LEAD
from pipeline.runner import render
from pipeline.store import Store
from pipeline.storyboard import load_storyboard
from pipeline.transition_plan import scene_starts
from tests.media import ffprobe, frame_at, rms_dbfs, sound, streams

FPS, RATE = 24, 48000

EXAMPLES = sorted((Path(__file__).parent.parent / "assets" / "examples").glob("*.yaml"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def rendered(home, tmp_path_factory):
    """Each example rendered once (in one shared REELSMITH_HOME) for the checks below."""
    import os

    old = os.environ.get("REELSMITH_HOME")
    os.environ["REELSMITH_HOME"] = str(home)
    out = {}
    try:
        for path in EXAMPLES:
            sb = load_storyboard(path)
            video = tmp_path_factory.mktemp(path.stem) / f"{path.stem}.mp4"
            result = render(sb, video)
            out[path.stem] = (sb, result)
    finally:
        if old is None:
            os.environ.pop("REELSMITH_HOME", None)
        else:
            os.environ["REELSMITH_HOME"] = old
    return out


def level(pcm: np.ndarray) -> float:
    """RMS in dBFS of 16-bit PCM (a stem)."""
    return rms_dbfs(pcm.astype(np.float32) / 32768.0)


def placed(result) -> list[tuple[float, float, float]]:
    """Per scene: (where it starts in the video, how long it is, its incoming overlap), in seconds."""
    frames = [s.frames for s in result.scenes]
    boundaries = result.plan.boundaries
    starts = scene_starts(frames, boundaries)
    heads = [0, *(b.frames for b in boundaries)]
    return [(start / FPS, n / FPS, head / FPS) for start, n, head in zip(starts, frames, heads)]


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_example_is_a_valid_narrated_video(rendered, example):
    sb, result = rendered[example]
    report = ffprobe(result.output)
    (video,) = streams(report, "video")
    (audio,) = streams(report, "audio")
    width, height = sb.size
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (width, height)
    assert audio["codec_name"] == "aac" and int(audio["sample_rate"]) == 48000 and audio["channels"] == 2

    # Duration: the sum of the scenes' durations after stretching for narration, less the transitions' overlaps.
    manifest = json.loads(result.manifest.read_text())
    overlaps = sum(b.frames for b in result.plan.boundaries)
    assert overlaps > 0, "every example has transitions"
    expected = (sum(s["frames"] for s in manifest["scenes"]) - overlaps) / 24
    assert expected >= sum(s.duration for s in sb.scenes) - overlaps / 24
    for s in manifest["scenes"]:
        if s["narration_seconds"]:
            assert s["duration"] >= s["narration_seconds"] + 0.25, "no word is cut"
    assert float(report["format"]["duration"]) == pytest.approx(expected, abs=0.1)
    assert float(video["duration"]) == pytest.approx(float(audio["duration"]), abs=1 / 24)
    assert int(video["nb_read_frames"]) == sum(s["frames"] for s in manifest["scenes"]) - overlaps


@pytest.fixture(scope="module")
def stems(rendered, home, tmp_path_factory):
    """Each example's narration and music stems (as mixed, the music after ducking)."""
    out = {}
    for name, (_, result) in rendered.items():
        paths = write_stems(result.finished_sound, Store(home), tmp_path_factory.mktemp(f"{name}-stems"))
        out[name] = {stem: read_wav(path)[0] for stem, path in paths.items()}
    return out


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_narration_is_audible_where_there_is_a_script(rendered, stems, example):
    sb, result = rendered[example]
    manifest = json.loads(result.manifest.read_text())
    track, narration = sound(result.output), stems[example]["narration"]
    for scene, info, (start, duration, head) in zip(sb.scenes, manifest["scenes"], placed(result)):
        span = slice(int(start * RATE), int((start + duration) * RATE))
        if scene.audio_script:
            part = track[span]
            assert rms_dbfs(part) > -35, f"scene {info['index'] + 1} narration too quiet: {rms_dbfs(part):.1f} dBFS"
            said = start + head + NARRATION_LEAD
            speech = track[int(said * RATE) : int((said + info["narration_seconds"]) * RATE)]
            assert rms_dbfs(speech) > -28
        else:
            assert level(narration[span]) < -60, "nobody speaks in a scene with no script"


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_every_example_is_finished_at_minus_14_lufs_with_its_bed_ducked_under_the_voice(rendered, stems, example):
    """Issue 14's done-when: the bundled examples play at the platforms' level, with music under the voice."""
    from pipeline.media.loudness import measure_loudness

    sb, result = rendered[example]
    assert sb.music.track.startswith("bundled:")
    mixed = decode_audio(result.output, RATE, 2).astype(np.float32) / 32768.0
    assert measure_loudness(mixed, RATE).integrated == pytest.approx(-14.0, abs=1.0)
    assert result.finished_sound.meta["true_peak_dbtp"] <= -1.0
    narration, music = stems[example]["narration"], stems[example]["music"]
    stretches: list[list[float]] = []
    for a, b in speech_intervals(narration):
        if stretches and a - stretches[-1][1] < HOLD_S:
            stretches[-1][1] = b
        else:
            stretches.append([a, b])
    inside = np.concatenate([music[int(a * RATE) : int(b * RATE)] for a, b in stretches])
    assert -45 < level(inside), "the bed plays under the voice"
    silent = [(start, duration) for scene, (start, duration, _) in zip(sb.scenes, placed(result))
              if not scene.audio_script]  # fmt: skip
    for start, duration in silent:  # back up where nobody speaks, at least 10 dB over its level under the voice
        middle = music[int((start + 1.0) * RATE) : int((start + duration - 1.0) * RATE)]
        assert level(middle) >= level(inside) + 10


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_frames_differ_between_scenes_and_the_camera_moves(rendered, example):
    sb, result = rendered[example]
    width, height = sb.size
    manifest = json.loads(result.manifest.read_text())
    middles = []
    for info, (start, duration, head) in zip(manifest["scenes"], placed(result)):
        first = frame_at(result.output, start + head + 0.05, width, height).astype(np.int16)
        later = frame_at(result.output, start + head + min(2.0, duration - head - 0.2), width, height)
        later = later.astype(np.int16)
        middles.append(first)
        assert first.std() > 10, "not a flat frame"
        assert first.mean() > 12, "not a black frame"
        prompt = sb.scenes[info["index"]].video_prompt.lower()
        if "static" not in prompt:
            assert np.abs(later - first).mean() > 2.0, f"scene {info['index'] + 1}: the camera must move"
    for a, b in zip(middles, middles[1:]):
        assert np.abs(a - b).mean() > 10, "consecutive scenes must look different"


def test_rerendering_an_example_runs_nothing(rendered, tmp_path):
    import os

    sb, first = rendered["short-story"]
    os.environ["REELSMITH_HOME"] = str(Path(first.scenes[0].image.path).parents[2])
    try:
        again = render(sb, tmp_path / "again.mp4")
    finally:
        os.environ.pop("REELSMITH_HOME", None)
    assert again.executed == {}
    assert (tmp_path / "again.mp4").read_bytes() == first.output.read_bytes()


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_every_example_comes_out_with_captions_of_its_narration(rendered, example):
    import pysubs2

    from pipeline.captions.timing import split_words

    sb, result = rendered[example]
    cues = pysubs2.load(str(result.output.with_suffix(".srt")))
    said = [w for scene in sb.scenes for w, _ in split_words(scene.audio_script)]
    assert [w for cue in cues for w, _ in split_words(cue.plaintext)] == said
    # offline, each narrated scene's captions are drawn into its camera move (one encode): no captioned step
    assert "captioned" not in result.executed and "captioned" not in result.cached
