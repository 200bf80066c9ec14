"""Idea → storyboard: the real InferenceClient against tests/wire/hf_chat.py's chat-completions route."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.credentials import Credentials
from pipeline.errors import (
    AuthenticationFailed,
    BudgetExceeded,
    BudgetRequired,
    InputError,
    MissingKey,
    ProviderFailed,
    ProviderTimeout,
)
from pipeline.idea_storyboard import DEFAULT_MODEL, draft_schema, estimate_idea, idea_to_storyboard
from pipeline.services import Services
from pipeline.storyboard import parse_storyboard
from tests.step_run import assert_secret_nowhere
from tests.studio import run_cli
from tests.wire.hf_chat import CHAT, STORYBOARD, FakeHfChat, rate_limited
from tests.wire.server import Reply

TOKEN = "canary-hf-chat-7e21-secret"
IDEA = "A lighthouse keeper's last night before the light is automated"


@pytest.fixture
def fake(monkeypatch):
    server = FakeHfChat(TOKEN).start()
    monkeypatch.delenv("HF_CHAT_URL", raising=False)
    monkeypatch.setenv("HF_INFERENCE_URL", server.base_url())
    yield server
    server.stop()


@pytest.fixture
def keyed(isolated_home):
    return Services.for_home(isolated_home, credentials=Credentials({"HF_TOKEN": TOKEN}, source="server"))


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def draft(services: Services, **options):
    return idea_to_storyboard(IDEA, services=services, **options)


def failure(services: Services, **options) -> Exception:
    with pytest.raises(Exception) as caught:
        draft(services, **options)
    return caught.value


def no_key_anywhere(error, home: Path, logs, capsys) -> None:
    out = capsys.readouterr()
    assert_secret_nowhere(TOKEN, error, home, texts=[logs.text, out.out, out.err])
    assert "Traceback" not in str(error)


# ---------------------------------------------------------------------------------------------------------------
# A good answer, and what went over the wire


def test_a_valid_answer_is_a_storyboard_priced_and_ledgered(fake, keyed, isolated_home, logs, capsys):
    base = parse_storyboard(Path("assets/examples/short-story.yaml").read_text()).model_dump(mode="json")

    result = draft(keyed, base=base, budget=0.05)

    sb = result.storyboard
    assert sb.title == "The Last Lighthouse" and sb.style == "anime" and len(sb.scenes) == 3
    assert [s.audio_script for s in sb.scenes] == [s["audio_script"] for s in STORYBOARD["scenes"]]
    assert sb.voice.voice_id == "joe", "the open storyboard's settings are kept"
    assert sb.scenes[1].duration == 4, "a drafted 2 s is raised to hold its narration at the voice's rate"
    (sent,) = fake.matching("POST", CHAT)
    body = sent.json()
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert body["model"] == DEFAULT_MODEL and body["messages"][-1] == {"role": "user", "content": f"The idea: {IDEA}"}
    assert json.dumps(draft_schema(), separators=(",", ":")) in body["messages"][0]["content"]
    assert body["response_format"] == {"type": "json_object", "value": draft_schema()}  # how the client sends it
    (row,) = keyed.ledger.rows()
    assert (row["render_id"], row["step"], row["provider"], row["unit"]) == (result.render_id, "storyboard",
                                                                             "hf-chat", "token")  # fmt: skip
    assert row["usd"] == result.usd > 0 and row["units"] > 0 and row["task_id"] == "chatcmpl-1"
    assert row["key_fingerprint"] == keyed.credentials.fingerprint("HF_TOKEN")
    assert result.usd <= estimate_idea(IDEA).usd_per_call
    no_key_anywhere(None, isolated_home, logs, capsys)


def test_the_model_is_configurable(fake, keyed):
    draft(keyed, model="meta-llama/Llama-3.3-70B-Instruct")
    assert fake.matching("POST", CHAT)[0].json()["model"] == "meta-llama/Llama-3.3-70B-Instruct"


def test_the_schema_is_the_storyboards_own_cut_to_a_draft():
    schema = draft_schema()
    scene = schema["properties"]["scenes"]["items"]
    assert set(scene["properties"]) == {"image_prompt", "video_prompt", "audio_script", "duration"}
    assert scene["properties"]["duration"]["maximum"] == 10 and scene["properties"]["duration"]["minimum"] == 2
    assert schema["properties"]["style"]["enum"] == ["photorealistic", "artistic", "anime", "3d"]
    assert "image" not in schema["properties"], "a draft never picks a (paid) provider"


# ---------------------------------------------------------------------------------------------------------------
# Repair, refusal, faults


def test_an_answer_that_is_not_json_is_repaired_once(fake, keyed, isolated_home, logs, capsys):
    fake.answer("Sure! Here is a storyboard about a lighthouse keeper.")

    result = draft(keyed)

    assert result.calls == 2 and len(result.storyboard.scenes) == 3
    repair = fake.matching("POST", CHAT)[1].json()["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! Here is a storyboard about a lighthouse keeper."}
    assert "not a valid storyboard" in repair[-1]["content"] and "not JSON" in repair[-1]["content"]
    assert len(keyed.ledger.rows()) == 2 and keyed.ledger.total() == result.usd
    no_key_anywhere(None, isolated_home, logs, capsys)


def test_an_invalid_storyboard_is_sent_back_with_its_problems(fake, keyed):
    wrong = {**STORYBOARD, "style": "watercolour",
             "scenes": [{**STORYBOARD["scenes"][0], "image_prompt": ""}, *STORYBOARD["scenes"][1:]]}  # fmt: skip
    fake.answer("```json\n" + json.dumps(wrong) + "\n```")

    result = draft(keyed)

    assert result.calls == 2 and result.storyboard.style == "anime"
    said = fake.matching("POST", CHAT)[1].json()["messages"][-1]["content"]
    assert "style: 'watercolour' is not allowed; choose one of: photorealistic, artistic, anime, 3d" in said
    assert "Scene 1, image prompt (scenes[0].image_prompt): must not be empty" in said


def test_two_bad_answers_are_a_clear_error(fake, keyed, isolated_home, logs, capsys):
    fake.answer("no", '{"title": "x"}')

    error = failure(keyed)

    assert type(error) is ProviderFailed
    assert str(error).startswith("Hugging Face (chat): the model's answer was not a valid storyboard, twice: ")
    assert "start from a script" in error.advice
    assert fake.count("POST", CHAT) == 2 and len(keyed.ledger.rows()) == 2, "both answers were paid for"
    no_key_anywhere(error, isolated_home, logs, capsys)


def test_a_refusal_is_said_at_once(fake, keyed, isolated_home, logs, capsys):
    fake.answer({"content": None, "refusal": "I can't help with that request."})

    error = failure(keyed)

    assert type(error) is ProviderFailed
    assert str(error) == ("Hugging Face (chat): the model declined: I can't help with that request. — say the idea "
                          "differently, or start from a script (free)")  # fmt: skip
    assert fake.count("POST", CHAT) == 1, "a refusal is not repaired"
    no_key_anywhere(error, isolated_home, logs, capsys)


def test_a_429_is_retried_after_its_retry_after(fake, keyed, isolated_home, logs, capsys):
    fake.script("POST", CHAT, [rate_limited("1")])

    result = draft(keyed)

    first, second = fake.matching("POST", CHAT)
    assert second.time - first.time >= 0.9, "Retry-After: 1 was honoured"
    assert result.calls == 1 and len(keyed.ledger.rows()) == 1, "the refused request cost nothing"
    no_key_anywhere(None, isolated_home, logs, capsys)


def test_a_timeout_is_reported_not_repeated(fake, keyed, isolated_home, logs, capsys):
    fake.script("POST", CHAT, [Reply(200, {}, hang=3.0)])

    error = failure(keyed, timeout=0.5)

    assert type(error) is ProviderTimeout
    assert str(error).startswith("Hugging Face (chat): no answer in time") and "billed" in error.advice
    assert fake.count("POST", CHAT) == 1 and keyed.ledger.rows() == []
    no_key_anywhere(error, isolated_home, logs, capsys)


def test_a_refused_key_is_named_without_the_key(fake, keyed, isolated_home, logs, capsys):
    fake.script("POST", CHAT, [Reply(401, {"error": f"Invalid token {TOKEN}"})])

    error = failure(keyed)

    assert type(error) is AuthenticationFailed and "HF_TOKEN" in error.advice and "***" in str(error)
    no_key_anywhere(error, isolated_home, logs, capsys)


# ---------------------------------------------------------------------------------------------------------------
# Before any call: the key, the budget, the idea


def test_without_a_key_nothing_is_sent(fake, services):
    error = failure(services)
    assert type(error) is MissingKey and "start from a script" in error.advice
    assert fake.count("POST", CHAT) == 0


def test_a_session_key_is_used_over_none_on_the_server(fake, services):
    draft(services, credentials=services.credentials.with_session({"HF_TOKEN": TOKEN}))
    assert fake.count("POST", CHAT) == 1


def test_the_budget_is_required_and_enforced(fake, keyed):
    error = failure(keyed, require_budget=True)
    assert type(error) is BudgetRequired and "Set a budget of at least $0.02" in str(error)

    error = failure(keyed, budget=0.001)
    assert type(error) is BudgetExceeded and "raise the budget" in str(error)
    assert fake.count("POST", CHAT) == 0 and keyed.ledger.rows() == []


@pytest.mark.parametrize("idea, says", [("  ", "idea: is empty"), ("x" * 2001, "idea: is 2,001 characters")])
def test_a_bad_idea_is_refused(fake, keyed, idea, says):
    with pytest.raises(InputError, match=says):
        idea_to_storyboard(idea, services=keyed)
    assert fake.count("POST", CHAT) == 0


@pytest.mark.slow
def test_the_cli_drafts_from_an_idea(fake, tmp_path):
    out = tmp_path / "idea.yaml"
    env = {"HF_TOKEN": TOKEN, "HF_INFERENCE_URL": fake.base_url(), "REELSMITH_HOME": str(tmp_path / "home")}

    res = run_cli("storyboard", "--from-idea", IDEA, "-o", str(out), "--budget", "0.05", env_extra=env)

    assert res.returncode == 0, res.stderr
    assert parse_storyboard(out.read_text()).title == "The Last Lighthouse"
    wrote = f"wrote {out}: 'The Last Lighthouse', 3 scenes, 13 s; drafted by {DEFAULT_MODEL} for $"
    assert res.stdout.startswith(wrote)
    assert "costs at most $" in res.stderr and TOKEN not in res.stdout + res.stderr
