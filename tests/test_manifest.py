"""The manifest is a pure function of the render's result: what is written beside the video is exactly
build_manifest(result), and building it needs no file (the studio and the API can have it without reading disk)."""

from __future__ import annotations

import json

from pipeline.events import RenderStarted
from pipeline.board import RenderBoard
from pipeline.manifest import build_manifest
from pipeline.runner import render
from pipeline.storyboard import validate_storyboard
from tests.fakes import storyboard_dict


def test_the_written_manifest_is_build_manifest_of_the_result(test_providers, tmp_path):
    sb = validate_storyboard(storyboard_dict(scenes=2))
    result = render(sb, tmp_path / "out.mp4")
    written = json.loads(result.manifest.read_text())
    assert written == build_manifest(result)
    assert result.final is not None and written["output"]["sha256"] == result.final.sha256
    result.output.unlink()
    result.manifest.unlink()
    assert build_manifest(result) == written  # from the result alone
    assert str(tmp_path) not in json.dumps(written)  # names and hashes only, never a server path
    assert [s["index"] for s in written["scenes"]] == [0, 1]


def test_the_board_shows_the_step_kinds_the_plan_announces():
    board = RenderBoard()
    board.apply(RenderStarted("r", "t", 1, ["image", "captions", "video", "voice", "finish", "soundtrack", "join"],
                              {}))  # fmt: skip
    assert board.scene_kinds == ["image", "captions", "video", "voice"]
    html = board.html()
    assert "<th>Captions</th>" in html and "colspan='1'" in html
