"""The contract every paid provider keeps, one suite for all four (Runway, BFL, ElevenLabs, Hugging Face), each
against its fake in tests/wire/: a wrong key is refused without leaking it, no key sends nothing, a rate limit's
Retry-After is honoured once, a hung submission times out once and is never sent again.

A provider's own behaviour (its wire format, task outcomes, sizes, pre-flight) stays in its test_<provider>.py.
A new paid provider adds one `Contract` row here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from pipeline.errors import AuthenticationFailed, MissingKey, ProviderTimeout
from pipeline.providers import bfl, elevenlabs, hf, remote, runway
from tests.step_run import STEP_KEY, StepRun, assert_secret_nowhere, failure, image_request
from tests.wire import bfl as bfl_wire
from tests.wire import elevenlabs as el_wire
from tests.wire import hf as hf_wire
from tests.wire import runway as runway_wire
from tests.wire.server import FakeServer, Reply


@dataclass(frozen=True)
class Contract:
    name: str
    provider: type
    key_var: str
    make_fake: Callable[[str], FakeServer]
    point_at: Callable[[pytest.MonkeyPatch, Any], None]  # the provider's base-URL variable → the fake
    request: Callable[[Path], Any]
    submit: tuple[str, str]  # the paid request: method, path pattern
    wrong_key: tuple[int, str]  # the fake's answer to a wrong key: status, words in the reason
    rate_limited: Callable[[str], Reply]  # a 429 with this Retry-After
    retry_after: str
    retry_note: str  # what the step says while it waits
    timeout_attr: str  # the class attribute holding the submission's timeout
    hung: Reply  # a submission answered too late
    timeout_advice: str  # words the timeout's advice must hold (the request may have been billed)
    journals: bool  # a remote task: its submission is journalled
    routes: tuple[tuple[str, str], ...]  # every request the provider makes, in the order `after_retry` counts them
    after_retry: tuple[int, ...]  # requests per route for a made output after one rate-limited submission
    accepted: Callable[[Any], int]  # tasks the fake accepted (paid for)
    made: Callable[[Any], bool] = lambda out: True  # what a made output must carry beyond its file
    key: str = "canary-contract-secret"

    def __str__(self) -> str:
        return self.name


def _env(var: str, url: Callable[[Any], str] = lambda fake: fake.url) -> Callable[[pytest.MonkeyPatch, Any], None]:
    return lambda monkeypatch, fake: monkeypatch.setenv(var, url(fake))


def _video_request(tmp_path: Path) -> Any:
    from tests.test_runway import video_request

    return video_request(tmp_path)


def _voice_request(tmp_path: Path) -> Any:
    from tests.test_elevenlabs import voice_request

    return voice_request()


CONTRACTS = [
    Contract(
        name="runway", provider=runway.RunwayVideoProvider, key_var="RUNWAYML_API_SECRET",
        make_fake=runway_wire.FakeRunway, point_at=_env("RUNWAYML_BASE_URL"), request=_video_request,
        submit=("POST", runway_wire.CREATE), wrong_key=(401, "Invalid API secret"),
        rate_limited=lambda after: Reply(429, {"error": "Too many requests"}, {"Retry-After": after}),
        retry_after="0.3", retry_note="retrying in 0 s", timeout_attr="CREATE_TIMEOUT",
        hung=Reply(200, {"id": "lost"}, hang=2.0), timeout_advice="Runway dashboard", journals=True,
        routes=(("POST", runway_wire.CREATE), ("GET", runway_wire.TASKS), ("DELETE", runway_wire.TASKS),
                ("GET", runway_wire.OUTPUTS)),
        after_retry=(2, 3, 0, 1), accepted=lambda fake: len(fake.submissions),
    ),
    Contract(
        name="bfl", provider=bfl.BflImageProvider, key_var="BFL_API_KEY",
        make_fake=bfl_wire.FakeBfl, point_at=_env("BFL_API_URL"), request=lambda tmp_path: image_request(),
        submit=("POST", bfl_wire.SUBMIT), wrong_key=(403, "Not authenticated"),
        rate_limited=lambda after: bfl_wire.error(429, "Too many active tasks", {"retry-after": after}),
        retry_after="0", retry_note="retrying in 0 s", timeout_attr="REQUEST_TIMEOUT",
        hung=Reply(200, {}, hang=2.0), timeout_advice="dashboard.bfl.ai", journals=True,
        routes=(("POST", bfl_wire.SUBMIT), ("GET", bfl_wire.RESULT), ("GET", bfl_wire.SAMPLE)),
        after_retry=(2, 2, 1), accepted=lambda fake: len(fake.tasks),
    ),
    Contract(
        name="elevenlabs", provider=elevenlabs.ElevenLabsVoiceProvider, key_var="ELEVENLABS_API_KEY",
        make_fake=el_wire.FakeElevenLabs, point_at=_env("ELEVENLABS_BASE_URL"), request=_voice_request,
        submit=("POST", el_wire.TTS), wrong_key=(401, "Invalid API key"), rate_limited=el_wire.rate_limited,
        retry_after="0.4", retry_note="retrying in 0 s", timeout_attr="REQUEST_TIMEOUT",
        hung=Reply(200, {}, hang=2.0), timeout_advice="billed", journals=False,
        routes=(("POST", el_wire.TTS),), after_retry=(2,), accepted=lambda fake: 1,
        made=lambda out: out.meta["duration"] > 0,
    ),
    Contract(
        name="hf", provider=hf.HuggingFaceImageProvider, key_var="HF_TOKEN",
        make_fake=hf_wire.FakeHfInference, point_at=_env("HF_INFERENCE_URL", lambda fake: fake.endpoint()),
        request=lambda tmp_path: image_request(), submit=("POST", hf_wire.IMAGE),
        wrong_key=(401, "Invalid credentials"), rate_limited=hf_wire.rate_limited, retry_after="0.4",
        retry_note="retrying in 0 s", timeout_attr="REQUEST_TIMEOUT", hung=Reply(200, b"", hang=2.0),
        timeout_advice="", journals=False, routes=(("POST", hf_wire.IMAGE),), after_retry=(2,),
        accepted=lambda fake: 1,
    ),
]  # fmt: skip


@pytest.fixture(params=CONTRACTS, ids=str)
def contract(request) -> Contract:
    return request.param


@pytest.fixture
def fake(contract, monkeypatch):
    server = contract.make_fake(contract.key).start()
    contract.point_at(monkeypatch, server)
    monkeypatch.setattr(remote, "BACKOFF", 0.01)
    yield server
    server.stop()


def step_run(contract: Contract, tmp_path: Path, key: str | None) -> StepRun:
    return StepRun(tmp_path, contract.key_var, key)


def only_submissions(contract: Contract, fake: FakeServer, n: int) -> list[Any]:
    """Every request the fake received was the paid submission, `n` of them (no poll, download or delete)."""
    method, path = contract.submit
    assert [(r.method, r.path) for r in fake.requests] == [(r.method, r.path) for r in fake.matching(method, path)]
    assert fake.count(method, path) == n, [(r.method, r.path) for r in fake.requests]
    return fake.matching(method, path)


def test_a_wrong_key_is_refused_without_leaking_it(contract, fake, tmp_path, isolated_home):
    wrong = contract.key + "-but-wrong"
    run = step_run(contract, tmp_path, wrong)

    error = failure(contract.provider(), contract.request(tmp_path), run)

    status, words = contract.wrong_key
    assert type(error) is AuthenticationFailed and error.status == status and words in error.reason, error
    assert contract.key_var in error.advice
    assert "canary" not in str(error)
    only_submissions(contract, fake, 1)
    assert_secret_nowhere([contract.key, wrong], error, run.workdir, isolated_home)


def test_no_key_means_no_request(contract, fake, tmp_path):
    with pytest.raises(MissingKey) as caught:
        contract.provider().generate(contract.request(tmp_path), step_run(contract, tmp_path, None).ctx)

    assert contract.key_var in str(caught.value)
    assert fake.requests == []


def test_a_rate_limit_waits_for_retry_after_then_submits_once_more(contract, fake, tmp_path):
    fake.script(*contract.submit, [contract.rate_limited(contract.retry_after)])
    run = step_run(contract, tmp_path, contract.key)

    out = contract.provider().generate(contract.request(tmp_path), run.ctx)

    method, path = contract.submit
    first, second = fake.matching(method, path)
    assert second.time - first.time >= float(contract.retry_after)
    assert contract.retry_note in run.notes, run.notes
    assert tuple(fake.count(*route) for route in contract.routes) == contract.after_retry
    assert len(fake.requests) == sum(contract.after_retry) and contract.accepted(fake) == 1
    assert out.path.exists() and out.path.stat().st_size > 0 and contract.made(out)
    if contract.journals:  # one task accepted, one submission journalled
        assert len(run.journal.submits) == 1 and run.journal.interrupted(STEP_KEY) is None


def test_a_hung_submission_times_out_once_and_is_never_sent_again(contract, fake, tmp_path, monkeypatch):
    # The request may have been accepted (and billed) before the answer was lost: reported, not paid for again.
    monkeypatch.setattr(contract.provider, contract.timeout_attr, 0.3)
    fake.script(*contract.submit, [contract.hung])
    run = step_run(contract, tmp_path, contract.key)
    started = time.monotonic()

    error = failure(contract.provider(), contract.request(tmp_path), run)

    assert type(error) is ProviderTimeout and contract.timeout_advice in error.advice, error
    assert time.monotonic() - started < 1.5
    only_submissions(contract, fake, 1)
    if contract.journals:  # what may exist is announced to the next run
        assert run.journal.submits == [] and run.journal.interrupted(STEP_KEY) == \
            {"submitting": contract.name, "since": "earlier"}  # fmt: skip
