"""Projects: each storyboard and its renders, saved in SQLite under REELSMITH_HOME (projects.sqlite3).

A project belongs to an owner (a browser's private id in the studio, "cli" on the command line): the history
view lists only the owner's projects. Renders point at the content-addressed final video in the store, so a
project reopened later plays and downloads without re-rendering.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
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
        self.path = self.db.path

    def _connect(self) -> sqlite3.Connection:
        return self.db.connect()

    def save(self, owner: str, title: str, storyboard: str, project_id: str | None = None) -> str:
        """Create or update a project's storyboard; returns its id. Another owner's id is never updated."""
        now = utc_now()
        with closing(self._connect()) as db, db:
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
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO renders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (render_id, project_id, utc_now(), status, duration, json.dumps(providers), video, manifest, storyboard),
            )
            db.execute("UPDATE projects SET updated = ? WHERE id = ?", (utc_now(), project_id))

    def history(self, owner: str, limit: int = 100) -> list[ProjectRow]:
        """The owner's projects, newest first, each with its newest finished render (if any)."""
        with closing(self._connect()) as db:
            rows = db.execute(
                """
                SELECT p.id, p.title, p.updated,
                       (SELECT COUNT(*) FROM renders r WHERE r.project_id = p.id) AS renders,
                       r.duration, r.providers, r.video, r.manifest
                FROM projects p
                LEFT JOIN renders r ON r.render_id = (
                    SELECT render_id FROM renders WHERE project_id = p.id AND status = 'done'
                    ORDER BY created DESC LIMIT 1)
                WHERE p.owner = ?
                ORDER BY p.updated DESC LIMIT ?
                """,
                (owner, limit),
            ).fetchall()
        return [
            ProjectRow(r["id"], r["title"], r["updated"], r["renders"], r["duration"],
                       json.loads(r["providers"]) if r["providers"] else {}, r["video"], r["manifest"])  # fmt: skip
            for r in rows
        ]

    def storyboard(self, owner: str, project_id: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT storyboard FROM projects WHERE id = ? AND owner = ?",
                             (project_id, owner)).fetchone()  # fmt: skip
        return row["storyboard"] if row else None

    def get(self, owner: str, project_id: str) -> ProjectRow | None:
        return next((p for p in self.history(owner, limit=10_000) if p.id == project_id), None)

    def renders(self, project_id: str) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM renders WHERE project_id = ? ORDER BY created DESC",
                              (project_id,)).fetchall()  # fmt: skip
        return [dict(r) for r in rows]
