"""Pre-flight (pipeline.plan.plan_render): a storyboard-wide setting such as a provider's model is checked once per
render, not once per scene per provider; a provider's own `check` still covers a request on its own."""

from __future__ import annotations

import pytest

from pipeline.credentials import Credentials
from pipeline.errors import InputError
from pipeline.plan import plan_render
from pipeline.providers.base import registry
from pipeline.storyboard import parse_storyboard
from tests.step_run import image_request

KEYS = Credentials({"BFL_API_KEY": "k", "RUNWAYML_API_SECRET": "k", "ELEVENLABS_API_KEY": "k"})


def storyboard(scenes: int, image: str = "flux-schnell", video: str = "gen3a_turbo", voice: str = "eleven_nope",
               motion: str = "pan"):  # fmt: skip
    lines = [f"  - {{image_prompt: 'a lighthouse {i}', video_prompt: '{motion}', duration: 5, "
             f"audio_script: 'Hi {i}.'}}" for i in range(scenes)]  # fmt: skip
    return parse_storyboard("\n".join([
        "title: models", f"image: {{provider: bfl, model: {image}}}", f"video: {{provider: runway, model: {video}}}",
        f"voice: {{provider: elevenlabs, model: {voice}}}", "scenes:", *lines]), "yaml")  # fmt: skip


def test_an_unknown_model_is_one_problem_per_render_whatever_the_scene_count():
    with pytest.raises(InputError) as caught:
        plan_render(storyboard(4), KEYS)

    assert [p.path for p in caught.value.problems] == ["image.model", "video.model", "voice.model"]
    assert "'gen3a_turbo' is not a runway model; choose one of: gen4_turbo" in str(caught.value)


def test_known_models_pass_and_scene_problems_are_still_per_scene():
    assert len(plan_render(storyboard(2, "flux-dev", "gen4_turbo", "eleven_flash_v2_5"), KEYS).scenes) == 2

    with pytest.raises(InputError) as caught:
        # 501 emoji pass the storyboard's 1000 characters but are 1002 UTF-16 units: over Runway's own limit
        plan_render(storyboard(2, "flux-dev", "gen4_turbo", "eleven_flash_v2_5", motion="\N{GRINNING FACE}" * 501),
                    KEYS)

    assert [p.path for p in caught.value.problems] == ["scenes[0].video_prompt", "scenes[1].video_prompt"]
    assert "1002" in str(caught.value) and "at most 1000" in str(caught.value)


@pytest.mark.parametrize("kind, name", [("image", "bfl"), ("image", "hf"), ("video", "runway"),
                                        ("voice", "elevenlabs"), ("image", "draft"), ("video", "motion")])  # fmt: skip
def test_the_model_check_is_the_providers_one_check(kind, name):
    provider = registry.get(kind, name)
    assert provider.model_problem(None) is None and provider.model_problem(provider.default_model) is None
    assert f"'nope' is not a {name} model" in provider.model_problem("nope")


def test_a_request_checked_on_its_own_still_names_a_bad_model():
    (problem,) = registry.get("image", "bfl").check(image_request(model="flux-schnell"))
    assert "flux-schnell" in problem and "flux-pro-1.1" in problem
