"""Who owns what, decided by the server: studio owner tokens, per-session random ids, and owned images.

Owner tokens. A studio browser keeps `"<owner id>.<HMAC-SHA256(server secret, owner id)>"` in its storage; the
server verifies the signature on every page load and hands out a fresh id for a missing or forged token. Only
ids the server issued ("web-…", random) are accepted, so no browser can claim the command line's owner "cli" or
another browser's id without holding that browser's token. The server secret lives in REELSMITH_HOME
(`server.secret`, 0600) and is never sent anywhere; it is NOT the secret Gradio's BrowserState encrypts with,
which Gradio publishes in the page's `/config` and so protects nothing.

Session ids. Gradio tells sessions apart by a session hash that the client itself sends: whoever learns it can
act as that session. Anything a session is shown (its folder of files, an API client's owner) is therefore
named by a random id kept in server memory (`SessionIds`), never by, or derived from, the session hash.

Owned images. A storyboard pins a picture by content hash (`image: sha256:…`); the hash alone proves nothing,
since manifests and shared storyboards carry it. `OwnedImages` (REELSMITH_HOME/owners.sqlite3) records which
owner generated, uploaded or approved which image, and the runner resolves a pin only for its owner.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path

from pipeline.db import Database, utc_now
from pipeline.settings import reelsmith_home
from pipeline.store import Asset, Store

CLI_OWNER = "cli"  # the command line's owner: whoever runs it can read REELSMITH_HOME anyway
STUDIO_PREFIX = "web-"  # every studio browser's owner id starts with it; "cli" and chosen ids never do
API_PREFIX = "api-"  # an API client without browser storage: one random owner per session
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # what a pin may resolve to (never narration or video)
_SECRET_FILE = "server.secret"
_ID_BYTES = 18  # 144 random bits, as token_urlsafe text


# ---------------------------------------------------------------------------------------------------------------
# Owner tokens


def private_secret(name: str, home: Path | None = None) -> str:
    """The text of a random secret file `name` (0600) under REELSMITH_HOME, created on first use, then kept."""
    home = Path(home) if home else reelsmith_home()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / name
    if not path.exists():
        # Written whole under a temporary name, then linked into place (which fails if another process got there
        # first): a reader never sees a half-written secret, and two first starts agree on one.
        tmp = home / f".{name}.{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def server_secret(home: Path | None = None) -> bytes:
    """The server's signing secret: created once (0600) under REELSMITH_HOME, the same across restarts."""
    secret = private_secret(_SECRET_FILE, home)
    if len(secret) < 32:  # an emptied or truncated file (a crash mid-write): never sign with a guessable secret
        raise RuntimeError(f"{_SECRET_FILE} under REELSMITH_HOME is damaged: delete it (studio owners start afresh)")
    return secret.encode()


def _signature(secret: bytes, owner: str) -> str:
    return hmac.new(secret, owner.encode(), hashlib.sha256).hexdigest()


def issue_owner(secret: bytes) -> tuple[str, str]:
    """A new studio owner: (owner id, token for the browser to keep)."""
    owner = STUDIO_PREFIX + secrets.token_urlsafe(_ID_BYTES)
    return owner, f"{owner}.{_signature(secret, owner)}"


def verify_owner(token: object, secret: bytes) -> str | None:
    """The owner id a token names, when this server signed it; None for anything else (missing, malformed,
    tampered, signed with another secret, or not a studio id)."""
    if not isinstance(token, str) or len(token) > 200 or token.count(".") != 1:
        return None
    owner, signature = token.split(".")
    if not owner.startswith(STUDIO_PREFIX) or len(owner) <= len(STUDIO_PREFIX):
        return None
    if not hmac.compare_digest(signature.encode(), _signature(secret, owner).encode()):
        return None
    return owner


def owner_or_new(token: object, secret: bytes) -> tuple[str, str]:
    """(owner id, token) for a page load: the token's owner when it verifies, else a fresh one."""
    owner = verify_owner(token, secret)
    return (owner, token) if owner is not None else issue_owner(secret)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------------------
# Per-session random ids


class SessionIds:
    """session hash → a random id, in server memory only (a restart forgets them; so does Gradio's sessions).

    Bounded: the least recently used session is forgotten past `limit`, so a flood of new sessions cannot grow
    server memory without end (a forgotten session simply gets a new id, and a new, empty folder or history).
    """

    def __init__(self, prefix: str = "", limit: int = 100_000):
        self.prefix = prefix
        self.limit = limit
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_hash: str) -> str:
        with self._lock:
            if session_hash in self._ids:
                self._ids.move_to_end(session_hash)
                return self._ids[session_hash]
            new = self._ids[session_hash] = self.prefix + secrets.token_urlsafe(_ID_BYTES)
            while len(self._ids) > self.limit:
                self._ids.popitem(last=False)
            return new


# ---------------------------------------------------------------------------------------------------------------
# Owned images

_SCHEMA = """
CREATE TABLE IF NOT EXISTS owned_images (
    owner TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (owner, sha256)
);
"""


class OwnedImages:
    """Which owner generated, uploaded or approved which image (by content hash)."""

    def __init__(self, home: Path | None = None):
        """`home`: the store's REELSMITH_HOME (the records live beside the files they are about)."""
        self.db = Database("owners.sqlite3", _SCHEMA, path=Path(home) / "owners.sqlite3" if home else None)

    def record(self, owner: str, sha256: str, kind: str) -> None:
        """`kind`: "generated", "uploaded" or "approved" (the first one is kept: it says how the owner got it)."""
        with self.db.transaction() as db:
            db.execute("INSERT OR IGNORE INTO owned_images VALUES (?, ?, ?, ?)", (owner, sha256, kind, utc_now()))

    def owns(self, owner: str, sha256: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM owned_images WHERE owner = ? AND sha256 = ?", (owner, sha256)))


def pinned_image(store: Store, owned: OwnedImages, owner: str, sha256: str | None) -> Asset | None:
    """The approved picture a scene uses instead of generating one, while the store still has it.

    Only an image this owner generated, uploaded or approved: a hash alone (from a shared manifest or storyboard)
    never reaches another owner's files. A pin this owner may not use looks exactly like one the store does not
    have (None), so a refusal reveals nothing about what others made.
    """
    if not sha256 or not owned.owns(owner, sha256):
        return None
    path = store.find(sha256)
    if path is None or path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    return Asset(f"pinned:{sha256}", sha256, path, {"pinned": True})
