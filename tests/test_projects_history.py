"""Issue 15, the history: each project with its video's thumbnail, length, cost and date; thumbnails cut once into
their owner's own folder; an owner never gets another owner's thumbnail (pipeline/history.py, thumbnails.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from pipeline.errors import ProviderFailed
from pipeline.history import EMPTY_HISTORY, HISTORY_HEADERS, caption, history_cards, history_rows
from pipeline.projects import ProjectRecorder, Projects
from pipeline.runner import iter_render
from pipeline.storyboard import parse_storyboard
from pipeline.thumbnails import WIDTH, cut_thumbnail, owner_folder, thumbnail_path

BOARD = """title: Harbour
image: {provider: test-image}
video: {provider: test-video}
voice: {provider: test-voice}
scenes:
  - {image_prompt: A harbour at dawn, audio_script: Good morning., duration: 2}
"""
ALICE, BOB = "web-alice-history", "web-bob-history"


def _render(owner: str, tmp_path: Path, text: str = BOARD) -> ProjectRecorder:
    recorder = ProjectRecorder(text)
    job = iter_render(parse_storyboard(text), tmp_path / f"{owner}.mp4", project=recorder, owner=owner)
    list(job)
    return recorder


def test_a_finished_render_is_recorded_with_a_thumbnail_in_its_owners_folder(test_providers, tmp_path,
                                                                             isolated_home):  # fmt: skip
    recorder = _render(ALICE, tmp_path)
    projects = Projects()
    [row] = projects.history(ALICE)
    assert row.thumbnail is not None and Path(row.thumbnail).parent == owner_folder(isolated_home, ALICE)
    with Image.open(row.thumbnail) as picture:
        assert picture.format == "JPEG" and picture.width == WIDTH
        assert len(set(picture.convert("L").getdata())) > 1, "a frame of the video, not a blank"
    assert ALICE not in row.thumbnail, "the folder is a hash of the owner, never the owner id"
    [card] = history_cards(projects, ALICE)
    assert (card.project_id, card.thumbnail) == (recorder.project_id, row.thumbnail)
    assert card.caption.startswith("Harbour — 2.0 s · free · ") and card.caption.endswith(" UTC")


def test_two_owners_of_the_same_video_each_get_their_own_thumbnail(test_providers, tmp_path):
    _render(ALICE, tmp_path)
    _render(BOB, tmp_path)
    projects = Projects()
    [alice], [bob] = projects.history(ALICE), projects.history(BOB)
    assert alice.video == bob.video, "the second render reused the first one's video"
    assert alice.thumbnail != bob.thumbnail and Path(alice.thumbnail).parent != Path(bob.thumbnail).parent
    # Bob's history names only Bob's files, and asking for Alice's row as Bob never writes into Alice's folder.
    assert all(ALICE not in str(c) and alice.thumbnail not in str(c) for c in history_cards(projects, BOB))
    Path(alice.thumbnail).unlink()
    cut = projects.thumbnail(BOB, alice)
    assert cut is not None and Path(cut).parent == Path(bob.thumbnail).parent
    assert projects.history(ALICE)[0].thumbnail == alice.thumbnail, "Bob's call did not touch Alice's row"


def test_a_render_recorded_without_a_thumbnail_gets_one_when_the_history_lists_it(test_providers, tmp_path,
                                                                                  isolated_home):  # fmt: skip
    _render(ALICE, tmp_path)
    projects = Projects()
    [row] = projects.history(ALICE)
    Path(row.thumbnail).unlink()
    with sqlite3.connect(projects.db.path) as db:
        db.execute("UPDATE renders SET thumbnail = NULL")
    [card] = history_cards(projects, ALICE)
    assert card.thumbnail == str(thumbnail_path(isolated_home, ALICE, row.render_id)) and Path(card.thumbnail).is_file()
    assert projects.history(ALICE)[0].thumbnail == card.thumbnail, "remembered: cut once"


def test_a_project_without_a_finished_render_has_no_thumbnail(test_providers, tmp_path):
    test_providers.fail["harbour"] = ProviderFailed("broke", provider="test-image")
    _render(ALICE, tmp_path)
    [card] = history_cards(Projects(), ALICE)
    assert card.thumbnail is None and "not rendered yet" in card.caption


def test_the_history_shows_what_every_render_of_a_project_cost():
    projects = Projects()
    project = projects.save(ALICE, "Paid", "title: Paid")
    projects.record_render(project, "r1", status="failed", storyboard="x", providers={}, spent=0.25)
    projects.record_render(project, "r2", status="done", storyboard="x", providers={"video": "runway"},
                           duration=65.0, spent=1.5)  # fmt: skip
    [row] = projects.history(ALICE)
    assert row.spent == pytest.approx(1.75) and row.renders == 2
    assert caption(row).startswith("Paid — 1 min 05.0 s · $1.75 · ") and caption(row).endswith(" · 2 renders")
    [table_row] = history_rows(projects, ALICE)
    assert dict(zip(HISTORY_HEADERS, table_row))["cost (USD)"] == 1.75


def test_a_failed_render_records_what_it_paid_before_it_failed(test_providers):
    recorder = ProjectRecorder(BOARD)
    with pytest.raises(RuntimeError):
        with recorder.recording("r-failed", ALICE, parse_storyboard(BOARD), spent=lambda: 0.4):
            raise RuntimeError("a provider broke after one paid step")
    [render] = Projects().renders(recorder.project_id)
    assert (render["status"], render["spent"]) == ("failed", 0.4)


def test_an_empty_history_has_no_cards_and_the_empty_state_says_what_to_do():
    assert history_cards(Projects(), ALICE) == [] and history_rows(Projects(), ALICE) == []
    assert "No renders yet" in EMPTY_HISTORY and "Render" in EMPTY_HISTORY


def test_a_projects_file_from_before_costs_and_thumbnails_still_opens(tmp_path):
    path = tmp_path / "projects.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE projects (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
                storyboard TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);
            CREATE TABLE renders (render_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, created TEXT NOT NULL,
                status TEXT NOT NULL, duration REAL, providers TEXT NOT NULL, video TEXT, manifest TEXT,
                storyboard TEXT NOT NULL);
            INSERT INTO projects VALUES ('p1', 'web-old', 'Old', 'title: Old', '2026-01-02T03:04:05+00:00',
                '2026-01-02T03:04:05+00:00');
            INSERT INTO renders VALUES ('r1', 'p1', '2026-01-02T03:04:05+00:00', 'done', 3.0, '{}', NULL, NULL, 'x');
        """)
    [row] = Projects(path).history("web-old")
    assert (row.title, row.spent, row.thumbnail, row.duration) == ("Old", 0.0, None, 3.0)
    assert caption(row) == "Old — 3.0 s · free · 2026-01-02 03:04 UTC"


def test_an_unreadable_video_gives_no_thumbnail_and_no_error(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    assert cut_thumbnail(broken, tmp_path / "thumb.jpg") is None
    assert cut_thumbnail(tmp_path / "missing.mp4", tmp_path / "thumb.jpg") is None
    assert not list(tmp_path.glob("thumb*"))
