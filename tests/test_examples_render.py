"""Integration: render every example offline with the real providers, then look at and listen to the result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.runner import render
from pipeline.storyboard import load_storyboard
from tests.media import ffprobe, frame_at, rms_dbfs, sound, streams

EXAMPLES = sorted((Path(__file__).parent.parent / "assets" / "examples").glob("*.yaml"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Each example rendered once (in one shared REELSMITH_HOME) for the checks below."""
    import os

    home = tmp_path_factory.mktemp("home")
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

    # Duration: the sum of the scenes' durations after stretching for narration.
    manifest = json.loads(result.manifest.read_text())
    expected = sum(s["frames"] for s in manifest["scenes"]) / 24
    assert expected >= sum(s.duration for s in sb.scenes)
    for s in manifest["scenes"]:
        if s["narration_seconds"]:
            assert s["duration"] >= s["narration_seconds"] + 0.25, "no word is cut"
    assert float(report["format"]["duration"]) == pytest.approx(expected, abs=0.1)
    assert float(video["duration"]) == pytest.approx(float(audio["duration"]), abs=1 / 24)
    assert int(video["nb_read_frames"]) == sum(s["frames"] for s in manifest["scenes"])


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_narration_is_audible_where_there_is_a_script(rendered, example):
    sb, result = rendered[example]
    manifest = json.loads(result.manifest.read_text())
    track = sound(result.output)
    start = 0.0
    for scene, info in zip(sb.scenes, manifest["scenes"]):
        part = track[int(start * 48000) : int((start + info["duration"]) * 48000)]
        start += info["duration"]
        if scene.audio_script:
            assert rms_dbfs(part) > -35, f"scene {info['index'] + 1} narration too quiet: {rms_dbfs(part):.1f} dBFS"
            speech = part[int(0.25 * 48000) : int((0.25 + info["narration_seconds"]) * 48000)]
            assert rms_dbfs(speech) > -28
        else:
            assert rms_dbfs(part) < -60, "a scene with no script is silent"


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_frames_differ_between_scenes_and_the_camera_moves(rendered, example):
    sb, result = rendered[example]
    width, height = sb.size
    manifest = json.loads(result.manifest.read_text())
    start = 0.0
    middles = []
    for info in manifest["scenes"]:
        first = frame_at(result.output, start + 0.05, width, height).astype(np.int16)
        later = frame_at(result.output, start + min(2.0, info["duration"] - 0.2), width, height).astype(np.int16)
        middles.append(first)
        assert first.std() > 10, "not a flat frame"
        assert first.mean() > 12, "not a black frame"
        prompt = sb.scenes[info["index"]].video_prompt.lower()
        if "static" not in prompt:
            assert np.abs(later - first).mean() > 2.0, f"scene {info['index'] + 1}: the camera must move"
        start += info["duration"]
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
    assert result.executed.get("captioned") == sum(1 for s in sb.scenes if s.audio_script.strip())
