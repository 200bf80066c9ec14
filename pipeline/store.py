"""Where every generated asset lives: content-addressed files plus a diskcache index from step key to file.

Layout under REELSMITH_HOME:
    media/ab/abcdef….png      the files, named by the sha256 of their bytes (written once, never changed)
    index/                    diskcache (JSONDisk: values are JSON, never pickles) step key → Asset record
    work/                     private scratch folders for running steps (removed when a step ends)

A step key is the sha256 of a canonical JSON of everything that changes a step's output (see `step_key`), so a
step whose key is indexed never runs again, and an edit re-runs exactly the steps whose inputs changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diskcache

from pipeline.settings import reelsmith_home

_CHUNK = 1 << 20


def step_key(kind: str, **material: Any) -> str:
    """sha256 of a canonical JSON of a step's kind and every input that changes its output (never a secret)."""
    blob = json.dumps({"kind": kind, **material}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Asset:
    """A stored step output."""

    key: str
    sha256: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def to_record(self, root: Path) -> dict[str, Any]:
        return {"sha256": self.sha256, "path": str(self.path.relative_to(root)), "meta": self.meta}


class Store:
    def __init__(self, home: Path | None = None):
        self.home = Path(home) if home else reelsmith_home()
        self.media = self.home / "media"
        self.work = self.home / "work"
        for d in (self.media, self.work):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.index = diskcache.Cache(str(self.home / "index"), disk=diskcache.JSONDisk, timeout=30)
        os.chmod(self.home / "index", 0o700)

    def close(self) -> None:
        self.index.close()

    def get(self, key: str) -> Asset | None:
        record = self.index.get(key)
        if record is None:
            return None
        path = self.home / record["path"]
        if not path.exists():  # the file was cleaned away: the step must run again
            self.index.delete(key)
            return None
        return Asset(key, record["sha256"], path, record.get("meta", {}))

    def put(self, key: str, src: Path, meta: dict[str, Any] | None = None) -> Asset:
        """Move `src` into the content-addressed store and index it under `key`."""
        digest = file_sha256(src)
        dest = self.media / digest[:2] / f"{digest}{src.suffix.lower()}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            # Unique per writer: two steps may store identical bytes at the same moment.
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)  # atomic: a crash never leaves a half-written asset under its hash name
        asset = Asset(key, digest, dest, dict(meta or {}))
        self.index.set(key, asset.to_record(self.home))
        return asset

    def find(self, sha256: str) -> Path | None:
        """The stored file with these bytes (any extension), or None."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            return None
        return next(iter(sorted((self.media / sha256[:2]).glob(f"{sha256}.*"))), None)

    def workdir(self, prefix: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.work))

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

