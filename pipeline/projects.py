"""Projects: each storyboard and its renders, saved in SQLite under REELSMITH_HOME (projects.sqlite3).

A project belongs to an owner, always decided by the server (pipeline.owners): a studio browser's server-signed
"web-…" id, an API session's random "api-…" id, "cli" on the command line. The history view lists only the
owner's projects, and no studio session can be the owner "cli". Renders point at the content-addressed final video in the store, so a
project reopened later plays and downloads without re-rendering.

Every render is recorded by the engine itself, through the `ProjectRecorder` its caller hands it, by one rule for
the CLI, the studio and the API:
- which project: the caller's open project (`project_id`) while the storyboard keeps that project's title; else,
  for a storyboard read from a file (`source`), the owner's newest project of that file's title; else a new one.
  A file's project is titled "<title> (<file name>)", so two files with the same title stay two projects.
- when: the project (its storyboard text) is saved as the render starts, and one render row is added when it
  ends: "done" (duration, providers, the final video in the store, the manifest), "failed" (a pre-flight problem,
  the budget, a provider or media error) or "stopped" (a person's Stop, Ctrl-C, a page that went away). A stopped
  render records no video: its finished steps are in the cache, not in a final file. The history lists a
  project's newest "done" render and counts every render.
- what it cost: each render row keeps what it paid providers (a failed or stopped render may have paid for steps
  before it ended); the history shows a project's total.
- a thumbnail of a finished render's video, cut as it is recorded (pipeline/thumbnails.py), under its owner's own
  folder; the history cuts one for a finished render that has none.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from pipeline.db import Database, utc_now
from pipeline.errors import Cancelled
from pipeline.thumbnails import cut_thumbnail, thumbnail_path

if TYPE_CHECKING:
    from pipeline.result import RenderResult
    from pipeline.storyboard import Storyboard

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
    storyboard TEXT NOT NULL,
    spent REAL NOT NULL DEFAULT 0,
    thumbnail TEXT
);
CREATE INDEX IF NOT EXISTS renders_project ON renders (project_id, created);
"""
# Columns added since the first release, for files made before them (ALTER TABLE keeps every existing row).
_ADDED_COLUMNS = {"spent": "REAL NOT NULL DEFAULT 0", "thumbnail": "TEXT"}


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
    spent: float = 0.0  # USD paid for every render of the project (failed and stopped ones too)
    render_id: str | None = None  # the newest finished render's id
    thumbnail: str | None = None  # its thumbnail's file (see Projects.thumbnail)


@dataclass(frozen=True)
class ReopenedProject:
    id: str
    storyboard: str
    video: str | None  # the newest finished render's video, when the file is still there
    manifest: str | None


def _existing(path: str | None) -> str | None:
    return path if path and Path(path).exists() else None


class Projects:
    def __init__(self, path: Path | None = None):
        self.db = Database("projects.sqlite3", _SCHEMA, durable=False, path=path)
        self.home = self.db.path.parent  # thumbnails live beside the file (pipeline/thumbnails.py)
        with self.db.transaction() as db:
            have = {row["name"] for row in db.execute("PRAGMA table_info(renders)")}
            for name, declaration in _ADDED_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE renders ADD COLUMN {name} {declaration}")

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
        spent: float = 0.0,
        thumbnail: str | None = None,
    ) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO renders (render_id, project_id, created, status, duration, providers, video,"
                " manifest, storyboard, spent, thumbnail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (render_id, project_id, utc_now(), status, duration, json.dumps(providers), video, manifest, storyboard,
                 round(spent or 0.0, 6), thumbnail),
            )
            db.execute("UPDATE projects SET updated = ? WHERE id = ?", (utc_now(), project_id))

    def _rows(self, where: str, params: tuple[Any, ...], limit: int) -> list[ProjectRow]:
        """The owner's projects matching `where`, newest first, each with its newest finished render (if any)."""
        rows = self.db.query(
            f"""
            SELECT p.id, p.title, p.updated,
                   (SELECT COUNT(*) FROM renders r WHERE r.project_id = p.id) AS renders,
                   (SELECT COALESCE(SUM(spent), 0) FROM renders r WHERE r.project_id = p.id) AS spent,
                   r.duration, r.providers, r.video, r.manifest, r.render_id, r.thumbnail
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
                       json.loads(r["providers"]) if r["providers"] else {}, r["video"], r["manifest"],
                       r["spent"], r["render_id"], r["thumbnail"])  # fmt: skip
            for r in rows
        ]

    def history(self, owner: str, limit: int = 100) -> list[ProjectRow]:
        """The owner's projects, newest first, each with its newest finished render (if any)."""
        return self._rows("p.owner = ?", (owner,), limit)

    def thumbnail(self, owner: str, row: ProjectRow) -> str | None:
        """The thumbnail of `row` (one of `owner`'s history rows): its file, cut now (and remembered) when its
        finished render has none yet; None while the project has no video. Only `owner`'s folder is written."""
        if row.thumbnail and Path(row.thumbnail).exists():
            return row.thumbnail
        if not row.render_id or not _existing(row.video):
            return None
        cut = cut_thumbnail(Path(str(row.video)), thumbnail_path(self.home, owner, row.render_id), row.duration)
        if cut is not None:
            with self.db.transaction() as db:
                db.execute("UPDATE renders SET thumbnail = ? WHERE render_id = ? AND project_id IN "
                           "(SELECT id FROM projects WHERE owner = ?)", (str(cut), row.render_id, owner))  # fmt: skip
        return str(cut) if cut else None

    def get(self, owner: str, project_id: str) -> ProjectRow | None:
        return next(iter(self._rows("p.owner = ? AND p.id = ?", (owner, project_id), 1)), None)

    def find(self, owner: str, title: str) -> ProjectRow | None:
        """The owner's newest project with this title."""
        return next(iter(self._rows("p.owner = ? AND p.title = ?", (owner, title), 1)), None)

    def reopen(self, owner: str, project_id: str) -> "ReopenedProject | None":
        """The owner's project to continue: its storyboard, and its newest video and manifest while their files
        still exist (None: no such project of this owner's)."""
        text = self.storyboard(owner, project_id)
        if text is None:
            return None
        row = self.get(owner, project_id)
        video, manifest = (row.video, row.manifest) if row else (None, None)
        return ReopenedProject(project_id, text, _existing(video), _existing(manifest))

    def storyboard(self, owner: str, project_id: str) -> str | None:
        rows = self.db.query("SELECT storyboard FROM projects WHERE id = ? AND owner = ?", (project_id, owner))
        return rows[0]["storyboard"] if rows else None

    def renders(self, project_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM renders WHERE project_id = ? ORDER BY created DESC", (project_id,))
        return [dict(r) for r in rows]


@dataclass
class RenderOutcome:
    """What `ProjectRecorder.recording` hands the render: it sets `result` once the render has finished."""

    result: "RenderResult | None" = None


class ProjectRecorder:
    """Records one render in its project (see the module docstring for the rule), handed to the engine by its
    caller: `iter_render(..., project=ProjectRecorder(text, source=path))`. `project_id` is set once the render
    has started (the studio keeps it as the open project)."""

    def __init__(self, storyboard_text: str, *, project_id: str | None = None, source: Path | None = None,
                 projects: Projects | None = None):  # fmt: skip
        self.storyboard_text = storyboard_text  # as the person wrote it: what reopening the project shows
        self.open_project = project_id or None  # the caller's open project, continued while its title holds
        self.source = source  # the file the storyboard was read from (the CLI), naming and finding its project
        self.projects = projects
        self.project_id: str | None = None
        self.owner: str | None = None

    def title(self, storyboard: "Storyboard") -> str:
        return f"{storyboard.title} ({self.source.name})" if self.source is not None else storyboard.title

    def start(self, owner: str, storyboard: "Storyboard") -> str:
        """Save the project as the render starts; its id (also in `project_id`)."""
        if self.projects is None:
            self.projects = Projects()
        title = self.title(storyboard)
        self.owner = owner
        self.project_id = self.projects.save(owner, title, self.storyboard_text, self._continued(owner, title))
        return self.project_id

    def _continued(self, owner: str, title: str) -> str | None:
        assert self.projects is not None
        if self.open_project:
            current = self.projects.get(owner, self.open_project)
            if current is not None and current.title == title:
                return current.id
        if self.source is not None:
            existing = self.projects.find(owner, title)
            return existing.id if existing else None
        return None

    def finish(self, render_id: str, storyboard: "Storyboard", status: str, result: "RenderResult | None" = None,
               spent: float = 0.0) -> None:  # fmt: skip
        """Add the render's row: done (with its video, manifest and thumbnail), failed or stopped; `spent`: what
        it paid providers (a finished render's own figure wins)."""
        assert self.projects is not None and self.project_id is not None, "started first"
        done = result if status == "done" else None
        video = done.final.path if done is not None and done.final is not None else None
        thumbnail = None
        if video is not None and self.owner is not None:
            thumbnail = cut_thumbnail(Path(video), thumbnail_path(self.projects.home, self.owner, render_id),
                                      done.duration if done else None)  # fmt: skip
        self.projects.record_render(self.project_id, render_id, status=status, storyboard=self.storyboard_text,
                                    providers=storyboard.providers, duration=done.duration if done else None,
                                    video=str(video) if video else None,
                                    manifest=str(Path(done.manifest).resolve()) if done else None,
                                    spent=done.spent if done else spent,
                                    thumbnail=str(thumbnail) if thumbnail else None)  # fmt: skip

    @contextmanager
    def recording(self, render_id: str, owner: str, storyboard: "Storyboard",
                  spent: Callable[[], float] | None = None) -> Iterator[RenderOutcome]:  # fmt: skip
        """Around a whole render: the project at the start, the outcome at the end (the error still raises).
        `spent()`: what the render has paid so far, asked when it ends."""
        self.start(owner, storyboard)
        outcome = RenderOutcome()
        paid = spent or (lambda: 0.0)
        try:
            yield outcome
        except (Cancelled, asyncio.CancelledError, KeyboardInterrupt):
            self.finish(render_id, storyboard, "stopped", spent=paid())
            raise
        except BaseException:
            self.finish(render_id, storyboard, "failed", spent=paid())
            raise
        self.finish(render_id, storyboard, "done" if outcome.result is not None else "failed", outcome.result,
                    spent=paid())  # fmt: skip
