"""The offline camera-motion renderer: reading the move, the path's geometry, and the rendered clip's smoothness."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.cancel import CancelToken
from pipeline.errors import Cancelled
from pipeline.media.ffmpeg import ffmpeg_exe
from pipeline.media.profile import EncodeProfile
from pipeline.providers.base import StepContext, VideoRequest
from pipeline.providers.motion import MotionVideoProvider, camera_path, parse_camera_move


@pytest.mark.parametrize(
    "prompt, label",
    [
        ("", "gentle push-in"),
        ("slow zoom in on the face", "slow push in"),
        ("Zoom out to reveal the city", "zoom out"),
        ("pull back from the door", "zoom out"),
        ("pan left across the valley", "pan left"),
        ("The camera pans right", "pan right"),
        ("tilt up to the sky", "pan up"),
        ("slow tilt down from the sky to the waves", "slow pan down"),
        ("static shot", "static"),
        ("locked-off tripod shot, the boat drifts", "static"),
        ("fast pan left across the waves, dramatic", "fast pan left"),
        ("smooth drone movement over the hills", "pan right"),
        ("zoom in and pan right", "push in + pan right"),
    ],
)
def test_parse_camera_move(prompt, label):
    assert parse_camera_move(prompt).label == label


def test_speed_changes_the_amount_of_travel():
    slow, normal, fast = (parse_camera_move(p) for p in ("slow zoom in", "zoom in", "fast zoom in"))
    assert slow.zoom_to < normal.zoom_to < fast.zoom_to
    assert slow.zoom_from == normal.zoom_from == fast.zoom_from == 1.0


@pytest.mark.parametrize("prompt", ["pan left", "pan right", "tilt up", "zoom out", "zoom in and pan right", "fast pan down"])
def test_the_view_never_leaves_the_picture(prompt):
    path = camera_path(parse_camera_move(prompt), 240)
    zoom, cx, cy = path[:, 0], path[:, 1], path[:, 2]
    half = 0.5 / zoom
    assert np.all(zoom >= 1.0)
    assert np.all(cx - half >= -1e-9) and np.all(cx + half <= 1 + 1e-9)
    assert np.all(cy - half >= -1e-9) and np.all(cy + half <= 1 + 1e-9)


def test_the_path_is_smooth_and_eased():
    path = camera_path(parse_camera_move("pan right"), 120)
    velocity = np.diff(path[:, 1])
    assert np.all(velocity >= 0), "the view moves one way only"
    assert velocity[0] < velocity[60] and velocity[-1] < velocity[60], "eases in and out"
    assert np.max(np.abs(np.diff(velocity))) < 0.1 * np.max(velocity), "no sudden change of speed"


def _grid_image(path: Path, w: int, h: int, top: float = 0.0) -> Path:
    """Random discs on a dark ground; none in the top `top` share of the picture."""
    img = Image.new("RGB", (w, h), (20, 30, 60))
    d = ImageDraw.Draw(img)
    rng = np.random.default_rng(3)
    for _ in range(200):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(round(top * h) + 30, h)), int(rng.integers(4, 30))
        d.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(60, 255, 3)))
    img.save(path)
    return path


def _frames(clip: Path, w: int, h: int) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         check=True, capture_output=True).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w)


def _render(tmp_path: Path, prompt: str, duration: int = 2, size=(640, 360), slate: str | None = None,
            plain_top: float = 0.0) -> tuple[Path, dict]:  # fmt: skip
    w, h = size
    image = _grid_image(tmp_path / "src.png", w, h, plain_top)
    profile = EncodeProfile(w, h, crf=12)
    req = VideoRequest(image, "x", prompt, duration, w, h, 1, None, "auto", profile, slate=slate)
    work = tmp_path / f"work-{prompt}-{slate is not None}"
    work.mkdir()
    out = MotionVideoProvider().generate(req, StepContext(work, CancelToken()))
    return out.path, out.meta


@pytest.mark.slow
def test_a_rendered_pan_glides_without_jitter(tmp_path):
    import cv2

    clip, meta = _render(tmp_path, "pan right", duration=2)
    frames = _frames(clip, 640, 360).astype(np.float32)
    assert len(frames) == meta["frames"] == 48
    shifts = np.array([cv2.phaseCorrelate(frames[i], frames[i + 1])[0][0] for i in range(len(frames) - 1)])
    # Content moves left as the camera pans right, every frame, by an amount that changes gently.
    assert np.all(shifts < 0.05), shifts
    middle = shifts[12:36]
    assert np.all(middle < -0.5)
    assert np.max(np.abs(np.diff(shifts))) < 0.35, "frame-to-frame speed must not jump (jitter)"


def test_a_rendered_static_shot_does_not_move(tmp_path):
    clip, _ = _render(tmp_path, "static shot", duration=2)
    frames = _frames(clip, 640, 360).astype(np.int16)
    assert np.abs(frames[-1] - frames[0]).mean() < 1.0


def test_a_rendered_push_in_changes_the_picture(tmp_path):
    clip, _ = _render(tmp_path, "", duration=2)
    frames = _frames(clip, 640, 360).astype(np.int16)
    assert np.abs(frames[-1] - frames[0]).mean() > 5.0


@pytest.mark.parametrize("prompt", ["fast pan left", "fast zoom in", "zoom in and pan right", "fast tilt up"])
def test_a_draft_slate_stays_at_the_top_edge_through_every_move(tmp_path, prompt):
    """Issue 13: the draft picture's slate is a small label at the top edge of the video that never leaves the
    frame: drawn after the camera move, it is in the same place in the first and the last frame of a pan and a
    zoom, and the clip differs from the same move without it only there."""
    w, h = 640, 360
    # A plain ground where the slate goes (whatever the move shows there), so every pixel of it stands out.
    with_slate = _frames(_render(tmp_path, prompt, 1, slate="ANIME · draft · A stormy sea", plain_top=0.35)[0], w, h)
    bare = _frames(_render(tmp_path, prompt, 1, plain_top=0.35)[0], w, h)
    boxes = []
    for k in (0, len(bare) - 1):  # first and last frame of the move
        changed = np.abs(with_slate[k].astype(np.int16) - bare[k]) > 4
        band = round(0.12 * h)
        assert changed[band:].sum() < 0.001 * w * h, "nothing drawn below the top band (encoder noise aside)"
        ys, xs = np.nonzero(changed[:band])
        assert len(ys) > 0.004 * w * h, "the slate is drawn"
        assert ys.min() >= 2, "a small label in the top band, inside the frame"
        assert xs.min() >= 2 and xs.max() < 0.62 * w, "on the left: the top-right corner is the label's (PREVIEW)"
        boxes.append((ys.min(), ys.max(), xs.min(), xs.max()))
    assert np.abs(np.subtract(boxes[0], boxes[1])).max() <= 2, "it does not move with the camera"


def test_the_slate_enters_the_clips_key_only_when_drawn():
    provider = MotionVideoProvider()
    profile = EncodeProfile(640, 360)
    plain = VideoRequest(Path("x.png"), "abc", "pan left", 5, 640, 360, 1, None, "auto", profile)
    assert "slate" not in provider.cache_fields(plain)
    assert provider.cache_fields(plain) != provider.cache_fields(VideoRequest(
        Path("x.png"), "abc", "pan left", 5, 640, 360, 1, None, "auto", profile, slate="ANIME · draft · a"))


def test_cache_fields_follow_the_move_not_the_wording():
    provider = MotionVideoProvider()
    profile = EncodeProfile(640, 360)

    def req(prompt):
        return VideoRequest(Path("x.png"), "abc", prompt, 5, 640, 360, 1, None, "auto", profile)

    assert provider.cache_fields(req("pan left")) == provider.cache_fields(req("the camera pans left"))
    assert provider.cache_fields(req("pan left")) != provider.cache_fields(req("pan right"))


def test_cancelling_stops_the_render(tmp_path):
    image = _grid_image(tmp_path / "src.png", 640, 360)
    profile = EncodeProfile(640, 360)
    token = CancelToken()
    token.cancel()
    req = VideoRequest(image, "x", "", 5, 640, 360, 1, None, "auto", profile)
    with pytest.raises(Cancelled):
        MotionVideoProvider().generate(req, StepContext(tmp_path, token))
