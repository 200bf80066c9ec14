"""The ledger: every paid call, recorded in REELSMITH_HOME/ledger.sqlite3 (never a key: only its fingerprint).

`python -m pipeline ledger` summarises spend by day, provider and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.db import Database, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    render_id TEXT NOT NULL,
    scene INTEGER,
    step TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT,
    units REAL NOT NULL,
    unit TEXT NOT NULL,
    usd REAL NOT NULL,
    task_id TEXT,
    key_fingerprint TEXT,
    step_key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_render ON spend (render_id);
"""


@dataclass(frozen=True)
class Spend:
    render_id: str
    scene: int | None
    step: str
    provider: str
    model: str | None
    units: float
    unit: str
    usd: float
    task_id: str | None
    key_fingerprint: str | None
    step_key: str


class Ledger:
    def __init__(self, path: Path | None = None):
        self.db = Database("ledger.sqlite3", _SCHEMA, durable=True, path=path)

    def record(self, spend: Spend) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO spend (time, render_id, scene, step, provider, model, units, unit, usd, task_id,"
                " key_fingerprint, step_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_now(), spend.render_id, spend.scene, spend.step,
                 spend.provider, spend.model, spend.units, spend.unit, spend.usd, spend.task_id,
                 spend.key_fingerprint, spend.step_key),
            )  # fmt: skip

    def rows(self, render_id: str | None = None) -> list[dict[str, Any]]:
        if render_id:
            rows = self.db.query("SELECT * FROM spend WHERE render_id = ? ORDER BY id", (render_id,))
        else:
            rows = self.db.query("SELECT * FROM spend ORDER BY id")
        return [dict(r) for r in rows]

    def total(self, render_id: str | None = None) -> float:
        return round(sum(r["usd"] for r in self.rows(render_id)), 6)

    def summary(self) -> dict[str, dict[str, float]]:
        """Spend by day, by provider and by render."""
        out: dict[str, dict[str, float]] = {"day": {}, "provider": {}, "render": {}}
        for r in self.rows():
            for group, key in (("day", r["time"][:10]), ("provider", r["provider"]), ("render", r["render_id"])):
                out[group][key] = round(out[group].get(key, 0.0) + r["usd"], 6)
        return out
