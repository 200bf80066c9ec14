"""The draft painter's pictures, pinned: the bundled examples and every style × size come out pixel-identical.

The hashes are of the decoded RGB pixels (with the size), not of the PNG bytes, so they pin what the picture looks
like and nothing about the encoder. They were recorded from the draft provider before it was split into a
package (issue 11, item 7); a refactoring of the painter must leave every one of them unchanged. A deliberate
change to the pictures updates them here, in the same commit, and says why.

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
    ('cyberpunk-street.yaml', 0): 'e271d51fdade6251af330846c50891a616f2635c502f8f026b2a1740bee72dcb',
    ('cyberpunk-street.yaml', 1): '03b60079f07542e78aa7d603c657f6f08416c39b11b12ecb5577be2587948851',
    ('mountain-sunset.yaml', 0): 'ab972c33f2c507d445d49343cd36da3376c67a6ea4ec1a50a14cb635dfb90837',
    ('mountain-sunset.yaml', 1): '20c3ca5ed57b70362dd9d9759d1ffc8e51aeaf79520495829f32dce6d45370e1',
    ('ocean-waves.yaml', 0): '2d5fdb2165a7e91506f6c1a5cf55238065fe62bdd3b9fbd4adc1688473e55eb5',
    ('ocean-waves.yaml', 1): 'fcbdf89a83d87f3a7ae97085c5868e23d054768b6a27159344701fbc0f587597',
    ('short-story.yaml', 0): '2843a74e8aa8cb09f0e9e2c4040086c6edb5154e28028591ba49a51442c03fae',
    ('short-story.yaml', 1): 'fd871f1e54409a2b49d5584e6a217ccab9330e49b2d188b1493cb3f773f7e1ea',
    ('short-story.yaml', 2): 'c9fed7cb8821c2e4eb53c662c142a4f23302ec299bcd15964a4250b07abceabf',
}
# (style, width, height) → sha256 of GRID_PROMPT's frame at that style and size.
GRID_HASHES: dict[tuple[str, int, int], str] = {
    ('photorealistic', 1280, 720): 'f5688912b80c6b6ee72a272ebb15fef9c25c769a78b38d4d9eb92a136be96dbc',
    ('photorealistic', 1920, 1080): '94b1d7d2f31a22be845ffb500dc9669bf6b8a06a9df85271b29a7fb8a3f3dd83',
    ('photorealistic', 720, 1280): '2e91548ec73651a92fc5487235f2ae610c3cb4ce9371ffc8056c7b56eeabf65f',
    ('artistic', 1280, 720): 'e75642244c952deb3e3a489087831a36272c87fb9f17f4fc04365c11786ecf4c',
    ('artistic', 1920, 1080): 'bbaa3f155f9fb601860e86991e3d64719fb073ec86c48d78dba8e2dace3bccc3',
    ('artistic', 720, 1280): '65df26f6074440661c717da093a4caf78a9dd30741ca64678c9ca74db0d944c9',
    ('anime', 1280, 720): 'e67cea6fdd2cb1c2927f1864e3fc9f6d43d9ed266480bd99662c448ad2428dd7',
    ('anime', 1920, 1080): 'c4ea4d1dd86876ee2cfac12de746882bf922e3ba18c963696f893518b03b0e31',
    ('anime', 720, 1280): '5274d90f6cf94b8707310843743cf7089389a2861621f76d06b921c1210d049c',
    ('3d', 1280, 720): 'c04afb1abbebf002b2aa1d0dccb06f284eade5102cbce4a10aaaa17825d6677f',
    ('3d', 1920, 1080): '46148efb9cd751967fcb61d506e9e0b74148397fdb184902ffc93f3fedd1c60a',
    ('3d', 720, 1280): 'ac52ee996484c167a7e881d1fb88ff5e4714892e5d7cd963137a46fcd4d12800',
}
# (prompt, style) → sha256 of that prompt's 1280x720 frame, seed 7.
COVERAGE_HASHES: dict[tuple[str, str], str] = {
    ('A traveller hiking a path through a snowy pine forest in the fog', 'anime'): 'ad5e7bb6cd34cc2c1b5644d7440df8c7777af5b80605b5a372e71a8a5ed34222',
    ('Abstract feelings of joy', '3d'): 'a5f9c6333ee5710050ca0b449646f99768d2a092303237d762f144ec9c47a540',
    ('A lone oak tree on a rolling hill in a meadow of wildflowers under a rainbow', 'artistic'): '46439f8b67f2f26625cbc8f7bd65e26089159a3eeaae597c554fa1fbcb42d97c',
    ('Desert dunes at night, a thunderstorm with lightning', 'photorealistic'): '29646ae5c03604105a9de28dad3a5c246e3a50f5e5f89627b4c12ee148c3196b',
    ('Misty mountain valley at sunrise with a flock of birds', '3d'): 'b0ede0e3d3335729d3de302f45d99761ba4b46e6bc9c3d5e1ec662942905c009',
    ('A lighthouse keeper on the cliff on a sunny day, a boat at sea and rocks', 'photorealistic'): 'ded77909741ab1fb8f9df189e0467bdd08383f9a42a5483819c7ef0d09762c54',
    ('A city street on a sunny day with a woman walking', 'anime'): '54ee27ed2e330d6faefef8ec6bed6abf55f5811f1115542c610d004eb4f4731e',
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
