"""The SQLite files under REELSMITH_HOME (projects, ledger, journal): one way to open, write and read them."""

from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from pipeline.settings import reelsmith_home


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Database:
    """A small SQLite file: WAL so readers never block the render; `durable` commits fsync (money, paid tasks)."""

    def __init__(self, name: str, schema: str, *, durable: bool = False, path: Path | None = None):
        self.path = Path(path) if path else reelsmith_home() / name
        self.durable = durable
        with self.transaction() as db:
            db.execute("PRAGMA journal_mode = WAL")  # a property of the file: set once, kept by every connection
            db.executescript(schema)

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        # FULL: the commit is on disk when it returns, so a SIGKILL right after never loses a task id or a charge.
        db.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection whose writes commit together when the block ends (and roll back if it raises)."""
        with closing(self.connect()) as db, db:
            yield db

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with closing(self.connect()) as db:
            return db.execute(sql, params).fetchall()
