"""Start from a script / an idea in the studio: `/storyboard_from_script` and `/storyboard_from_idea` through
gradio_client against the launched app (the idea against tests/wire/hf_chat.py), then a render of the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.storyboard import parse_storyboard
from tests.media import ffprobe, streams
from tests.studio import running_studio
from tests.wire.hf_chat import FakeHfChat

pytestmark = pytest.mark.slow

TOKEN = "canary-hf-studio-41d0-secret"
PARAGRAPH = ("For forty years, Elias kept the light burning on the edge of the world. Every night, he climbed the "
             "one hundred and twelve steps. One winter night, a storm swallowed the sea, and a small boat lost its "
             "way. By morning the storm had passed, and Elias, at last, slept.")  # fmt: skip
# What the editor holds when the person presses the button: its settings stay (small, fast pictures here).
OPEN = "title: open\nresolution: 640x360\nvoice: {provider: piper, voice_id: joe}\nscenes: [{image_prompt: a}]\n"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from gradio_client import Client

    fake = FakeHfChat(TOKEN).start()
    home = tmp_path_factory.mktemp("drafts-home")
    log = tmp_path_factory.mktemp("drafts-log") / "studio.log"
    env = {"HF_TOKEN": TOKEN, "HF_INFERENCE_URL": fake.base_url()}
    try:
        with running_studio(home, env=env, log=log) as url:
            yield Client(url, verbose=False), home, fake, log
    finally:
        fake.stop()


def test_a_pasted_paragraph_becomes_a_narrated_captioned_video(studio, tmp_path):
    client, home, _, _ = studio

    text, note = client.predict(PARAGRAPH, OPEN, api_name="/storyboard_from_script")

    storyboard = parse_storyboard(text)
    assert " ".join(s.audio_script for s in storyboard.scenes) == PARAGRAPH
    assert (storyboard.resolution, storyboard.voice.voice_id) == ("640x360", "joe"), "the open settings stay"
    assert note.startswith(f"From your script: {len(storyboard.scenes)} scenes, ")
    board, image, clip, voice, final, manifest, gallery, captions = client.predict(
        text, "draft", "motion", "piper", api_name="/render")  # fmt: skip
    assert sorted(Path(c).suffix for c in captions) == [".srt", ".vtt"], "captions come with the video"
    report = ffprobe(final["video"] if isinstance(final, dict) else final)
    assert len(streams(report, "video")) == 1 and len(streams(report, "audio")) == 1
    scenes = json.loads(open(manifest, encoding="utf-8").read())["scenes"]
    assert [s["duration"] for s in scenes] == [s.duration for s in storyboard.scenes], "none stretched"
    assert all(s["narration_seconds"] for s in scenes)


def test_an_empty_script_is_a_clear_message(studio):
    from gradio_client.exceptions import AppError

    client = studio[0]
    with pytest.raises(AppError) as caught:
        client.predict("  ", OPEN, api_name="/storyboard_from_script")
    assert str(caught.value) == "The script needs fixing:\nscript: is empty: paste the narration, a sentence or more"


def test_an_idea_is_drafted_within_a_budget(studio):
    from gradio_client.exceptions import AppError

    client, home, fake, log = studio
    with pytest.raises(AppError, match=r"Set a budget of at least \$0\.02"):
        client.predict("a lighthouse keeper", OPEN, 0, api_name="/storyboard_from_idea")
    assert fake.count("POST", r".*/chat/completions") == 0

    text, note = client.predict("a lighthouse keeper", OPEN, 0.05, api_name="/storyboard_from_idea")

    storyboard = parse_storyboard(text)
    assert storyboard.title == "The Last Lighthouse" and storyboard.resolution == "640x360"
    assert note.startswith("Drafted by Qwen/Qwen2.5-72B-Instruct for $") and "3 scenes" in note
    assert TOKEN not in log.read_text(encoding="utf-8")
    assert not any(TOKEN.encode() in p.read_bytes() for p in home.rglob("*") if p.is_file())
