"""Where the data directory is, for the few places that have no services to ask (file helpers at the edges).

Every other setting is `EngineSettings` (pipeline/services.py), read once at the edges by `Services.from_env`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping


def reelsmith_home_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the data directory is (`REELSMITH_HOME`, default `~/.reelsmith`), without creating it."""
    env = os.environ if environ is None else environ
    return Path(env.get("REELSMITH_HOME") or Path.home() / ".reelsmith").expanduser()


def reelsmith_home() -> Path:
    """The data directory: `REELSMITH_HOME`, default `~/.reelsmith`. Created private (0700)."""
    home = reelsmith_home_path()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home
