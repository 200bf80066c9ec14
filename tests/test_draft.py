"""The offline `draft` image provider: a deterministic, prompt- and style-dependent animatic frame."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.cancel import CancelToken
from pipeline.errors import Cancelled
from pipeline.providers import registry
from pipeline.providers.base import ImageRequest, StepContext
from pipeline.providers.draft import DraftImageProvider
from pipeline.providers.draft.frame import prepare
from pipeline.providers.draft.layers import LAYERS
from pipeline.styles import enhance_prompt
from tests.test_draft_identical import _coverage_requests, _example_requests, _grid_requests

PROMPTS = [
    "A cinematic shot of a mountain sunset with golden light",
    "A cyberpunk street at night with neon signs and rain",
    "Ocean waves crashing on a rocky beach at dawn",
    "Abstract feelings of joy",
]
STYLES = ["photorealistic", "artistic", "anime", "3d"]


def _request(prompt: str = PROMPTS[0], style: str = "photorealistic", width: int = 1280, height: int = 720,
             seed: int = 7) -> ImageRequest:  # fmt: skip
    return ImageRequest(prompt=enhance_prompt(prompt, style), scene_prompt=prompt, style=style, width=width,
                        height=height, seed=seed, model=None, steps=30, guidance=7.0)  # fmt: skip


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Renders on demand, once per request for the whole module: request → (png bytes, RGB pixels as float)."""
    root = tmp_path_factory.mktemp("draft")
    cache: dict[ImageRequest, tuple[bytes, np.ndarray]] = {}

    def get(request: ImageRequest) -> tuple[bytes, np.ndarray]:
        if request not in cache:
            workdir = root / f"w{len(cache)}"
            workdir.mkdir()
            out = DraftImageProvider().generate(request, StepContext(workdir, CancelToken()))
            data = out.path.read_bytes()
            with Image.open(out.path) as im:
                cache[request] = data, np.asarray(im.convert("RGB"), np.float32)
        return cache[request]

    return get


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_is_registered_as_the_offline_image_provider():
    provider = registry.get("image", "draft")
    assert isinstance(provider, DraftImageProvider)
    assert provider.offline and not provider.needs_key and provider.default_model == "draft-v1"


def test_same_request_gives_the_same_bytes(tmp_path, frames):
    request = _request(PROMPTS[1], "3d")
    out = DraftImageProvider().generate(request, StepContext(tmp_path, CancelToken()))
    assert out.path.read_bytes() == frames(request)[0]  # rendered earlier, in another folder


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080), (720, 1280)])
def test_writes_an_rgb_png_of_exactly_the_requested_size(tmp_path, width, height):
    out = DraftImageProvider().generate(_request(PROMPTS[2], "anime", width, height), StepContext(tmp_path, CancelToken()))
    assert out.path == tmp_path / "image.png"
    assert out.meta == {"width": width, "height": height}
    with Image.open(out.path) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (width, height))
        im.load()  # decodes completely: a valid stream


def test_different_prompts_give_substantially_different_frames(frames):
    # Measured: 20+ between any two of a wide set of prompts (same style, same seed); 0 for the same request.
    for a, b in itertools.combinations(PROMPTS, 2):
        assert _diff(frames(_request(a))[1], frames(_request(b))[1]) > 12, (a, b)


def test_each_style_has_a_look_of_its_own(frames):
    # Same words, same composition: the differences come from the style's rendering (measured: 9+ over the
    # six review prompts; the night-time city is among the closest).
    for a, b in itertools.combinations(STYLES, 2):
        assert _diff(frames(_request(PROMPTS[1], a))[1], frames(_request(PROMPTS[1], b))[1]) > 6, (a, b)


def test_the_seed_varies_the_frame(frames):
    assert _diff(frames(_request(seed=7))[1], frames(_request(seed=8))[1]) > 4


def test_frames_are_pictures_not_flat_fills(frames):
    for prompt, style in [(p, "photorealistic") for p in PROMPTS] + [(PROMPTS[1], s) for s in STYLES[1:]]:
        pixels = frames(_request(prompt, style))[1]
        assert pixels.std() > 20, (prompt, style)  # measured: 30+
        # Colour, not greys: the channels differ somewhere.
        assert np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 8, (prompt, style)


def _kept_by_every_camera_move() -> tuple[float, float, float, float]:
    """The part of a picture (fractions: left, top, right, bottom) in view in every frame of every camera move
    the motion provider makes (every speed, zoom and pan it reads from a prompt)."""
    from pipeline.providers.motion import camera_path, parse_camera_move

    prompts = ["static", *(" ".join(p).strip() for p in itertools.product(
        ("slow", "", "fast"), ("", "zoom in", "zoom out"), ("", "pan left", "pan right"), ("", "tilt up", "tilt down")))]
    left = top = 0.0
    right = bottom = 1.0
    for prompt in prompts:
        for zoom, cx, cy in camera_path(parse_camera_move(prompt), 100):
            left, right = max(left, cx - 0.5 / zoom), min(right, cx + 0.5 / zoom)
            top, bottom = max(top, cy - 0.5 / zoom), min(bottom, cy + 0.5 / zoom)
    return left, top, right, bottom


def test_the_slate_stays_in_the_part_every_camera_move_keeps(monkeypatch, tmp_path):
    """The prompt is a small label near the top of what stays in view (never a subtitle-like band at the
    bottom, never cut off by a pan or a push-in): the picture with and without it differs only there."""
    from pipeline.providers.draft import frame, title_card

    left, top, right, bottom = _kept_by_every_camera_move()
    kl, kt, kr, kb = title_card.KEPT_IN_VIEW
    assert kl >= left and kt >= top and kr <= right and kb <= bottom
    for width, height in ((1280, 720), (720, 1280), (1920, 1080)):
        request = _request(PROMPTS[0] + " and a very long tail of words that cannot fit on one line", "anime",
                           width, height)  # fmt: skip
        with_slate = np.asarray(frame.render(request, StepContext(tmp_path, CancelToken())), np.int16)
        monkeypatch.setattr(frame, "draw_title_card", lambda *a: None)
        bare = np.asarray(frame.render(request, StepContext(tmp_path, CancelToken())), np.int16)
        monkeypatch.undo()
        ys, xs = np.nonzero(np.abs(with_slate - bare).max(axis=2) > 0)
        assert len(ys) > 0.002 * width * height, "the slate is drawn"
        assert xs.min() >= kl * width and xs.max() < kr * width, (width, height)
        assert ys.min() >= kt * height and ys.max() < kt * height + 0.1 * height, "a small label at the top"


def test_reports_progress_up_to_done(tmp_path):
    seen = []
    ctx = StepContext(tmp_path, CancelToken(), on_progress=lambda f, m: seen.append(f), min_interval=0.0)
    DraftImageProvider().generate(_request(PROMPTS[3], "artistic"), ctx)
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == 1.0


def test_a_cancelled_render_stops_without_writing(tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        DraftImageProvider().generate(_request(), StepContext(tmp_path, token))
    assert not (tmp_path / "image.png").exists()


def test_cancel_while_drawing(tmp_path):
    token = CancelToken()
    calls = []

    def on_progress(fraction: float, message: str | None) -> None:
        calls.append(fraction)
        if fraction > 0.2:
            token.cancel()  # the next progress report raises

    with pytest.raises(Cancelled):
        DraftImageProvider().generate(_request(), StepContext(tmp_path, token, on_progress=on_progress, min_interval=0.0))
    assert calls[-1] < 1.0 and not (tmp_path / "image.png").exists()


def test_cache_fields_follow_what_changes_the_picture():
    provider = DraftImageProvider()
    base = _request()
    same = ImageRequest(prompt=base.prompt + ", extra words for a model", scene_prompt=base.scene_prompt,
                        style=base.style, width=base.width, height=base.height, seed=base.seed, model="draft-v1",
                        steps=50, guidance=3.0)  # fmt: skip
    assert provider.cache_fields(same) == provider.cache_fields(base)
    for other in (_request(PROMPTS[1]), _request(style="anime"), _request(width=1920, height=1080), _request(seed=8)):
        assert provider.cache_fields(other) != provider.cache_fields(base)


def test_long_and_unusual_prompts_still_render(tmp_path):
    prompt = "Ünïcödé — café at déjà-vu o'clock; " + "a very long description of a scene " * 12
    out = DraftImageProvider().generate(_request(prompt, "anime", 720, 1280), StepContext(tmp_path, CancelToken()))
    with Image.open(out.path) as im:
        assert im.size == (720, 1280)


def test_importing_the_package_does_no_heavy_work():
    # The painter is a package; from the rest of the project its modules import only the provider base classes,
    # and the caption text renderer (the slate's fonts for any script), which title_card imports when it draws.
    package = Path(__import__("pipeline.providers.draft", fromlist=["x"]).__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 5
    for module in modules:
        tree = ast.parse(module.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        project = {name for name in imported if name.split(".")[0] == "pipeline"}
        outside = {name for name in project if not name.startswith("pipeline.providers.draft.")}
        assert outside <= {"pipeline.providers.base", "pipeline.captions.render"}, (module, outside)


def test_the_pinned_frames_draw_every_layer_of_the_table():
    # Every layer draws in at least one frame whose pixels tests/test_draft_identical.py pins, so a change to any
    # layer shows in some hash there (conditions only: nothing is painted here).
    requests = [*_example_requests().values(), *_grid_requests().values(), *_coverage_requests().values()]
    drawn = set()
    for request in requests:
        scene, _ = prepare(request)
        drawn |= {layer.name for layer in LAYERS if layer.when(scene)}
    assert drawn == {layer.name for layer in LAYERS}
