"""One provider step run outside the engine, for the providers' contract tests: a StepContext with a key, an
in-memory journal and a record of what the provider reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from pipeline.cancel import CancelToken
from pipeline.credentials import Credentials
import pytest

from pipeline.errors import ProviderError
from pipeline.providers.base import ImageRequest, StepContext

STEP_KEY = "k1"


class MemoryJournal:
    """The remote-task journal's interface (pipeline.journal), in memory."""

    def __init__(self, pending: dict[str, Any] | None = None) -> None:
        self.entries: dict[str, dict[str, Any]] = {STEP_KEY: pending} if pending else {}
        self.submits: list[tuple[str, str, str, dict[str, Any]]] = []  # (step key, provider, task id, extra)
        self.ends: list[str] = []

    def submitting(self, step_key: str, provider: str) -> None:
        self.entries[step_key] = {"submitting": provider, "since": "earlier"}

    def interrupted(self, step_key: str) -> dict[str, Any] | None:
        entry = self.entries.get(step_key)
        return entry if entry and "submitting" in entry else None

    def pending(self, step_key: str) -> dict[str, Any] | None:
        entry = self.entries.get(step_key)
        return None if entry and "submitting" in entry else entry

    def submitted(self, step_key: str, provider: str, task_id: str, **extra: Any) -> None:
        self.submits.append((step_key, provider, task_id, extra))
        self.entries[step_key] = {"id": task_id, **extra}

    def ended(self, step_key: str, state: str) -> None:
        self.ends.append(state)
        self.entries.pop(step_key, None)


# Remote tasks are polled this often in these runs (the engine's `poll_interval` setting, handed in the context).
FAST_POLL = 0.01


class StepRun:
    """One step's context. `stop_when_running` stops the step once it reports progress past 5 %, as a person's
    Stop (or, with `keep_remote_tasks`, as a page that went away)."""

    def __init__(self, tmp_path: Path, key_env_var: str, key: str | None,
                 journal: MemoryJournal | None = None, poll_interval: float | None = FAST_POLL) -> None:  # fmt: skip
        self.workdir = tmp_path / "step"
        self.workdir.mkdir(exist_ok=True)
        self.cancel = CancelToken()
        self.journal = journal or MemoryJournal()
        self.progress: list[float] = []
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.stop_when_running = False
        self.keep_remote_tasks = False
        self.ctx = StepContext(self.workdir, self.cancel, on_progress=self._on_progress,
                               on_warning=self.warnings.append, min_interval=0.0,
                               credentials=Credentials({key_env_var: key} if key else {}), journal=self.journal,
                               step_key=STEP_KEY, poll_interval=poll_interval)  # fmt: skip

    def _on_progress(self, fraction: float, message: str | None) -> None:
        self.progress.append(fraction)
        if message:
            self.notes.append(message)
        if self.stop_when_running and fraction > 0.05:
            self.cancel.cancel(keep_remote_tasks=self.keep_remote_tasks)


def failure(provider: Any, request: Any, run: StepRun) -> ProviderError:
    """The ProviderError the step ends with (the test fails if it succeeds)."""
    with pytest.raises(ProviderError) as caught:
        provider.generate(request, run.ctx)
    return caught.value


def assert_secret_nowhere(secrets: str | Iterable[str], error: BaseException | None, *places: Path,
                          texts: Iterable[str] = ()) -> None:  # fmt: skip
    """No key is in the error's text, in any of `places` (files, or every file under a folder) or in `texts`."""
    secrets = [secrets] if isinstance(secrets, str) else list(secrets)
    texts = [*texts, *((str(error), repr(error)) if error is not None else ())]
    for place in places:
        for path in [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]:
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a key was found in {path}"
    for text in texts:
        for secret in secrets:
            assert secret not in text, "a key was found in the output or an error"


def image_request(**changes: Any) -> ImageRequest:
    fields: dict[str, Any] = dict(prompt="a lighthouse on a cliff at dusk, photorealistic", scene_prompt="a lighthouse",
                                  style="photorealistic", width=1280, height=720, seed=42, model=None, steps=28,
                                  guidance=3.5)  # fmt: skip
    fields.update(changes)
    return ImageRequest(**fields)
