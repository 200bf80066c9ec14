"""Where every generated asset lives: content-addressed files plus a diskcache index from step key to file.

Layout under the home (REELSMITH_HOME, unless the services say otherwise):
    media/ab/abcdef….png      the files, named by the sha256 of their bytes (written once, never changed)
    index/                    diskcache (JSONDisk: values are JSON, never pickles): step key → Asset record, and
                              media/ab/abcdef….png → the file's record (for `find`, which has no step key)
    work/                     private scratch folders for running steps (removed when a step ends, or by the next
                              process to open the store if the one running the step was killed)

A step key is the sha256 of a canonical JSON of everything that changes a step's output (see `step_key`), so a
step whose key is indexed never runs again, and an edit re-runs exactly the steps whose inputs changed.

A stored file is checked whenever it is reused: a disk error, a full disk, a killed copy or a person's editor can
change bytes that the index would otherwise serve for ever. Each record holds the file's sha256, size and
mtime_ns; a stat that matches is trusted (the common case costs no read), a different size is damage, and a
different mtime (a copy, a `touch`, a byte edited in place) costs one hash. Damaged files are evicted, index
entry and file, so the step that made them runs again and no other key reuses them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diskcache


_CHUNK = 1 << 20

# Held (flock LOCK_EX) by the process running the step for as long as its work folder exists: a folder whose
# lock can be taken belongs to a dead process. A lock rather than a pid, which a reused pid or another container
# sharing REELSMITH_HOME would fool.
WORKDIR_LOCK = ".owner.lock"
# A work folder without a lock was made before folders had one, or its process died between making it and
# locking it (microseconds); after this long nobody is using it.
UNLOCKED_WORKDIR_AGE = 3600.0

_swept: set[Path] = set()  # work/ folders this process has already cleaned (once per process and home)
_swept_lock = threading.Lock()


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

    def to_record(self, root: Path, stat: os.stat_result) -> dict[str, Any]:
        return {"sha256": self.sha256, "path": str(self.path.relative_to(root)), "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns, "meta": self.meta}  # fmt: skip


@dataclass(frozen=True)
class Damaged:
    """A stored file that no longer holds the bytes it was stored with. The store has already evicted it (index
    entry and file), so the step that made it must run again."""

    key: str
    path: Path
    reason: str  # for a person: "1200 bytes where 48000 were stored", "its bytes changed"


@dataclass(frozen=True)
class _Check:
    """What a stat (and, only when the stat disagrees with the record, a hash) says about a stored file."""

    stat: os.stat_result | None  # None: the file is gone
    damage: str | None = None  # why these are not the stored bytes
    rehashed: bool = False  # the bytes were hashed and are the stored ones: the record's stat is refreshed


def _check(path: Path, sha256: str, record: dict[str, Any]) -> _Check:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return _Check(None)
    size = record.get("size")  # absent in records written before files were checked: hash once, then record it
    if size is not None and stat.st_size != size:
        return _Check(stat, f"{stat.st_size} bytes where {size} were stored")
    if size is not None and stat.st_mtime_ns == record.get("mtime_ns"):
        return _Check(stat)
    if file_sha256(path) != sha256:
        return _Check(stat, "its bytes changed")
    return _Check(stat, rehashed=True)


def _file_record(sha256: str, stat: os.stat_result) -> dict[str, Any]:
    return {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class Store:
    def __init__(self, home: Path):
        """The store under `home` (the services' EngineSettings.home: pipeline/services.py builds it)."""
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.media = self.home / "media"
        self.work = self.home / "work"
        for d in (self.media, self.work):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.index = diskcache.Cache(str(self.home / "index"), disk=diskcache.JSONDisk, timeout=30)
        os.chmod(self.home / "index", 0o700)
        self._workdir_locks: dict[Path, int] = {}  # work folder → the fd holding its lock
        with _swept_lock:
            first = self.work.resolve() not in _swept
            _swept.add(self.work.resolve())
        if first:
            remove_abandoned_workdirs(self.work)

    def close(self) -> None:
        self.index.close()

    def lookup(self, key: str) -> Asset | Damaged | None:
        """The stored output for `key`; Damaged (already evicted) when its file's bytes changed; None when there
        is none, or its file was cleaned away."""
        record = self.index.get(key)
        if record is None:
            return None
        path = self.home / record["path"]
        check = _check(path, record["sha256"], record)
        if check.stat is None:  # the file was cleaned away: the step must run again
            self.index.delete(key)
            return None
        if check.damage is not None:
            self._evict(key, path, check.stat)
            return Damaged(key, path, check.damage)
        if check.rehashed:
            self.index.set(key, {**record, "size": check.stat.st_size, "mtime_ns": check.stat.st_mtime_ns})
        return Asset(key, record["sha256"], path, record.get("meta", {}))

    def get(self, key: str) -> Asset | None:
        """The stored output for `key`, or None (absent, or damaged and now evicted: the step must run)."""
        found = self.lookup(key)
        return found if isinstance(found, Asset) else None

    def put(self, key: str, src: Path, meta: dict[str, Any] | None = None) -> Asset:
        """Move `src` into the content-addressed store and index it under `key`."""
        digest = file_sha256(src)
        dest = self.media / digest[:2] / f"{digest}{src.suffix.lower()}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        stat = self._verified(dest, digest)
        if stat is None:  # absent, or damaged bytes under this name: (re)write it
            # Unique per writer: two steps may store identical bytes at the same moment.
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)  # atomic: a crash never leaves a half-written asset under its hash name
            stat = dest.stat()
            self.index.set(self._file_key(dest), _file_record(digest, stat))
        asset = Asset(key, digest, dest, dict(meta or {}))
        self.index.set(key, asset.to_record(self.home, stat))
        return asset

    def find(self, sha256: str) -> Path | None:
        """The stored file with these bytes (any extension), or None (none, or damaged and now evicted)."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            return None
        for path in sorted((self.media / sha256[:2]).glob(f"{sha256}.*")):
            if self._verified(path, sha256) is not None:
                return path
        return None

    def _verified(self, path: Path, sha256: str) -> os.stat_result | None:
        """The stat of the stored file `path` if it holds the bytes named `sha256`; None if absent or damaged
        (then evicted)."""
        file_key = self._file_key(path)
        check = _check(path, sha256, self.index.get(file_key) or {})
        if check.stat is None:
            return None
        if check.damage is not None:
            self._evict(file_key, path, check.stat)
            return None
        if check.rehashed:
            self.index.set(file_key, _file_record(sha256, check.stat))
        return check.stat

    def _file_key(self, path: Path) -> str:
        return str(path.relative_to(self.home))  # "media/ab/…": never a 64-hex step key

    def _evict(self, key: str, path: Path, judged: os.stat_result) -> None:
        self.index.delete(key)
        self.index.delete(self._file_key(path))
        try:
            now = path.stat()
            # Only the file that was judged: another process may have put good bytes under this name since.
            if (now.st_ino, now.st_size, now.st_mtime_ns) == (judged.st_ino, judged.st_size, judged.st_mtime_ns):
                path.unlink()
        except FileNotFoundError:
            pass

    def workdir(self, prefix: str) -> Path:
        """A private scratch folder for one step, locked as this process's until `remove_workdir`."""
        folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.work))
        # Locked under a temporary name, then renamed: a sweeper never sees a lock file that is not yet held.
        unheld = folder / f"{WORKDIR_LOCK}.new"
        fd = os.open(unheld, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks: an unlocked folder is kept for UNLOCKED_WORKDIR_AGE
            os.close(fd)
            unheld.unlink()
            return folder
        os.rename(unheld, folder / WORKDIR_LOCK)
        self._workdir_locks[folder] = fd
        return folder

    def remove_workdir(self, folder: Path) -> None:
        """Remove a step's scratch folder and release its lock."""
        shutil.rmtree(folder, ignore_errors=True)
        fd = self._workdir_locks.pop(folder, None)
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def remove_abandoned_workdirs(work: Path, now: float | None = None) -> list[Path]:
    """Remove the work folders of processes that died mid-step (killed, crashed, power cut); never a live one.

    A folder's lock is held by the live process running its step, so a lock this process can take is a dead
    owner's. Run once per process (the first Store of each REELSMITH_HOME), since the studio and the CLI may share
    the home."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(work))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        try:
            fd = os.open(folder / WORKDIR_LOCK, os.O_RDONLY)
        except FileNotFoundError:
            try:
                unlocked_for = now - entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            if unlocked_for > UNLOCKED_WORKDIR_AGE:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its process is alive (or the file system cannot tell: keep it)
            os.close(fd)
            continue
        shutil.rmtree(folder, ignore_errors=True)  # while holding the lock: no other sweeper takes it meanwhile
        os.close(fd)
        removed.append(folder)
    return removed
