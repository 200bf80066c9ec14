"""Cost of a step-cache hit: `Store.get` on a stored file, N times (the verification on reuse is a stat; the hash
runs only when the file's size or mtime changed).

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=10_000)
    parser.add_argument("--size-mb", type=float, default=8.0, help="size of the stored file (a segment-sized video)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        src.write_bytes(os.urandom(int(args.size_mb * (1 << 20))))
        with Store(Path(tmp) / "home") as store:
            key = step_key("bench", n=1)
            store.put(key, src)
            assert store.get(key) is not None
            started = time.perf_counter()
            for _ in range(args.gets):
                store.get(key)
            per_get = (time.perf_counter() - started) / args.gets
    print(f"Store.get hit: {per_get * 1e6:.1f} µs per get ({args.gets} gets, {args.size_mb:g} MB file)")


if __name__ == "__main__":
    main()
