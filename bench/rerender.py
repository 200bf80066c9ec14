"""Re-rendering: an unchanged 6-scene storyboard, then a one-scene edit, on the paid providers' local fakes.

    python bench/rerender.py

Starts wire-level fakes of BFL, Runway and ElevenLabs on 127.0.0.1, renders once cold (not timed for the goal),
then measures: the unchanged re-render (goal <= 2 s and 0 provider calls) and an edit of scene 4's narration
(only that scene's voice should be requested). Prints times, provider calls and the steps that ran.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.wire.bfl import FakeBfl  # noqa: E402
from tests.wire.elevenlabs import FakeElevenLabs  # noqa: E402
from tests.wire.runway import FakeRunway  # noqa: E402

GOAL = 2.0
KEYS = {"BFL_API_KEY": "bench-bfl", "RUNWAYML_API_SECRET": "bench-runway", "ELEVENLABS_API_KEY": "bench-eleven"}
BOARD = """
title: Re-render bench
resolution: 1280x720
image: {provider: bfl}
video: {provider: runway, require_approval: false}
voice: {provider: elevenlabs}
scenes:
""" + "".join(f"  - {{image_prompt: 'Coastal village, view {i}', video_prompt: slow pan right, duration: 5, "
              f"audio_script: 'This is scene {i} of the village tour.'}}\n" for i in range(1, 7))  # fmt: skip


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="reelsmith-rerender-"))
    fakes = {"bfl": FakeBfl(KEYS["BFL_API_KEY"]).start(), "runway": FakeRunway(KEYS["RUNWAYML_API_SECRET"]).start(),
             "elevenlabs": FakeElevenLabs(KEYS["ELEVENLABS_API_KEY"]).start()}  # fmt: skip
    os.environ.update(KEYS, REELSMITH_HOME=str(home), REELSMITH_POLL_INTERVAL="0.02", BFL_API_URL=fakes["bfl"].url,
                      RUNWAYML_BASE_URL=fakes["runway"].url, ELEVENLABS_BASE_URL=fakes["elevenlabs"].url)  # fmt: skip
    from pipeline.runner import render
    from pipeline.storyboard import parse_storyboard

    def run(text: str, name: str) -> None:
        before = {n: len(f.requests) for n, f in fakes.items()}
        t0 = time.perf_counter()
        result = render(parse_storyboard(text), home / f"{name}.mp4")
        seconds = time.perf_counter() - t0
        calls = {n: len(f.requests) - before[n] for n, f in fakes.items()}
        print(f"{name:<10} {seconds:6.2f} s  provider requests {calls}  steps run {result.executed}  "
              f"spent ${result.spent:.4f}")  # fmt: skip
        return seconds, calls

    try:
        run(BOARD, "cold")
        seconds, calls = run(BOARD, "unchanged")
        print(f"unchanged re-render: {seconds:.2f} s (goal {GOAL} s, ratio {seconds / GOAL:.2f}), "
              f"{sum(calls.values())} provider calls (goal 0)")  # fmt: skip
        board = home / "board.yaml"
        board.write_text(BOARD)
        import subprocess

        before = sum(len(f.requests) for f in fakes.values())
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "render", str(board), "-o", str(home / "cli.mp4")],
                       cwd=ROOT, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        cli = time.perf_counter() - t0
        print(f"unchanged re-render through the CLI (process start included): {cli:.2f} s (ratio to goal "
              f"{cli / GOAL:.2f}), {sum(len(f.requests) for f in fakes.values()) - before} provider calls")  # fmt: skip
        edited = BOARD.replace("This is scene 4 of the village tour.", "Scene four: the harbour wall at noon.")
        run(edited, "edited")
    finally:
        for fake in fakes.values():
            fake.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
