"""Cost of a step-cache hit: `Store.get` (and `Store.find`, used for pins) on a stored file, N times. Verifying a
file on reuse is a stat; the hash runs only when the file's size or mtime changed, which is timed once too.

Reports CPU µs per call (the process's own time: steadier than wall time on a shared machine) and wall µs.

Usage: python bench/store_get.py [--gets N] [--size-mb M]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (puts the repo on sys.path)

from pipeline.store import Store, step_key  # noqa: E402


def _per_call(fn, n: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=10_000)
    parser.add_argument("--size-mb", type=float, default=8.0, help="size of the stored file (a segment-sized video)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        src.write_bytes(os.urandom(int(args.size_mb * (1 << 20))))
        with Store(Path(tmp) / "home") as store:
            asset = store.put(step_key("bench", n=1), src)
            assert store.get(asset.key) == asset
            get_cpu, get_wall = _per_call(lambda: store.get(asset.key), args.gets)
            find_cpu, find_wall = _per_call(lambda: store.find(asset.sha256), args.gets // 10)
            stat = asset.path.stat()
            os.utime(asset.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # bytes intact
            recheck_cpu, recheck_wall = _per_call(lambda: store.get(asset.key), 1)
    print(f"Store.get hit:  {get_cpu:.1f} µs CPU, {get_wall:.1f} µs wall per get ({args.gets} gets, "
          f"{args.size_mb:g} MB file)")  # fmt: skip
    print(f"Store.find hit: {find_cpu:.1f} µs CPU, {find_wall:.1f} µs wall per find ({args.gets // 10} finds)")
    print(f"Store.get after the mtime moved (one hash): {recheck_cpu / 1000:.1f} ms CPU, "
          f"{recheck_wall / 1000:.1f} ms wall")  # fmt: skip


if __name__ == "__main__":
    main()
