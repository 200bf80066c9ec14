"""The store: stored files are checked when reused (a stat, a hash only when the stat moved), damaged ones are
evicted, and work folders of killed processes are cleaned without touching a live one's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pipeline.store as store_module
from pipeline.store import UNLOCKED_WORKDIR_AGE, WORKDIR_LOCK, Asset, Damaged, Store, remove_abandoned_workdirs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(isolated_home):
    with Store(isolated_home) as s:
        yield s


@pytest.fixture
def hashes(monkeypatch):
    """Every file the store hashes, in order."""
    seen: list[Path] = []
    real = store_module.file_sha256

    def counting(path: Path) -> str:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(store_module, "file_sha256", counting)
    return seen


def _stored(store: Store, tmp_path: Path, data: bytes = b"picture bytes " * 1000, name: str = "a.png") -> Asset:
    src = tmp_path / name
    src.write_bytes(data)
    return store.put("k" * 64, src, {"frames": 48})


def _bump_mtime(path: Path) -> None:
    """A later mtime, as any write leaves (set explicitly: two writes within one clock tick share an mtime)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_put_records_the_files_size_and_mtime(store, tmp_path):
    asset = _stored(store, tmp_path)
    record = store.index.get(asset.key)
    stat = asset.path.stat()
    assert (record["sha256"], record["size"], record["mtime_ns"]) == (asset.sha256, stat.st_size, stat.st_mtime_ns)


def test_an_untouched_file_is_reused_without_hashing(store, tmp_path, hashes):
    asset = _stored(store, tmp_path)
    hashes.clear()
    for _ in range(20):
        assert store.get(asset.key) == asset
    assert store.find(asset.sha256) == asset.path
    assert hashes == []


def test_a_truncated_file_is_damaged_and_evicted(store, tmp_path, hashes):
    asset = _stored(store, tmp_path)
    size = asset.path.stat().st_size
    with open(asset.path, "r+b") as f:
        f.truncate(size // 3)
    hashes.clear()
    found = store.lookup(asset.key)
    assert found == Damaged(asset.key, asset.path, f"{size // 3} bytes where {size} were stored")
    assert hashes == [], "a size that differs is damage without reading the file"
    assert not asset.path.exists(), "no other key may reuse the damaged bytes"
    assert store.index.get(asset.key) is None
    assert store.lookup(asset.key) is None and store.find(asset.sha256) is None


def test_a_same_size_byte_flip_with_a_new_mtime_is_detected(store, tmp_path):
    asset = _stored(store, tmp_path)
    data = bytearray(asset.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    asset.path.write_bytes(bytes(data))
    _bump_mtime(asset.path)
    assert store.lookup(asset.key) == Damaged(asset.key, asset.path, "its bytes changed")
    assert not asset.path.exists()
    assert store.get(asset.key) is None


def test_a_touched_file_with_its_bytes_intact_is_hashed_once_and_kept(store, tmp_path, hashes):
    asset = _stored(store, tmp_path)
    _bump_mtime(asset.path)
    hashes.clear()
    assert store.get(asset.key) == asset
    assert hashes == [asset.path]
    assert store.index.get(asset.key)["mtime_ns"] == asset.path.stat().st_mtime_ns  # the record follows the file
    assert store.get(asset.key) == asset
    assert hashes == [asset.path], "after the recheck, a stat suffices again"


def test_a_record_from_before_files_were_checked_is_hashed_once_and_upgraded(store, tmp_path, hashes):
    asset = _stored(store, tmp_path)
    legacy = {k: v for k, v in store.index.get(asset.key).items() if k not in ("size", "mtime_ns")}
    store.index.set(asset.key, legacy)
    hashes.clear()
    assert store.get(asset.key) == asset
    assert store.get(asset.key) == asset
    assert hashes == [asset.path]
    assert store.index.get(asset.key)["size"] == asset.path.stat().st_size

    # Damage in a legacy record's file is found by that one hash.
    store.index.set(asset.key, legacy)
    asset.path.write_bytes(b"x" * asset.path.stat().st_size)
    assert isinstance(store.lookup(asset.key), Damaged)


def test_find_reports_a_damaged_file_like_a_missing_one(store, tmp_path):
    asset = _stored(store, tmp_path)
    with open(asset.path, "ab") as f:
        f.write(b"appended")
    assert store.find(asset.sha256) is None
    assert not asset.path.exists()


def test_putting_the_same_bytes_again_replaces_a_damaged_copy(store, tmp_path):
    asset = _stored(store, tmp_path)
    good = asset.path.read_bytes()
    asset.path.write_bytes(good[:10])  # damaged, and no lookup has noticed yet
    again = store.put("j" * 64, tmp_path / "a.png")
    assert again.path == asset.path and again.path.read_bytes() == good
    assert store.get("j" * 64) == again


def test_a_file_missing_from_the_store_is_not_damage(store, tmp_path):
    asset = _stored(store, tmp_path)
    asset.path.unlink()
    assert store.lookup(asset.key) is None


# -- work folders ---------------------------------------------------------------------------------------------

_HOLDER = """
import sys, time
from pathlib import Path
from pipeline.store import Store
folder = Store(Path(sys.argv[1])).workdir("video")
(folder / "clip.mp4").write_bytes(b"half a clip")
print(folder, flush=True)
time.sleep(60)
"""


def _hold_workdir(home: Path) -> tuple[subprocess.Popen, Path]:
    """A process that made a work folder in `home` and is still running its step."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(home)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line, "the holder process failed to make its work folder"
    return proc, Path(line)


def test_a_killed_processs_work_folder_is_removed_at_the_next_start_and_a_live_ones_kept(tmp_path):
    home = tmp_path / "shared-home"  # a home no Store of this process has opened yet
    killed, killed_folder = _hold_workdir(home)
    live, live_folder = _hold_workdir(home)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert killed_folder.exists(), "SIGKILL runs no cleanup"
        Store(home).close()
        assert not killed_folder.exists()
        assert (live_folder / "clip.mp4").exists() and (live_folder / WORKDIR_LOCK).exists()
    finally:
        live.kill()
        live.wait(10)
        for proc in (killed, live):
            proc.stdout.close()


def test_this_processs_own_running_step_folder_is_never_swept(store):
    folder = store.workdir("image")
    assert remove_abandoned_workdirs(store.work) == []
    assert folder.exists()
    store.remove_workdir(folder)
    assert not folder.exists()
    assert store._workdir_locks == {}


def test_an_unlocked_work_folder_is_removed_only_once_it_is_old(store):
    old = store.work / "video-legacy"  # made before work folders had locks
    old.mkdir()
    fresh = store.work / "image-justmade"  # made a moment ago, its lock not yet taken
    fresh.mkdir()
    an_hour_ago = time.time() - UNLOCKED_WORKDIR_AGE - 60
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert remove_abandoned_workdirs(store.work) == [old]
    assert fresh.exists()
