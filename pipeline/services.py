"""Everything a render works with, built once at the edge and handed in: no hidden globals.

    services = Services.from_env()                 # the CLI's main and the studio's startup: the one env read
    render(storyboard, "out.mp4", services=services)
    services = Services.for_home(tmp_path)         # a test: its own home, its own settings, no environment

`EngineSettings` is every knob the engine used to read from the environment on its own (the data folder, the
poll interval, HTTP timeouts, the encoder memory budget, the CPU slots, the host's blocklist). `Services` bundles
the collaborators that live in that folder (the store, the ledger, the remote-task journal, the audit log,
projects, approved images), the server's credentials, the provider registry and the process-wide limits sized
by the settings. The engine only ever uses what it is handed: it never opens a `Store()` of its own or reads
`os.environ`.

The SQLite files (ledger, journal, audit log, projects, approved images) are opened on first use (an offline
render never creates the ledger or the journal), and the providers are imported only when the keys or the
registry are first asked for (`schema` stays fast).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from pipeline.limits import Slots, available_cores
from pipeline.media.budget import EncoderBudget
from pipeline.settings import reelsmith_home_path

if TYPE_CHECKING:
    from pipeline.audit import AuditLog
    from pipeline.projects import Projects
    from pipeline.credentials import Credentials
    from pipeline.providers.base import Registry
    from pipeline.journal import Journal
    from pipeline.ledger import Ledger
    from pipeline.owners import OwnedImages
    from pipeline.store import Store

DEFAULT_ENCODER_MEMORY_MB = 280.0  # two or three 720p x264 encoders at once (see EncoderBudget)
DEFAULT_CONCURRENT_RENDERS = 10


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    """A numeric setting; a missing or unreadable value is the default (the server keeps starting)."""
    raw = environ.get(name, "").strip()
    try:
        return max(minimum, float(raw)) if raw else default
    except ValueError:
        return default


@dataclass(frozen=True)
class EngineSettings:
    """The engine's settings: fixed for the life of the services that hold them."""

    home: Path
    # Seconds between polls of a remote task; None: each provider's own advice (Runway 5 s, BFL 0.5 s).
    poll_interval: float | None = None
    # One HTTP request to a provider (image and speech endpoints answer in tens of seconds at worst).
    http_timeout: float = 60.0
    http_connect_timeout: float = 10.0
    # How much memory x264 encoders may hold at once, process-wide (pipeline/media/budget.py).
    encoder_memory_mb: float = DEFAULT_ENCODER_MEMORY_MB
    # How many local CPU steps (drawing, encoding, Piper) may run at once, process-wide; None: the usable cores.
    cpu_slots: int | None = None
    # How many renders and scene steps the studio runs at once (all sessions together; later ones queue).
    concurrent_renders: int = DEFAULT_CONCURRENT_RENDERS
    # The host's own blocklist terms, one per line, on top of the built-in list (pipeline/blocklist.py).
    blocklist: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "EngineSettings":
        """The settings a deployment gives in its environment: REELSMITH_HOME, REELSMITH_POLL_INTERVAL,
        REELSMITH_HTTP_TIMEOUT, REELSMITH_ENCODER_MEMORY_MB, REELSMITH_CPU_SLOTS, REELSMITH_CONCURRENT_RENDERS,
        REELSMITH_BLOCKLIST."""
        env = os.environ if environ is None else environ
        poll = _number(env, "REELSMITH_POLL_INTERVAL", 0.0, minimum=0.0)
        slots = int(_number(env, "REELSMITH_CPU_SLOTS", 0, minimum=1)) or None  # unset or unreadable: the cores
        return cls(
            home=reelsmith_home_path(env),
            poll_interval=poll or None,
            http_timeout=_number(env, "REELSMITH_HTTP_TIMEOUT", 60.0, minimum=1.0),
            encoder_memory_mb=_number(env, "REELSMITH_ENCODER_MEMORY_MB", DEFAULT_ENCODER_MEMORY_MB, minimum=1.0),
            cpu_slots=slots,
            concurrent_renders=int(_number(env, "REELSMITH_CONCURRENT_RENDERS", DEFAULT_CONCURRENT_RENDERS,
                                           minimum=1)),  # fmt: skip
            blocklist=Path(blocklist) if (blocklist := env.get("REELSMITH_BLOCKLIST", "").strip()) else None,
        )

    @property
    def cpu_slot_count(self) -> int:
        return self.cpu_slots or available_cores()


@dataclass
class Services:
    """The collaborators of every render in one process (or one test). Build once; share between renders."""

    settings: EngineSettings
    # The server's keys (None: read from `_environ` when first asked; no environment either: none, offline only).
    _credentials: "Credentials | None" = None
    _environ: Mapping[str, str] | None = field(default=None, repr=False)
    # Process-wide limits, sized by the settings: every render holding these services shares them.
    cpu: Slots | None = None
    encoders: EncoderBudget | None = None
    _store: "Store | None" = field(default=None, repr=False)
    _open_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.cpu is None:
            self.cpu = Slots(self.settings.cpu_slot_count)
        if self.encoders is None:
            self.encoders = EncoderBudget(self.settings.encoder_memory_mb)

    # -- building: the edges ------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Services":
        """The server's services: settings and keys from the environment, read here and nowhere else."""
        env = dict(os.environ if environ is None else environ)  # read now: later changes are not seen
        return cls(EngineSettings.from_env(env), _environ=env)

    @classmethod
    def for_home(cls, home: str | Path, *, credentials: "Credentials | None" = None, **settings: Any) -> "Services":
        """Services over the folder `home` with these settings (the rest default) and these keys (default none):
        tests, scripts, benchmarks."""
        return cls(EngineSettings(home=Path(home), **settings), credentials)

    @property
    def credentials(self) -> "Credentials":
        """The server's keys (a studio session's own keys are laid over them per render: `with_overrides`)."""
        with self._open_lock:
            if self._credentials is None:
                from pipeline.credentials import Credentials

                env = self._environ
                self._credentials = Credentials.from_env(env) if env is not None else Credentials()
            return self._credentials

    @property
    def providers(self) -> "Registry":
        """The provider registry (every provider file registers itself into it on import)."""
        from pipeline.providers import registry

        return registry

    def with_overrides(self, *, store: "Store | None" = None,
                       credentials: "Credentials | None" = None) -> "Services":  # fmt: skip
        """These services with a caller's own store and/or credentials (a studio session's keys) in their place;
        the process-wide limits stay shared."""
        if store is None and credentials is None:
            return self
        services = replace(self, _credentials=credentials if credentials is not None else self.credentials,
                           _store=store if store is not None else self.store, _open_lock=threading.Lock())  # fmt: skip
        if store is not None and Path(store.home) != self.settings.home:
            services.settings = replace(self.settings, home=Path(store.home))
        return services

    # -- the files under the home, opened on first use -----------------------------------------------------

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def store(self) -> "Store":
        with self._open_lock:
            if self._store is None:
                from pipeline.store import Store

                self._store = Store(self._folder())
            return self._store

    @cached_property
    def ledger(self) -> "Ledger":
        from pipeline.ledger import Ledger

        return Ledger(self._file("ledger.sqlite3"))

    @cached_property
    def journal(self) -> "Journal":
        from pipeline.journal import Journal

        return Journal(self._file("journal.sqlite3"))

    @cached_property
    def audit_log(self) -> "AuditLog":
        from pipeline.audit import AuditLog

        return AuditLog(self._file("audit.sqlite3"))

    @cached_property
    def projects(self) -> "Projects":
        from pipeline.projects import Projects

        return Projects(self._file("projects.sqlite3"))

    @cached_property
    def owned_images(self) -> "OwnedImages":
        from pipeline.owners import OwnedImages

        return OwnedImages(self._folder())

    def _folder(self) -> Path:
        """The home, created private (0700) the first time something is stored in it."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.home

    def _file(self, name: str) -> Path:
        return self._folder() / name


def services_for_call(services: Services | None, *, store: "Store | None" = None,
                      credentials: "Credentials | None" = None) -> Services:  # fmt: skip
    """The services one engine call works with: the caller's, with its `store=` / `credentials=` overrides.

    A caller that hands no services yet (a script, an older test) gets the environment's, read now through
    `Services.from_env` — the one reader of the environment, at call time, never at import. The CLI, the studio
    and new tests pass their own."""
    if services is None:
        services = Services.from_env()
    return services.with_overrides(store=store, credentials=credentials)
