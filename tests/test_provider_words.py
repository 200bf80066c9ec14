"""Issue 15, words a creator uses: providers named by what they are, keys by their maker's name, and only the
settings the chosen providers use (pipeline/provider_labels.py, provider_settings.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.credentials import Credentials, key_vars
from pipeline.provider_labels import AS_STORYBOARD, key_titles, provider_choices, provider_status, shown_as
from pipeline.provider_settings import PROVIDER_SETTINGS, shown_settings
from pipeline.providers import ImageProvider, ImageRequest, StepContext, StepOutput, registry
from pipeline.scenes import SETTING_FIELDS
from pipeline.storyboard import parse_storyboard

WORDS = {
    ("image", "draft"): "offline sketch",
    ("image", "bfl"): "Flux (Black Forest Labs)",
    ("image", "hf"): "FLUX.1 on Hugging Face",
    ("video", "motion"): "offline camera move",
    ("video", "runway"): "Runway gen4_turbo",
    ("voice", "piper"): "Piper (offline voice)",
    ("voice", "elevenlabs"): "ElevenLabs",
}
PROVIDER_CONTROLS = set(PROVIDER_SETTINGS)


def test_every_built_in_provider_is_named_by_what_it_is():
    assert {(kind, name): shown_as(kind, name) for kind, name in WORDS} == WORDS
    assert shown_as("image", "no-such-provider") == "no-such-provider", "an unknown name is shown as it is"


def test_a_dropdown_shows_the_words_and_keeps_the_registry_name_as_its_value():
    choices = provider_choices("image", Credentials())
    assert choices[0] == ("as the storyboard says", AS_STORYBOARD)
    assert [value for _, value in choices[1:]] == registry.names("image")
    labels = dict((value, label) for label, value in choices)
    assert labels["draft"] == "offline sketch — free, runs on this server"
    assert labels["bfl"] == "Flux (Black Forest Labs) — needs your Black Forest Labs API key"
    with_key = dict((v, label) for label, v in provider_choices("video", Credentials({"RUNWAYML_API_SECRET": "k"})))
    assert with_key["runway"] == "Runway gen4_turbo — paid, your Runway API key"
    server = Credentials({"HF_TOKEN": "k"}, source="server")
    assert dict((v, label) for label, v in provider_choices("image", server))["hf"].endswith("the server’s Hugging Face token")


def test_no_label_or_status_names_an_environment_variable():
    words = [provider_status(Credentials()), *(label for kind in ("image", "video", "voice")
                                               for label, _ in provider_choices(kind, Credentials()))]  # fmt: skip
    words += [field.label for field in registry.keys()]
    for var in key_vars():
        assert not any(var in text for text in words), var
    assert [field.label for field in registry.keys()][:4] == [
        "Runway API key (video clips)", "ElevenLabs API key (narration)", "Black Forest Labs API key (images)",
        "Hugging Face token (images)"]  # fmt: skip
    assert key_titles(["RUNWAYML_API_SECRET", "SOMETHING_ELSE"]) == ["Runway API key", "SOMETHING_ELSE"]
    assert "- **Pictures**: ✗ Flux (Black Forest Labs) (needs your Black Forest Labs API key) · ✓ offline sketch " \
           "(free, runs on this server)" in provider_status(Credentials())


def _shown(providers: str) -> set[str]:
    storyboard = parse_storyboard(f"title: t\n{providers}\nscenes:\n  - image_prompt: a harbour\n")
    return {f for f, shown in zip(SETTING_FIELDS, shown_settings(storyboard, SETTING_FIELDS)) if shown}


@pytest.mark.parametrize("providers, controls", [
    ("", {"image.seed"}),  # draft, motion, piper (one voice): nothing else changes their output
    ("image: {provider: bfl}", {"image.model", "image.seed"}),  # FLUX 1.1 [pro] takes no steps or guidance
    ("image: {provider: bfl, model: flux-dev}", {"image.model", "image.steps", "image.guidance", "image.seed"}),
    ("image: {provider: hf}", {"image.model", "image.steps", "image.seed"}),  # schnell: no guidance
    ("video: {provider: runway}", {"image.seed", "video.content_moderation.public_figure_threshold"}),
    ("voice: {provider: elevenlabs}", {"image.seed", "voice.voice_id", "voice.stability", "voice.similarity_boost"}),
])  # fmt: skip
def test_only_the_settings_the_chosen_providers_use_are_shown(providers, controls):
    shown = _shown(providers)
    assert shown & PROVIDER_CONTROLS == controls
    assert set(SETTING_FIELDS) - PROVIDER_CONTROLS <= shown, "title, style, output, captions, music: always"


class _Undeclared(ImageProvider):
    """A provider that keeps the base cache_fields (every request field): every setting stays shown."""

    name = "undeclared-test"

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:  # pragma: no cover - never run
        raise NotImplementedError


@pytest.fixture
def undeclared() -> Any:
    registry.register(_Undeclared)
    yield
    registry.unregister("image", "undeclared-test")


def test_a_provider_that_says_nothing_keeps_every_setting(undeclared):
    assert {"image.model", "image.steps", "image.guidance", "image.seed"} <= _shown("image: {provider: undeclared-test}")
    assert shown_as("image", "undeclared-test") == "undeclared-test"
