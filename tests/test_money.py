"""Cost estimate, budget and ledger, with the recording test providers priced like paid ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.credentials import Credentials
from pipeline.errors import BudgetExceeded, BudgetRequired, InputError
from pipeline.estimate import estimate_cost
from pipeline.ledger import Ledger
from pipeline.providers import Price, Prices
from pipeline.runner import Render, render
from pipeline.storyboard import parse_storyboard
from tests.step_run import assert_secret_nowhere

BOARD = """
title: Paid
image: {provider: test-image}
video: {provider: test-video, require_approval: false}
voice: {provider: test-voice}
scenes:
  - {image_prompt: A harbour at dawn, audio_script: Twelve chars, duration: 2}
  - {image_prompt: A lighthouse, duration: 3}
  - {image_prompt: A boat, audio_script: Hi., duration: 4}
"""
KEYS = Credentials({"RUNWAYML_API_SECRET": "canary-money-secret", "ELEVENLABS_API_KEY": "canary-voice-secret"})


@pytest.fixture
def paid(test_providers, monkeypatch):
    """test-video priced like Runway ($0.05/s), test-voice like ElevenLabs ($0.0001/char); both need keys."""
    from tests.fakes import FakeVideoProvider, FakeVoiceProvider

    for cls, env, price in ((FakeVideoProvider, "RUNWAYML_API_SECRET", Price("second", 0.05, "test")),
                            (FakeVoiceProvider, "ELEVENLABS_API_KEY", Price("character", 0.0001, "test"))):
        for attr, value in (("paid", True), ("needs_key", True), ("offline", False), ("key_env_var", env),
                            ("prices", Prices("2026-11", {None: price}))):
            monkeypatch.setattr(cls, attr, value)
    return test_providers


def test_estimate_prices_each_step_and_equals_the_ledger_after_a_fresh_run(paid, tmp_path):
    sb = parse_storyboard(BOARD)
    estimate = estimate_cost(sb, credentials=KEYS)
    assert estimate.total == pytest.approx(0.05 * 9 + 0.0001 * (len("Twelve chars") + len("Hi.")))
    assert [[s.step for s in scene] for scene in estimate.scenes] == [["image", "video", "voice"],
                                                                      ["image", "video"], ["image", "video", "voice"]]
    result = render(sb, tmp_path / "out.mp4", credentials=KEYS)
    ledger = Ledger()
    assert ledger.total(result.render_id) == pytest.approx(estimate.total)
    assert result.spent == pytest.approx(estimate.total)
    manifest = json.loads(result.manifest.read_text())
    assert manifest["cost"]["spent_usd"] == pytest.approx(estimate.total)
    assert manifest["scenes"][1]["cost"]["video"] == {"usd": 0.15, "cached": False, "units": 3.0, "unit": "second"}
    rows = ledger.rows(result.render_id)
    assert {r["step"] for r in rows} == {"video", "voice"} and all(r["key_fingerprint"].startswith("key-") for r in rows)
    # Unchanged: everything is cached, nothing costs anything, nothing runs.
    again = estimate_cost(sb, credentials=KEYS)
    assert again.total == 0 and again.saved == pytest.approx(estimate.total)
    calls = len(paid.calls)
    second = render(sb, tmp_path / "again.mp4", credentials=KEYS)
    assert len(paid.calls) == calls and second.spent == 0 and ledger.total(second.render_id) == 0
    # The canary keys are nowhere: ledger, journal, manifest, cache index, projects.
    from pipeline.settings import reelsmith_home

    assert_secret_nowhere(["canary-money-secret", "canary-voice-secret"], None, reelsmith_home(),
                          Path(result.manifest))  # fmt: skip


def test_a_budget_below_the_estimate_makes_no_call_at_all(paid, tmp_path):
    sb = parse_storyboard(BOARD)
    with pytest.raises(InputError, match=r"budget: the estimate \$0.45 is above the budget \$0.20: raise the budget"):
        render(sb, tmp_path / "out.mp4", credentials=KEYS, budget=0.20)
    assert paid.calls == []


def test_a_render_that_costs_money_needs_a_budget_when_the_caller_requires_one(paid, tmp_path):
    """The studio's and the API's rule, in the engine: a price and no budget refuses the render before any call;
    a free render needs none; without the requirement (the CLI) the render runs as before."""
    sb = parse_storyboard(BOARD)
    refused = "This render will cost $0.45 (see Cost). Set a budget of at least $0.45 to confirm."
    with pytest.raises(BudgetRequired) as caught:
        render(sb, tmp_path / "out.mp4", credentials=KEYS, require_budget=True)
    assert str(caught.value) == refused and paid.calls == []
    free = sb.with_providers(video="motion", voice="piper")
    assert render(free, tmp_path / "free.mp4", credentials=KEYS, require_budget=True).spent == 0
    assert render(sb, tmp_path / "cli.mp4", credentials=KEYS).spent == pytest.approx(0.4515)


def test_spend_never_passes_the_budget_during_a_render(paid, tmp_path, monkeypatch):
    # Price drift or a lost cache entry can make a render cost more than its estimate: the guard before every
    # paid call is what protects the budget, so check it with the start-up check out of the way.
    monkeypatch.setattr(Render, "_check_budget", lambda self, plan: None)
    sb = parse_storyboard(BOARD)
    with pytest.raises(BudgetExceeded, match=r"not started — it costs \$0\.\d\d .* of its \$0.25 budget"):
        render(sb, tmp_path / "out.mp4", credentials=KEYS, budget=0.25)
    assert Ledger().total() <= 0.25
    assert sum(c.kind == "video" for c in paid.calls) < 3


@pytest.mark.slow
def test_cli_estimate_budget_and_ledger(paid, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RUNWAYML_API_SECRET", "canary-money-secret")
    monkeypatch.setenv("ELEVENLABS_API_KEY", "canary-voice-secret")
    board = tmp_path / "board.yaml"
    board.write_text(BOARD)
    assert main(["estimate", str(board), "--json"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    assert estimate["total_usd"] == pytest.approx(0.4515) and estimate["scenes"][1]["usd"] == pytest.approx(0.15)
    assert main(["render", str(board), "-o", str(tmp_path / "o.mp4"), "--budget", "0.1"]) == 2
    assert "the estimate $0.45 is above the budget $0.10" in capsys.readouterr().err and paid.calls == []
    assert main(["render", str(board), "-o", str(tmp_path / "o.mp4"), "--budget", "1"]) == 0
    capsys.readouterr()
    assert main(["ledger"]) == 0
    out = capsys.readouterr().out
    assert "test-video" in out and "total $0.4515" in out
    assert main(["estimate", str(board)]) == 0
    assert "total $0.00 (the cache saves $0.45)" in capsys.readouterr().out


def test_another_key_never_gets_the_first_keys_paid_outputs(paid, tmp_path):
    sb = parse_storyboard(BOARD)
    render(sb, tmp_path / "a.mp4", credentials=KEYS)
    videos = sum(c.kind == "video" for c in paid.calls)
    other = Credentials({"RUNWAYML_API_SECRET": "someone-else", "ELEVENLABS_API_KEY": "someone-else-too"})
    assert estimate_cost(sb, credentials=other).total == pytest.approx(0.4515)
    render(sb, tmp_path / "b.mp4", credentials=other)
    assert sum(c.kind == "video" for c in paid.calls) == 2 * videos


def test_a_paid_render_needs_approved_images_unless_told_otherwise(paid, tmp_path):
    sb = parse_storyboard(BOARD.replace(", require_approval: false", ""))
    with pytest.raises(InputError) as caught:
        render(sb, tmp_path / "out.mp4", credentials=KEYS)
    assert [p.path for p in caught.value.problems] == ["scenes[0].image", "scenes[1].image", "scenes[2].image"]
    assert "approve this scene's image before paying" in str(caught.value) and paid.calls == []
