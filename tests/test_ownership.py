"""Issue 12 in the engine: a pin reaches only its owner's images, and a manifest tells no server path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from pipeline import scenes
from pipeline.errors import InputError
from pipeline.estimate import estimate_cost
from pipeline.runner import iter_scene_step, render
from pipeline.store import Store
from pipeline.storyboard import parse_storyboard

BOARD = """
title: Pins
scenes:
  - image_prompt: A lighthouse
    audio_script: One.
    duration: 2
"""


def _storyboard(pin: str | None = None):
    sb = parse_storyboard(BOARD).with_providers(image="test-image", video="test-video", voice="test-voice")
    return scenes.update_scene(sb, 1, image=f"sha256:{pin}") if pin else sb


def _image_of(owner: str):
    job = iter_scene_step(_storyboard(), 0, "image", owner=owner)
    list(job)
    assert job.error is None, job.error
    return job.result


def _refusal(sb, owner: str, tmp_path) -> str:
    with pytest.raises(InputError) as caught:
        render(sb, tmp_path / f"{owner}.mp4", owner=owner)
    return str(caught.value)


def test_another_owners_image_hash_is_refused_like_an_unknown_one(test_providers, tmp_path):
    theirs = _image_of("web-alice")
    unknown = _refusal(_storyboard("0" * 64), "web-bob", tmp_path)
    stolen = _refusal(_storyboard(theirs.sha256), "web-bob", tmp_path)
    assert "no longer in the store" in unknown
    assert stolen == unknown, "a refusal must not tell whether someone else has that image"
    # The clip step alone refuses it the same way, and nothing of Alice's is handed out in either.
    job = iter_scene_step(_storyboard(theirs.sha256), 0, "video", owner="web-bob")
    events = list(job)
    assert isinstance(job.error, InputError) and str(job.error) == unknown
    assert not any(str(theirs.path) in repr(e) for e in events)
    # Bob's estimate does not count Alice's picture either (its clip is priced as not cached).
    assert estimate_cost(_storyboard(theirs.sha256), owner="web-bob").scenes[0][1].cached is False
    # Alice herself may pin it.
    assert render(_storyboard(theirs.sha256), tmp_path / "alice.mp4", owner="web-alice").scenes[0].image.sha256 \
        == theirs.sha256


def test_a_pin_to_narration_or_video_is_refused_even_for_the_owner(test_providers, tmp_path):
    result = render(_storyboard(), tmp_path / "mine.mp4", owner="web-alice")
    unknown = _refusal(_storyboard("0" * 64), "web-alice", tmp_path)
    for asset in (result.scenes[0].voice, result.scenes[0].video, result.scenes[0].mix):
        assert _refusal(_storyboard(asset.sha256), "web-alice", tmp_path) == unknown
    # Even if an owner record named a sound file (it never should), a pin resolves only to an image file.
    from pipeline.owners import OwnedImages

    OwnedImages().record("web-alice", result.scenes[0].voice.sha256, "generated")
    assert _refusal(_storyboard(result.scenes[0].voice.sha256), "web-alice", tmp_path) == unknown


def test_upload_and_approve_belong_to_their_owner(test_providers, tmp_path):
    src = tmp_path / "mine.png"
    Image.new("RGB", (64, 64), (10, 200, 30)).save(src)
    uploaded = scenes.upload_image(_storyboard(), 1, src, owner="web-alice")
    assert render(uploaded, tmp_path / "a.mp4", owner="web-alice")
    assert "no longer in the store" in _refusal(uploaded, "web-bob", tmp_path)

    _image_of("cli")
    approved = scenes.approve_image(_storyboard(), 1, owner="cli")
    assert render(approved, tmp_path / "cli.mp4", owner="cli")
    assert "no longer in the store" in _refusal(approved, "web-bob", tmp_path)


def test_the_manifest_names_no_server_path(test_providers, tmp_path, isolated_home):
    out = tmp_path / "session-folder-xyz" / "clip.mp4"
    result = render(_storyboard(), out)
    text = result.manifest.read_text()
    manifest = json.loads(text)
    assert manifest["output"]["file"] == "clip.mp4"
    for place in (str(tmp_path), str(isolated_home), "session-folder-xyz", "/media/"):
        assert place not in text, place
    refs = [ref for ref in manifest["scenes"][0]["steps"].values() if ref]
    assert len(refs) == 6 and all("path" not in ref and ref["sha256"] for ref in refs)
    assert Store(isolated_home).find(manifest["output"]["sha256"]) is not None, "the hash still finds the video on the server"


def test_a_thumbnail_is_its_owners_alone(test_providers, tmp_path, isolated_home):
    """Issue 15: history thumbnails live in a folder per owner; the same video rendered by two owners gives each a
    file of their own, and no owner's history lists (or reopens) a project, or a thumbnail, of another's."""
    from pipeline.history import history_cards
    from pipeline.projects import ProjectRecorder, Projects
    from pipeline.thumbnails import owner_folder

    for owner in ("web-alice", "web-bob"):
        render(_storyboard(), tmp_path / f"{owner}.mp4", owner=owner, project=ProjectRecorder(BOARD))
    projects = Projects()
    cards = {owner: history_cards(projects, owner) for owner in ("web-alice", "web-bob")}
    for owner, mine in cards.items():
        [card] = mine
        assert card.thumbnail and Path(card.thumbnail).parent == owner_folder(isolated_home, owner)
    assert cards["web-alice"][0].thumbnail != cards["web-bob"][0].thumbnail
    assert projects.get("web-bob", cards["web-alice"][0].project_id) is None
    assert projects.reopen("web-bob", cards["web-alice"][0].project_id) is None
