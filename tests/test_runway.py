"""Contract tests for the Runway video provider: the real `runwayml` SDK against tests/wire/runway.py's fake."""

from __future__ import annotations

import base64
import functools
import io
import logging
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from pipeline.errors import (
    AuthenticationFailed,
    Cancelled,
    InvalidRequest,
    ProviderError,
    ProviderFailed,
    ProviderTimeout,
    QuotaExceeded,
    RateLimited,
    Rejected,
)
from pipeline.media.profile import EncodeProfile
from pipeline.providers import remote
from pipeline.providers.base import VideoRequest
from pipeline.providers.runway import MAX_DATA_URI, RunwayVideoProvider, image_data_uri, ratio_for
from tests.media import ffprobe, streams
from tests.step_run import FAST_POLL, MemoryJournal, StepRun
from tests.wire.runway import CREATE, OUTPUTS, TASKS, FakeRunway
from tests.wire.server import Reply

KEY = "canary-7f3a-secret"


def step_run(tmp_path: Path, journal: MemoryJournal | None = None, key: str | None = KEY,
             poll_interval: float = FAST_POLL) -> StepRun:  # fmt: skip
    return StepRun(tmp_path, "RUNWAYML_API_SECRET", key, journal, poll_interval)


@pytest.fixture
def fake(monkeypatch):
    server = FakeRunway(KEY).start()
    monkeypatch.setenv("RUNWAYML_BASE_URL", server.url)
    monkeypatch.setattr(remote, "BACKOFF", 0.01)
    yield server
    server.stop()


@pytest.fixture
def provider():
    return RunwayVideoProvider()


def write_png(path: Path, width: int = 1280, height: int = 720, noise: bool = False) -> Path:
    path.write_bytes(_png_bytes(width, height, noise))
    return path


@functools.lru_cache(maxsize=None)
def _png_bytes(width: int, height: int, noise: bool) -> bytes:
    """The same picture for the same arguments, so it is encoded once per run (a 720p PNG costs ~30 ms)."""
    if noise:
        pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        x = np.linspace(0, 255, width, dtype=np.uint8)
        pixels = np.stack([np.tile(x, (height, 1))] * 3, axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def video_request(tmp_path: Path, **changes: Any) -> VideoRequest:
    image = tmp_path / "image.png"
    if not image.exists():
        write_png(image)
    fields: dict[str, Any] = dict(image_path=image, image_sha256="ab" * 32, prompt="slow push in on the lighthouse",
                                  duration=5, width=1280, height=720, seed=42, model=None,
                                  public_figure_threshold="auto", delivery=EncodeProfile(1280, 720))  # fmt: skip
    fields.update(changes)
    return VideoRequest(**fields)


def counts(fake: FakeRunway) -> tuple[int, int, int, int]:
    """(creates, task polls, deletes, downloads)"""
    return (fake.count("POST", CREATE), fake.count("GET", TASKS), fake.count("DELETE", TASKS),
            fake.count("GET", OUTPUTS))  # fmt: skip


def decoded_image(data_uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))


# ---------------------------------------------------------------------------------------------------------------
# The happy path and what goes over the wire


def test_clip_made_through_the_sdk(fake, provider, tmp_path):
    fake.plan("PENDING", "THROTTLED", "THROTTLED", "RUNNING", "RUNNING", "SUCCEEDED")
    run = step_run(tmp_path)

    out = provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 6, 0, 1)
    create = fake.matching("POST", CREATE)[0]
    assert create.headers["authorization"] == f"Bearer {KEY}"
    assert create.headers["x-runway-version"] == "2024-11-06"
    body = create.json()
    image = body.pop("promptImage")
    assert body == {"model": "gen4_turbo", "ratio": "1280:720", "duration": 5, "seed": 42,
                    "promptText": "slow push in on the lighthouse",
                    "contentModeration": {"publicFigureThreshold": "auto"}}  # fmt: skip
    assert image.startswith("data:image/png;base64,") and decoded_image(image).size == (1280, 720)
    assert image == "data:image/png;base64," + base64.b64encode((tmp_path / "image.png").read_bytes()).decode()
    task_id = fake.submissions[0].id
    assert all(r.path == f"/v1/tasks/{task_id}" for r in fake.matching("GET", TASKS))
    assert "authorization" not in fake.matching("GET", OUTPUTS)[0].headers

    assert out.path == run.workdir / "clip.mp4"
    report = ffprobe(out.path)
    (video,) = streams(report, "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 180)
    assert float(report["format"]["duration"]) == pytest.approx(2.0, abs=0.1)
    assert out.meta == {"provider_task_id": task_id, "model": "gen4_turbo", "ratio": "1280:720", "seconds": 5,
                        "credits": 25}  # fmt: skip

    assert run.notes.count("waiting at Runway") == 1 and run.notes.count("queued at Runway") == 1
    assert run.notes.index("waiting at Runway") < run.notes.index("queued at Runway")
    running = [p for p in run.progress if 0.05 < p < 0.92]
    assert len(running) == 2 and running[0] < running[1]
    assert run.progress[-1] == 1.0
    assert run.journal.submits == [("k1", "runway", task_id, {})] and run.journal.ends == []


def test_empty_motion_prompt_is_left_out(fake, provider, tmp_path):
    provider.generate(video_request(tmp_path, prompt="  ", public_figure_threshold="low"), step_run(tmp_path).ctx)

    body = fake.matching("POST", CREATE)[0].json()
    assert "promptText" not in body and body["contentModeration"] == {"publicFigureThreshold": "low"}
    assert counts(fake) == (1, 3, 0, 1)


def test_full_hd_is_made_at_1280x720(fake, provider, tmp_path):
    out = provider.generate(video_request(tmp_path, width=1920, height=1080), step_run(tmp_path).ctx)

    assert fake.matching("POST", CREATE)[0].json()["ratio"] == "1280:720"
    assert out.meta["ratio"] == "1280:720"
    assert counts(fake) == (1, 3, 0, 1)


@pytest.mark.slow
def test_large_image_is_reencoded_under_5_mb(fake, provider, tmp_path):
    image = write_png(tmp_path / "big.png", 2400, 1350, noise=True)
    assert image.stat().st_size * 4 / 3 > MAX_DATA_URI

    provider.generate(video_request(tmp_path, image_path=image), step_run(tmp_path).ctx)

    sent = fake.matching("POST", CREATE)[0].json()["promptImage"]
    assert len(sent) <= MAX_DATA_URI and sent.startswith("data:image/jpeg;base64,")
    assert decoded_image(sent).format == "JPEG"
    width, height = fake.submissions[0].image_size
    assert width / height == pytest.approx(2400 / 1350, rel=0.01)
    assert counts(fake) == (1, 3, 0, 1)


def test_image_scaled_down_when_quality_alone_is_not_enough(tmp_path):
    data = write_png(tmp_path / "noise.png", 800, 450, noise=True).read_bytes()

    uri = image_data_uri(data, limit=60_000)

    assert len(uri) <= 60_000
    image = decoded_image(uri)
    assert image.format == "JPEG" and image.width < 800
    assert image.width / image.height == pytest.approx(800 / 450, rel=0.02)


# ---------------------------------------------------------------------------------------------------------------
# Faults on the wire


def test_daily_cap_is_not_retried(fake, provider, tmp_path):
    fake.script("POST", CREATE, [Reply(429, {"error": "You have reached your daily generation limit"})])

    with pytest.raises(RateLimited) as caught:
        provider.generate(video_request(tmp_path), step_run(tmp_path).ctx)

    assert counts(fake) == (1, 0, 0, 0)
    assert "daily generation limit" in str(caught.value) and "motion" in caught.value.advice


def test_server_error_on_create_is_not_retried(fake, provider, tmp_path):
    fake.script("POST", CREATE, [Reply(500, {"error": "Internal server error"})])
    run = step_run(tmp_path)

    with pytest.raises(ProviderFailed) as caught:
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 0, 0, 0)
    assert caught.value.status == 500
    assert str(caught.value).startswith("Runway: server error 500: Internal server error")
    assert "Runway dashboard" in caught.value.advice
    assert run.journal.submits == [] and run.journal.interrupted("k1"), "a 500 may hide a created task"


def test_an_interrupted_submission_is_announced_then_submitted_once(fake, provider, tmp_path):
    # An earlier run died between sending the create and hearing Runway's answer: the task may exist, billed, and
    # nothing can find it again. Say so, then make the clip.
    run = step_run(tmp_path, MemoryJournal({"submitting": "runway", "since": "2026-11-25T10:00:00+00:00"}))

    provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake)[0] == 1 and run.journal.interrupted("k1") is None
    (warning,) = run.warnings
    assert "(2026-11-25 10:00:00 UTC)" in warning and "paid again" in warning and "dashboard" in warning


def test_server_error_on_a_poll_is_retried(fake, provider, tmp_path):
    fake.plan("RUNNING", "SUCCEEDED")
    fake.script("GET", TASKS, [Reply(502, {"error": "Bad gateway"})])

    out = provider.generate(video_request(tmp_path), step_run(tmp_path).ctx)

    assert counts(fake) == (1, 3, 0, 1)
    assert out.path.stat().st_size > 1000


def test_hung_poll_hits_our_timeout_and_is_retried(fake, provider, tmp_path, monkeypatch):
    monkeypatch.setattr(RunwayVideoProvider, "POLL_REQUEST_TIMEOUT", 0.2)
    fake.plan("RUNNING", "SUCCEEDED")
    fake.script("GET", TASKS, [Reply(hang=1.0), Reply(hang=1.0)])

    out = provider.generate(video_request(tmp_path), step_run(tmp_path).ctx)

    assert counts(fake) == (1, 4, 0, 1)
    assert out.meta["provider_task_id"] == fake.submissions[0].id


def test_polls_that_never_answer_keep_the_task_journalled(fake, provider, tmp_path, monkeypatch):
    monkeypatch.setattr(RunwayVideoProvider, "POLL_REQUEST_TIMEOUT", 0.2)
    fake.script("GET", TASKS, [Reply(hang=1.0)] * 3)
    run = step_run(tmp_path)

    with pytest.raises(ProviderTimeout) as caught:
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 3, 0, 0)
    assert "pick it up" in caught.value.advice
    assert run.journal.pending("k1") == {"id": fake.submissions[0].id} and run.journal.ends == []


def test_throttled_for_a_while_is_one_note(fake, provider, tmp_path):
    fake.plan(*["THROTTLED"] * 8, "RUNNING", "SUCCEEDED")
    run = step_run(tmp_path)

    provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 10, 0, 1)
    assert run.notes.count("queued at Runway") == 1


def test_task_that_never_finishes_times_out_without_cancelling(fake, provider, tmp_path, monkeypatch):
    monkeypatch.setattr(RunwayVideoProvider, "TASK_TIMEOUT", 0.3)
    fake.plan("THROTTLED")
    run = step_run(tmp_path, poll_interval=0.05)

    with pytest.raises(ProviderTimeout):
        provider.generate(video_request(tmp_path), run.ctx)

    creates, polls, deletes, downloads = counts(fake)
    assert (creates, deletes, downloads) == (1, 0, 0) and 3 <= polls <= 8
    assert run.journal.ends == [] and run.journal.pending("k1") is not None


@pytest.mark.parametrize(
    "status, body, error, reason",
    [
        (401, {"error": "Invalid API secret"}, AuthenticationFailed, "the key was refused (401): Invalid API secret"),
        (400, {"error": "You do not have enough credits to run this task."}, QuotaExceeded, "out of credits"),
        (402, {"error": "Payment required"}, QuotaExceeded, "out of credits"),
        (422, {"error": "Validation of body failed", "issues": [{"path": ["promptImage"], "message": "Too big"}]},
         InvalidRequest, "request refused (422): Validation of body failed; promptImage: Too big"),
    ],
)  # fmt: skip
def test_create_errors_in_runways_words(fake, provider, tmp_path, status, body, error, reason):
    fake.script("POST", CREATE, [Reply(status, body)])
    run = step_run(tmp_path)

    with pytest.raises(error) as caught:
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 0, 0, 0)
    assert reason in caught.value.reason and caught.value.status == status
    assert run.journal.ends == ["refused"] and run.journal.interrupted("k1") is None, "refused: nothing was made"
    if error is QuotaExceeded:
        assert "add credits" in caught.value.advice and "motion" in caught.value.advice


# ---------------------------------------------------------------------------------------------------------------
# Task outcomes


@pytest.mark.parametrize(
    "code, refused",
    [("SAFETY.INPUT.TEXT", "motion prompt"), ("INPUT_PREPROCESSING.SAFETY.TEXT", "motion prompt"),
     ("SAFETY.INPUT.IMAGE", "image"), ("SAFETY.OUTPUT.VIDEO", "output")],
)  # fmt: skip
def test_moderation_failure_names_what_was_refused(fake, provider, tmp_path, code, refused):
    fake.plan("PENDING", f"FAILED:{code}")
    run = step_run(tmp_path)

    with pytest.raises(Rejected) as caught:
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 2, 0, 0)
    assert caught.value.refused == refused and refused in str(caught.value) and code in str(caught.value)
    assert run.journal.ends == ["FAILED"]


def test_bad_output_is_submitted_exactly_once_more(fake, provider, tmp_path):
    fake.plan("RUNNING", "FAILED:INTERNAL.BAD_OUTPUT.CODE01").plan("RUNNING", "SUCCEEDED")
    run = step_run(tmp_path)

    out = provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (2, 4, 0, 1)
    first, second = fake.submissions
    assert first.body == second.body
    assert out.meta["provider_task_id"] == second.id
    assert [s[2] for s in run.journal.submits] == [first.id, second.id] and run.journal.ends == ["FAILED"]


def test_bad_output_twice_is_reported(fake, provider, tmp_path):
    fake.plan("FAILED:INTERNAL.BAD_OUTPUT.CODE01").plan("FAILED:INPUT_PREPROCESSING.INTERNAL")
    run = step_run(tmp_path)

    with pytest.raises(ProviderFailed) as caught:
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (2, 2, 0, 0)
    assert "INPUT_PREPROCESSING.INTERNAL" in str(caught.value) and run.journal.ends == ["FAILED", "FAILED"]


def test_failure_without_code_reports_runways_text(fake, provider, tmp_path):
    fake.plan("RUNNING", "FAILED")

    with pytest.raises(ProviderFailed) as caught:
        provider.generate(video_request(tmp_path), step_run(tmp_path).ctx)

    assert counts(fake) == (1, 2, 0, 0)
    assert "the task failed: The task failed (unknown reason)." in str(caught.value)


def test_task_cancelled_at_runway(fake, provider, tmp_path):
    fake.plan("RUNNING", "CANCELLED")
    run = step_run(tmp_path)

    with pytest.raises(ProviderFailed, match="the task was cancelled at Runway"):
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 2, 0, 0) and run.journal.ends == ["CANCELLED"]


@pytest.mark.parametrize("status", [404, 403])
def test_expired_output_url_is_reported_not_resubmitted(fake, provider, tmp_path, status):
    fake.expired_status = status
    run = step_run(tmp_path)

    with pytest.raises(ProviderFailed, match=f"output URL expired \\(HTTP {status}\\)"):
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 3, 0, 1)
    assert run.journal.ends == ["expired"]
    assert not (run.workdir / "clip.mp4").exists()


# ---------------------------------------------------------------------------------------------------------------
# Stop and the journal


def test_stop_while_running_deletes_the_task(fake, provider, tmp_path):
    fake.plan(*["RUNNING"] * 50)
    run = step_run(tmp_path)
    run.stop_when_running = True

    with pytest.raises(Cancelled):
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 1, 1, 0)
    (delete,) = fake.matching("DELETE", TASKS)
    assert delete.path == f"/v1/tasks/{fake.submissions[0].id}" and delete.headers["authorization"] == f"Bearer {KEY}"
    assert fake.submissions[0].deleted and run.journal.ends == ["CANCELLED"]


def test_a_watcher_going_away_leaves_the_paid_task_running_and_journalled(fake, provider, tmp_path):
    fake.plan(*["RUNNING"] * 50)
    run = step_run(tmp_path)
    run.stop_when_running, run.keep_remote_tasks = True, True

    with pytest.raises(Cancelled):
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 1, 0, 0) and not fake.submissions[0].deleted
    assert run.journal.ends == [] and run.journal.pending("k1") == {"id": fake.submissions[0].id}


def test_stop_keeps_the_task_journalled_when_delete_fails(fake, provider, tmp_path):
    fake.plan(*["RUNNING"] * 50)
    fake.script("DELETE", TASKS, [Reply(503, {"error": "Service unavailable"})])
    run = step_run(tmp_path)
    run.stop_when_running = True

    with pytest.raises(Cancelled):
        provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 1, 1, 0)
    assert run.journal.ends == [] and run.journal.pending("k1") is not None
    assert any("could not cancel" in w for w in run.warnings)


def test_journalled_task_is_reattached_without_paying_again(fake, provider, tmp_path):
    task_id = fake.add_task(["RUNNING", "SUCCEEDED"])
    run = step_run(tmp_path, MemoryJournal({"id": task_id}))

    out = provider.generate(video_request(tmp_path, image_path=tmp_path / "gone.png"), run.ctx)

    assert counts(fake) == (0, 2, 0, 1)
    assert out.meta["provider_task_id"] == task_id and run.journal.submits == []


def test_journalled_task_deleted_at_runway_is_submitted_anew(fake, provider, tmp_path):
    fake.deleted_answer_404 = True
    task_id = fake.add_task(["RUNNING"])
    fake.tasks[task_id].deleted = True
    run = step_run(tmp_path, MemoryJournal({"id": task_id}))

    out = provider.generate(video_request(tmp_path), run.ctx)

    assert counts(fake) == (1, 4, 0, 1)
    assert run.journal.ends == ["missing"] and out.meta["provider_task_id"] == fake.submissions[0].id


# ---------------------------------------------------------------------------------------------------------------
# Pre-flight, ratios, cache fields


@pytest.mark.parametrize(
    "size, ratio",
    [((1280, 720), "1280:720"), ((1920, 1080), "1280:720"), ((720, 1280), "720:1280"), ((1080, 1080), "960:960"),
     ((1024, 768), "1104:832"), ((768, 1024), "832:1104"), ((2560, 1080), "1584:672"), ((1500, 1000), None)],
)  # fmt: skip
def test_ratio_for_frame_size(size, ratio):
    assert ratio_for(*size) == ratio


def test_preflight_messages(provider, tmp_path):
    assert provider.check(video_request(tmp_path)) == []
    assert provider.check(video_request(tmp_path, duration=10, prompt="x" * 1000)) == []

    (short,) = provider.check(video_request(tmp_path, duration=1))
    assert "2 to 10 seconds" in short and "1 s" in short
    # 501 emoji are 1002 UTF-16 units: Runway's count, not Python's.
    (long,) = provider.check(video_request(tmp_path, prompt="\N{GRINNING FACE}" * 501))
    assert "1002" in long and "at most 1000" in long
    (ratio,) = provider.check(video_request(tmp_path, width=1500, height=1000))
    assert "1500x1000" in ratio and "16:9 (1280:720)" in ratio and "21:9 (1584:672)" in ratio
    (model,) = provider.check(video_request(tmp_path, model="gen3a_turbo"))
    assert "gen3a_turbo" in model and "gen4_turbo" in model


def test_invalid_request_is_refused_before_any_call(fake, provider, tmp_path):
    with pytest.raises(InvalidRequest, match="2 to 10 seconds"):
        provider.generate(video_request(tmp_path, duration=12), step_run(tmp_path).ctx)

    assert fake.requests == []


def test_cache_fields_follow_what_changes_the_clip(provider, tmp_path):
    base = provider.cache_fields(video_request(tmp_path))
    assert provider.cache_fields(video_request(tmp_path, width=1920, height=1080,
                                               delivery=EncodeProfile(1920, 1080))) == base  # fmt: skip
    for change in ({"seed": 1}, {"prompt": "pan left"}, {"duration": 6}, {"image_sha256": "cd" * 32},
                   {"public_figure_threshold": "low"}, {"width": 720, "height": 1280}):  # fmt: skip
        assert provider.cache_fields(video_request(tmp_path, **change)) != base, change


# ---------------------------------------------------------------------------------------------------------------
# The key never leaks


def test_canary_key_appears_nowhere(fake, provider, tmp_path, isolated_home, caplog):
    caplog.set_level(logging.DEBUG)
    run = step_run(tmp_path)
    provider.generate(video_request(tmp_path), run.ctx)
    fake.script("POST", CREATE, [Reply(400, {"error": f"echoing Bearer {KEY}"})])
    errors: list[ProviderError] = []
    for plan in ((), ("FAILED:SAFETY.INPUT.TEXT",)):  # the scripted 400 first, then a moderation failure
        if plan:
            fake.plan(*plan)
        with pytest.raises(ProviderError) as caught:
            provider.generate(video_request(tmp_path), step_run(tmp_path).ctx)
        errors.append(caught.value)
    fake.expired_status = 404
    with pytest.raises(ProviderFailed) as expired:
        provider.generate(video_request(tmp_path), step_run(tmp_path).ctx)

    assert [type(e) for e in errors] == [InvalidRequest, Rejected]
    for error in [*errors, expired.value]:
        assert KEY not in str(error) and KEY not in repr(error.args) and KEY not in error.advice
    assert KEY not in caplog.text
    files = [p for root in (run.workdir, isolated_home) if root.exists() for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "clip.mp4" for p in files)
    assert not [p for p in files if KEY.encode() in p.read_bytes()]
    assert KEY not in repr(run.ctx.credentials)


# ---------------------------------------------------------------------------------------------------------------
# The fake itself refuses what Runway would


def _png_uri() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), "navy").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    "headers, body, status, says",
    [
        ({"X-Runway-Version": "2024-11-06"}, {}, 401, "Authorization"),
        ({"Authorization": "Bearer nope", "X-Runway-Version": "2024-11-06"}, {}, 401, "Invalid API secret"),
        ({"Authorization": f"Bearer {KEY}"}, {}, 400, "X-Runway-Version"),
        (None, {"prompt_image": "x"}, 400, "Unrecognized key 'prompt_image'"),
        (None, {"promptText": ""}, 400, "promptText"),
        (None, {"ratio": "1920:1080"}, 400, "ratio"),
        (None, {"duration": 5.0}, 400, "duration"),
        (None, {"promptImage": "data:image/jpeg;base64," + _png_uri().split(",")[1]}, 400, "Content type"),
        (None, {"promptImage": "data:image/png;base64,aGVsbG8="}, 400, "does not decode"),
        (None, {"contentModeration": {"public_figure_threshold": "low"}}, 400, "contentModeration"),
    ],
)  # fmt: skip
def test_fake_refuses_what_runway_would(fake, headers, body, status, says):
    good = {"model": "gen4_turbo", "promptImage": _png_uri(), "ratio": "1280:720", "duration": 5, "seed": 1}
    headers = headers or {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
    response = httpx.post(f"{fake.url}/v1/image_to_video", json={**good, **body}, headers=headers)
    assert response.status_code == status and says in response.text
    assert httpx.post(f"{fake.url}/v1/image_to_video", json=good, headers={
        "Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}).status_code == 200  # fmt: skip
    assert fake.submissions and not any(t.body.get("prompt_image") for t in fake.submissions)


def test_fake_output_refuses_a_runway_key(fake):
    task_id = fake.add_task(["SUCCEEDED"])
    url = f"{fake.url}/outputs/{task_id}.mp4"
    assert httpx.get(url, headers={"Authorization": f"Bearer {KEY}"}).status_code == 400
    clip = httpx.get(url)
    assert clip.status_code == 200 and clip.content[4:8] == b"ftyp"
    assert b"avc1" in clip.content[:4096]  # faststart: the H.264 sample description comes first
