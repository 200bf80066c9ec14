"""The command line: exit codes, messages, schema, and a real render."""

from __future__ import annotations

import errno
import json
import os
import sqlite3

import pytest

from tests.media import ffprobe, streams
from tests.studio import run_cli

run = run_cli


@pytest.mark.slow
def test_schema_prints_json_schema():
    res = run("schema")
    assert res.returncode == 0
    schema = json.loads(res.stdout)
    assert schema["title"] == "Storyboard" and "scenes" in schema["properties"]


@pytest.mark.slow
def test_validate_ok_and_bad(tmp_path):
    res = run("validate", "assets/examples/short-story.yaml")
    assert res.returncode == 0 and res.stdout.startswith("ok: 'The Lighthouse Keeper', 3 scenes")

    bad = tmp_path / "bad.yaml"
    bad.write_text("scenes:\n  - image_prompt: a\n    durration: 5\n  - image_prompt: b\n    duration: 14\n")
    res = run("validate", str(bad))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.splitlines() == [
        "invalid storyboard (2 problems):",
        "  - Scene 1, durration (scenes[0].durration): unknown field; did you mean 'duration'? (line 3)",
        "  - Scene 2, duration (scenes[1].duration): 14 is above the maximum of 10 seconds (line 5)",
    ]

    chinese = tmp_path / "zh.yaml"
    chinese.write_text("scenes:\n  - image_prompt: a\n  - image_prompt: b\n    audio_script: 山后的太阳慢慢落下。\n",
                       encoding="utf-8")  # fmt: skip
    res = run("validate", str(chinese))
    assert res.returncode == 0 and res.stdout.startswith("ok: ")  # a warning, not a problem
    (warning,) = res.stderr.splitlines()
    assert warning.startswith("warning: Scene 2, narration (scenes[1].audio_script): looks like Chinese") and "elevenlabs" in warning


@pytest.mark.slow
def test_render_with_unknown_provider_is_bad_input(tmp_path):
    res = run("render", "assets/examples/short-story.yaml", "-o", str(tmp_path / "x.mp4"), "--video-provider", "sora")
    assert res.returncode == 2
    assert "video.provider: 'sora' is not a known video provider" in res.stderr
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.slow
def test_render_missing_file_is_bad_input(tmp_path):
    res = run("render", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "x.mp4"))
    assert res.returncode == 2 and "storyboard file not found" in res.stderr


@pytest.mark.slow
def test_providers_lists_the_offline_ones():
    res = run("providers")
    assert res.returncode == 0
    for name in ("draft", "motion", "piper"):
        assert f"  {name} " in res.stdout


@pytest.mark.slow
def test_render_end_to_end_with_progress_lines(tmp_path):
    sb = tmp_path / "sb.yaml"
    sb.write_text("title: cli\nscenes:\n  - image_prompt: A mountain at sunset\n    audio_script: Hello there.\n"
                  "    duration: 2\n")  # fmt: skip
    out = tmp_path / "out.mp4"
    home = {"REELSMITH_HOME": str(tmp_path / "home")}
    res = run("render", str(sb), "-o", str(out), env_extra=home)
    assert res.returncode == 0, res.stderr
    assert "scene 1 image: started (draft)" in res.stdout
    assert "scene 1 video: done in" in res.stdout
    assert res.stdout.strip().splitlines()[-1].startswith(f"done: {out}")
    assert res.stdout.strip().splitlines()[-2] == f"captions: {out.with_suffix('.srt')}, {out.with_suffix('.vtt')}"
    assert "Hello there." in out.with_suffix(".srt").read_text(encoding="utf-8")
    report = ffprobe(out)
    assert len(streams(report, "video")) == 1 and len(streams(report, "audio")) == 1
    assert (tmp_path / "out.manifest.json").exists()

    res = run("render", str(sb), "-o", str(out), "--events", env_extra=home)
    events = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert {e["type"] for e in events} >= {"RenderStarted", "StepCached", "RenderFinished"}
    assert not any(e["type"] == "StepStarted" for e in events)


@pytest.mark.slow
def test_provider_failure_exits_1_naming_scene_step_and_reason(tmp_path):
    # A corrupt cached image makes the video step fail for a real reason, through the real CLI.
    from pipeline.plan import plan_render
    from pipeline.providers import registry
    from pipeline.store import Store, step_key
    from pipeline.storyboard import parse_storyboard

    text = "title: f\nscenes:\n  - image_prompt: A lighthouse\n    duration: 2\n"
    (tmp_path / "sb.yaml").write_text(text)
    home = tmp_path / "home"
    os.environ["REELSMITH_HOME"] = str(home)
    try:
        plan = plan_render(parse_storyboard(text))
        provider = registry.get("image", "draft")
        key = step_key("image", provider="draft", version=provider.version,
                       request=provider.cache_fields(plan.scenes[0].image))  # fmt: skip
        broken = tmp_path / "broken.png"
        broken.write_bytes(b"not a png")
        with Store(home) as store:
            store.put(key, broken)
    finally:
        os.environ.pop("REELSMITH_HOME", None)
    res = run("render", str(tmp_path / "sb.yaml"), "-o", str(tmp_path / "x.mp4"), env_extra={"REELSMITH_HOME": str(home)})
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("failed: scene 1 video: motion: ")


# ---------------------------------------------------------------------------------------------------------------
# Checked before any work (issue 12): -o and REELSMITH_HOME (hostile storyboards: tests/test_fuzz.py)


@pytest.mark.slow
@pytest.mark.parametrize("output, message", [
    ("{tmp}", "-o: {tmp} is a folder; give a file name such as {tmp}/video.mp4"),
    ("/proc/reelsmith/x.mp4", "-o: cannot write in /proc/reelsmith (No such file or directory); choose a folder you "
                              "can write to"),
    ("{tmp}/sb.yaml/x.mp4", "-o: {tmp}/sb.yaml is a file, not a folder; choose a folder for the video"),
    ("{tmp}/x.webm", "-o: x.webm does not end in .mp4, the storyboard's output.format; name the file x.mp4, or set "
                     "output.format to match"),
    ("{tmp}/" + "a" * 250 + ".mp4", "-o: the file name is too long for most file systems; shorten it"),
])  # fmt: skip
def test_render_refuses_an_unusable_output_before_any_work(tmp_path, output, message):
    sb = tmp_path / "sb.yaml"
    sb.write_text("scenes:\n  - image_prompt: a\n    duration: 2\n")
    home = tmp_path / "home"
    res = run("render", str(sb), "-o", output.format(tmp=tmp_path), home=home, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.splitlines() == ["invalid option (1 problem):", f"  - {message.format(tmp=tmp_path)}"]
    assert not (home / "media").exists(), "nothing was made"


@pytest.mark.slow
def test_an_unusable_reelsmith_home_is_one_line_naming_it(tmp_path):
    (tmp_path / "file").write_text("")
    res = run("ledger", home=tmp_path / "file" / "home", timeout=60)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr == (f"error: REELSMITH_HOME ({tmp_path}/file/home) cannot be used: Not a directory. Make it "
                          "writable with free space, or set REELSMITH_HOME to a folder that is.\n")  # fmt: skip


@pytest.mark.parametrize("failure", [
    OSError(errno.ENOSPC, "No space left on device"),
    sqlite3.OperationalError("attempt to write a readonly database"),
    sqlite3.OperationalError("database or disk is full"),
])  # fmt: skip
def test_a_full_or_read_only_home_is_one_line_naming_it(monkeypatch, capsys, isolated_home, failure):
    from pipeline import cli, ledger

    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setattr(ledger.Ledger, "__init__", fail)
    assert cli.main(["ledger"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: REELSMITH_HOME ({isolated_home}) cannot be used: ") and err.count("\n") == 1
