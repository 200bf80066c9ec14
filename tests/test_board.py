"""The workflow board folded from engine events."""

from __future__ import annotations

from pipeline.board import RenderBoard
from pipeline.events import (
    RenderCancelled,
    RenderFinished,
    RenderStarted,
    StepCached,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
)


def test_board_follows_each_step_and_keeps_the_newest_previews():
    board = RenderBoard()
    assert board.apply(RenderStarted("r", "t", 2, [], {}))
    board.apply(StepStarted(0, "image", "draft"))
    assert board.state(0, "image").status == "running"
    board.apply(StepProgress(0, "image", 0.4))
    assert board.state(0, "image").fraction == 0.4
    board.apply(StepFinished(0, "image", "draft", "/m/a.png", "image"))
    board.apply(StepCached(1, "voice", "piper", "/m/v.wav", "audio"))
    board.apply(StepFinished(1, "image", "draft", "/m/b.png", "image"))
    assert board.latest == {"image": "/m/b.png", "audio": "/m/v.wav"}
    assert board.state(1, "voice").status == "cached" and board.state(1, "video").status == "queued"
    page = board.html()
    assert page.count("<tr>") == 4 and "Scene 2" in page and "40%" not in page and "cached" in page


def test_segment_and_join_outputs_are_not_previews():
    board = RenderBoard()
    board.apply(RenderStarted("r", "t", 1, [], {}))
    board.apply(StepFinished(0, "segment", "ffmpeg", "/m/s.mp4", "video"))
    board.apply(StepFinished(None, "join", "ffmpeg", "/m/f.mp4", "video"))
    assert board.latest == {}


def test_failure_reason_is_kept_and_escaped():
    board = RenderBoard()
    board.apply(RenderStarted("r", "t", 1, [], {}))
    board.apply(StepFailed(0, "video", "motion", "scene 1 video: <bad> 'input'"))
    assert board.state(0, "video").status == "failed"
    assert "&lt;bad&gt; &#x27;input&#x27;" in board.html()


def test_steps_that_never_ran_read_as_not_needed_once_done():
    board = RenderBoard()
    board.apply(RenderStarted("r", "t", 1, [], {}))
    board.apply(StepFinished(0, "image", "draft", "/m/a.png", "image"))
    assert board.state(0, "voice").status == "queued"
    board.apply(RenderFinished("/o.mp4", "/o.manifest.json", 5.0, 2.0, 3, 4))
    assert board.state(0, "voice").status == "skipped" and board.state(0, "image").status == "done"
    assert "not needed" in board.html()


def test_final_states():
    board = RenderBoard()
    board.apply(RenderFinished("/o.mp4", "/o.manifest.json", 5.0, 2.0, 3, 4))
    assert (board.status, board.final, board.manifest) == ("done", "/o.mp4", "/o.manifest.json")
    board.apply(RenderCancelled())
    assert "Stopped" in board.html()
