"""A pasted script → a storyboard, offline: exact narration, scenes timed to the voice, clear refusals."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import InputError
from pipeline.providers.motion import parse_camera_move
from pipeline.script_storyboard import (
    MARGIN_SECONDS,
    draft_yaml,
    language_warnings,
    plan_narrations,
    script_to_storyboard,
    speech_rate,
)
from pipeline.storyboard import MAX_SCENE_SECONDS, MAX_SCENES, MIN_SCENE_SECONDS, parse_storyboard

WORDS = ["tide", "wind", "ship", "gull", "moon", "rain", "lamp", "rope", "bell", "door"]
STORY = (
    "For forty years, Elias kept the light burning on the edge of the world. Every night, he climbed the one "
    "hundred and twelve steps.\n\n"
    "One winter night, a storm swallowed the sea, and a small boat lost its way. By morning the storm had passed. "
    "The boat was home. And Elias, at last, slept."
)


def sentences(count: int) -> str:
    """`count` short, varied sentences, wrapped over lines as a pasted text is."""
    said = [f"The {WORDS[i % 10]} came back {('slowly', 'again', 'at dawn')[i % 3]}." for i in range(count)]
    return "\n".join(" ".join(said[i : i + 5]) for i in range(0, count, 5))


def normalised(text: str) -> str:
    return " ".join(text.split())


def assert_timed(storyboard, voice: str = "piper") -> None:
    rate = speech_rate(voice)
    for scene in storyboard.scenes:
        planned = rate.seconds(scene.audio_script)
        assert MIN_SCENE_SECONDS <= scene.duration <= MAX_SCENE_SECONDS
        assert scene.duration >= planned + MARGIN_SECONDS, (scene.duration, planned, scene.audio_script)


@pytest.mark.parametrize("count", [1, 8, 200])
def test_joined_narration_is_the_script(count):
    script = sentences(count)

    storyboard = script_to_storyboard(script)

    assert " ".join(s.audio_script for s in storyboard.scenes) == normalised(script)
    assert_timed(storyboard)
    assert 1 <= len(storyboard.scenes) <= MAX_SCENES
    assert parse_storyboard(draft_yaml(storyboard)) == storyboard  # what is written reads back, valid


def test_paragraphs_start_scenes_and_sentences_stay_whole():
    storyboard = script_to_storyboard(STORY)

    narrations = [s.audio_script for s in storyboard.scenes]
    assert " ".join(narrations) == normalised(STORY)
    assert any(n.startswith("One winter night") for n in narrations), "the second paragraph starts a scene"
    assert all(n.endswith((".", "!", "?")) for n in narrations), "cut at sentence ends only"
    assert_timed(storyboard)
    assert storyboard.title == "For forty years, Elias kept the light burning on the edge…"


def test_a_long_sentence_is_cut_at_clauses_then_words():
    clauses = ", ".join(f"and the {w} turned over in the dark water" for w in WORDS * 2) + "."
    no_marks = " ".join(f"and the {w} turned over in the dark water" for w in WORDS * 2)

    for script in (clauses, no_marks):
        storyboard = script_to_storyboard(script)
        assert len(storyboard.scenes) > 1
        assert " ".join(s.audio_script for s in storyboard.scenes) == script
        assert_timed(storyboard)
    by_clause = [s.audio_script for s in script_to_storyboard(clauses).scenes]
    assert all(n.endswith((",", ".")) for n in by_clause), "clauses end at their marks"


def test_chinese_without_spaces_is_cut_between_characters():
    script = "很久以前在一个遥远的小村庄里住着一位老渔夫他每天早上都会出海捕鱼晚上回家给孙子讲故事" * 3

    storyboard = script_to_storyboard(script, voice_provider="elevenlabs")

    assert len(storyboard.scenes) > 1
    assert "".join(s.audio_script for s in storyboard.scenes) == script
    assert_timed(storyboard, "elevenlabs")


def test_any_language_gets_the_preflight_warning():
    chinese = script_to_storyboard("山后的太阳慢慢落下。渔夫回到了家。" * 4)
    (warning,) = language_warnings(chinese)
    assert "looks like Chinese" in warning and "elevenlabs" in warning
    assert language_warnings(script_to_storyboard(STORY)) == []
    assert language_warnings(script_to_storyboard("山后的太阳慢慢落下。", voice_provider="elevenlabs")) == []


@pytest.mark.parametrize("script", ["", "   \n\n \t", None, "\u200b\u200d "])
def test_an_empty_script_is_refused(script):
    with pytest.raises(InputError) as caught:
        script_to_storyboard(script)
    assert str(caught.value) == "script: is empty: paste the narration, a sentence or more"


def test_a_script_too_long_says_how_many_scenes_it_needs():
    script = sentences(600)

    with pytest.raises(InputError) as caught:
        script_to_storyboard(script)

    message = str(caught.value)
    needed = int(message.split("needs ")[1].split(" ")[0])
    assert needed > MAX_SCENES and f"at most {MAX_SCENES}" in message
    assert "split it into several videos" in message


def test_a_control_character_is_named():
    with pytest.raises(InputError, match=r"script: contains the control character U\+0007 at position 4"):
        script_to_storyboard("Hi.\x07 There.")


def test_camera_moves_vary_in_the_motion_providers_words():
    storyboard = script_to_storyboard(sentences(30) + "\n\nThen silence.\n\n" + sentences(30))

    moves = [s.video_prompt for s in storyboard.scenes]
    labels = [parse_camera_move(m).label for m in moves]
    assert all(a != b for a, b in zip(labels, labels[1:])), "no two neighbouring scenes move alike"
    for count in range(2, 12):  # whatever the length, the closing zoom out follows another move
        closing = [parse_camera_move(s.video_prompt).label for s in script_to_storyboard(sentences(count * 4)).scenes]
        assert all(a != b for a, b in zip(closing, closing[1:])), closing
    assert len(set(labels)) >= 5
    assert "gentle push-in" not in labels, "every move is one the provider understands, not its default"
    assert labels[0] == "slow push in" and labels[-1] == "slow zoom out"
    assert any("pan" in label for label in labels) and any(label.startswith("fast") for label in labels), \
        "a short scene moves fast"


def test_settings_come_from_the_base_storyboard_and_the_options():
    base = parse_storyboard(Path("assets/examples/short-story.yaml").read_text()).model_dump(mode="json")

    storyboard = script_to_storyboard(STORY, base=base, style="3d", title="Elias")

    assert (storyboard.title, storyboard.style, storyboard.resolution) == ("Elias", "3d", "1280x720")
    assert storyboard.voice.voice_id == "joe" and storyboard.voice.provider == "piper"
    assert storyboard.scenes[0].audio_script.startswith("For forty years")


def test_deterministic_and_instant():
    script = sentences(150)  # about a minute and a half of speech
    first = script_to_storyboard(script)
    start = time.perf_counter()
    for _ in range(5):
        again = script_to_storyboard(script)
    took = (time.perf_counter() - start) / 5
    assert again.model_dump() == first.model_dump()
    assert took < 0.5, f"{took:.3f} s for a long script"


def test_plan_is_the_narrations():
    assert plan_narrations("One. Two.") == ["One. Two."]
    assert json.loads(script_to_storyboard("Yes.").model_dump_json())["scenes"][0]["duration"] == MIN_SCENE_SECONDS


@pytest.mark.slow
def test_the_piper_voice_speaks_every_scene_within_its_duration(tmp_path):
    """The measured rate holds: each scene spoken for real, its speech and the render's quiet around it fit."""
    from pipeline.cancel import CancelToken
    from pipeline.providers.base import StepContext, VoiceRequest, registry

    long_sentence = ", ".join(f"and the {w} turned over in the dark water" for w in WORDS) + "."
    storyboard = script_to_storyboard(f"{STORY}\n\n{long_sentence} The year was 1887.")
    piper, rate = registry.get("voice", "piper"), speech_rate("piper")
    for i, scene in enumerate(storyboard.scenes):
        workdir = tmp_path / f"scene{i}"
        workdir.mkdir()
        request = VoiceRequest(scene.audio_script, None, None, 0.5, 0.75)
        out = piper.generate(request, StepContext(workdir, CancelToken()))
        spoken = out.meta["duration"]
        assert spoken <= rate.seconds(scene.audio_script), (scene.audio_script, spoken)
        assert spoken + MARGIN_SECONDS <= scene.duration


@pytest.mark.slow
def test_a_pasted_paragraph_renders_to_a_narrated_captioned_video(small_render, tmp_path):
    """Paste a paragraph, press one button: a narrated, captioned video, every scene as long as planned."""
    import pysubs2

    from pipeline.runner import render
    from tests.media import ffprobe, streams

    storyboard = script_to_storyboard(STORY)
    result = render(storyboard, tmp_path / "story.mp4")

    report = ffprobe(result.output)
    assert len(streams(report, "video")) == 1 and len(streams(report, "audio")) == 1
    manifest = json.loads(result.manifest.read_text())
    fps = manifest["output"]["fps"] if "fps" in manifest["output"] else 24
    for planned, rendered in zip(storyboard.scenes, manifest["scenes"]):
        assert rendered["narration_seconds"] + MARGIN_SECONDS <= planned.duration
        assert rendered["frames"] == planned.duration * fps, "no scene was stretched for its narration"
    cues = " ".join(event.plaintext for event in pysubs2.load(str(result.output.with_suffix(".srt"))))
    assert normalised(cues.replace("\n", " ")) == normalised(STORY)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab .,;!?\n\t—1漢。 ") + ["\u200b", "é", "Ω"]), max_size=400)
       | st.text(max_size=200))
def test_whatever_is_pasted_is_a_storyboard_or_a_clear_refusal(script):
    try:
        storyboard = script_to_storyboard(script)
    except InputError as exc:
        assert str(exc).startswith(("script: ", "Scene ")), str(exc)
        return
    assert "".join("".join(s.audio_script for s in storyboard.scenes).split()) == "".join(script.split())
    assert all(MIN_SCENE_SECONDS <= s.duration <= MAX_SCENE_SECONDS for s in storyboard.scenes)


def test_image_prompts_are_the_scenes_own_words():
    storyboard = script_to_storyboard('And Elias, at last, slept.\n\n"Go home," she said. ' + "x" * 400)

    prompts = [s.image_prompt for s in storyboard.scenes]
    assert prompts[0] == "Elias, at last, slept"
    assert prompts[1] == "Go home, she said"
    assert all(len(p) <= 300 for p in prompts) and all(p.strip() for p in prompts)


@pytest.mark.slow
def test_the_cli_writes_a_storyboard_from_a_script(tmp_path):
    from tests.studio import run_cli

    script, out = tmp_path / "story.txt", tmp_path / "story.yaml"
    script.write_text(STORY, encoding="utf-8")
    res = run_cli("storyboard", "--from-script", str(script), "-o", str(out), "--style", "anime")
    assert res.returncode == 0, res.stderr
    storyboard = parse_storyboard(out.read_text(encoding="utf-8"))
    assert storyboard.style == "anime" and " ".join(s.audio_script for s in storyboard.scenes) == normalised(STORY)
    assert res.stdout.startswith(f"wrote {out}: '{storyboard.title}', {len(storyboard.scenes)} scenes, ")
    assert res.stderr == ""

    script.write_text(" \n", encoding="utf-8")
    res = run_cli("storyboard", "--from-script", str(script), "-o", str(out))
    assert (res.returncode, res.stderr) == (2, "invalid script (1 problem):\n  - script: is empty: paste the "
                                               "narration, a sentence or more\n")  # fmt: skip

    script.write_text("山后的太阳慢慢落下。渔夫回到了家。", encoding="utf-8")
    res = run_cli("storyboard", "--from-script", str(script), "-o", str(out))
    assert res.returncode == 0 and res.stderr.startswith("warning: Scene 1, narration (scenes[0].audio_script): looks like Chinese")
