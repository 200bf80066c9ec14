"""No hidden globals: the engine works only with the services it is handed, and reads no environment at import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.credentials import Credentials
from pipeline.estimate import estimate_cost
from pipeline.providers import Price, Prices
from pipeline.runner import render
from pipeline.scenes import approve_image, upload_image
from pipeline.services import EngineSettings, Services
from pipeline.step_executor import StepExecutor
from pipeline.local_steps import LocalStepRunner
from pipeline.projects import ProjectRecorder
from pipeline.storyboard import parse_storyboard

ROOT = Path(__file__).resolve().parent.parent

BOARD = """
title: Services
image: {provider: test-image}
video: {provider: test-video, require_approval: false}
voice: {provider: test-voice}
scenes:
  - {image_prompt: A harbour at dawn, audio_script: Twelve chars, duration: 2}
  - {image_prompt: A lighthouse, duration: 2}
"""
KEYS = Credentials({"RUNWAYML_API_SECRET": "canary-services-secret"})

# Runs in a fresh interpreter: os.environ is replaced by a mapping that records every read made from a pipeline
# module's own code (reads by libraries it imports are theirs), then every module of the package is imported.
_IMPORT_ALL = textwrap.dedent("""
    import importlib, json, os, pkgutil, sys

    PIPELINE = os.path.join(sys.argv[1], "pipeline") + os.sep
    reads = []

    class Watched(dict):
        def _note(self, name):
            frame = sys._getframe(2)
            while frame is not None and frame.f_code.co_filename in ("<string>", os.__file__):
                frame = frame.f_back
            if frame is not None and frame.f_code.co_filename.startswith(PIPELINE):
                reads.append(f"{frame.f_code.co_filename}:{frame.f_lineno} reads {name}")

        def __getitem__(self, name):
            self._note(name)
            return super().__getitem__(name)

        def get(self, name, default=None):
            self._note(name)
            return super().get(name, default)

        def __contains__(self, name):
            self._note(name)
            return super().__contains__(name)

    os.environ = Watched(os.environ)
    import pipeline
    for module in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    print(json.dumps(reads))
""")


def test_no_pipeline_module_reads_the_environment_when_imported():
    out = subprocess.run([sys.executable, "-c", _IMPORT_ALL, str(ROOT)], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    reads = json.loads(out.stdout.strip().splitlines()[-1])
    assert reads == [], "settings are read by Services.from_env at the edges, never at import:\n" + "\n".join(reads)


@pytest.fixture
def paid(test_providers, monkeypatch):
    """test-video priced like Runway, needing its key: the render then uses the ledger and the journal too."""
    from tests.fakes import FakeVideoProvider

    for attr, value in (("paid", True), ("needs_key", True), ("offline", False), ("key_env_var", "RUNWAYML_API_SECRET"),
                        ("prices", Prices("2026-11", {None: Price("second", 0.05, "test")}))):  # fmt: skip
        monkeypatch.setattr(FakeVideoProvider, attr, value)
    return test_providers


def test_a_render_with_its_own_services_never_touches_the_default_home(paid, tmp_path, monkeypatch):
    default = tmp_path / "default-home"
    monkeypatch.setenv("REELSMITH_HOME", str(default))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # ~/.reelsmith, were REELSMITH_HOME ignored
    home = tmp_path / "engine-home"
    services = Services.for_home(home, credentials=KEYS)
    storyboard = parse_storyboard(BOARD)

    assert estimate_cost(storyboard, services=services).total > 0
    result = render(storyboard, tmp_path / "out.mp4", services=services, budget=5.0, project=ProjectRecorder(BOARD))
    picture = tmp_path / "mine.png"
    picture.write_bytes(Path(result.scenes[0].image.path).read_bytes())
    storyboard = upload_image(storyboard, 2, picture, owner="cli", services=services)
    storyboard = approve_image(storyboard, 1, owner="cli", services=services)
    render(storyboard, tmp_path / "again.mp4", services=services, budget=5.0)

    assert not default.exists() and not (tmp_path / "user").exists(), "something opened the default home"
    # Everything the render keeps went to the services' home: store, ledger, journal, audit log, owners, projects.
    assert services.ledger.total(result.render_id) == pytest.approx(0.05 * 4)
    assert [p.renders for p in services.projects.history("cli")] == [1]
    names = {p.name for p in home.iterdir()}
    assert {"media", "index", "ledger.sqlite3", "journal.sqlite3", "audit.sqlite3", "owners.sqlite3",
            "projects.sqlite3"} <= names  # fmt: skip


def test_the_settings_reach_every_step_through_its_context(test_providers, tmp_path):
    services = Services.for_home(tmp_path / "home", poll_interval=0.25, http_timeout=7.0, encoder_memory_mb=123.0)
    render(parse_storyboard(BOARD), tmp_path / "out.mp4", services=services)

    assert test_providers.contexts, "the providers ran"
    for ctx in test_providers.contexts:
        assert ctx.poll_interval == 0.25 and ctx.http_timeout == (7.0, 10.0)
        assert ctx.encoders is services.encoders and ctx.encoders.budget_mb == 123.0
    assert services.encoders.used_mb == 0, "every encode gave its memory back"


def test_settings_from_the_environment_are_read_once_by_from_env(tmp_path):
    env = {"REELSMITH_HOME": str(tmp_path / "h"), "REELSMITH_POLL_INTERVAL": "0.5",
           "REELSMITH_ENCODER_MEMORY_MB": "512", "REELSMITH_HTTP_TIMEOUT": "30", "REELSMITH_CPU_SLOTS": "3", "REELSMITH_CONCURRENT_RENDERS": "4",
           "RUNWAYML_API_SECRET": "canary-env-secret"}  # fmt: skip
    services = Services.from_env(env)
    assert services.settings == EngineSettings(home=tmp_path / "h", poll_interval=0.5, http_timeout=30.0,
                                               encoder_memory_mb=512.0, cpu_slots=3, concurrent_renders=4)  # fmt: skip
    env["RUNWAYML_API_SECRET"] = "changed later"
    assert services.credentials.get("RUNWAYML_API_SECRET") == "canary-env-secret"
    assert "canary" not in repr(services)
    # Unset or unreadable: the defaults (each provider's own poll interval, the usable cores).
    plain = Services.from_env({"REELSMITH_POLL_INTERVAL": "soon", "REELSMITH_CPU_SLOTS": "many"})
    assert plain.settings.poll_interval is None and plain.settings.cpu_slots is None
    assert plain.settings.encoder_memory_mb == 280.0 and not (tmp_path / "h").exists()


def test_a_session_override_shares_the_process_limits_and_keeps_the_server_keys(tmp_path):
    services = Services.for_home(tmp_path / "home", credentials=KEYS)
    session = services.with_overrides(credentials=services.credentials.with_session({"BFL_API_KEY": "mine"}))
    assert session.cpu is services.cpu and session.encoders is services.encoders and session.store is services.store
    assert session.credentials.source("BFL_API_KEY") == "session"
    assert session.credentials.get("RUNWAYML_API_SECRET") == "canary-services-secret"
    assert services.credentials.get("BFL_API_KEY") is None


def test_the_executor_is_a_collaborator_the_render_is_handed(test_providers, tmp_path):
    """Another StepExecutor runs the same steps: here one that delegates to the local one and records the keys."""
    seen: list[tuple[str, str]] = []

    class Recording(LocalStepRunner):
        async def run(self, scene, step, provider, media, key, produce, limit=None, cost=None, prompt=None):
            seen.append((step, key))
            return await super().run(scene, step, provider, media, key, produce, limit, cost, prompt)

    executor: type[StepExecutor] = Recording
    services = Services.for_home(tmp_path / "home")
    result = render(parse_storyboard(BOARD), tmp_path / "out.mp4", services=services, executor=executor)

    assert {"image", "video", "voice", "segment", "mix", "soundtrack", "join"} <= {step for step, _ in seen}
    assert result.final.key in {key for _, key in seen}


def test_warming_pays_the_first_renders_one_time_costs_in_its_own_home(tmp_path):
    """The studio warms its services at start-up (pipeline/warm.py): the blocklist compiled, the home's databases
    open, in that server's home and nowhere else; a warm-up that fails is logged, never raised."""
    from pipeline import blocklist
    from pipeline.warm import warm_engine, warm_in_background

    blocklist._compiled.cache_clear()
    services = Services.for_home(tmp_path / "home")
    warm_engine(services)
    assert blocklist._compiled.cache_info().currsize >= 1
    assert {"ledger", "journal", "audit_log", "projects", "owned_images"} <= set(vars(services))
    assert (tmp_path / "home" / "ledger.sqlite3").exists()

    broken = Services.for_home(tmp_path / "not-a-folder")
    (tmp_path / "not-a-folder").write_text("a file where the home should be")
    thread = warm_in_background(broken)
    thread.join(timeout=30)
    assert not thread.is_alive()
