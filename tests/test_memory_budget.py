"""The render's memory is a budget, not luck: a small 1080p render from the command line (narrated scenes,
captions burned in, the music bed on) keeps the peak memory (PSS, shared pages split between the processes
sharing them) of its whole process tree, Python and every ffmpeg it starts, under the bound of issue 17.

Timing goals are not tested here: they live in bench/render.py, which also measures the long 20-scene render.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The memory held at once does not grow with the number of scenes (encoders wait for room in the encoder budget,
# frames stream, the voice model is dropped once the narrations are spoken), so a short 1080p render shows the
# peak. Measured on this render: 558-623 MB before the voice model was released and the caption burn's decoder
# made single-threaded and started only once its encoder has room, 491-514 MB after (the peak: a 1080p x264
# encoder ~210 MB, the burn's decoder ~90-110 MB, Python ~175-200 MB). Issue 17's goal is 400 MB (bench/render.py
# reports it on the 20-scene render); not met yet.
PEAK_PSS_MB = 540.0


def _bench_common():
    spec = importlib.util.spec_from_file_location("bench_common", ROOT / "bench" / "_common.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.full_size
def test_small_1080p_render_stays_under_the_memory_budget(tmp_path):
    board = {
        "title": "memory budget",
        "resolution": "1920x1080",
        "captions": {"burn_in": True},
        "music": {"track": "bundled:calm"},
        "scenes": [
            {"image_prompt": "A lighthouse on a cliff under a starry sky", "video_prompt": "slow push in",
             "audio_script": "For forty years, the keeper kept the light burning.", "duration": 3},
            {"image_prompt": "A desert with dunes under a blazing sun", "video_prompt": "pan right",
             "audio_script": "By noon the dunes had moved again.", "duration": 3},
        ],
    }  # fmt: skip
    sb = tmp_path / "board.json"
    sb.write_text(json.dumps(board))
    out = tmp_path / "out.mp4"
    env = {**os.environ, "REELSMITH_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    wall, peak_mb, code = _bench_common().run_measured(
        [sys.executable, "-m", "pipeline", "render", str(sb), "-o", str(out)], env)
    assert code == 0, "the render failed"
    assert out.stat().st_size > 0
    assert peak_mb <= PEAK_PSS_MB, f"peak PSS of the render's process tree {peak_mb:.0f} MB > {PEAK_PSS_MB:.0f} MB"
