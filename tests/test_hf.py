"""Contract tests for the Hugging Face image provider: the real InferenceClient against tests/wire/hf.py's server."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from pipeline.errors import (
    InvalidRequest,
    ProviderFailed,
    QuotaExceeded,
)
from pipeline.providers import hf, remote
from pipeline.providers.base import registry
from tests.step_run import StepRun, assert_secret_nowhere, failure, image_request
from tests.wire.hf import IMAGE, FakeHfInference, loading
from tests.wire.server import Reply

TOKEN = "canary-hf-3c9d-secret"


def step_run(tmp_path: Path, token: str | None = TOKEN) -> StepRun:
    return StepRun(tmp_path, "HF_TOKEN", token)


@pytest.fixture
def fake(monkeypatch):
    server = FakeHfInference(TOKEN).start()
    monkeypatch.setenv("HF_INFERENCE_URL", server.endpoint())
    monkeypatch.setattr(remote, "BACKOFF", 0.01)
    yield server
    server.stop()


@pytest.fixture
def provider():
    return hf.HuggingFaceImageProvider()


# ---------------------------------------------------------------------------------------------------------------
# The happy path and what goes over the wire


def test_image_through_the_inference_client(fake, provider, tmp_path, isolated_home):
    run = step_run(tmp_path)

    out = provider.generate(image_request(), run.ctx)

    assert fake.count("POST", IMAGE) == 1
    sent = fake.matching("POST", IMAGE)[0]
    assert sent.path == "/models/black-forest-labs/FLUX.1-schnell"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}" and sent.headers["accept"] == "image/png"
    # schnell: at most 4 steps and no guidance, whatever the project's defaults for other models say.
    assert sent.json() == {"inputs": "a lighthouse on a cliff at dusk, photorealistic",
                           "parameters": {"width": 1280, "height": 720, "num_inference_steps": 4,
                                          "guidance_scale": 0.0, "seed": 42}}  # fmt: skip
    with Image.open(out.path) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (1280, 720), "RGB")
    assert out.meta == {"model": "black-forest-labs/FLUX.1-schnell", "generated_size": [1280, 720], "steps": 4,
                        "seed": 42}  # fmt: skip
    assert sorted(p.name for p in run.workdir.iterdir()) == ["image.png"]
    assert_secret_nowhere(TOKEN, None, run.workdir, isolated_home)


def test_1080p_is_made_within_1440_and_fitted(fake, provider, tmp_path):
    out = provider.generate(image_request(width=1920, height=1080), step_run(tmp_path).ctx)

    params = fake.matching("POST", IMAGE)[0].json()["parameters"]
    assert (params["width"], params["height"]) == (1440, 816)
    pixels = np.asarray(Image.open(out.path))
    assert pixels.shape == (1080, 1920, 3)
    assert pixels[1, 960, 0] > 180 and pixels[1, 960, 1] < 80  # the red band along the top survives the crop
    assert pixels[540, 20].mean() < 30 and pixels[540, 1900].mean() > 225


def test_flux_dev_takes_the_projects_steps_and_guidance(fake, provider, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_INFERENCE_URL", fake.endpoint("black-forest-labs/FLUX.1-dev"))

    out = provider.generate(image_request(model="black-forest-labs/FLUX.1-dev"), step_run(tmp_path).ctx)

    params = fake.matching("POST", IMAGE)[0].json()["parameters"]
    assert (params["num_inference_steps"], params["guidance_scale"]) == (28, 3.5)
    assert out.meta["model"] == "black-forest-labs/FLUX.1-dev"


def test_registered_with_its_settings():
    provider = registry.get("image", "hf")
    assert (provider.label, provider.key_env_var, provider.base_url_env_var, provider.default_model) == \
        ("Hugging Face (FLUX.1-schnell)", "HF_TOKEN", "HF_INFERENCE_URL", "black-forest-labs/FLUX.1-schnell")
    assert provider.paid and provider.needs_key and not provider.offline


# ---------------------------------------------------------------------------------------------------------------
# Faults


def test_a_loading_model_is_waited_for(fake, provider, tmp_path):
    fake.script("POST", IMAGE, [loading(0.05)])
    run = step_run(tmp_path)

    provider.generate(image_request(), run.ctx)

    assert fake.count("POST", IMAGE) == 2
    assert "retrying in 0 s" in run.notes


def test_a_model_that_never_loads_gives_up_after_three(fake, provider, tmp_path):
    fake.script("POST", IMAGE, [loading(0.0)] * 5)

    error = failure(provider, image_request(), step_run(tmp_path))

    assert type(error) is ProviderFailed and error.status == 503 and "currently loading" in error.reason
    assert fake.count("POST", IMAGE) == 3


def test_out_of_credits(fake, provider, tmp_path):
    fake.script("POST", IMAGE, [Reply(402, {"error": "You have exceeded your monthly included credits"})])

    error = failure(provider, image_request(), step_run(tmp_path))

    assert type(error) is QuotaExceeded and "monthly included credits" in error.reason
    assert "switch the image provider to draft" in error.advice
    assert fake.count("POST", IMAGE) == 1


def test_a_refused_parameter_is_an_invalid_request(fake, provider, tmp_path):
    fake.max_steps = 2  # an endpoint that takes fewer steps than schnell's 4

    error = failure(provider, image_request(), step_run(tmp_path))

    assert type(error) is InvalidRequest and error.status == 422 and "num_inference_steps" in error.reason
    assert fake.count("POST", IMAGE) == 1


def test_an_answer_that_is_not_an_image(fake, provider, tmp_path):
    fake.script("POST", IMAGE, [Reply(200, {"generated_text": "no"})])

    error = failure(provider, image_request(), step_run(tmp_path))

    assert type(error) is ProviderFailed and "not an image" in error.reason
    assert fake.count("POST", IMAGE) == 1


# ---------------------------------------------------------------------------------------------------------------
# Pre-flight and sizes


@pytest.mark.parametrize("frame, size", [((1920, 1080), (1440, 816)), ((1280, 720), (1280, 720)),
                                         ((720, 1280), (720, 1280)), ((100, 100), (256, 256))])  # fmt: skip
def test_generation_sizes(frame, size):
    assert hf.generation_size(*frame) == size


def test_check_reports_what_is_wrong(provider):
    assert provider.check(image_request()) == []
    assert "empty" in provider.check(image_request(prompt=" "))[0]
    assert "stabilityai/sdxl" in provider.check(image_request(model="stabilityai/sdxl"))[0]
    assert "256 to 1440" in provider.check(image_request(width=5000, height=200))[0]


def test_cache_fields_use_the_settings_actually_sent(provider):
    assert provider.cache_fields(image_request(steps=28)) == provider.cache_fields(image_request(steps=50))
    assert provider.cache_fields(image_request(steps=2)) != provider.cache_fields(image_request(steps=4))


def test_the_fake_refuses_wrong_headers_and_fields():
    body = {"inputs": "p", "parameters": {"width": 512, "height": 512}}
    with FakeHfInference(TOKEN) as server, httpx.Client() as http:
        url, ok = server.endpoint(), {"authorization": f"Bearer {TOKEN}", "accept": "image/png"}
        assert http.post(url, json=body, headers=ok).status_code == 200
        assert http.post(url, json=body, headers={**ok, "authorization": TOKEN}).status_code == 401
        assert http.post(url, json={"prompt": "p"}, headers=ok).status_code == 422
        assert http.post(url, json={**body, "parameters": {"steps": 4}}, headers=ok).status_code == 422
        assert http.post(url, json={**body, "parameters": {"width": 500}}, headers=ok).status_code == 422
