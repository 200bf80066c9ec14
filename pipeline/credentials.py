"""API keys: the server's (environment) and a user's own (pasted into the studio for their session only).

A `Credentials` object is handed down with each render; providers ask it for their key and nothing else ever
sees one. Keys never enter cache keys, logs, manifests or files: what identifies an owner there is a one-way
`fingerprint` (used so one user's paid outputs are never served to another, and to label the ledger).
"""

from __future__ import annotations

import hashlib
import os
from typing import Mapping

from pipeline.providers import registry
from pipeline.providers.base import missing_key


def key_vars() -> tuple[str, ...]:
    """Every key the registered providers use, by the environment variable it comes from on the server: each
    provider's `key_env_var`, once, in registration order (the studio's key boxes and `/set_keys` take them in
    this order; a provider added later comes last). Asked of the registry each time, never fixed at import."""
    return tuple(field.env_var for field in registry.keys())


class Credentials:
    """Keys by environment-variable name. `repr` and `str` never show a key."""

    __slots__ = ("_keys", "_sources")

    def __init__(self, keys: Mapping[str, str] | None = None, *, source: str = "session"):
        self._keys = {k: v.strip() for k, v in (keys or {}).items() if v and v.strip()}
        self._sources = {k: source for k in self._keys}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Credentials":
        """The server's keys, from its environment (the edges only: `Services.from_env`, the CLI, the studio)."""
        env = os.environ if environ is None else environ
        return cls({name: env.get(name, "") for name in key_vars()}, source="server")

    def with_session(self, session_keys: Mapping[str, str] | None) -> "Credentials":
        """These keys, with a user's own keys taking the place of the server's for this user's work."""
        merged = Credentials()
        merged._keys = dict(self._keys)
        merged._sources = dict(self._sources)
        for name, value in (session_keys or {}).items():
            if value and value.strip():
                merged._keys[name] = value.strip()
                merged._sources[name] = "session"
        return merged

    def get(self, name: str | None) -> str | None:
        return self._keys.get(name) if name else None

    def source(self, name: str | None) -> str | None:
        """'server', 'session' or None: where the key for `name` came from."""
        return self._sources.get(name) if name else None

    def require(self, name: str, provider: str) -> str:
        key = self._keys.get(name)
        if not key:
            raise missing_key(name, provider)
        return key

    def fingerprint(self, name: str | None) -> str | None:
        """A short one-way id of the key for `name` (the owner of the outputs it paid for), or None."""
        key = self.get(name)
        if not key:
            return None
        return "key-" + hashlib.sha256(b"reelsmith-owner\0" + key.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Credentials({', '.join(f'{k}=<{self._sources[k]}>' for k in sorted(self._keys))})"

    __str__ = __repr__

    def __reduce__(self):  # never pickled into a cache or a file
        raise TypeError("Credentials are not serialisable")
