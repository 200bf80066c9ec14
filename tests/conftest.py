"""Every test gets its own REELSMITH_HOME and no provider keys, so nothing depends on the machine."""

from __future__ import annotations

import pytest

PROVIDER_ENV = (
    "RUNWAYML_API_SECRET", "ELEVENLABS_API_KEY", "BFL_API_KEY", "HF_TOKEN",
    "RUNWAYML_BASE_URL", "ELEVENLABS_BASE_URL", "BFL_API_URL", "HF_INFERENCE_URL",
)  # fmt: skip


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "reelsmith-home"
    monkeypatch.setenv("REELSMITH_HOME", str(home))
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def test_providers():
    """Fast recording providers registered by name (test-image, test-video, test-voice)."""
    from tests.fakes import TestProviders

    providers = TestProviders()
    providers.register()
    yield providers
    providers.unregister()


@pytest.fixture(scope="module")
def launched_studio(tmp_path_factory):
    """app.py running on a free port with its own REELSMITH_HOME: (url, home)."""
    from tests.studio import running_studio

    home = tmp_path_factory.mktemp("studio-home")
    with running_studio(home) as url:
        yield url, home
