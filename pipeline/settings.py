"""Process-wide settings read from the environment (data dir, keys, base URLs)."""

from __future__ import annotations

import os
from pathlib import Path


def reelsmith_home() -> Path:
    """The data directory: `REELSMITH_HOME`, default `~/.reelsmith`. Created private (0700)."""
    home = Path(os.environ.get("REELSMITH_HOME") or Path.home() / ".reelsmith").expanduser()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home
