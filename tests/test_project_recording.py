"""Project recording happens once, in the engine (pipeline.projects.ProjectRecorder): the CLI and the studio (and
so the API) record the same render the same way, and a render that fails or is stopped says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import ProviderFailed
from pipeline.projects import ProjectRecorder, Projects
from pipeline.runner import iter_render
from pipeline.storyboard import parse_storyboard

BOARD = """title: Recorded
image: {provider: test-image}
video: {provider: test-video}
voice: {provider: test-voice}
scenes:
  - {image_prompt: A harbour at dawn, audio_script: Good morning., duration: 2}
  - {image_prompt: A lighthouse at dusk, duration: 2}
"""
STUDIO_OWNER = "web-recording-test"  # a studio browser's owner id (the server issues them with this prefix)
SAME_FOR_EVERY_FACE = ("status", "duration", "providers", "video", "storyboard")


def _cli_render(tmp_path: Path, text: str) -> int:
    from pipeline.cli import main

    board = tmp_path / "board.yaml"
    board.write_text(text, encoding="utf-8")
    return main(["render", str(board), "-o", str(tmp_path / "cli.mp4")])


def _studio_render(text: str, project: str = "") -> list:
    """The studio's render handler, in-process, as a browser session would call it (budget 0: none)."""
    import gradio as gr

    import app

    request = gr.Request(session_hash="recording-test-session", client=None)
    return list(app.render(text, "", "", "", 0, {}, STUDIO_OWNER, project, request))


def _only_render(owner: str) -> tuple:
    projects = Projects()
    [project] = projects.history(owner)
    [row] = projects.renders(project.id)
    return project, row


@pytest.mark.slow  # imports the studio (Gradio builds its page): seconds
def test_the_cli_and_the_studio_record_the_same_render_the_same_way(test_providers, tmp_path, isolated_home):
    assert _cli_render(tmp_path, BOARD) == 0
    updates = _studio_render(BOARD)
    cli_project, cli_row = _only_render("cli")
    studio_project, studio_row = _only_render(STUDIO_OWNER)

    assert {k: cli_row[k] for k in SAME_FOR_EVERY_FACE} == {k: studio_row[k] for k in SAME_FOR_EVERY_FACE}
    assert cli_row["status"] == "done" and cli_row["duration"] == pytest.approx(4.0)
    assert json.loads(cli_row["providers"]) == {"image": "test-image", "video": "test-video", "voice": "test-voice"}
    assert cli_row["storyboard"] == BOARD
    # The video is the final asset in the content-addressed store (it outlives the -o file and the session
    # folder), the same file for both since the second render reused every step.
    from pipeline.store import Store

    assert Path(cli_row["video"]).is_relative_to(Store(isolated_home).media) and Path(cli_row["video"]).is_file()
    for row in (cli_row, studio_row):
        manifest = json.loads(Path(row["manifest"]).read_text())
        assert manifest["render_id"] == row["render_id"] and manifest["output"]["sha256"] in row["video"]
    # The history shows both the same way; only the project's name follows its source (a file, or the page).
    assert (cli_project.renders, cli_project.duration, cli_project.video) == (1, 4.0, cli_row["video"])
    assert (studio_project.renders, studio_project.duration, studio_project.video) == (1, 4.0, cli_row["video"])
    assert (cli_project.title, studio_project.title) == ("Recorded (board.yaml)", "Recorded")
    assert updates[-1].project == studio_project.id, "the page keeps the recorded project as the open one"


@pytest.mark.slow  # imports the studio (Gradio builds its page): seconds
def test_a_failed_render_is_recorded_as_failed_by_the_cli_and_the_studio(test_providers, tmp_path):
    import gradio as gr

    test_providers.fail["lighthouse"] = ProviderFailed("the test provider broke", provider="test-image")
    assert _cli_render(tmp_path, BOARD) == 1
    with pytest.raises(gr.Error, match="the test provider broke"):
        _studio_render(BOARD)
    rows = [_only_render(owner) for owner in ("cli", STUDIO_OWNER)]
    for project, row in rows:
        assert (row["status"], row["duration"], row["video"], row["manifest"]) == ("failed", None, None, None)
        assert row["storyboard"] == BOARD and project.renders == 1 and project.video is None
    assert {k: rows[0][1][k] for k in SAME_FOR_EVERY_FACE} == {k: rows[1][1][k] for k in SAME_FOR_EVERY_FACE}


def test_a_render_refused_before_it_starts_is_recorded_as_failed(test_providers, tmp_path, monkeypatch):
    """A pre-flight refusal (here the host's blocklist) is a failed render of its project, with nothing made."""
    terms = tmp_path / "host-blocklist.txt"
    terms.write_text("lighthouse\n", encoding="utf-8")
    monkeypatch.setenv("REELSMITH_BLOCKLIST", str(terms))
    recorder = ProjectRecorder(BOARD)
    job = iter_render(parse_storyboard(BOARD), tmp_path / "refused.mp4", project=recorder)
    list(job)
    assert "refused: 'lighthouse'" in str(job.error) and test_providers.calls == []
    [row] = Projects().renders(recorder.project_id)
    assert (row["status"], row["video"]) == ("failed", None)


def test_a_stopped_render_is_recorded_as_stopped_with_no_video(test_providers, tmp_path):
    from pipeline.events import StepStarted

    test_providers.delay["image"] = 5.0
    recorder = ProjectRecorder(BOARD)
    job = iter_render(parse_storyboard(BOARD), tmp_path / "stopped.mp4", project=recorder)
    for event in job:
        if isinstance(event, StepStarted) and event.step == "image":
            job.cancel()
    [row] = Projects().renders(recorder.project_id)
    assert (row["status"], row["video"], row["manifest"], row["duration"]) == ("stopped", None, None, None)
    assert row["render_id"] == job.render_id


def test_which_project_a_render_continues(test_providers, tmp_path):
    """The open project while the title holds, else a new one; a file's renders always join that file's."""
    sb = parse_storyboard(BOARD)
    first = ProjectRecorder(BOARD).start(STUDIO_OWNER, sb)
    assert ProjectRecorder(BOARD, project_id=first).start(STUDIO_OWNER, sb) == first
    renamed = sb.model_copy(update={"title": "Renamed"})
    assert ProjectRecorder(BOARD, project_id=first).start(STUDIO_OWNER, renamed) != first
    assert ProjectRecorder(BOARD).start(STUDIO_OWNER, sb) != first, "no open project: a new one"
    # Another owner's project id is never continued.
    assert ProjectRecorder(BOARD, project_id=first).start("web-someone-else", sb) != first
    board = tmp_path / "board.yaml"
    from_file = ProjectRecorder(BOARD, source=board).start("cli", sb)
    assert ProjectRecorder(BOARD, source=board).start("cli", sb) == from_file
    assert ProjectRecorder(BOARD, source=tmp_path / "other.yaml").start("cli", sb) != from_file


def test_a_project_reopens_with_its_newest_video_while_the_file_exists(tmp_path):
    projects = Projects()
    project = projects.save(STUDIO_OWNER, "Kept", "title: Kept")
    video, manifest = tmp_path / "final.mp4", tmp_path / "final.manifest.json"
    video.write_bytes(b"video"), manifest.write_text("{}")
    projects.record_render(project, "r1", status="done", storyboard="title: Kept", providers={}, duration=2.0,
                           video=str(video), manifest=str(manifest))  # fmt: skip
    opened = projects.reopen(STUDIO_OWNER, project)
    assert (opened.storyboard, opened.video, opened.manifest) == ("title: Kept", str(video), str(manifest))
    assert projects.reopen("web-someone-else", project) is None, "only its owner reopens it"
    video.unlink()
    assert projects.reopen(STUDIO_OWNER, project).video is None, "a video that is gone is not offered"
