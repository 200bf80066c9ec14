"""Offline render speed and memory.

1. A 30 s 720p storyboard (6 scenes × 5 s, every scene narrated), cold cache: wall time / video length
   (goal ≤ 0.3 on two cores).
2. A 20-scene 1080p storyboard, cold cache: peak memory (PSS) of the whole process tree (goal ≤ 600 MB).

Usage: python bench/render.py [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, run_measured  # noqa: E402

PROMPTS = [
    ("A cinematic mountain range at sunset, golden light", "slow push in"),
    ("A cyberpunk street at night with neon signs and rain", "pan right"),
    ("Ocean waves crashing on a rocky beach at dawn", "tilt down"),
    ("A lone traveller walks through a misty pine forest", "slow pan left"),
    ("An old lighthouse on a cliff under a starry sky", "zoom out"),
    ("A desert with dunes under a blazing sun", "fast zoom in"),
]
NARRATIONS = [
    "The light changes slowly here, and nobody is in a hurry to see it go.",
    "In this city the rain never stops. It just changes colour.",
    "Listen. The sea has been saying the same thing for a million years.",
    "He walked for hours, and the forest walked with him.",
    "For forty years, the keeper kept the light burning on the edge of the world.",
    "By noon the dunes had moved again, and the old road was gone.",
]


def storyboard(scenes: int, resolution: str) -> dict:
    return {
        "title": f"bench {scenes} scenes {resolution}",
        "resolution": resolution,
        "scenes": [
            {"image_prompt": f"{PROMPTS[i % 6][0]} (shot {i + 1})", "video_prompt": PROMPTS[i % 6][1],
             "audio_script": f"{NARRATIONS[i % 6]} Shot {i + 1}.", "duration": 5}  # fmt: skip
            for i in range(scenes)
        ],
    }


def render(scenes: int, resolution: str, work: Path) -> tuple[float, float, float]:
    home = work / f"home-{scenes}-{resolution}"
    sb = work / f"sb-{scenes}-{resolution}.json"
    sb.write_text(json.dumps(storyboard(scenes, resolution)))
    out = work / f"out-{scenes}-{resolution}.mp4"
    env = {**os.environ, "REELSMITH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    wall, peak, code = run_measured([sys.executable, "-m", "pipeline", "render", str(sb), "-o", str(out)], env)
    if code != 0:
        raise SystemExit(f"render failed with exit code {code}")
    manifest = json.loads(out.with_name(out.stem + ".manifest.json").read_text())
    return wall, peak, manifest["output"]["duration"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wall, peak, length = render(6, "1280x720", work)
        print(f"render 6 scenes 720p: {length:.2f} s of video in {wall:.2f} s wall -> ratio {wall / length:.3f} "
              f"(goal <= 0.3); peak memory (PSS) {peak:.0f} MB")  # fmt: skip
        if not args.skip_memory:
            wall, peak, length = render(20, "1920x1080", work)
            print(f"render 20 scenes 1080p: {length:.2f} s of video in {wall:.2f} s wall -> ratio "
                  f"{wall / length:.3f}; peak memory (PSS) of the process tree {peak:.0f} MB (goal <= 600 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
