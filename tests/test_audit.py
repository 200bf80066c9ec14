"""The audit log: one row per generation with its outcome, reports, the `audit` command, and nothing secret in it."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from pipeline.audit import AuditEntry, AuditLog, client_fingerprint, owner_fingerprint, parse_since
from pipeline.cli import main
from pipeline.credentials import Credentials
from pipeline.errors import Cancelled, InputError, ProviderFailed, Rejected
from pipeline.runner import render
from pipeline.storyboard import validate_storyboard
from tests.fakes import storyboard_dict
from tests.step_run import assert_secret_nowhere


def _rows() -> list[dict]:
    return AuditLog().rows()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_generation_is_one_row_and_a_cache_hit_is_none(test_providers, tmp_path):
    sb = validate_storyboard(storyboard_dict(scenes=2))
    result = render(sb, tmp_path / "a.mp4", owner="browser-7", client="addr-0123456789abcdef")
    rows = _rows()
    assert sorted((r["scene"], r["step"]) for r in rows) == [(0, "image"), (0, "video"), (0, "voice"),
                                                             (1, "image"), (1, "video"), (1, "voice")]  # fmt: skip
    assert {r["outcome"] for r in rows} == {"done"} and {r["kind"] for r in rows} == {"generation"}
    assert {r["render_id"] for r in rows} == {result.render_id}
    assert {r["owner"] for r in rows} == {owner_fingerprint("browser-7")} != {"browser-7"}
    assert {r["client"] for r in rows} == {"addr-0123456789abcdef"}
    voice = next(r for r in rows if (r["scene"], r["step"]) == (1, "voice"))
    assert voice["provider"] == "test-voice" and voice["prompt_sha256"] == _sha("hello there 1")
    assert {r["time"][-6:] for r in rows} == {"+00:00"}, "times are UTC"

    render(sb, tmp_path / "b.mp4")
    assert len(_rows()) == 6, "a cached step is not a generation"


def test_a_failed_and_a_cancelled_step_are_recorded_with_their_reason(test_providers, tmp_path):
    test_providers.fail = {"motion 1": Rejected("the motion prompt was refused", provider="test-video"),
                           "hello there 0": Cancelled("render stopped")}  # fmt: skip
    with pytest.raises((Rejected, Cancelled)):
        render(validate_storyboard(storyboard_dict(scenes=2)), tmp_path / "a.mp4")
    outcomes = {(r["scene"], r["step"]): (r["outcome"], r["reason"]) for r in _rows()}
    assert outcomes[(1, "video")] == ("failed", "scene 2 video: test-video: the motion prompt was refused")
    assert outcomes[(0, "voice")] == ("cancelled", "render stopped")


def test_a_refused_prompt_is_recorded_before_any_provider_call(test_providers, tmp_path):
    data = storyboard_dict(scenes=2)
    data["scenes"][1]["image_prompt"] = "Child Porn"
    with pytest.raises(InputError, match=r"Scene 2, image prompt \(scenes\[1\]\.image_prompt\): refused: 'child porn'"):
        render(validate_storyboard(data), tmp_path / "a.mp4", owner="browser-9")
    assert test_providers.calls == []
    [row] = _rows()
    assert (row["scene"], row["step"], row["provider"], row["outcome"]) == (1, "image", "test-image", "refused")
    assert row["prompt_sha256"] == _sha("Child Porn") and row["owner"] == owner_fingerprint("browser-9")


def test_the_log_is_append_only():
    log = AuditLog()
    log.record(AuditEntry("generation", "done", step="image"))
    for sql in ("UPDATE audit SET outcome = 'failed'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"), log.db.transaction() as db:
            db.execute(sql)
    assert [r["outcome"] for r in log.rows()] == ["done"]


def test_a_report_is_a_row_with_the_reason_cut_short():
    AuditLog().report("20261201-r1", "offensive " * 100, owner="browser-1", client="addr-1")
    [row] = _rows()
    assert (row["kind"], row["outcome"], row["render_id"], row["client"]) == ("report", "reported", "20261201-r1",
                                                                             "addr-1")  # fmt: skip
    assert row["owner"] == owner_fingerprint("browser-1") and len(row["reason"]) == 500


def test_the_audit_command_prints_json_and_filters_by_since(capsys):
    log = AuditLog()
    log.record(AuditEntry("generation", "done", render_id="new", scene=0, step="image", provider="draft"))
    with log.db.transaction() as db:  # an old row, as if written a year ago
        db.execute("INSERT INTO audit (time, kind, outcome, render_id) VALUES (?, 'generation', 'done', 'old')",
                   ("2025-11-01T10:00:00+00:00",))  # fmt: skip

    assert main(["audit", "--json"]) == 0
    assert [r["render_id"] for r in json.loads(capsys.readouterr().out)] == ["new", "old"]
    for since, expected in (("24h", ["new"]), ("7d", ["new"]), ("2025-10-31", ["new", "old"]),
                            ("2025-11-01T10:00:01", ["new"]), ("2099-01-01", [])):  # fmt: skip
        assert main(["audit", "--json", "--since", since]) == 0
        assert [r["render_id"] for r in json.loads(capsys.readouterr().out)] == expected, since
    assert main(["audit"]) == 0
    text = capsys.readouterr().out
    assert "scene 1 image" in text and "draft" in text and text.rstrip().endswith("2 rows")
    assert main(["audit", "--since", "last tuesday"]) == 2
    assert "--since: 'last tuesday' is neither a date/time" in capsys.readouterr().err


def test_parse_since_reads_spans_and_dates():
    from datetime import datetime, timezone

    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_since("90m", now) == datetime(2026, 12, 1, 10, 30, tzinfo=timezone.utc)
    assert parse_since("2w", now) == datetime(2026, 11, 17, 12, 0, tzinfo=timezone.utc)
    assert parse_since("2026-11-30T08:00+01:00") == datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
    assert parse_since("2026-11-30") == datetime(2026, 11, 30, tzinfo=timezone.utc), "a date without zone is UTC"


def test_no_key_address_owner_id_or_prompt_in_the_log_or_the_command(test_providers, tmp_path, isolated_home, capsys):
    keys = {"BFL_API_KEY": "canary-audit-bfl-51e0", "RUNWAYML_API_SECRET": "canary-audit-runway-9c2d",
            "ELEVENLABS_API_KEY": "canary-audit-eleven-77aa"}  # fmt: skip
    address, owner, prompt = "203.0.113.77", "browser-owner-id-3f9b1c", "a lighthouse canary-prompt-5e1"
    # A provider whose error message repeats the key it was given: the audit row must not.
    test_providers.fail = {"motion 1": ProviderFailed(f"upstream said: bad key {keys['RUNWAYML_API_SECRET']}")}
    data = storyboard_dict(scenes=2)
    data["scenes"][0]["image_prompt"] = prompt
    client = client_fingerprint(address)
    with pytest.raises(ProviderFailed):
        render(validate_storyboard(data), tmp_path / "a.mp4", credentials=Credentials(keys), owner=owner,
               client=client)  # fmt: skip
    failed = next(r for r in _rows() if r["outcome"] == "failed")
    assert failed["reason"] == "scene 2 video: upstream said: bad key [key]"
    assert client and client.startswith("addr-") and client != client_fingerprint("203.0.113.78")

    assert main(["audit"]) == 0 and main(["audit", "--json"]) == 0
    out = capsys.readouterr()
    assert client in out.out
    audit_files = [p for p in isolated_home.iterdir() if p.name.startswith("audit.sqlite3")]
    assert audit_files
    assert_secret_nowhere([*keys.values(), address, owner, prompt], None, *audit_files, texts=[out.out, out.err])


@pytest.mark.slow
def test_report_video_records_this_sessions_latest_render(launched_studio):
    from gradio_client import Client

    url, home = launched_studio
    mine, theirs = Client(url, verbose=False), Client(url, verbose=False)
    with pytest.raises(Exception, match="Nothing to report yet: this session has not finished a render"):
        mine.predict("it is offensive", api_name="/report_video")
    text = "title: reported\nscenes:\n  - image_prompt: A plain grey wall\n    duration: 2\n"
    *_, manifest, _gallery, _captions = mine.predict(text, "draft", "motion", "piper", api_name="/render")
    render_id = json.loads(open(manifest).read())["render_id"]

    assert mine.predict("  it shows   something it should not " + "x" * 600, api_name="/report_video") == ""
    mine.predict("pressed again", api_name="/report_video")  # thanked again, not recorded twice
    with pytest.raises(Exception, match="Nothing to report yet"):
        theirs.predict("their render, not mine", api_name="/report_video")  # another session's render is not its
    rows = AuditLog(home / "audit.sqlite3").rows()
    [report] = [r for r in rows if r["kind"] == "report"]
    assert (report["render_id"], report["outcome"]) == (render_id, "reported")
    assert report["reason"].startswith("it shows something it should not xxx") and len(report["reason"]) == 500
    assert report["client"].startswith("addr-") and report["owner"].startswith("owner-")
    assert {r["render_id"] for r in rows if r["kind"] == "generation"} == {render_id}
