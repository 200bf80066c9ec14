"""The studio through gradio_client, against the app launched on a free port."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import ffprobe, streams

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studio(launched_studio):
    from gradio_client import Client

    url, home = launched_studio
    return Client(url, verbose=False), home


def test_validate_returns_the_field_level_message(studio):
    client, _ = studio
    message = client.predict("scenes:\n  - image_prompt: a\n    duration: 14\n", api_name="/validate")
    assert message == "✗ Needs fixing:\n- scenes[0].duration: 14 is above the maximum of 10 seconds (line 3)"


def test_render_streams_updates_and_returns_a_playable_video(studio):
    client, home = studio
    text = "title: api\nscenes:\n  - image_prompt: A mountain at sunset\n    audio_script: Hello there.\n    duration: 2\n"
    job = client.submit(text, "draft", "motion", "piper", api_name="/render")
    updates = list(job)
    assert job.status().success, job.status()
    assert len(updates) >= 3, "progress streams while rendering"
    assert any(u[1] for u in updates[:-1]), "an image preview arrives before the end"
    board, image, clip, voice, final, manifest = job.result()
    assert "Done" in board
    report = ffprobe(Path(final))
    assert len(streams(report, "video")) == 1 and len(streams(report, "audio")) == 1
    assert Path(manifest).name.endswith(".manifest.json")
    # Session files stay inside the session's own folder under REELSMITH_HOME.
    assert len(list((home / "sessions").iterdir())) == 1


def test_a_bad_storyboard_is_an_error_not_a_traceback(studio):
    client, _ = studio
    job = client.submit("scenes: [", "draft", "motion", "piper", api_name="/render")
    list(job)
    assert not job.status().success
    with pytest.raises(Exception, match="malformed YAML"):
        job.result()
