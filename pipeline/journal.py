"""The remote-job journal: a paid task's id is on disk before we wait on it, so nothing is ever paid twice.

Keyed by the step's cache key: `submitting(key, provider)` → submit → `submitted(key, provider, task id)`
(fsync'd) → poll → download → store by content hash → index the key → `ended(key, "stored")`. A render restarted
after a crash, a kill, a server restart or a page refresh finds the pending task under the same key and re-attaches
to it instead of submitting again.

The one window no journal can close: a process killed after the provider accepted a submission and before its
answer (the task id) arrived. Neither Runway nor BFL takes an idempotency key or lists tasks, so that task cannot
be found again. The `submitting` row makes the window visible: the next run finds it (`interrupted`) and says the
step may be paid twice, instead of paying twice in silence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.db import Database, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    step_key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    task_id TEXT NOT NULL,
    extra TEXT NOT NULL,
    state TEXT NOT NULL,
    submitted TEXT NOT NULL,
    updated TEXT NOT NULL
);
"""


class Journal:
    def __init__(self, path: Path | None = None):
        self.db = Database("journal.sqlite3", _SCHEMA, durable=True, path=path)

    def submitting(self, step_key: str, provider: str) -> None:
        with self.db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, '', '{}', 'submitting', ?, ?)",
                       (step_key, provider, utc_now(), utc_now()))  # fmt: skip

    def submitted(self, step_key: str, provider: str, task_id: str, **extra: Any) -> None:
        with self.db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                       (step_key, provider, task_id, json.dumps(extra), utc_now(), utc_now()))  # fmt: skip

    def _row(self, step_key: str, state: str) -> Any:
        rows = self.db.query("SELECT * FROM tasks WHERE step_key = ? AND state = ?", (step_key, state))
        return rows[0] if rows else None

    def interrupted(self, step_key: str) -> dict[str, Any] | None:
        """A submission an earlier run started and never heard back from: {"provider", "since"}."""
        row = self._row(step_key, "submitting")
        return None if row is None else {"provider": row["provider"], "since": row["submitted"]}

    def pending(self, step_key: str) -> dict[str, Any] | None:
        row = self._row(step_key, "pending")
        return None if row is None else {"id": row["task_id"], "provider": row["provider"], **json.loads(row["extra"])}

    def ended(self, step_key: str, state: str) -> None:
        with self.db.transaction() as db:
            db.execute("UPDATE tasks SET state = ?, updated = ? WHERE step_key = ?", (state, utc_now(), step_key))

    def all(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query("SELECT * FROM tasks ORDER BY submitted")]
