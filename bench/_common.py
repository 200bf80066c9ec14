"""Shared by the bench scripts: a throwaway REELSMITH_HOME and a process-tree memory sampler."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _pss_bytes(pid: int) -> int | None:
    """Proportional set size: shared pages split between the processes sharing them (so a fork, or two ffmpeg
    processes sharing one binary's pages, is not counted twice as RSS would)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def tree_rss_mb(pid: int) -> float:
    """Memory of a process and all its descendants, in MB: PSS where the kernel reports it, else RSS."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        pss = _pss_bytes(p)
        total += pss if pss is not None else rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total / 1e6


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run a command; return (wall seconds, peak tree RSS in MB, exit code)."""
    peak = [0.0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
    return wall, peak[0], proc.returncode
