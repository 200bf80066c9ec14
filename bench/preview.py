"""Preview speed: `render --preview` against the full offline render of the same storyboard, both cold cache.

    python bench/preview.py [--runs 3] [--examples short-story mountain-sunset]

Issue 13: the preview finishes in at most half the time of the full offline render. For each bundled example
(assets/examples/), each run renders the preview and the full video in turn (preview first, then full, so a drift
in the machine's speed hits both), each in a fresh REELSMITH_HOME (nothing cached, nothing shared between them),
as the command line does. Prints per example the median wall seconds and CPU seconds (the process and its
ffmpeg children) of each, and preview/full for both; goal: wall ratio <= 0.5. On a shared machine quote the
ratios (pairs run back to back), not the absolute times.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, run_measured  # noqa: E402

EXAMPLES = ROOT / "assets" / "examples"
GOAL = 0.5


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def render(example: Path, work: Path, preview: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one cold-cache render of `example`."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    out = home / "out.mp4"
    env = {**os.environ, "REELSMITH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pipeline", "render", str(example), "-o", str(out), *(["--preview"] if preview else [])]
    cpu = _children_cpu()
    wall, _, code = run_measured(cmd, env)
    if code != 0:
        raise SystemExit(f"{'preview' if preview else 'full'} render of {example.name} failed ({code})")
    return wall, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--examples", nargs="*", help="example names (default: every bundled example)")
    args = parser.parse_args()
    names = args.examples or sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            example = EXAMPLES / f"{name}.yaml"
            pairs = [(render(example, Path(tmp), True), render(example, Path(tmp), False)) for _ in range(args.runs)]
            wall = statistics.median(p[0] / f[0] for p, f in pairs)
            cpu = statistics.median(p[1] / f[1] for p, f in pairs)
            ratios.append(wall)
            print(f"{name}: preview {statistics.median(p[0] for p, _ in pairs):.2f} s wall "
                  f"({statistics.median(p[1] for p, _ in pairs):.2f} s CPU), full "
                  f"{statistics.median(f[0] for _, f in pairs):.2f} s wall "
                  f"({statistics.median(f[1] for _, f in pairs):.2f} s CPU); preview/full: wall {wall:.3f}, "
                  f"CPU {cpu:.3f} (median of {args.runs} pairs)")  # fmt: skip
    worst = max(ratios)
    print(f"worst example preview/full wall {worst:.3f}; goal <= {GOAL} ({'met' if worst <= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
