"""Projects: each storyboard and its renders, saved in SQLite under REELSMITH_HOME (projects.sqlite3).

A project belongs to an owner, always decided by the server (pipeline.owners): a studio browser's server-signed
"web-…" id, an API session's random "api-…" id, "cli" on the command line. The history view lists only the
owner's projects, and no studio session can be the owner "cli". Renders point at the content-addressed final video in the store, so a
project reopened later plays and downloads without re-rendering.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.db import Database, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    storyboard TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_owner ON projects (owner, updated);
CREATE TABLE IF NOT EXISTS renders (
    render_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    duration REAL,
    providers TEXT NOT NULL,
    video TEXT,
    manifest TEXT,
    storyboard TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS renders_project ON renders (project_id, created);
"""


@dataclass(frozen=True)
class ProjectRow:
    """One line of the history view: a project and its newest render."""

    id: str
    title: str
    updated: str
    renders: int
    duration: float | None
    providers: dict[str, str]
    video: str | None
    manifest: str | None


class Projects:
    def __init__(self, path: Path | None = None):
        self.db = Database("projects.sqlite3", _SCHEMA, durable=False, path=path)

    def save(self, owner: str, title: str, storyboard: str, project_id: str | None = None) -> str:
        """Create or update a project's storyboard; returns its id. Another owner's id is never updated."""
        now = utc_now()
        with self.db.transaction() as db:
            if project_id:
                cur = db.execute(
                    "UPDATE projects SET title = ?, storyboard = ?, updated = ? WHERE id = ? AND owner = ?",
                    (title, storyboard, now, project_id, owner),
                )
                if cur.rowcount:
                    return project_id
            project_id = uuid.uuid4().hex[:12]
            db.execute("INSERT INTO projects VALUES (?, ?, ?, ?, ?, ?)",
                       (project_id, owner, title, storyboard, now, now))  # fmt: skip
            return project_id

    def record_render(
        self,
        project_id: str,
        render_id: str,
        *,
        status: str,
        storyboard: str,
        providers: dict[str, str],
        duration: float | None = None,
        video: str | None = None,
        manifest: str | None = None,
    ) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO renders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (render_id, project_id, utc_now(), status, duration, json.dumps(providers), video, manifest, storyboard),
            )
            db.execute("UPDATE projects SET updated = ? WHERE id = ?", (utc_now(), project_id))

    def _rows(self, where: str, params: tuple[Any, ...], limit: int) -> list[ProjectRow]:
        """The owner's projects matching `where`, newest first, each with its newest finished render (if any)."""
        rows = self.db.query(
            f"""
            SELECT p.id, p.title, p.updated,
                   (SELECT COUNT(*) FROM renders r WHERE r.project_id = p.id) AS renders,
                   r.duration, r.providers, r.video, r.manifest
            FROM projects p
            LEFT JOIN renders r ON r.render_id = (
                SELECT render_id FROM renders WHERE project_id = p.id AND status = 'done'
                ORDER BY created DESC LIMIT 1)
            WHERE {where}
            ORDER BY p.updated DESC LIMIT ?
            """,
            (*params, limit),
        )
        return [
            ProjectRow(r["id"], r["title"], r["updated"], r["renders"], r["duration"],
                       json.loads(r["providers"]) if r["providers"] else {}, r["video"], r["manifest"])  # fmt: skip
            for r in rows
        ]

    def history(self, owner: str, limit: int = 100) -> list[ProjectRow]:
        """The owner's projects, newest first, each with its newest finished render (if any)."""
        return self._rows("p.owner = ?", (owner,), limit)

    def get(self, owner: str, project_id: str) -> ProjectRow | None:
        return next(iter(self._rows("p.owner = ? AND p.id = ?", (owner, project_id), 1)), None)

    def find(self, owner: str, title: str) -> ProjectRow | None:
        """The owner's newest project with this title."""
        return next(iter(self._rows("p.owner = ? AND p.title = ?", (owner, title), 1)), None)

    def storyboard(self, owner: str, project_id: str) -> str | None:
        rows = self.db.query("SELECT storyboard FROM projects WHERE id = ? AND owner = ?", (project_id, owner))
        return rows[0]["storyboard"] if rows else None

    def renders(self, project_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM renders WHERE project_id = ? ORDER BY created DESC", (project_id,))
        return [dict(r) for r in rows]
