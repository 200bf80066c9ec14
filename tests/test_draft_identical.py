"""The draft painter's pictures, pinned: the bundled examples and every style × size come out pixel-identical.

The hashes are of the decoded RGB pixels (with the size), not of the PNG bytes, so they pin what the picture looks
like and nothing about the encoder. They were recorded from the draft provider before it was split into a
package (issue 11, item 7); a refactoring of the painter must leave every one of them unchanged. A deliberate
change to the pictures updates them here, in the same commit, and says why (issue 13: the slate left the still
for the top edge of the video, drawn after the camera move).

To print the current hashes: `python -m tests.test_draft_identical`.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.cancel import CancelToken
from pipeline.providers.base import ImageRequest, StepContext
from pipeline.providers.draft import DraftImageProvider
from pipeline.storyboard import load_storyboard
from pipeline.styles import enhance_prompt

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
STYLES = ("photorealistic", "artistic", "anime", "3d")
SIZES = ((1280, 720), (1920, 1080), (720, 1280))
GRID_PROMPT = "Ocean waves crashing on a rocky beach at dawn, seabirds over the water, a figure on the shore"
GRID_SEED = 7
# Prompts that, with the examples and the grid, make every layer of the painter draw at least once (forest and
# path, a lone broadleaf, hills with flowers, a rainbow, dunes, lightning, snowfall, the abstract picture, a low
# treeline, a figure on a cliff, a city by day), in varied styles since several layers draw differently in anime.
COVERAGE_PROMPTS = (
    ("A traveller hiking a path through a snowy pine forest in the fog", "anime"),
    ("Abstract feelings of joy", "3d"),
    ("A lone oak tree on a rolling hill in a meadow of wildflowers under a rainbow", "artistic"),
    ("Desert dunes at night, a thunderstorm with lightning", "photorealistic"),
    ("Misty mountain valley at sunrise with a flock of birds", "3d"),
    ("A lighthouse keeper on the cliff on a sunny day, a boat at sea and rocks", "photorealistic"),
    ("A city street on a sunny day with a woman walking", "anime"),
)

# (example file, scene index) → sha256 of the first frame's pixels.
EXAMPLE_HASHES: dict[tuple[str, int], str] = {
    ('cyberpunk-street.yaml', 0): 'b0a44b86102dd4b85baa3c19918585539e99ac730033b19b6246ae0b76e4ac94',
    ('cyberpunk-street.yaml', 1): '3f881ea183184e4ac15dfec278aed9ea5e3330b6725258bfb38b032830718b10',
    ('mountain-sunset.yaml', 0): 'cb730fd3686a228e7f390f083c3aa8a32944e5803188302214bdfa0f0df5bd7a',
    ('mountain-sunset.yaml', 1): 'c04af47b58c84d2621b26d726f6d0a1faa18504edb2c7aecdd7b631ed520eabc',
    ('ocean-waves.yaml', 0): '928d0192f7bd88a1583b1d4010b57428b1b56d0aa0132c8c53baa46cf8aa9ce4',
    ('ocean-waves.yaml', 1): 'd33069cd3a0026e754614d5270b80bba5270baff1943029a2de336bf3ff00660',
    ('short-story.yaml', 0): '9e86022856732b765dff139d5d040ae9dce1c8c811fd26a5ea2684ea5ae7f6be',
    ('short-story.yaml', 1): '4e6e2fbbefacfc612dc3d477a91a20a4ea7fdc39fad1e70fcf8f5b55d35eb7cc',
    ('short-story.yaml', 2): '8ebdcfd3ae2ba77cbf31a5942fbf05f49213fec6914135fde1f5f67ac837eef9',
}
# (style, width, height) → sha256 of GRID_PROMPT's frame at that style and size.
GRID_HASHES: dict[tuple[str, int, int], str] = {
    ('photorealistic', 1280, 720): '319356e7c60cfb4a50c330415102c7bcacd9adb859ef8fe4b233250d512df6ef',
    ('photorealistic', 1920, 1080): '8425ce44363b7292ea1c73999ef16d48b48dea674bc68b428acbede3012e75fa',
    ('photorealistic', 720, 1280): 'f32078b0bd0dcb934ad53ac772c5f27a6b193efda00a78161c53448e6165e374',
    ('artistic', 1280, 720): '00e38f527b87df80311a925105a142c8268e4376c05a087e749f059452eada1c',
    ('artistic', 1920, 1080): '7e2b38ff8ca78928d70ed72681a30661b59ec30c09550f3df3d316b71a0b0cb2',
    ('artistic', 720, 1280): '4761fcbec58a7bf0e9c0067ac219fea07e5eec539ed216f738715fb5ec08f027',
    ('anime', 1280, 720): '66f536dd3542debed9d2479da5e7d6e6f2d5160791acd0aa8fbd4e54a55182f7',
    ('anime', 1920, 1080): 'ed3f779b334be7d8de441060df74ef2926bf304ae11938a5d0f1acf58889720b',
    ('anime', 720, 1280): 'c435cae4776069e01401dfdeec80543f5cb73ad731a4af8b33c28e9e2c8d463a',
    ('3d', 1280, 720): '0d4c3d17ca9cd56c4b4a1d8271a3397461ca034ebebc10fe8bdbb24b1420f3b1',
    ('3d', 1920, 1080): '079d1b1fbe707c8f3ffecb8619da636054ae8875b62f7d4c2ac77bd5563a4488',
    ('3d', 720, 1280): '30dae17517777365d01c65972a5818902fd2452913ee74ab55b5934cbb5094c9',
}
# (prompt, style) → sha256 of that prompt's 1280x720 frame, seed 7.
COVERAGE_HASHES: dict[tuple[str, str], str] = {
    ('A traveller hiking a path through a snowy pine forest in the fog', 'anime'): '4ae158873bff9efcb38667d16b7546df2182d3909cd205c98995866a9450ed32',
    ('Abstract feelings of joy', '3d'): 'a092ccb310caa27bb85ae1286e0848b873e75b2474d74ba14d201c92b19a8a6c',
    ('A lone oak tree on a rolling hill in a meadow of wildflowers under a rainbow', 'artistic'): '93200c4880fdcacd4b4b221d2789df461a5d7c00e8512bafdd5db4ffc81b0e9d',
    ('Desert dunes at night, a thunderstorm with lightning', 'photorealistic'): 'd7603062bc63584b1a3086f21384ef7073740d9d95e8d843b3dabc18897326d4',
    ('Misty mountain valley at sunrise with a flock of birds', '3d'): '434bae658613b0d09b2a398170ed023059972e7fd1c05de79ac11df513881de5',
    ('A lighthouse keeper on the cliff on a sunny day, a boat at sea and rocks', 'photorealistic'): '0bdd4eab38cfa70f33a0394d8a0f5602a0cfa6c569047272f58052f9f4c71c22',
    ('A city street on a sunny day with a woman walking', 'anime'): 'f16c117628dcc5071ac77a603cea6e5107d87f2181e1e40d56269463f1570a76',
}


def _example_requests() -> dict[tuple[str, int], ImageRequest]:
    """Each scene's image request, built field for field the way pipeline.plan.plan_render builds it."""
    requests = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        sb = load_storyboard(path)
        assert sb.image.provider == "draft", path
        width, height = sb.size
        for i, scene in enumerate(sb.scenes):
            requests[path.name, i] = ImageRequest(
                prompt=enhance_prompt(scene.image_prompt, sb.style), scene_prompt=scene.image_prompt.strip(),
                style=sb.style, width=width, height=height, seed=sb.scene_seed(i),
                model=DraftImageProvider().resolve_model(sb.image.model), steps=sb.image.steps,
                guidance=sb.image.guidance,
            )  # fmt: skip
    return requests


def _grid_requests() -> dict[tuple[str, int, int], ImageRequest]:
    return {
        (style, w, h): ImageRequest(prompt=enhance_prompt(GRID_PROMPT, style), scene_prompt=GRID_PROMPT, style=style,
                                    width=w, height=h, seed=GRID_SEED, model=None, steps=28, guidance=3.5)  # fmt: skip
        for style in STYLES
        for w, h in SIZES
    }


def _coverage_requests() -> dict[tuple[str, str], ImageRequest]:
    return {
        (prompt, style): ImageRequest(prompt=enhance_prompt(prompt, style), scene_prompt=prompt, style=style,
                                      width=1280, height=720, seed=GRID_SEED, model=None, steps=28, guidance=3.5)  # fmt: skip
        for prompt, style in COVERAGE_PROMPTS
    }


def pixel_hash(request: ImageRequest) -> str:
    """The sha256 of the frame's decoded RGB pixels (and its size), rendered through the provider's generate()."""
    with tempfile.TemporaryDirectory() as folder:
        out = DraftImageProvider().generate(request, StepContext(Path(folder), CancelToken()))
        with Image.open(out.path) as im:
            pixels = np.ascontiguousarray(np.asarray(im.convert("RGB"), np.uint8))
    return hashlib.sha256(f"{pixels.shape}".encode() + pixels.tobytes()).hexdigest()


def test_every_example_scene_is_pinned():
    # A new or edited example must get its hash recorded, or this test would silently cover less.
    assert set(_example_requests()) == set(EXAMPLE_HASHES)


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(EXAMPLE_HASHES))
def test_example_frames_are_pixel_identical(key):
    assert pixel_hash(_example_requests()[key]) == EXAMPLE_HASHES[key], key


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(GRID_HASHES))
def test_each_style_and_size_is_pixel_identical(key):
    assert pixel_hash(_grid_requests()[key]) == GRID_HASHES[key], key


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(COVERAGE_HASHES))
def test_every_layer_is_pixel_identical(key):
    assert pixel_hash(_coverage_requests()[key]) == COVERAGE_HASHES[key], key


def test_the_tables_cover_every_style_size_and_prompt():
    assert set(GRID_HASHES) == set(_grid_requests())
    assert set(COVERAGE_HASHES) == set(_coverage_requests())


if __name__ == "__main__":  # prints the tables above from the current code
    print("EXAMPLE_HASHES = {")
    for key, request in _example_requests().items():
        print(f"    {key!r}: {pixel_hash(request)!r},")
    print("}\nGRID_HASHES = {")
    for key, request in _grid_requests().items():
        print(f"    {key!r}: {pixel_hash(request)!r},")
    print("}\nCOVERAGE_HASHES = {")
    for key, request in _coverage_requests().items():
        print(f"    {key!r}: {pixel_hash(request)!r},")
    print("}")
