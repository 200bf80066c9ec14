"""Never pay twice: a CLI render SIGKILLed at any moment and started again submits each Runway task once.

The fake Runway server runs in this process; the CLI runs as a real subprocess that we kill with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.media import ffprobe, streams
from tests.step_run import assert_secret_nowhere
from tests.studio import ROOT, pipeline_env, wait_until
from tests.wire.runway import CREATE, TASKS, FakeRunway
from tests.wire.server import Reply

pytestmark = pytest.mark.slow
KEY = "canary-journal-runway-key"
BOARD = """
title: Kill me
resolution: 1280x720
image: {provider: draft}
video: {provider: runway, require_approval: false}
voice: {provider: piper}
scenes:
""" + "".join(f"  - {{image_prompt: 'Harbour number {i} at dawn', video_prompt: slow pan right, duration: 2}}\n"
              for i in range(3))  # fmt: skip


@pytest.fixture
def runway():
    server = FakeRunway(KEY, default_plan=("PENDING",) + ("RUNNING",) * 12 + ("SUCCEEDED",)).start()
    yield server
    server.stop()


def _start(runway: FakeRunway, home: Path, board: Path, out: Path) -> subprocess.Popen:
    env = pipeline_env(home, RUNWAYML_API_SECRET=KEY, RUNWAYML_BASE_URL=runway.url, REELSMITH_POLL_INTERVAL="0.05")
    return subprocess.Popen([sys.executable, "-m", "pipeline", "render", str(board), "-o", str(out)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _wait(condition) -> None:
    assert wait_until(condition, interval=0.01), "timed out"  # polled often: the kill must follow at once


def _all_answered(runway: FakeRunway) -> bool:
    """Every create the fake received has been polled since: its answer (the task id) reached the journal."""
    polled = {r.path.rsplit("/", 1)[-1] for r in runway.matching("GET", TASKS)}
    return len(polled) >= runway.count("POST", CREATE)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_sigkill_at_any_moment_never_submits_a_task_twice(runway, tmp_path):
    home, board, out = tmp_path / "home", tmp_path / "board.yaml", tmp_path / "out.mp4"
    board.write_text(BOARD)

    # 1. Killed before anything was submitted.
    proc = _start(runway, home, board, out)
    time.sleep(0.3)
    _kill(proc)
    assert runway.count("POST", CREATE) == 0

    # 2. Killed after a submit, while the task runs at Runway: both slots are polling, so every submission so far
    #    was answered and journalled (a kill before Runway's answer is the other test's case).
    proc = _start(runway, home, board, out)
    _wait(lambda: runway.count("POST", CREATE) >= 2 and _all_answered(runway))
    _kill(proc)
    submitted = runway.count("POST", CREATE)
    assert 1 <= submitted <= 3

    # 3. Killed after a task succeeded, while its output downloads (the download hangs).
    runway.script("GET", r"/outputs/.*", [Reply(hang=30)])
    proc = _start(runway, home, board, out)
    _wait(lambda: runway.count("GET", r"/outputs/.*") >= 1 and _all_answered(runway))
    _kill(proc)

    # 4. Started again: it re-attaches to every pending task and finishes.
    proc = _start(runway, home, board, out)
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output
    assert runway.count("POST", CREATE) == 3, "each scene's clip was paid for exactly once"
    assert "paid again" not in output
    report = ffprobe(out)
    assert len(streams(report, "video")) == 1 and float(report["format"]["duration"]) == pytest.approx(6.0, abs=0.1)

    # 5. Unchanged re-render: no request to Runway at all.
    before = len(runway.requests)
    proc = _start(runway, home, board, tmp_path / "again.mp4")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert len(runway.requests) == before

    # The key is in none of the files the renders wrote.
    assert_secret_nowhere(KEY, None, home, texts=[output])


def test_a_kill_before_runway_answers_a_submission_is_announced(runway, tmp_path):
    """The window no journal closes (Runway takes no idempotency key and lists no tasks): killed after sending a
    create and before its answer. The restart cannot find that task; it says the scene may be paid twice."""
    home, board, out = tmp_path / "home", tmp_path / "board.yaml", tmp_path / "out.mp4"
    board.write_text(BOARD)
    runway.script("POST", CREATE, [Reply(200, {"id": "never-heard"}, hang=60)])

    proc = _start(runway, home, board, out)
    # One create hangs; the other slot's scene is polled (journalled) by the time we kill.
    _wait(lambda: runway.count("POST", CREATE) >= 2 and runway.count("GET", TASKS) >= 1)
    _kill(proc)

    proc = _start(runway, home, board, out)
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output
    assert output.count("paid again") == 1, output
    assert "check your Runway dashboard" in output
    assert runway.count("POST", CREATE) == 4, "only the scene whose answer was lost is submitted again"
