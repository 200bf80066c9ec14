"""A paid provider is one file: a provider class defined and registered here, and nowhere else, is listed by
`python -m pipeline providers`, priced by the estimate from its own dated prices, required by pre-flight to have
its key (from the environment or a session), offered in the studio's configuration panel with a key box of its
own, and its variables are cleared for every test. Nothing in pipeline/, app.py or tests/conftest.py names it.
"""

from __future__ import annotations

import contextlib
import wave
from typing import Any, Iterator

import pytest

from pipeline.cli import main
from pipeline.credentials import Credentials, key_vars
from pipeline.errors import InputError
from pipeline.estimate import estimate_cost
from pipeline.plan import plan_render
from pipeline.pricing import step_cost
from pipeline.providers import Price, Prices, StepContext, StepOutput, VoiceProvider, VoiceRequest, registry
from pipeline.storyboard import parse_storyboard

KEY = "canary-acme-secret"
BOARD = """
title: Acme narrates
image: {provider: draft}
video: {provider: motion}
voice: {provider: acme}
scenes:
  - {image_prompt: A harbour at dawn, audio_script: Twelve chars, duration: 2}
  - {image_prompt: A lighthouse, duration: 2}
  - {image_prompt: A boat, audio_script: Hi., duration: 2}
"""
CHARACTERS = len("Twelve chars") + len("Hi.")


class AcmeVoiceProvider(VoiceProvider):
    """Everything a paid provider declares: who it is, its key, where its API is, its dated prices, its client."""

    name = "acme"
    label = "Acme Voices"
    default_model = "acme-1"
    models = ("acme-1", "acme-2-hd")
    needs_key = True
    key_env_var = "ACME_API_KEY"
    base_url_env_var = "ACME_BASE_URL"
    default_base_url = "https://api.acme.example"
    offline = False
    paid = True
    # Older than the built-ins' 2026-11: the estimate must say the prices it used are as of this date.
    prices = Prices("2026-10", {
        "acme-1": Price("character", 0.0002, "Acme pricing page: $0.20 per 1,000 characters"),
        "acme-2-hd": Price("character", 0.0005, "Acme pricing page: $0.50 per 1,000 characters"),
    })  # fmt: skip

    @contextlib.contextmanager
    def client(self, key: str) -> Iterator[dict[str, Any]]:
        yield {"base_url": self.base_url(), "key": key}

    def generate(self, request: VoiceRequest, ctx: StepContext) -> StepOutput:
        with self.client(ctx.key(self.key_env_var, self.label)):
            path = ctx.workdir / "voice.wav"
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1), out.setsampwidth(2), out.setframerate(8000)
                out.writeframes(b"\0\0" * 8000)
        return StepOutput(path, {"duration": 1.0})


@pytest.fixture
def acme(monkeypatch):
    registry.register(AcmeVoiceProvider)
    monkeypatch.delenv("ACME_API_KEY", raising=False)
    yield AcmeVoiceProvider
    registry.unregister("voice", "acme")


def test_the_cli_lists_it_with_its_key_and_its_dated_price(acme, capsys):
    assert main(["providers"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  acme "))
    assert "Acme Voices" in line and "needs ACME_API_KEY" in line
    assert "$0.2-$0.5 per 1,000 characters, prices as of 2026-10" in line


def test_credentials_read_its_key_from_the_environment(acme, monkeypatch):
    assert key_vars()[-1] == "ACME_API_KEY", "a provider added later comes after the built-ins' keys"
    assert key_vars()[:4] == ("RUNWAYML_API_SECRET", "ELEVENLABS_API_KEY", "BFL_API_KEY", "HF_TOKEN")
    monkeypatch.setenv("ACME_API_KEY", KEY)
    credentials = Credentials.from_env()
    assert credentials.get("ACME_API_KEY") == KEY and credentials.source("ACME_API_KEY") == "server"
    assert KEY not in repr(credentials)


def test_the_estimate_prices_it_from_its_own_prices(acme):
    estimate = estimate_cost(parse_storyboard(BOARD), credentials=Credentials({"ACME_API_KEY": KEY}))
    voice = [s for scene in estimate.scenes for s in scene if s.step == "voice"]
    assert [(s.provider, s.model, s.unit) for s in voice] == [("acme", "acme-1", "character")] * 2
    assert estimate.total == pytest.approx(0.0002 * CHARACTERS)
    assert estimate.prices_as_of == "2026-10"
    hd = parse_storyboard(BOARD.replace("{provider: acme}", "{provider: acme, model: acme-2-hd}"))
    assert estimate_cost(hd, credentials=Credentials({"ACME_API_KEY": KEY})).total == pytest.approx(
        0.0005 * CHARACTERS
    )
    unpriced = VoiceRequest("Hello.", None, "acme-0", 0.5, 0.75)
    with pytest.raises(InputError, match="no price is known for acme model 'acme-0'; known: acme-1, acme-2-hd"):
        step_cost("voice", registry.get("voice", "acme"), unpriced)


def test_preflight_needs_its_key_and_passes_with_one_from_the_environment_or_a_session(acme, monkeypatch):
    storyboard = parse_storyboard(BOARD)
    with pytest.raises(InputError, match="voice.provider: 'acme' needs ACME_API_KEY"):
        plan_render(storyboard, Credentials.from_env())
    assert plan_render(storyboard, Credentials({"ACME_API_KEY": KEY})).voice_provider.name == "acme"
    monkeypatch.setenv("ACME_API_KEY", KEY)
    assert plan_render(storyboard, Credentials.from_env()).voice_provider.name == "acme"
    with pytest.raises(InputError, match="voice.provider: 'acme' needs ACME_API_KEY"):
        plan_render(storyboard)  # no credentials given: no keys (the edges hand in the server's)
    wrong = parse_storyboard(BOARD.replace("{provider: acme}", "{provider: acme, model: acme-9}"))
    with pytest.raises(InputError, match="voice.model: 'acme-9' is not a acme model; choose one of: acme-1"):
        plan_render(wrong, Credentials.from_env())


@pytest.mark.slow
def test_the_studio_offers_it_with_a_key_box_of_its_own(acme):
    import gradio as gr

    import app

    # Named by its own label, its key by its label too (the environment variable only in the key box's small print).
    assert ("Acme Voices — needs your Acme Voices API key", "acme") in app._provider_choices(
        "voice", Credentials())  # fmt: skip
    assert ("Acme Voices — paid, your Acme Voices API key", "acme") in app._provider_choices(
        "voice", Credentials({"ACME_API_KEY": KEY}))  # fmt: skip
    with gr.Blocks():
        boxes = app._key_boxes()
    box = next(b for b in boxes if b.info == "ACME_API_KEY")
    assert box.label == "Acme Voices API key (narration)" and box.type == "password"
    assert [b.info for b in boxes] == list(key_vars())
    # The key pasted in its box (the last one) is this session's key for acme, and the panel says so.
    session, *rest = app.use_keys({}, *[""] * (len(boxes) - 1), KEY)
    assert session == {"ACME_API_KEY": KEY} and rest[: len(boxes)] == [""] * len(boxes)
    assert "✓ Acme Voices (paid, your Acme Voices API key)" in rest[len(boxes)]
    assert "✗ Acme Voices (needs your Acme Voices API key)" in app.provider_status({})


def test_its_variables_are_cleared_for_every_test_and_its_base_url_is_read_per_call(acme, monkeypatch):
    from tests.conftest import provider_env

    assert {"ACME_API_KEY", "ACME_BASE_URL"} <= set(provider_env())
    provider = registry.get("voice", "acme")
    assert provider.base_url() == "https://api.acme.example"
    monkeypatch.setenv("ACME_BASE_URL", "http://127.0.0.1:9/fake-acme")
    with provider.client(KEY) as client:
        assert client == {"base_url": "http://127.0.0.1:9/fake-acme", "key": KEY}


def test_a_paid_provider_without_a_key_variable_or_dated_prices_in_its_unit_is_refused():
    class NoPrices(AcmeVoiceProvider):
        name = "acme-no-prices"
        prices = None

    class NoKey(AcmeVoiceProvider):
        name = "acme-no-key"
        key_env_var = None

    class PerImage(AcmeVoiceProvider):
        name = "acme-per-image"
        prices = Prices("2026-10", {None: Price("image", 0.01)})

    for cls, problem in ((NoPrices, "declares prices"), (NoKey, "declares key_env_var"),
                         (PerImage, "a voice step is billed per character")):  # fmt: skip
        with pytest.raises(TypeError, match=problem):
            registry.register(cls)
        assert cls.name not in registry.names("voice")
    with pytest.raises(ValueError, match="a date like 2026-11"):
        Prices("November", {None: Price("character", 0.0001)})



def test_a_provider_file_dropped_in_a_providers_folder_registers_itself(tmp_path, monkeypatch):
    """pipeline/providers/__init__.py imports every module of its folder this way after the built-ins."""
    import sys

    from pipeline.providers import import_modules

    folder = tmp_path / "acme_plugins"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "acme_video.py").write_text(
        "from pipeline.providers import Price, Prices, VideoProvider, register\n\n\n"
        "@register\n"
        "class AcmeVideo(VideoProvider):\n"
        "    name, label, key_env_var = 'acme-video', 'Acme Video', 'ACME_API_KEY'\n"
        "    needs_key, paid, offline = True, True, False\n"
        "    prices = Prices('2026-10', {None: Price('second', 0.1)})\n\n"
        "    def generate(self, request, ctx):\n"
        "        raise NotImplementedError\n"
    )  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import_modules([str(folder)], "acme_plugins")
        assert "acme-video" in registry.names("video") and key_vars()[-1] == "ACME_API_KEY"
    finally:
        registry.unregister("video", "acme-video")
        for name in ("acme_plugins.acme_video", "acme_plugins"):
            sys.modules.pop(name, None)
    assert "ACME_API_KEY" not in key_vars()
