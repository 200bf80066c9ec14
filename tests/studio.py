"""Reelsmith as real processes for tests: the studio (app.py) on a free port for gradio_client and browser tests,
the CLI, and waiting on what they do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pipeline_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a Reelsmith process runs in: this checkout on the path, `home` as REELSMITH_HOME."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    if home is not None:
        env["REELSMITH_HOME"] = str(home)
    return env


def run_cli(*args: str, home: Path | None = None, env_extra: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:  # fmt: skip
    """`python -m pipeline ARGS` to the end, output captured."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          env=pipeline_env(home, **(env_extra or {})), cwd=ROOT, timeout=timeout)  # fmt: skip


def wait_until(condition: Callable[[], object], timeout: float = 60, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False); callers assert the outcome."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def generation_rows(home: Path) -> list[dict]:
    """The studio's audit rows for generation steps, oldest first: each image, clip or narration a render runs
    writes one when it ends (done, cancelled or failed), after its scratch folder is gone."""
    from pipeline.audit import AuditLog

    if not (home / "audit.sqlite3").exists():
        return []
    return [row for row in AuditLog(home / "audit.sqlite3").rows() if row["kind"] == "generation"]


def steps_running(home: Path) -> int:
    """Steps running now under a REELSMITH_HOME: each holds a scratch folder in work/ until it ends."""
    work = home / "work"
    return sum(1 for p in work.iterdir() if p.is_dir()) if work.exists() else 0


def media_files(home: Path, suffix: str) -> set[Path]:
    """The content-addressed files under a REELSMITH_HOME with this suffix."""
    return set((home / "media").rglob(f"*{suffix}"))


@contextmanager
def running_studio(home: Path, timeout: float = 90, env: dict[str, str] | None = None,
                   log: Path | None = None) -> Iterator[str]:  # fmt: skip
    """The studio on a free port; its output goes to `log` (read it after the block) or is discarded."""
    port = free_port()
    env = pipeline_env(home, GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False", **(env or {}))
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"the studio exited: {log.read_text() if log else ''}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the studio did not start within {timeout:.0f} s")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()
