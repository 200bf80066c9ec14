"""Ten sessions' paid renders at once against the wire-level Runway fake: they run side by side, so ten take about
as long as one (issue 12: "10 concurrent sessions against fakes with 30 s tasks finish in under 1.5× one
render's time"), instead of queueing one at a time behind each other's provider wait."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.studio import ROOT, pipeline_env, running_studio
from tests.wire.runway import CREATE, FakeRunway

KEY = "canary-concurrency-runway-5e1d"
SESSIONS = 10
POLL = 0.5  # seconds between polls of a Runway task
TASK_SECONDS = 30  # each Runway task stays RUNNING this long: the figure
# A drawn (offline) picture, Runway's clip, no narration: the provider's wait dominates each render.
BOARD = """
title: Side by side {n}
resolution: 1280x720
image: {{provider: draft}}
video: {{provider: runway, require_approval: false}}
voice: {{provider: piper}}
scenes:
  - {{image_prompt: A lighthouse on a cliff at night, video_prompt: slow push in {n}, duration: 2}}
"""


@pytest.fixture
def runway():
    server = FakeRunway(KEY, default_plan=("PENDING",) + ("RUNNING",) * round(TASK_SECONDS / POLL) + ("SUCCEEDED",))
    server.start()
    yield server
    server.stop()


def _render(client, n: str) -> float:
    """One render from submit to its last update; seconds."""
    started = time.monotonic()
    job = client.submit(BOARD.format(n=n), "draft", "runway", "piper", 5.0, api_name="/render")
    final = job.result()[4]
    assert final, f"render {n} made no video"
    return time.monotonic() - started


@pytest.mark.slow
def test_renders_and_scene_steps_of_all_sessions_share_one_pool_sized_by_the_setting(tmp_path):
    code = ("import json, app; print(json.dumps({f.api_name: [f.concurrency_limit, f.concurrency_id] "
            "for f in app.demo.fns.values()}))")  # fmt: skip
    built = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                           env=pipeline_env(tmp_path / "home", REELSMITH_CONCURRENT_RENDERS="7"))  # fmt: skip
    assert built.returncode == 0, built.stderr
    events = json.loads(built.stdout.strip().splitlines()[-1])
    pools = {events[name][1] for name in ("render", "generate_image", "generate_video", "generate_voice")}
    assert len(pools) == 1, "a render and a scene step count against the same pool"
    assert all(events[name][0] == 7 for name in ("render", "generate_image", "generate_video", "generate_voice"))


@pytest.mark.slow
def test_ten_sessions_paid_renders_run_at_once(runway, tmp_path):
    from gradio_client import Client

    env = {"RUNWAYML_BASE_URL": runway.url, "RUNWAYML_API_SECRET": KEY, "REELSMITH_POLL_INTERVAL": str(POLL)}
    with running_studio(tmp_path / "home", env=env) as url:
        # Results stay on the server (no download into this process, which also serves the Runway fake's polls).
        clients = [Client(url, verbose=False, download_files=False) for _ in range(SESSIONS)]
        # The picture is drawn once beforehand (every render below reuses it), so each render is: Runway's wait,
        # then fitting the clip into a segment and joining.
        clients[0].predict(BOARD.format(n="solo"), 1, False, api_name="/generate_image")
        one = _render(clients[0], "solo")

        started = time.monotonic()
        with ThreadPoolExecutor(SESSIONS) as pool:
            list(pool.map(_render, clients, [f"session {i}" for i in range(SESSIONS)]))
        ten = time.monotonic() - started

    assert runway.count("POST", CREATE) == 1 + SESSIONS
    ratio = ten / one
    print(f"\none render {one:.1f} s; {SESSIONS} sessions at once {ten:.1f} s; ratio {ratio:.2f}")
    assert ratio < 1.5, f"{SESSIONS} sessions took {ratio:.2f}× one render's time ({ten:.1f} s vs {one:.1f} s)"


def _skipped(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update"


@pytest.mark.slow
def test_a_file_already_shown_is_not_sent_again_until_the_last_update(launched_studio):
    """Every file in an update is probed and hashed by Gradio: resending the same preview with every progress
    update made the page the bottleneck once many sessions rendered at once."""
    from gradio_client import Client

    url, _ = launched_studio
    client = Client(url, verbose=False, download_files=False)
    job = client.submit("title: shown once\nscenes:\n  - image_prompt: A meadow at noon\n    duration: 2\n",
                        "draft", "motion", "piper", api_name="/render")  # fmt: skip
    images = [update[1] for update in job]
    first = next(i for i, image in enumerate(images) if image and not _skipped(image))
    assert first < len(images) - 2, "progress updates follow the first picture"
    assert all(_skipped(image) for image in images[first + 1:-1]), "the picture was sent again unchanged"
    assert not _skipped(images[-1]) and images[-1], "the last update carries every output"
    assert all(value and not _skipped(value) for value in job.result()[1:3] + job.result()[4:6])
