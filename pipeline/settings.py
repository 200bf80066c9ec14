"""Process-wide settings read from the environment (data dir, keys, base URLs)."""

from __future__ import annotations

import os
from pathlib import Path


def reelsmith_home_path() -> Path:
    """Where the data directory is (`REELSMITH_HOME`, default `~/.reelsmith`), without creating it."""
    return Path(os.environ.get("REELSMITH_HOME") or Path.home() / ".reelsmith").expanduser()


def reelsmith_home() -> Path:
    """The data directory: `REELSMITH_HOME`, default `~/.reelsmith`. Created private (0700)."""
    home = reelsmith_home_path()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home


def concurrent_renders() -> int:
    """`REELSMITH_CONCURRENT_RENDERS`, default 10: how many renders and scene steps the studio runs at once (all
    sessions together; later ones queue). Waiting on a provider costs a render almost nothing, and local CPU work
    is bounded separately by the CPU limiter (`REELSMITH_CPU_SLOTS`, pipeline/limits.py), so this only bounds how
    many renders are in flight (threads, open files, each one's memory while it runs)."""
    raw = os.environ.get("REELSMITH_CONCURRENT_RENDERS", "").strip()
    try:
        return max(1, int(raw)) if raw else 10
    except ValueError:
        return 10
