"""Every test gets its own REELSMITH_HOME and no provider keys, so nothing depends on the machine."""

from __future__ import annotations

import pytest



def provider_env() -> list[str]:
    """Every key and base-URL variable the registered providers declare (a new provider's too, unlisted here)."""
    from pipeline.providers import registry

    return [*(field.env_var for field in registry.keys()), *registry.base_url_vars()]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "reelsmith-home"
    monkeypatch.setenv("REELSMITH_HOME", str(home))
    for name in provider_env():
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
