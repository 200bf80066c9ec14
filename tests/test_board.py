"""The workflow board folded from engine events."""

from __future__ import annotations

from pipeline.board import RenderBoard, status_line
from pipeline.events import (
    RenderCancelled,
    RenderFailed,
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


def test_the_headline_says_how_far_the_render_is():
    board = RenderBoard()
    assert board.headline == "Ready"
    board.apply(RenderStarted("r", "t", 1, ["image", "voice", "join"], {}))
    assert board.headline == "Rendering… 0%"
    board.apply(StepFinished(0, "image", "draft", "/m/a.png", "image"))
    board.apply(StepProgress(0, "voice", 0.5))
    assert board.headline == "Rendering… 50%"  # 1.5 of 3 steps
    assert "<b>Rendering… 50%</b>" in board.html()


def test_done_says_time_taken_length_and_where():
    board = RenderBoard()
    board.apply(RenderStarted("r", "t", 1, [], {}))
    board.saved = "project Lighthouse · Lighthouse.mp4"
    board.apply(RenderFinished("/o.mp4", "/o.manifest.json", 31.2, 12.4, 3, 4))
    assert board.headline == "Done in 12 s · 31 s video · saved to project Lighthouse · Lighthouse.mp4"
    assert status_line("done", took=125, length=61) == "Done in 2 min 5 s · 1 min 1 s video"


def test_a_failure_says_why_and_a_stop_says_stopped():
    board = RenderBoard()
    board.apply(RenderStarted("r", "t", 1, [], {}))
    board.apply(RenderFailed("budget of $1.00 would be exceeded <by $2>", []))
    assert board.headline == "Failed: budget of $1.00 would be exceeded <by $2>"
    assert "Failed: budget of $1.00 would be exceeded &lt;by $2&gt;" in board.html()
    board.stop()
    assert board.status == "failed", "a failed render stays failed"

    board = RenderBoard()
    board.apply(RenderStarted("r", "t", 1, [], {}))
    board.apply(StepProgress(0, "video", 0.68, "queued at Runway"))
    board.stop()
    assert board.headline.startswith("Stopped") and "68%" not in board.html()
    assert board.state(0, "video").status == "stopped" and "■ stopped" in board.html()


def test_the_table_scrolls_on_its_own_on_a_narrow_screen():
    page = RenderBoard(scenes=1).html()
    assert "<div class='board-scroll'><table>" in page


def test_before_a_render_the_board_is_only_its_headline():
    assert RenderBoard().html() == "<div class='board board-waiting'><p class='board-status'><b>Ready</b></p></div>"
