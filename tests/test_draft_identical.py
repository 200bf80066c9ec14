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
    ('cyberpunk-street.yaml', 0): '5a14cd01c152990b787cf53ab4ac2ba47fc8ca6f8b090db893781669d06d2ea7',
    ('cyberpunk-street.yaml', 1): 'c47d08072f471d95f12c87c46ae001c26a1459d0112f00a522b37bfed601ac40',
    ('mountain-sunset.yaml', 0): 'aef839885f02b06691ea0621b8a96770534c5f53fe762f2f4397ea53ab7e17bd',
    ('mountain-sunset.yaml', 1): 'd564b4b5f71c284af2177943c535a50e0aad7f0742894e7e6e7fbab7186e0169',
    ('ocean-waves.yaml', 0): 'd88dfa97541ec891a5b14512bf1ec06cb08c786baee19c96163ca9801b198e63',
    ('ocean-waves.yaml', 1): '9dd859d655cce66d96920ca5a80a249dfd41461782c0f44bb22d70dd2078a9e5',
    ('short-story.yaml', 0): '0facb99f9351d77d3abc59c469d7c400a19d8c26be2621e8524facd9a16a8e89',
    ('short-story.yaml', 1): '3cad4ed6b36b44bd89bbf222d693adc33640997d60d44b224882c81ee0e6b2bc',
    ('short-story.yaml', 2): '327bf0409cc1f0d8a18a49729401c5357941f9be7d74507b7c27d8ac6374cc0a',
}
# (style, width, height) → sha256 of GRID_PROMPT's frame at that style and size.
GRID_HASHES: dict[tuple[str, int, int], str] = {
    ('photorealistic', 1280, 720): '3ad4d9f105c3e96130228ee41590df68ba92b8ab5def18b8f2cf338d7283e116',
    ('photorealistic', 1920, 1080): '3d6320c73e594e0db0cf9e6205fd962c2a0bea4e61d1e5523b2aca3a47fbf78f',
    ('photorealistic', 720, 1280): '0cb89580f25d1595942aa785a4dea333815b26d41bbb4a595636bb592a4c0594',
    ('artistic', 1280, 720): '045a3d6ee2ce08a8cb6a447cc46a8aad30f2325c43fb48dd41be7d80abef78a3',
    ('artistic', 1920, 1080): 'e1202bd4bc493a0e7aeb53349e2fdfed04a14158c1b5901057b330d648ba6179',
    ('artistic', 720, 1280): '21637634c51c2bb97af519a96f33fffadc8277aa519f6d86c2455a8bfd61c757',
    ('anime', 1280, 720): '597def420d03be032cb648b54d3c285cd2e169dd5015a90ea653f8b7697c27be',
    ('anime', 1920, 1080): 'f27ef3e6bfc4a2d8a594d34d956abf5f04e96a90c0462f3f264a7418ec5209c5',
    ('anime', 720, 1280): '0a64d73b4a3b4f8b83aee28494b6448d9c991b0ac097c1188707a3f420372462',
    ('3d', 1280, 720): 'a17eb46be4297aaf7cc9b7132d50b369f213e04f76a3629f31836136393ccde1',
    ('3d', 1920, 1080): '283d2a6dcee9f6573c6be19e1408a12d022a678f6152cc4efb8ca89201cf8595',
    ('3d', 720, 1280): '5c9f2edcfb0d6bb7ccf7f9030cc5b48697f72dc70db8e931ab8225c01fc5c205',
}
# (prompt, style) → sha256 of that prompt's 1280x720 frame, seed 7.
COVERAGE_HASHES: dict[tuple[str, str], str] = {
    ('A traveller hiking a path through a snowy pine forest in the fog', 'anime'): 'fb7ee5ca65108b208a312f75b9929d2fab39a007a9597382bf7b406537100244',
    ('Abstract feelings of joy', '3d'): 'f3b37d50f5035839b8f5b2d9324dfa30c526f3b8a61a2cbb0bef2fc4c24e7c88',
    ('A lone oak tree on a rolling hill in a meadow of wildflowers under a rainbow', 'artistic'): '7947e614c9a2627fd9602f697beb73e7b451e93bd9a80ba5e463e11c2e075cae',
    ('Desert dunes at night, a thunderstorm with lightning', 'photorealistic'): 'a4e605f8210324f3da10deda0328f9263f47d522583a421e7646f3dc420dc047',
    ('Misty mountain valley at sunrise with a flock of birds', '3d'): '90fc61ea182fa446647c8fbf08d68229372034710ee2334f1445ef023c0b3b55',
    ('A lighthouse keeper on the cliff on a sunny day, a boat at sea and rocks', 'photorealistic'): '774053d0d8cf0c13a0850653f8465220a9eb2984426cebfb578afaf3c005e2b2',
    ('A city street on a sunny day with a woman walking', 'anime'): '0a05174d582fed96abde0943b464a528c68b4dd7cb25835d51247c712c98a6c7',
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
