"""The status → error map and the transport-failure rows in pipeline/providers/remote.py (pure unit tests; the
providers' contract tests drive the same map over the wire)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

from pipeline.errors import (
    AuthenticationFailed,
    InvalidRequest,
    ProviderError,
    ProviderFailed,
    ProviderTimeout,
    QuotaExceeded,
    RateLimited,
)
from pipeline.providers import bfl, elevenlabs, hf, remote, runway
from pipeline.providers.base import StepOutput
from pipeline.providers.remote import ErrorMap, Rule
from tests.step_run import MemoryJournal, StepRun
from tests.wire.server import FakeServer, Received, Reply

PLAIN = ErrorMap("Acme", key_env_var="ACME_KEY")


@pytest.mark.parametrize(
    "status, error, reason, retryable",
    [
        (429, RateLimited, "too many requests: busy", True),
        (401, AuthenticationFailed, "the key was refused (401): busy", False),
        (403, AuthenticationFailed, "the key was refused (403): busy", False),
        (402, QuotaExceeded, "out of credits: busy", False),
        (400, InvalidRequest, "request refused (400): busy", False),
        (404, InvalidRequest, "request refused (404): busy", False),
        (422, InvalidRequest, "request refused (422): busy", False),
        (408, ProviderFailed, "server error 408: busy", True),
        (500, ProviderFailed, "server error 500: busy", True),
        (503, ProviderFailed, "server error 503: busy", True),
        (302, ProviderFailed, "unexpected HTTP 302: busy", False),
    ],
)  # fmt: skip
def test_common_rows_cover_every_status(status, error, reason, retryable):
    made = PLAIN.answer(status, "busy", headers={"Retry-After": "7"})

    assert type(made) is error and made.reason == reason and made.status == status
    assert made.retryable is retryable and made.retry_after == 7.0 and made.provider == "Acme"


def test_the_most_specific_row_wins_and_a_tie_goes_to_the_provider():
    errors = ErrorMap("Acme", rules=(
        Rule("forbidden", AuthenticationFailed, "not allowed", (403,), advice="ask for access"),
        Rule("broke", QuotaExceeded, "out of credits", (400, 403), says=("credit",), advice="pay"),
        Rule("quota", QuotaExceeded, "quota exceeded", code=("quota_exceeded",)),
        Rule("rate_limited", RateLimited, "slow down", (429,)),
    ))  # fmt: skip

    assert errors.answer(403, "nope").reason == "not allowed: nope"  # one status beats (401, 403)
    assert errors.answer(401, "nope").reason == "the key was refused (401): nope"
    assert type(errors.answer(403, "No Credit left")) is QuotaExceeded  # what the body says beats the status
    assert type(errors.answer(400, "no credit")) is QuotaExceeded
    assert type(errors.answer(401, "x", code="quota_exceeded")) is QuotaExceeded  # any status, by the body's code
    assert errors.answer(429, "x").reason == "slow down: x"  # a tie: the provider's row
    assert errors.answer(429, "x").advice == remote.COMMON_ADVICE["rate_limited"]  # ...with the common advice


def test_advice_is_overridden_by_row_name_and_filled_in():
    errors = ErrorMap("Acme", key_env_var="ACME_KEY", advice={"server_error": "Acme is down"})

    assert errors.answer(502, "").advice == "Acme is down" and errors.answer(408, "").advice == "Acme is down"
    assert "ACME_KEY" in errors.answer(401, "").advice
    assert errors.answer(500, "").reason == "server error 500: HTTP 500"  # no words: the status speaks


def test_the_providers_words_are_tidied_and_never_carry_the_key():
    made = PLAIN.answer(400, "  echo\n the key  s3cret " + "x" * 400, secret="s3cret")

    assert "s3cret" not in made.reason and "echo the key ***" in made.reason
    assert len(made.reason) < 350 and made.reason.endswith("…")


def test_a_body_hint_waits_only_when_no_header_says():
    assert PLAIN.answer(503, "", wait=20.0).retry_after == 20.0
    assert PLAIN.answer(503, "", wait=20.0, headers={"retry-after-ms": "1500"}).retry_after == 1.5


@pytest.mark.parametrize("module", [httpx, httpx2])
@pytest.mark.parametrize(
    "name, error, reason, retryable",
    [
        ("ReadTimeout", ProviderTimeout, "no answer in time (ReadTimeout)", True),
        ("ConnectTimeout", ProviderTimeout, "no answer in time (ConnectTimeout)", True),
        ("ConnectError", ProviderFailed, "connection refused or unreachable", True),
        ("RemoteProtocolError", ProviderFailed, "connection lost (RemoteProtocolError)", True),
        ("ReadError", ProviderFailed, "connection lost (ReadError)", True),
    ],
)  # fmt: skip
def test_failures_without_an_answer_by_their_most_specific_class(module, name, error, reason, retryable):
    made = PLAIN.transport(getattr(module, name)("boom"))

    assert type(made) is error and made.reason == reason and made.retryable is retryable and made.status is None


def test_anything_else_is_not_the_maps_business():
    assert PLAIN.transport(ValueError("x")) is None and PLAIN.transport(None) is None


def test_only_refused_and_nothing_created_read_the_mapped_errors():
    refused = PLAIN.transport(httpx.ConnectError("refused"))
    assert remote.only_refused(refused) and remote.nothing_created(refused)
    assert remote.only_refused(PLAIN.answer(429, "")) and remote.nothing_created(PLAIN.answer(422, ""))
    for maybe_created in (PLAIN.answer(500, ""), PLAIN.answer(408, ""), PLAIN.transport(httpx.ReadTimeout("x"))):
        assert not remote.nothing_created(maybe_created) and not remote.only_refused(maybe_created)


@pytest.mark.parametrize("provider", [runway, bfl, elevenlabs, hf])
def test_every_providers_map_answers_every_status(provider):
    errors = provider.ERRORS
    for status in (*range(400, 430), *range(500, 512), 0, 302):
        made = errors.answer(status, "why", code="", voice="v")
        assert made.provider == errors.provider and made.status == status and "why" in made.reason
    assert errors.transport(httpx.ReadTimeout("x")).advice


# ---------------------------------------------------------------------------------------------------------------
# The remote-task template, filled by the smallest provider: what README's "Adding a provider" shows


class Toy(FakeServer):
    """POST /tasks → {"id"}; GET /tasks/{id} walks `states` (a state "done" carries the output URL)."""

    def __init__(self, *states: str) -> None:
        super().__init__()
        self.states, self.made = list(states), 0
        self.route("POST", r"/tasks$", self._create)
        self.route("GET", r"/tasks/(\w+)$", lambda r, m: Reply(200, self._state(m.group(1))))
        self.route("GET", r"/out/(\w+)$", lambda r, m: Reply(200, b"made by " + m.group(1).encode()))

    def _create(self, received: Received, match: Any) -> Reply:
        self.made += 1
        return Reply(200, {"id": f"t{self.made}"})

    def _state(self, task_id: str) -> dict[str, Any]:
        state = self.states.pop(0) if self.states else "done"
        return {"state": state, **({"url": f"{self.url}/out/{task_id}"} if state == "done" else {})}


class ToyTask(remote.RemoteTask):
    name, label, short, output, download_as = "toy", "Toy", "Toy", "file", "out.bin"
    errors, check_dashboard, expired_advice = ErrorMap("Toy"), "check Toy's dashboard", "make it again"

    def __init__(self, http: httpx.Client, ctx: Any) -> None:
        super().__init__(ctx, interval=0.01, timeout=5)
        self.http = http

    def create(self) -> Any:
        response = self.http.post("/tasks", json={})
        if response.status_code >= 400:
            raise self.errors.answer(response.status_code, response.text)
        return response.json()

    def accepted(self, created: Any) -> remote.TaskRef:
        return remote.TaskRef(created["id"])

    def fetch(self, task: remote.TaskRef) -> Any:
        response = self.http.get(f"/tasks/{task.id}")
        if response.status_code >= 400:
            raise self.errors.answer(response.status_code, response.text)
        return response.json()

    def read(self, answer: Any) -> remote.TaskState:
        phase = {"done": "succeeded", "broken": "failed", "flaky": "failed"}.get(answer["state"], "waiting")
        return remote.TaskState(answer["state"], phase, url=answer.get("url"), answer=answer)  # type: ignore[arg-type]

    def failure(self, state: remote.TaskState) -> tuple[ProviderError, bool]:
        return ProviderFailed(f"the task failed ({state.status})", provider="Toy"), state.status == "flaky"

    def finish(self, path: Path, state: remote.TaskState, task: remote.TaskRef) -> StepOutput:
        return StepOutput(path, {"task": task.id})


def toy_run(tmp_path: Path, server: Toy, journal: MemoryJournal | None = None) -> tuple[StepRun, StepOutput]:
    run = StepRun(tmp_path, "TOY_KEY", "k", journal)
    with httpx.Client(base_url=server.url) as http:
        return run, ToyTask(http, run.ctx).run()


def test_a_toy_provider_fills_the_template(tmp_path):
    with Toy("queued", "queued") as server:
        run, out = toy_run(tmp_path, server)

    assert out.path.read_bytes() == b"made by t1" and out.meta == {"task": "t1"}
    assert server.count("POST", "/tasks") == 1 and server.count("GET", r"/tasks/\w+") == 3
    assert run.journal.submits == [("k1", "toy", "t1", {})] and run.journal.ends == []
    assert "submitting to Toy" in run.notes and "downloading the file" in run.notes


def test_a_failure_worth_it_is_submitted_once_more_and_no_more(tmp_path):
    run = StepRun(tmp_path, "TOY_KEY", "k")
    with Toy("flaky", "flaky") as server, httpx.Client(base_url=server.url) as http:
        with pytest.raises(ProviderFailed, match=r"the task failed \(flaky\)"):
            ToyTask(http, run.ctx).run()

    assert server.made == 2 and run.journal.ends == ["flaky", "flaky"]
    assert "Toy could not make this file; trying once more" in run.notes


def test_a_journalled_task_the_provider_forgot_is_submitted_anew(tmp_path):
    with Toy() as server:
        server.script("GET", r"/tasks/gone", [Reply(404, {"error": "no such task"})])
        run, out = toy_run(tmp_path, server, MemoryJournal({"id": "gone"}))

    assert server.made == 1 and out.meta == {"task": "t1"} and run.journal.ends == ["missing"]


def test_a_5xx_on_submission_is_reported_with_the_dashboard_advice_and_not_retried(tmp_path):
    with Toy() as server:
        server.script("POST", "/tasks", [Reply(502, "bad gateway")])
        with pytest.raises(ProviderFailed) as caught:
            toy_run(tmp_path, server)

    assert server.count("POST", "/tasks") == 1 and caught.value.advice == "check Toy's dashboard"
