"""Captions in real offline renders: the files beside the video, their timing against the sound, the burned-in
picture read back by OCR, and burn_in false leaving the render as it was."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from PIL import Image

from pipeline.captions.timing import split_words, voiced_frames
from pipeline.credentials import Credentials
from pipeline.plan import plan_render
from pipeline.runner import render
from pipeline.steps import plan_steps
from pipeline.storyboard import Storyboard, load_storyboard
from tests.media import frame_at, sound

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
RATE = 48000
# How far a cue may start before the speech it shows, or end after it (the 0.8 s minimum holds a short cue).
TOLERANCE = 0.15


def _story(**captions) -> Storyboard:
    """The bundled short story with its second scene silent, and the given caption settings: without its music bed
    (the speech detector would hear the bed) and with cuts (a test adds its own transitions)."""
    data = load_storyboard(EXAMPLES / "short-story.yaml").model_dump(mode="json")
    data.pop("music"), data.pop("transition")
    for scene in data["scenes"]:
        scene.pop("transition")
    data["scenes"][1]["audio_script"] = ""
    data["captions"].update(captions)
    return Storyboard.model_validate(data)


@pytest.fixture(scope="module")
def story_render(tmp_path_factory):
    """The story rendered once, small (a module-wide REELSMITH_HOME; the size patch of `small_render`); the
    result remembers its REELSMITH_HOME as `home`."""
    from tests.conftest import SMALL_RENDER_SCALE

    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    patch.setenv("REELSMITH_HOME", str(home))
    patch.setattr(Storyboard, "size", property(lambda sb: (1280 // SMALL_RENDER_SCALE, 720 // SMALL_RENDER_SCALE)))
    try:
        sb = _story()
        result = render(sb, tmp_path_factory.mktemp("out") / "story.mp4")
        result.home = home  # type: ignore[attr-defined]
    finally:
        patch.undo()  # at once: other tests of this module render at full size
    return sb, result


def _scene_spans(result) -> list[tuple[float, float]]:
    fps, spans, t = result.plan.profile.fps, [], 0
    for scene in result.scenes:
        spans.append((t / fps, (t + scene.frames) / fps))
        t += scene.frames
    return spans


def test_srt_and_vtt_are_beside_the_video_and_named_in_the_manifest(story_render):
    _, result = story_render
    srt, vtt = result.output.with_suffix(".srt"), result.output.with_suffix(".vtt")
    assert srt.is_file() and vtt.is_file()
    assert result.captions == (srt, vtt)
    manifest = json.loads(result.manifest.read_text())
    assert manifest["output"]["captions"] == ["story.srt", "story.vtt"]
    assert vtt.read_text(encoding="utf-8").startswith("WEBVTT")
    # an independent reader finds the same cues in both
    a, b = pysubs2.load(str(srt)), pysubs2.load(str(vtt))
    assert [(e.start, e.end, e.plaintext) for e in a] == [(e.start, e.end, e.plaintext) for e in b]


def test_cue_text_is_the_narration_in_order_and_a_silent_scene_has_none(story_render):
    sb, result = story_render
    cues = pysubs2.load(str(result.output.with_suffix(".srt")))
    spans = _scene_spans(result)
    narrated = [i for i, s in enumerate(sb.scenes) if s.audio_script.strip()]
    assert narrated == [0, 2]
    said = [w for i in narrated for w, _ in split_words(sb.scenes[i].audio_script)]
    shown = [w for cue in cues for w, _ in split_words(cue.plaintext)]
    assert shown == said
    for cue in cues:
        start, end = cue.start / 1000, cue.end / 1000
        scene = next(i for i, (a, b) in enumerate(spans) if a - 1e-3 <= start < b)
        assert scene in narrated, f"a cue at {start:.2f}s lies in silent scene {scene + 1}"
        assert end <= spans[scene][1] + 1e-3, "a cue spans a scene boundary"
        assert end - start >= 0.8 - 1e-3
    ends = [c.end for c in cues]
    assert all(e <= s for e, s in zip(ends, [c.start for c in cues][1:])), "cues overlap"


def test_cues_lie_inside_speech_heard_in_the_final_video(story_render):
    """Against the final file's own sound: every cue starts where speech is heard (within TOLERANCE), shows
    some speech, and every moment of speech is under a cue."""
    _assert_cues_in_speech(story_render[1])


def test_cues_follow_the_voice_when_transitions_overlap_the_scenes(small_render, tmp_path):
    """A 1 s crossfade moves every later scene (and its voice) 1 s earlier: the files follow the new times."""
    data = _story().model_dump(mode="json")
    data["transition"] = {"type": "crossfade", "seconds": 1.0}
    result = render(Storyboard.model_validate(data), tmp_path / "crossfaded.mp4")
    assert result.duration < sum(s.frames for s in result.scenes) / result.plan.profile.fps - 1.5  # 2 overlaps
    _assert_cues_in_speech(result)


def _assert_cues_in_speech(result) -> None:
    cues = [(c.start / 1000, c.end / 1000) for c in pysubs2.load(str(result.output.with_suffix(".srt")))]
    voiced = voiced_frames(sound(result.output, RATE), RATE)  # per 10 ms
    times = np.nonzero(voiced)[0] * 0.01
    assert len(times) > 100, "the video has speech"
    for start, end in cues:
        inside = times[(times >= start - TOLERANCE) & (times <= end + TOLERANCE)]
        assert len(inside) and inside[0] <= start + TOLERANCE, f"cue {start:.2f}-{end:.2f} starts in silence"
        assert len(inside) * 0.01 >= 0.3 * (end - start), f"cue {start:.2f}-{end:.2f} is mostly over silence"
    uncovered = [t for t in times if not any(a - TOLERANCE <= t <= b + TOLERANCE for a, b in cues)]
    assert len(uncovered) * 0.01 < 0.1, f"speech without a caption at {uncovered[:5]}"


def test_each_narrated_offline_scene_is_encoded_once_with_its_captions(story_render):
    """The camera move draws the captions in its own encode, at the scene's length: the segment is that clip as it
    is, and nothing burns them in again."""
    _, first = story_render
    assert "captioned" not in first.executed and first.executed.get("video") == 3
    for scene in first.scenes:
        narrated = scene.index != 1
        clip, segment = scene.outputs["video"], scene.outputs["segment"]
        assert (clip.meta.get("cues", 0) > 0) == narrated, scene.index
        assert segment.sha256 == clip.sha256 and segment.meta["reencoded"] is False, scene.index
        assert clip.meta["frames"] == scene.frames


def test_a_second_render_reuses_the_captioned_clips(story_render, monkeypatch, small_render):
    sb, first = story_render
    monkeypatch.setenv("REELSMITH_HOME", str(first.home))
    again = render(sb, first.output.with_name("again.mp4"))
    assert again.cached.get("video") == 3 and not again.executed
    assert again.output.with_suffix(".srt").read_bytes() == first.output.with_suffix(".srt").read_bytes()


def test_burn_in_false_joins_the_segments_as_before(small_render, tmp_path):
    sb = _story(burn_in=False)
    credentials = Credentials({})
    graph = plan_steps(plan_render(sb, credentials), credentials)
    assert not [s for s in graph if s.kind == "captioned"]
    assert graph["join"].inputs == ("segment:0", "segment:1", "segment:2", "soundtrack")
    result = render(sb, tmp_path / "plain.mp4")
    assert "captioned" not in result.executed and "captioned" not in result.cached
    assert result.captions == (tmp_path / "plain.srt", tmp_path / "plain.vtt")  # files are still written
    joined = json.loads(result.manifest.read_text())
    assert [s["steps"]["segment"]["sha256"] for s in joined["scenes"]] == [s.segment.sha256 for s in result.scenes]


def test_files_false_and_no_narration_write_no_files(small_render, tmp_path):
    result = render(_story(files=False), tmp_path / "nofiles.mp4")
    assert result.captions == () and not (tmp_path / "nofiles.srt").exists()
    silent = _story()
    data = silent.model_dump(mode="json")
    for scene in data["scenes"]:
        scene["audio_script"] = ""
    result = render(Storyboard.model_validate(data), tmp_path / "silent.mp4")
    assert result.captions == () and "captioned" not in result.executed
    assert json.loads(result.manifest.read_text())["output"]["captions"] == []


def _ocr(image: np.ndarray, tmp: Path) -> str:
    exe = shutil.which("tesseract")
    assert exe, "tesseract is missing: install Debian's tesseract-ocr (.ci/run does)"
    png = tmp / "frame.png"
    Image.fromarray(image).save(png)
    out = subprocess.run([exe, str(png), "stdout", "--psm", "6"], capture_output=True, text=True, check=True)
    return out.stdout


@pytest.mark.full_size
def test_ocr_reads_the_burned_in_cue_from_the_final_video(tmp_path):
    sb = Storyboard.model_validate({
        "title": "OCR", "resolution": "1280x720",
        "scenes": [{"image_prompt": "A calm grey sea under a cloudy sky", "video_prompt": "static", "duration": 2,
                    "audio_script": "Captions help people who watch without sound."}],
    })  # fmt: skip
    result = render(sb, tmp_path / "ocr.mp4")
    (cue,) = pysubs2.load(str(result.output.with_suffix(".srt")))
    middle = (cue.start + cue.end) / 2000
    frame = frame_at(result.output, middle, 1280, 720)
    Image.fromarray(frame).save(tmp_path / "look.png")
    text = _ocr(frame[360:], tmp_path)  # the lower half, where captions sit
    words = [w.strip(".,").lower() for w in cue.plaintext.split()]
    read = text.lower()
    found = [w for w in words if w in read]
    assert len(found) >= len(words) - 1, f"OCR read {text!r}, cue {cue.plaintext!r}"
    # and the same frame without captions carries none of those words
    plain = render(sb.model_copy(update={"captions": sb.captions.model_copy(update={"burn_in": False})}),
                   tmp_path / "plain.mp4")  # fmt: skip
    assert not [w for w in words if len(w) > 4 and w in _ocr(frame_at(plain.output, middle, 1280, 720)[360:],
                                                              tmp_path).lower()]  # fmt: skip
