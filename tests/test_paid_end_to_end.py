"""The whole pipeline on the paid providers (BFL + Runway + ElevenLabs) against their wire-level fakes: through the
CLI and through gradio_client, with canary keys searched for in every file written and in the logs."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.media import ffprobe, streams
from tests.step_run import assert_secret_nowhere
from tests.studio import run_cli, running_studio, wait_until
from tests.wire.bfl import SUBMIT, FakeBfl
from tests.wire.elevenlabs import TTS, FakeElevenLabs, quota_exceeded
from tests.wire.runway import CREATE, TASKS, FakeRunway

pytestmark = pytest.mark.slow
KEYS = {"RUNWAYML_API_SECRET": "canary-e2e-runway-7f3a", "ELEVENLABS_API_KEY": "canary-e2e-eleven-91bc",
        "BFL_API_KEY": "canary-e2e-bfl-4d20"}  # fmt: skip
BOARD = """
title: Paid trip
resolution: 1280x720
image: {provider: bfl}
video: {provider: runway, require_approval: false}
voice: {provider: elevenlabs}
scenes:
  - {image_prompt: A red tram in Lisbon, video_prompt: slow pan right, audio_script: The tram climbs the hill., duration: 2}
  - {image_prompt: A harbour at dusk, video_prompt: gentle zoom in, audio_script: Boats come home at dusk., duration: 2}
  - {image_prompt: A lighthouse at night, video_prompt: static shot, audio_script: The light keeps watch., duration: 2}
"""
IMAGE, VIDEO, VOICE = ("POST", SUBMIT), ("POST", CREATE), ("POST", TTS)


@pytest.fixture
def fakes():
    servers = (FakeBfl(KEYS["BFL_API_KEY"]).start(), FakeRunway(KEYS["RUNWAYML_API_SECRET"]).start(),
               FakeElevenLabs(KEYS["ELEVENLABS_API_KEY"]).start())  # fmt: skip
    yield servers
    for server in servers:
        server.stop()


def _urls(fakes) -> dict[str, str]:
    bfl, runway, eleven = fakes
    return {"BFL_API_URL": bfl.url, "RUNWAYML_BASE_URL": runway.url, "ELEVENLABS_BASE_URL": eleven.url,
            "REELSMITH_POLL_INTERVAL": "0.02"}  # fmt: skip


def _counts(fakes) -> tuple[int, int, int]:
    bfl, runway, eleven = fakes
    return bfl.count(*IMAGE), runway.count(*VIDEO), eleven.count(*VOICE)


def _no_canary(paths: list[Path], texts: list[str] = ()) -> None:
    assert_secret_nowhere(KEYS.values(), None, *paths, texts=texts)


def _cli(home: Path, fakes, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, home=home, env_extra={**KEYS, **_urls(fakes)})


def _check_video(path: Path) -> None:
    report = ffprobe(path)
    video, audio = streams(report, "video"), streams(report, "audio")
    assert len(video) == 1 and len(audio) == 1
    assert (video[0]["codec_name"], video[0]["width"], video[0]["height"]) == ("h264", 1280, 720)
    assert audio[0]["codec_name"] == "aac"
    assert 6.0 <= float(report["format"]["duration"]) <= 9.0


def test_cli_renders_on_the_paid_providers_and_pays_each_step_once(fakes, tmp_path):
    home, board, out = tmp_path / "home", tmp_path / "board.yaml", tmp_path / "out" / "trip.mp4"
    board.write_text(BOARD)
    estimate = _cli(home, fakes, "estimate", str(board), "--json")
    assert estimate.returncode == 0, estimate.stderr
    quoted = json.loads(estimate.stdout)["total_usd"]
    assert _counts(fakes) == (0, 0, 0), "an estimate calls nobody"

    done = _cli(home, fakes, "render", str(board), "-o", str(out), "--budget", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    _check_video(out)
    assert _counts(fakes) == (3, 3, 3)
    ledger = json.loads(_cli(home, fakes, "ledger", "--json").stdout)
    assert round(sum(r["usd"] for r in ledger), 6) == pytest.approx(quoted), "estimate == ledger"
    assert {r["provider"] for r in ledger} == {"bfl", "runway", "elevenlabs"}
    manifest = json.loads(out.with_name("trip.manifest.json").read_text())
    assert manifest["cost"]["spent_usd"] == pytest.approx(quoted) and manifest["providers"]["video"] == "runway"

    # Unchanged: not one request to any provider.
    requests = [len(f.requests) for f in fakes]
    again = _cli(home, fakes, "render", str(board), "-o", str(tmp_path / "again.mp4"), "--budget", "2")
    assert again.returncode == 0, again.stderr
    assert [len(f.requests) for f in fakes] == requests

    # One narration edited: exactly one TTS request, no image or video request.
    board.write_text(BOARD.replace("Boats come home at dusk.", "Boats come home as the sun goes down."))
    edited = _cli(home, fakes, "render", str(board), "-o", str(tmp_path / "edited.mp4"), "--budget", "2")
    assert edited.returncode == 0, edited.stderr
    assert _counts(fakes) == (3, 3, 4)

    _no_canary([home, out.parent, tmp_path / "again.mp4", tmp_path / "edited.mp4"],
               [done.stdout, done.stderr, again.stdout, again.stderr, edited.stdout, edited.stderr])  # fmt: skip


def test_a_failure_names_the_scene_the_step_the_reason_and_what_to_do(fakes, tmp_path):
    eleven = fakes[2]
    eleven.script("POST", TTS, [quota_exceeded()] * 5)
    board = tmp_path / "board.yaml"
    board.write_text(BOARD)
    failed = _cli(tmp_path / "home", fakes, "render", str(board), "-o", str(tmp_path / "x.mp4"), "--budget", "2")
    assert failed.returncode == 1
    assert "scene 1 voice: ElevenLabs: quota exceeded" in failed.stderr
    assert "switch the voice provider to piper" in failed.stderr
    _no_canary([tmp_path / "home"], [failed.stdout, failed.stderr])


def test_the_studio_uses_a_sessions_own_keys_only_for_that_session(fakes, tmp_path):
    from gradio_client import Client

    home, log = tmp_path / "home", tmp_path / "studio.log"
    with running_studio(home, env=_urls(fakes), log=log) as url:  # the server has no keys of its own
        mine, theirs = Client(url, verbose=False), Client(url, verbose=False)
        assert "'runway' needs RUNWAYML_API_SECRET" in mine.predict(BOARD, api_name="/validate")
        mine.predict(KEYS["RUNWAYML_API_SECRET"], KEYS["ELEVENLABS_API_KEY"], KEYS["BFL_API_KEY"], "",
                     api_name="/set_keys")  # fmt: skip
        assert mine.predict(BOARD, api_name="/validate").startswith("✓")
        assert "'runway' needs RUNWAYML_API_SECRET" in theirs.predict(BOARD, api_name="/validate")

        table, summary = mine.predict(BOARD, "bfl", "runway", "elevenlabs", api_name="/estimate_cost")
        assert "**Estimate: $0.4" in summary and {r[2] for r in table["data"]} == {"bfl", "runway", "elevenlabs"}
        refused = mine.submit(BOARD, "bfl", "runway", "elevenlabs", 0, api_name="/render")
        list(refused)
        with pytest.raises(Exception, match="Set a budget of at least"):
            refused.result()
        assert _counts(fakes) == (0, 0, 0)

        job = mine.submit(BOARD, "bfl", "runway", "elevenlabs", 2.0, api_name="/render")
        updates = list(job)
        assert job.status().success, job.status()
        assert len(updates) >= 3
        board, image, clip, voice, final, manifest, gallery, captions = job.result()
        _check_video(Path(final))
        assert _counts(fakes) == (3, 3, 3) and len(gallery) == 3
    _no_canary([home, Path(final).parent, Path(tempfile.gettempdir()) / "reelsmith-sessions"], [log.read_text()])


def test_a_page_that_goes_away_keeps_paid_tasks_and_a_stop_cancels_them(fakes, tmp_path):
    from gradio_client import Client

    runway = fakes[1]
    slow = ("PENDING",) + ("RUNNING",) * 300 + ("SUCCEEDED",)  # ~6 s at Runway per clip
    runway.default_plan = slow
    create, delete = ("POST", CREATE), ("DELETE", TASKS)

    with running_studio(tmp_path / "home", env={**_urls(fakes), **KEYS}) as url:
        client = Client(url, verbose=False)
        # The watcher goes away mid-render (a closed tab, a refresh, a dropped client): Runway keeps the tasks.
        job = client.submit(BOARD, "bfl", "runway", "elevenlabs", 2.0, api_name="/render")
        assert wait_until(lambda: runway.count(*create) >= 1)
        job.cancel()
        assert wait_until(job.done, timeout=30), "the render did not stop"
        runway.default_plan = ("PENDING", "SUCCEEDED")
        client.predict(BOARD, "bfl", "runway", "elevenlabs", 2.0, api_name="/render")
        assert runway.count(*create) == 3, "the next render picked the running tasks up instead of paying again"
        # Each of those tasks was released by the stopped render before this one could pick it up (a step is made
        # once across renders): a delete on the way out would have come first, and none came.
        assert runway.count(*delete) == 0, "paid tasks were not thrown away"

        # A person's Stop cancels the running paid tasks: no more paying for work they no longer want.
        runway.default_plan = slow
        job = client.submit(BOARD.replace("Lisbon", "Porto"), "bfl", "runway", "elevenlabs", 2.0, api_name="/render")
        assert wait_until(lambda: runway.count(*create) >= 4)
        client.predict(api_name="/stop")
        assert wait_until(lambda: runway.count(*delete) >= 1, timeout=10)
