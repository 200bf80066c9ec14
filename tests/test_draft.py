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
    assert out.meta == {"width": width, "height": height, "slate": f"ANIME · draft · {PROMPTS[2]}"}
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


def test_the_still_has_no_slate_and_hands_its_text_on(tmp_path):
    """Issue 13: the prompt is no longer painted into the still (a camera move would carry it off the frame, and
    a band of text read as a subtitle); the provider hands the slate's text on for the motion provider to draw at
    the top edge of the video (tests/test_motion.py)."""
    from pipeline.providers.draft import frame

    request = _request(PROMPTS[1], "anime", 640, 360)
    out = DraftImageProvider().generate(request, StepContext(tmp_path, CancelToken()))
    assert out.meta["slate"] == f"ANIME · draft · {PROMPTS[1]}"
    assert not hasattr(frame, "draw_title_card")


@pytest.mark.parametrize("width, height", [(640, 360), (360, 640), (1280, 720), (720, 1280)])
def test_the_slate_leaves_the_top_right_corner_to_the_preview_label(width, height):
    from pipeline.media.watermark import label_position, label_tag
    from pipeline.providers.draft.title_card import slate_image

    slate, x, y = slate_image("PHOTOREAL · draft · " + "a very long prompt that goes on " * 4, width, height)
    tag = label_tag("PREVIEW", height)
    tag_x, tag_y = label_position(width, height, tag.width)
    assert x > 0 and y > 0 and y + slate.height < 0.12 * height, "a small label at the top edge"
    assert x + slate.width < tag_x, "clear of the PREVIEW label"


def test_the_plan_asks_for_a_slate_only_where_no_captions_are_burned_in():
    from pipeline.credentials import Credentials
    from pipeline.plan import plan_render
    from pipeline.steps import plan_steps
    from pipeline.storyboard import validate_storyboard

    data = {"scenes": [{"image_prompt": "a sea", "audio_script": "Hello there."}, {"image_prompt": "a hill"}]}
    for burn_in, wanted in ((True, [False, True]), (False, [True, True])):
        plan = plan_render(validate_storyboard({**data, "captions": {"burn_in": burn_in}}), Credentials({}))
        steps = [s for s in plan_steps(plan, Credentials({})) if s.kind == "video"]
        assert [s.params["slate"] for s in steps] == wanted


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
