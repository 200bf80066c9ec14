"""The audit log: every generation and every report, appended to REELSMITH_HOME/audit.sqlite3 for the host.

One row per image, clip or narration the runner asked a provider for (cache hits are not generations), with its
outcome (done, failed, cancelled, refused), and one row per "Report this video". Who is recorded only as one-way
hashes: an owner fingerprint, the client address's keyed hash, the prompt's sha256. No key, no address, no prompt.
Rows are never updated or deleted (triggers refuse it). `python -m pipeline audit [--json] [--since WHEN]` reads it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from pipeline.db import Database, utc_now
from pipeline.errors import InputError, Problem
from pipeline.owners import server_secret
from pipeline.settings import reelsmith_home

Kind = Literal["generation", "render", "report"]  # render: a whole render refused by the hourly limit
Outcome = Literal["done", "failed", "cancelled", "refused", "reported"]
GENERATION_STEPS = ("image", "video", "voice")
REASON_CHARS = 300  # a failure's or refusal's reason: enough to act on, never a dump
REPORT_CHARS = 500  # what a person wrote when reporting a video

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    owner TEXT,
    client TEXT,
    render_id TEXT,
    scene INTEGER,
    step TEXT,
    provider TEXT,
    prompt_sha256 TEXT,
    outcome TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def owner_fingerprint(owner: str | None) -> str | None:
    """A short one-way id of a server-decided owner: rows of one owner group together, the id is not in them."""
    if not owner:
        return None
    return "owner-" + hashlib.sha256(b"reelsmith-audit-owner\0" + owner.encode()).hexdigest()[:16]


def prompt_sha256(text: str | None) -> str | None:
    """The sha256 of a request's prompt or narration: a host can match a known text, nobody can read it back."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def client_fingerprint(address: str | None) -> str | None:
    """A one-way keyed hash of a client's network address (HMAC-SHA256 with the server secret), or None."""
    if not address:
        return None
    return "addr-" + hmac.new(_address_key(reelsmith_home()), address.encode(), hashlib.sha256).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _address_key(home: Path) -> bytes:
    """The server secret for one REELSMITH_HOME, read once: every request hashes its address, none re-reads it."""
    return server_secret(home)


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class AuditEntry:
    """One row. `owner` and `client` are already one-way fingerprints; `prompt_sha256` never the prompt."""

    kind: Kind
    outcome: Outcome
    owner: str | None = None
    client: str | None = None
    render_id: str | None = None
    scene: int | None = None
    step: str | None = None
    provider: str | None = None
    prompt_sha256: str | None = None
    reason: str | None = None


class AuditLog:
    def __init__(self, path: Path | None = None):
        self.db = Database("audit.sqlite3", _SCHEMA, path=path)

    def record(self, entry: AuditEntry) -> None:
        limit = REPORT_CHARS if entry.kind == "report" else REASON_CHARS
        row = {**asdict(entry), "reason": _clip(entry.reason, limit)}
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO audit (time, kind, owner, client, render_id, scene, step, provider, prompt_sha256,"
                " outcome, reason) VALUES (:time, :kind, :owner, :client, :render_id, :scene, :step, :provider,"
                " :prompt_sha256, :outcome, :reason)",
                {"time": utc_now(), **row},
            )

    def report(self, render_id: str, reason: str, *, owner: str | None, client: str | None) -> None:
        """Someone reported a video: the render, who reported it (fingerprints) and what they wrote."""
        self.record(AuditEntry("report", "reported", owner_fingerprint(owner), client, render_id,
                               reason=reason.strip() or "(no reason given)"))  # fmt: skip

    def refusal(self, what: Kind, reason: str, *, owner: str | None, client: str | None) -> None:
        """A whole `what` ("render") refused before it started (an hourly limit): who asked, and why not."""
        self.record(AuditEntry(what, "refused", owner_fingerprint(owner), client, reason=reason))

    def rows(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Every row, oldest first; with `since`, those at or after it."""
        if since is None:
            found = self.db.query("SELECT * FROM audit ORDER BY id")
        else:
            stamp = since.astimezone(timezone.utc).isoformat(timespec="seconds")
            found = self.db.query("SELECT * FROM audit WHERE time >= ? ORDER BY id", (stamp,))
        return [dict(r) for r in found]


_SPAN = re.compile(r"(\d+)\s*([smhdw])")
_SPAN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`--since`: an ISO date or time (UTC unless it says otherwise), or a span back from now: 90m, 24h, 7d, 2w."""
    value = text.strip()
    if match := _SPAN.fullmatch(value.lower()):
        amount, unit = match.groups()
        return (now or datetime.now(timezone.utc)) - timedelta(**{_SPAN_UNITS[unit]: int(amount)})
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError([Problem("--since", f"'{value[:40]}' is neither a date/time (2026-12-01, "
                                  "2026-12-01T09:30) nor a span (90m, 24h, 7d)")]) from None  # fmt: skip
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
