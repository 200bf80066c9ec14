"""Contract tests for the Black Forest Labs image provider: httpx against tests/wire/bfl.py's fake FLUX API."""

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
    RateLimited,
    Rejected,
)
from pipeline.providers import bfl, remote
from pipeline.providers.base import registry
from tests.step_run import MemoryJournal, StepRun, assert_secret_nowhere, failure, image_request
from tests.wire.bfl import RESULT, SAMPLE, SUBMIT, FakeBfl, error
from tests.wire.server import Reply

KEY = "canary-b7f1-secret"


def step_run(tmp_path: Path, journal: MemoryJournal | None = None, key: str | None = KEY) -> StepRun:
    return StepRun(tmp_path, "BFL_API_KEY", key, journal)  # polls every FAST_POLL seconds (the context's setting)


@pytest.fixture
def fake(monkeypatch):
    server = FakeBfl(KEY).start()
    monkeypatch.setenv("BFL_API_URL", server.url)
    monkeypatch.setattr(remote, "BACKOFF", 0.01)
    yield server
    server.stop()


@pytest.fixture
def provider():
    return bfl.BflImageProvider()


def counts(fake: FakeBfl) -> tuple[int, int, int]:
    """(submissions, polls, sample downloads)"""
    return fake.count("POST", SUBMIT), fake.count("GET", RESULT), fake.count("GET", SAMPLE)


# ---------------------------------------------------------------------------------------------------------------
# The happy path and what goes over the wire


def test_image_made_and_fitted_to_the_frame(fake, provider, tmp_path, isolated_home):
    fake.plan("Pending", "Pending", "Ready")
    run = step_run(tmp_path)

    out = provider.generate(image_request(), run.ctx)

    assert counts(fake) == (1, 3, 1)
    submit = fake.matching("POST", SUBMIT)[0]
    assert submit.path == "/v1/flux-pro-1.1" and submit.headers["x-key"] == KEY
    assert submit.json() == {"prompt": "a lighthouse on a cliff at dusk, photorealistic", "seed": 42,
                             "output_format": "png", "safety_tolerance": 2, "prompt_upsampling": False,
                             "width": 1280, "height": 736}  # fmt: skip
    assert all(r.headers["x-key"] == KEY for r in fake.matching("GET", RESULT))
    assert "x-key" not in fake.matching("GET", SAMPLE)[0].headers
    task_id = next(iter(fake.tasks))
    assert fake.matching("GET", RESULT)[0].query == {"id": [task_id]}
    assert run.journal.submits == [("k1", "bfl", task_id, {"polling_url": fake.polling_url(task_id)})]
    with Image.open(out.path) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (1280, 720), "RGB")
    assert out.meta == {"provider_task_id": task_id, "model": "flux-pro-1.1", "generated_size": [1280, 736],
                        "seed": 42}  # fmt: skip
    assert sorted(p.name for p in run.workdir.iterdir()) == ["image.png"]
    assert "generating at BFL" in run.notes
    assert_secret_nowhere(KEY, None, run.workdir, isolated_home)


def test_1080p_is_made_at_1440x800_and_scaled_with_a_centre_crop(fake, provider, tmp_path):
    out = provider.generate(image_request(width=1920, height=1080), step_run(tmp_path).ctx)

    assert {k: v for k, v in fake.matching("POST", SUBMIT)[0].json().items() if k in ("width", "height")} == \
        {"width": 1440, "height": 800}  # fmt: skip
    assert out.meta["generated_size"] == [1440, 800]
    pixels = np.asarray(Image.open(out.path))
    assert pixels.shape == (1080, 1920, 3)
    # The fake's picture: a red band along the top edge, a dark-to-light gradient from left to right.
    assert pixels[1, 960, 0] > 180 and pixels[1, 960, 1] < 80
    assert pixels[540, 20].mean() < 30 and pixels[540, 1900].mean() > 225


def test_portrait_frames_keep_their_aspect(fake, provider, tmp_path):
    out = provider.generate(image_request(width=720, height=1280), step_run(tmp_path).ctx)

    body = fake.matching("POST", SUBMIT)[0].json()
    assert (body["width"], body["height"]) == (736, 1280)
    assert Image.open(out.path).size == (720, 1280)


def test_flux_dev_sends_steps_and_guidance_within_its_ranges(fake, provider, tmp_path):
    provider.generate(image_request(model="flux-dev", steps=28, guidance=7.5), step_run(tmp_path).ctx)

    submit = fake.matching("POST", SUBMIT)[0]
    assert submit.path == "/v1/flux-dev"
    body = submit.json()
    assert (body["steps"], body["guidance"], body["width"], body["height"]) == (28, 5.0, 1280, 736)


def test_ultra_sends_an_aspect_ratio_not_a_size(fake, provider, tmp_path):
    out = provider.generate(image_request(model="flux-pro-1.1-ultra", width=1920, height=1080), step_run(tmp_path).ctx)

    submit = fake.matching("POST", SUBMIT)[0]
    assert submit.path == "/v1/flux-pro-1.1-ultra"
    body = submit.json()
    assert body["aspect_ratio"] == "16:9" and body["raw"] is False
    assert "width" not in body and "height" not in body and "steps" not in body
    assert Image.open(out.path).size == (1920, 1080)
    assert out.meta["generated_size"][0] > 1920 and out.meta["model"] == "flux-pro-1.1-ultra"


def test_registered_with_its_settings():
    provider = registry.get("image", "bfl")
    assert (provider.label, provider.key_env_var, provider.base_url_env_var, provider.default_model) == \
        ("Black Forest Labs (Flux)", "BFL_API_KEY", "BFL_API_URL", "flux-pro-1.1")  # fmt: skip
    assert provider.paid and provider.needs_key and not provider.offline


# ---------------------------------------------------------------------------------------------------------------
# Task outcomes


def test_a_moderated_request_names_the_image_prompt(fake, provider, tmp_path):
    fake.plan("Pending", "Request Moderated")
    run = step_run(tmp_path)

    error = failure(provider, image_request(), run)

    assert type(error) is Rejected and error.refused == "image prompt"
    assert "reword" in error.advice and "Derivative Works Filter" in error.reason
    assert counts(fake) == (1, 2, 0)
    assert run.journal.ends == ["Request Moderated"]


def test_moderated_content_names_the_output_image(fake, provider, tmp_path):
    fake.plan("Content Moderated")

    error = failure(provider, image_request(), step_run(tmp_path))

    assert type(error) is Rejected and error.refused == "output image"
    assert counts(fake) == (1, 1, 0)


def test_a_failed_task_is_reported_not_resubmitted(fake, provider, tmp_path):
    fake.plan("Pending", "Error")
    run = step_run(tmp_path)

    error = failure(provider, image_request(), run)

    assert type(error) is ProviderFailed and "Internal generation error" in error.reason
    assert counts(fake) == (1, 2, 0) and run.journal.ends == ["Error"]


def test_an_expired_sample_is_reported_and_not_paid_for_again(fake, provider, tmp_path):
    fake.sample_lifetime = 0.0
    fake.plan("Ready")
    run = step_run(tmp_path)

    error = failure(provider, image_request(), run)

    assert type(error) is ProviderFailed and "output URL expired" in error.reason and error.status == 403
    assert "10 minutes" in error.advice
    assert counts(fake) == (1, 1, 1)
    assert run.journal.ends == ["expired"]


def test_the_sample_is_fetched_the_moment_it_is_ready(fake, provider, tmp_path):
    fake.sample_lifetime = 1.0
    fake.plan("Pending", "Ready")

    provider.generate(image_request(), step_run(tmp_path).ctx)

    assert counts(fake) == (1, 2, 1)


# ---------------------------------------------------------------------------------------------------------------
# Journal: re-attach instead of paying again


def test_a_journalled_task_is_picked_up_without_a_new_submission(fake, provider, tmp_path):
    task = fake.add_task(["Pending", "Ready"])
    journal = MemoryJournal({"id": task.id, "polling_url": fake.polling_url(task.id)})

    out = provider.generate(image_request(), step_run(tmp_path, journal).ctx)

    assert counts(fake) == (0, 2, 1)
    assert out.meta["provider_task_id"] == task.id and journal.submits == []


def test_a_journalled_task_bfl_forgot_is_submitted_anew(fake, provider, tmp_path):
    journal = MemoryJournal({"id": "gone", "polling_url": fake.polling_url("gone")})

    provider.generate(image_request(), step_run(tmp_path, journal).ctx)

    assert counts(fake) == (1, 3, 1)  # one poll for the lost task, two for the new one
    assert journal.ends == ["Task not found"] and len(journal.submits) == 1


def test_a_submission_that_never_heard_back_is_announced_on_the_next_run(fake, provider, tmp_path):
    journal = MemoryJournal({"submitting": "bfl", "since": "2026-11-25T09:30:00+00:00"})
    run = step_run(tmp_path, journal)

    provider.generate(image_request(), run.ctx)

    assert counts(fake)[0] == 1 and journal.interrupted("k1") is None and len(journal.submits) == 1
    (warning,) = run.warnings
    assert warning.startswith("Black Forest Labs (Flux): an earlier run was stopped while submitting this step "
                              "(2026-11-25 09:30:00 UTC)") and "paid again" in warning  # fmt: skip

# ---------------------------------------------------------------------------------------------------------------
# HTTP faults: a paid submission is retried only when nothing was accepted


def test_persistent_429_gives_up_after_three(fake, provider, tmp_path):
    fake.script("POST", SUBMIT, [error(429, "Too many active tasks", {"retry-after": "0"})] * 5)

    error_ = failure(provider, image_request(), step_run(tmp_path))

    assert type(error_) is RateLimited and "24 tasks" in error_.advice
    assert counts(fake) == (3, 0, 0)


def test_a_5xx_on_submission_is_not_retried(fake, provider, tmp_path):
    # BFL may have queued (and billed) the task before failing to answer: report it, never pay twice.
    fake.script("POST", SUBMIT, [Reply(502, "Bad Gateway")])

    error_ = failure(provider, image_request(), step_run(tmp_path))

    assert type(error_) is ProviderFailed and error_.status == 502 and "dashboard.bfl.ai" in error_.advice
    assert counts(fake) == (1, 0, 0)


def test_polls_retry_transient_failures(fake, provider, tmp_path):
    fake.script("GET", RESULT, [Reply(503, {"detail": "busy"}), error(429, "slow down", {"retry-after": "0"})])

    provider.generate(image_request(), step_run(tmp_path).ctx)

    assert counts(fake) == (1, 4, 1)  # two refused polls, then Pending, Ready


def test_out_of_credits(fake, provider, tmp_path):
    fake.script("POST", SUBMIT, [error(402, "Insufficient credits. Add credits at https://dashboard.bfl.ai")])

    error_ = failure(provider, image_request(), step_run(tmp_path))

    assert type(error_) is QuotaExceeded and "Insufficient credits" in error_.reason
    assert "switch the image provider to draft" in error_.advice
    assert counts(fake) == (1, 0, 0)


def test_a_validation_error_names_the_fields(fake, provider, tmp_path, monkeypatch):
    monkeypatch.setattr(bfl, "SAFETY_TOLERANCE", 9)

    error_ = failure(provider, image_request(), step_run(tmp_path))

    assert type(error_) is InvalidRequest and error_.status == 422
    assert "safety_tolerance: Input should be between 0 and 6" in error_.reason
    assert counts(fake) == (1, 0, 0)


def test_a_polling_url_on_a_foreign_host_never_gets_the_key(fake, provider, tmp_path):
    fake.script("POST", SUBMIT, [Reply(200, {"id": "t1", "polling_url": "https://collector.example/v1/get_result"})])

    error_ = failure(provider, image_request(), step_run(tmp_path))

    assert type(error_) is ProviderFailed and "collector.example" in error_.reason
    assert counts(fake) == (1, 0, 0)


# ---------------------------------------------------------------------------------------------------------------
# Pre-flight and sizes


@pytest.mark.parametrize("frame, size", [((1920, 1080), (1440, 800)), ((1280, 720), (1280, 736)),
                                         ((720, 1280), (736, 1280)), ((1024, 1024), (1024, 1024)),
                                         ((200, 200), (256, 256))])  # fmt: skip
def test_generation_sizes(frame, size):
    assert bfl.generation_size(*frame) == size


def test_check_reports_what_is_wrong_and_what_is_allowed(provider):
    assert provider.check(image_request()) == []
    assert provider.check(image_request(model="flux-pro-1.1-ultra", width=720, height=1280)) == []
    assert "empty" in provider.check(image_request(prompt="  "))[0]
    assert "flux-schnell" in provider.check(image_request(model="flux-schnell"))[0]
    assert "256 to 1440" in provider.check(image_request(width=4000, height=300))[0]
    assert "between 9:21 and 21:9" in provider.check(image_request(model="flux-pro-1.1-ultra", width=3000,
                                                                   height=1000))[0]  # fmt: skip


def test_generate_refuses_what_check_refuses_without_a_request(fake, provider, tmp_path):
    with pytest.raises(InvalidRequest):
        provider.generate(image_request(prompt=""), step_run(tmp_path).ctx)
    assert fake.requests == []


def test_cache_fields_leave_out_what_the_model_ignores(provider):
    a, b = image_request(steps=10, guidance=2.0), image_request(steps=40, guidance=4.0)
    assert provider.cache_fields(a) == provider.cache_fields(b)
    assert provider.cache_fields(image_request(model="flux-dev", steps=10)) != \
        provider.cache_fields(image_request(model="flux-dev", steps=40))  # fmt: skip


def test_the_fake_refuses_wrong_headers_and_fields():
    body = {"prompt": "p", "width": 1024, "height": 768}
    with FakeBfl(KEY) as server, httpx.Client(base_url=server.url) as http:
        assert http.post("/v1/flux-pro-1.1", json=body, headers={"x-key": KEY}).status_code == 200
        assert http.post("/v1/flux-pro-1.1", json=body, headers={"authorization": KEY}).status_code == 403
        assert http.post("/v1/flux-pro-1.1", json={**body, "width": 1000}, headers={"x-key": KEY}).status_code == 422
        assert http.post("/v1/flux-pro-1.1", json={**body, "steps": 20}, headers={"x-key": KEY}).status_code == 422
        assert http.post("/v1/flux-pro-1.1-ultra", json=body, headers={"x-key": KEY}).status_code == 422
