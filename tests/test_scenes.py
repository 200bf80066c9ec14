"""Scene editing, step-by-step control with pinned images, and the project history (SQLite)."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from pipeline import scenes
from pipeline.errors import InputError
from pipeline.projects import Projects
from pipeline.runner import iter_scene_step, render
from pipeline.storyboard import parse_storyboard
from pipeline.scenes import upload_image
from pipeline.store import Store
from tests.studio import ROOT, pipeline_env, run_cli

BOARD = """
title: Steps
scenes:
  - image_prompt: A lighthouse
    audio_script: One.
    duration: 2
  - image_prompt: A harbour
    duration: 2
"""


def _run(storyboard, index, step):
    job = iter_scene_step(storyboard, index, step)
    events = list(job)
    if job.error:
        raise job.error
    return job.result, events


def test_add_remove_move_and_edit_scenes():
    sb = parse_storyboard(BOARD)
    sb = scenes.add_scene(sb, after=1, image_prompt="A boat")
    assert [s.image_prompt for s in sb.scenes] == ["A lighthouse", "A boat", "A harbour"]
    sb = scenes.move_scene(sb, 3, -1)
    assert [s.image_prompt for s in sb.scenes] == ["A lighthouse", "A harbour", "A boat"]
    sb = scenes.remove_scene(sb, 1)
    assert [s.image_prompt for s in sb.scenes] == ["A harbour", "A boat"]
    with pytest.raises(InputError, match=r"scene: 7 is not a scene of this storyboard \(1–2\)"):
        scenes.remove_scene(sb, 7)
    with pytest.raises(InputError, match=r"Scene 1, duration \(scenes\[0\]\.duration\): 99 is above the maximum of 10 seconds"):
        scenes.update_scene(sb, 1, duration=99)


def test_the_table_round_trips_and_keeps_blank_seeds_blank():
    sb = parse_storyboard(BOARD)
    rows = scenes.scene_table(sb)
    assert scenes.apply_scene_table(sb, rows) == sb
    rows[1][4] = "7"
    rows.append(["A new scene", "", "", "", 3, "", ""])
    changed = scenes.apply_scene_table(sb, rows)
    assert changed.scenes[1].duration == 7 and changed.scenes[1].seed is None and len(changed.scenes) == 3


def test_approving_pins_the_image_and_the_render_reuses_it(test_providers, tmp_path):
    sb = parse_storyboard(BOARD).with_providers(image="test-image", video="test-video", voice="test-voice")
    with pytest.raises(InputError, match="generate this scene's image first"):
        scenes.approve_image(sb, 1, owner="cli")
    asset, _ = _run(sb, 0, "image")
    sb = scenes.approve_image(sb, 1, owner="cli")
    assert sb.scenes[0].image == f"sha256:{asset.sha256}"
    clip, events = _run(sb, 0, "video")
    assert test_providers.count("image") == 1, "the clip reused the approved image"
    assert any(getattr(e, "provider", "") == "approved" for e in events)
    result = render(sb, tmp_path / "out.mp4")
    assert test_providers.count("image") == 2, "only the second scene's image was made"
    assert result.scenes[0].image.sha256 == asset.sha256 and result.scenes[0].video.sha256 == clip.sha256
    # Editing the prompt drops the approval: a different picture must be seen again.
    assert scenes.update_scene(sb, 1, image_prompt="A different lighthouse").scenes[0].image is None


def test_uploading_ones_own_image_fits_and_pins_it(tmp_path, test_providers, isolated_home):
    src = tmp_path / "mine.jpg"
    Image.new("RGB", (400, 400), (200, 30, 30)).save(src)
    sb = parse_storyboard(BOARD).with_providers(image="test-image", video="test-video", voice="test-voice")
    sb = scenes.upload_image(sb, 2, src, owner="cli")
    path = Store(isolated_home).find(sb.scenes[1].image.removeprefix("sha256:"))
    with Image.open(path) as img:
        assert img.size == sb.size
    render(sb, tmp_path / "out.mp4")
    assert test_providers.count("image") == 1, "scene 2 used the upload"
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    with pytest.raises(InputError, match=r"Scene 1, image \(scenes\[0\]\.image\): the uploaded file is not an image"):
        scenes.upload_image(sb, 1, bad, owner="cli")


def test_paid_video_needs_an_approved_image(test_providers, monkeypatch):
    from tests.fakes import FakeVideoProvider

    monkeypatch.setattr(FakeVideoProvider, "paid", True)
    sb = parse_storyboard(BOARD).with_providers(image="test-image", video="test-video", voice="test-voice")
    with pytest.raises(InputError, match="approve \\(or upload\\) this scene's image before generating its clip"):
        _run(sb, 0, "video")
    assert test_providers.count("video") == 0


def test_projects_are_per_owner_and_list_the_newest_render():
    projects = Projects()
    a = projects.save("alice", "Trip", "title: Trip")
    projects.save("bob", "Secret", "title: Secret")
    projects.record_render(a, "r1", status="done", storyboard="title: Trip", providers={"image": "draft"},
                           duration=12.5, video="/v.mp4", manifest="/v.manifest.json")  # fmt: skip
    rows = projects.history("alice")
    assert [(r.title, r.duration, r.video, r.renders) for r in rows] == [("Trip", 12.5, "/v.mp4", 1)]
    assert projects.storyboard("bob", a) is None, "another owner's project is not readable"
    assert projects.save("bob", "Hijack", "x", project_id=a) != a, "nor writable"
    assert projects.storyboard("alice", a) == "title: Trip"


def test_the_cli_does_step_by_step_too(tmp_path, test_providers, capsys):
    from pipeline.cli import main

    board = tmp_path / "board.yaml"
    board.write_text(parse_storyboard(BOARD).with_providers(image="test-image", video="test-video",
                                                            voice="test-voice").to_yaml())  # fmt: skip
    assert main(["scene", "approve", str(board), "--scene", "1"]) == 2  # nothing to approve yet
    assert main(["scene", "image", str(board), "--scene", "1"]) == 0
    assert main(["scene", "approve", str(board), "--scene", "1"]) == 0
    assert "image: sha256:" in board.read_text()
    assert main(["scene", "video", str(board), "--scene", "1"]) == 0
    assert test_providers.count("image") == 1 and test_providers.count("video") == 1
    assert main(["render", str(board), "-o", str(tmp_path / "out.mp4")]) == 0
    capsys.readouterr()
    assert main(["projects"]) == 0
    assert "Steps (board.yaml)" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------------
# Hostile uploads (issue 12): checked from the header, before decoding


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims width × height RGB pixels but holds a few bytes of picture: what a bomb looks like to
    Image.open (which reads only the header) at no cost to make."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))  # fmt: skip
    return path


_UPLOAD_IN_A_CHILD = """
import sys
from pipeline.errors import InputError
from pipeline.scenes import upload_image
from pipeline.storyboard import parse_storyboard
try:
    upload_image(parse_storyboard("scenes:\\n  - image_prompt: a\\n"), 1, sys.argv[1], owner="cli")
    print("accepted")
except InputError as exc:
    print(exc)
# VmHWM is this process image's own peak; ru_maxrss would also count the parent's memory at the fork, which Linux
# carries across exec (a test run late in a large suite read 696 MB for a 60 MB child).
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024)
"""


def _real_png_bomb(path: Path) -> Path:
    """A real, complete 13000 × 13000 PNG (169 megapixels) of ~20 KB: one bit per pixel, all black."""
    Image.new("1", (13_000, 13_000)).save(path, compress_level=9)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("make, megapixels", [(_real_png_bomb, 169),
                                              (lambda path: _png_header_only(path, 20_000, 20_000), 400)])
def test_a_decompression_bomb_is_refused_from_its_header_in_little_memory(tmp_path, make, megapixels):
    bomb = make(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 200_000
    res = subprocess.run([sys.executable, "-c", _UPLOAD_IN_A_CHILD, str(bomb)], capture_output=True, text=True,
                         env=pipeline_env(tmp_path / "home"), cwd=ROOT, timeout=120)  # fmt: skip
    message, maxrss_mb = res.stdout.strip().splitlines()
    assert res.returncode == 0, res.stderr
    assert message == f"Scene 1, image (scenes[0].image): image too large: {megapixels} megapixels, limit 40; scale it down first (bomb.png)"
    assert int(maxrss_mb) < 400, f"{maxrss_mb} MB"  # decoding 169 MP of RGB alone would take 507 MB


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"])
def test_unreadable_or_truncated_uploads_are_input_errors_naming_the_file(tmp_path, content):
    sb = parse_storyboard("scenes:\n  - image_prompt: a\n")
    bad = tmp_path / "me.png"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=r"^Scene 1, image \(scenes\[0\]\.image\): the (uploaded file is not an image|image is damaged).*"
                                         r" \(me\.png\)$"):  # fmt: skip
        upload_image(sb, 1, bad, owner="cli")
    half = tmp_path / "half.png"
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).save(buffer, "PNG")
    half.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InputError, match=r"^Scene 1, image \(scenes\[0\]\.image\): the image is damaged or incomplete: \w+ \(half\.png\)$"):
        upload_image(sb, 1, half, owner="cli")


@pytest.mark.slow
def test_cli_upload_of_a_bomb_exits_2_without_a_traceback(tmp_path):
    sb = tmp_path / "sb.yaml"
    sb.write_text("scenes:\n  - image_prompt: a\n")
    bomb = _png_header_only(tmp_path / "bomb.png", 13_000, 13_000)
    res = run_cli("scene", "upload", str(sb), "--scene", "1", "--file", str(bomb), home=tmp_path / "home")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "image too large: 169 megapixels, limit 40" in res.stderr
