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
    _fresh_studio_services()
    return home


def _fresh_studio_services() -> None:
    """The studio builds its services once per process (app._services); a test that drives it in-process gets
    ones over its own home, as a freshly started studio would."""
    import sys

    studio = sys.modules.get("app")
    if studio is not None and hasattr(studio, "_services"):
        studio._services.cache_clear()


@pytest.fixture
def services(isolated_home):
    """The engine's services over this test's own home, with default settings and no keys: hand it to renders
    (`services=services`) and configure it (`Services.for_home(home, poll_interval=…)`) rather than patching
    module constants or the environment."""
    from pipeline.services import Services

    return Services.for_home(isolated_home)


SMALL_RENDER_SCALE = 5  # 1280x720 → 256x144, 1920x1080 → 384x216, 720x1280 → 144x256: even sizes, same aspect


@pytest.fixture
def small_render(request, monkeypatch):
    """Renders at a fifth of the storyboard's resolution (256x144 for 720p), for tests of the engine rather than
    of the picture: every step reads the frame size from `Storyboard.size` when it runs, so the images, clips,
    segments and the join all come out small and encode in a fraction of the time. Product code is unchanged.
    A test about the picture itself is marked `full_size` and renders at the storyboard's resolution."""
    from pipeline.storyboard import Storyboard

    if request.node.get_closest_marker("full_size"):
        return

    def size(storyboard: Storyboard) -> tuple[int, int]:
        width, height = (int(n) for n in storyboard.resolution.split("x"))
        return width // SMALL_RENDER_SCALE, height // SMALL_RENDER_SCALE

    monkeypatch.setattr(Storyboard, "size", property(size))


@pytest.fixture
def test_providers(small_render):
    """Fast recording providers registered by name (test-image, test-video, test-voice), rendering small."""
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


@pytest.fixture(scope="session", autouse=True)
def one_ssl_context_per_run():
    """Every httpx client (each provider SDK's, each `httpx.post` in a test) loads a CA bundle into a new SSL
    context: ~25 ms of CPU each, ~130 times in the fast lane. The fakes speak plain HTTP, so no test verifies a
    certificate; httpx supports sharing one context (`verify=ctx`), so the default one is built once per CA source
    (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR as httpx reads them). Anything else (verify=False, a
    context or CA path of the caller's own, a client certificate) is built as before."""
    import os

    import httpx._transports.default as transport  # a private name; httpx is pinned in requirements.txt

    create = transport.create_ssl_context
    built: dict[tuple[object, ...], object] = {}

    def create_default_once(verify=True, cert=None, trust_env=True):
        if verify is not True or cert:
            return create(verify=verify, cert=cert, trust_env=trust_env)
        source = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else ()
        if source not in built:
            built[source] = create(verify=verify, cert=cert, trust_env=trust_env)
        return built[source]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "create_ssl_context", create_default_once)
        yield
