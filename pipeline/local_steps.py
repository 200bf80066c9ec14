"""Running one step on this machine: the cache protocol (stored output first, damaged ones made again), the
per-render, process-wide CPU and per-key limits, the paid-step quota and the budget reservation before any paid
call, the audit row of every generation, and the events a person watches. Work runs in threads.

The render (pipeline/runner.py) decides what runs and when; this decides how one step runs. It is one
`StepExecutor` (pipeline/step_executor.py, which says what any executor must honour); another one (a distributed
task engine) offers the same `run(...)`: each step is an idempotent function of its inputs, keyed by content.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import nullcontext
from typing import Callable

from pipeline.audit import GENERATION_STEPS, AuditEntry, AuditLog, Outcome, owner_fingerprint, prompt_sha256
from pipeline.credentials import Credentials, key_vars
from pipeline.errors import BudgetExceeded, Cancelled, MediaError, ProviderError, ProviderFailed, RateLimitExceeded
from pipeline.events import (
    Event,
    MediaKind,
    StepCached,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    StepWarning,
)
from pipeline.journal import Journal
from pipeline.limits import Slots, key_slots, making
from pipeline.plan import RenderPlan
from pipeline.pricing import StepCost
from pipeline.providers.base import CancelToken, StepContext, StepOutput
from pipeline.ratelimit import Quota
from pipeline.services import Services
from pipeline.spending import RenderSpending
from pipeline.store import Asset, Damaged

# ffmpeg work that is not a provider's (segment fitting, mixing, joining): at most this many at once per render,
# each also holding a slot of the process-wide CPU limiter.
MEDIA_CONCURRENCY = 2


class GenerationAudit:
    """The audit rows of one render's generations: who asked (fingerprints only), what, and how it ended."""

    def __init__(self, owner: str, client: str | None, render_id: str, credentials: Credentials,
                 emit: Callable[[Event], None], log: Callable[[], AuditLog]):  # fmt: skip
        """`log` opens the services' audit log (pipeline/services.py), the first time a row is written."""
        self.owner, self.client, self.render_id = owner, client, render_id
        self.credentials, self.emit = credentials, emit
        self._open_log = log
        self._log: AuditLog | None = None

    async def record(self, scene: int | None, step: str, provider: str | None, prompt: str | None,
                      outcome: Outcome, reason: str | None = None, *, prompt_hash: str | None = None) -> None:  # fmt: skip
        """One generation's row in the audit log, written off the event loop. Only fingerprints of who asked and
        the prompt's hash are stored; a key that found its way into an error message is blanked first."""
        for name in key_vars():
            key = self.credentials.get(name)
            if key and reason and key in reason:
                reason = reason.replace(key, "[key]")
        entry = AuditEntry("generation", outcome, owner_fingerprint(self.owner), self.client, self.render_id,
                           scene, step, provider, prompt_hash or prompt_sha256(prompt), reason)  # fmt: skip
        try:
            if self._log is None:
                self._log = self._open_log()
            await asyncio.to_thread(self._log.record, entry)
        except (OSError, sqlite3.Error) as exc:
            # The step's outcome stands (a paid output is already stored): the host hears of the gap instead.
            self.emit(StepWarning(scene, step, f"the audit log could not be written: {exc}"))


class LocalStepRunner:
    """Runs a render's steps here, one cached step at a time per call, under every limit (a StepExecutor)."""

    def __init__(self, services: Services, emit: Callable[[Event], None], cancel: CancelToken,
                 money: RenderSpending, audit: GenerationAudit, paid_step_quota: Quota | None = None):  # fmt: skip
        self.services = services
        self.store, self.credentials = services.store, services.credentials
        self.emit, self.cancel = emit, cancel
        self.money, self.audit = money, audit
        # The host's hourly limit on paid steps for this session and address (None: no limit, as on the CLI).
        self.paid_step_quota = paid_step_quota
        self._journal: Journal | None = None
        self.executed: dict[str, int] = {}
        self.cached: dict[str, int] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        # Local CPU work holds a slot of the one limiter every render sharing these services shares (the CLI and
        # the studio build one Services per process).
        self.cpu = services.cpu
        self._local_cpu: set[str] = set()  # the limits (provider names, "media") whose steps hold a CPU slot
        self._key_slots: dict[str, Slots] = {}  # provider name → its key's process-wide limit, where it has one
        self._key_locks: dict[str, asyncio.Lock] = {}

    def set_limits(self, plan: RenderPlan) -> None:
        for provider in (plan.image_provider, plan.video_provider, plan.voice_provider):
            self._limits[provider.name] = asyncio.Semaphore(provider.max_concurrency)
            if provider.local_cpu or (provider.local_cpu is None and provider.offline):
                self._local_cpu.add(provider.name)
            if provider.key_concurrency and provider.key_env_var:
                key = self.credentials.fingerprint(provider.key_env_var) or "none"
                self._key_slots[provider.name] = key_slots(provider.name, key, provider.key_concurrency)
        self._limits["media"] = asyncio.Semaphore(MEDIA_CONCURRENCY)
        self._local_cpu.add("media")

    async def run(
        self,
        scene: int | None,
        step: str,
        provider: str,
        media: MediaKind,
        key: str,
        produce: Callable[[StepContext], StepOutput],
        limit: str | None = None,
        cost: StepCost | None = None,
        prompt: str | None = None,
    ) -> Asset:
        """The step's output: from the cache, or made now under its limits (and paid for, when `cost`)."""
        lock = self._key_locks.setdefault(key, asyncio.Lock())
        async with lock:  # two scenes asking for the same output make it once
            # A sub-millisecond index read, done in the loop so steps start in scene order (first preview first).
            asset = self._cached(scene, step, provider, media, key, cost)
            if asset is not None:
                return asset
            # Process-wide: one render makes a given output at a time (others then find it stored); local CPU work
            # holds a CPU slot; a provider limited per key holds one of its key's. Always taken in this order.
            if (limit or provider) in self._local_cpu:
                shared = self.cpu.hold(self.cancel)
            elif provider in self._key_slots:
                shared = self._key_slots[provider].hold(self.cancel)
            else:
                shared = nullcontext()
            async with making(key, self.cancel), self._limits[limit or provider], shared:
                self.cancel.check()
                # Another render (another session) may have made it while this one waited for a slot.
                asset = self._cached(scene, step, provider, media, key, cost)
                if asset is not None:
                    return asset
                if cost is not None:
                    await self._admit(scene, step, provider, prompt, cost)
                started = time.monotonic()
                asset = await self._make(scene, step, provider, key, produce, cost, prompt)
            info = {k: v for k, v in asset.meta.items() if isinstance(v, (int, float, str, bool))}
            self.emit(StepFinished(scene, step, provider, str(asset.path), media,
                                   round(time.monotonic() - started, 3), info))  # fmt: skip
            return asset

    async def _admit(self, scene: int | None, step: str, provider: str, prompt: str | None, cost: StepCost) -> None:
        """Before a paid call: the host's hourly quota, then the budget (each refusal is audited, then raised)."""
        try:
            if self.paid_step_quota is not None:
                self.paid_step_quota.take()  # raises RateLimitExceeded before any paid call
            self.money.reserve(cost, scene)  # raises BudgetExceeded before any paid call
        except (RateLimitExceeded, BudgetExceeded) as exc:
            await self.audit.record(scene, step, provider, prompt, "refused", str(exc))
            raise
        if self._journal is None:
            self._journal = self.services.journal

    async def _make(self, scene: int | None, step: str, provider: str, key: str,
                    produce: Callable[[StepContext], StepOutput], cost: StepCost | None, prompt: str | None) -> Asset:  # fmt: skip
        """Run `produce` in a thread and store its output under `key`; settle the money whatever happens."""
        audited = step in GENERATION_STEPS  # a provider's generation (not ffmpeg work): one audit row per run
        self.emit(StepStarted(scene, step, provider))
        self.executed[step] = self.executed.get(step, 0) + 1
        workdir = self.store.workdir(step)
        ctx = StepContext(
            workdir,
            self.cancel,
            on_progress=lambda f, m: self.emit(StepProgress(scene, step, f, m)),
            on_warning=lambda m: self.emit(StepWarning(scene, step, m)),
            credentials=self.credentials,
            scene=scene,
            journal=self._journal if cost is not None else None,
            step_key=key,
            poll_interval=self.services.settings.poll_interval,
            http_timeout=(self.services.settings.http_timeout, self.services.settings.http_connect_timeout),
            encoders=self.services.encoders,
        )
        paid = False
        try:
            out = await asyncio.to_thread(produce, ctx)
            paid = True
            asset = await asyncio.to_thread(self.store.put, key, out.path, out.meta)
            if cost is not None and self._journal is not None:
                await asyncio.to_thread(self._journal.ended, key, "stored")
        except Exception as exc:
            error = await self._failed(exc, scene, step, provider, prompt, audited)
            if error is exc:
                raise
            raise error from exc
        finally:
            self.store.remove_workdir(workdir)
            if cost is not None:
                await asyncio.to_thread(self.money.settle, cost, scene, key, out.meta if paid else {}, paid)
        if audited:
            await self.audit.record(scene, step, provider, prompt, "done")
        return asset

    async def _failed(self, exc: Exception, scene: int | None, step: str, provider: str, prompt: str | None,
                      audited: bool) -> Exception:  # fmt: skip
        """Report a step that raised (a stop is not a failure) and return what to raise: our own errors as they
        are, anything else (a bug, an unexpected library error) as ProviderFailed, so the UI never crashes."""
        if isinstance(exc, Cancelled):
            if audited:
                await self.audit.record(scene, step, provider, prompt, "cancelled", str(exc))
            return exc
        error = exc
        if isinstance(exc, ProviderError):
            exc.at(scene, step)
        elif not isinstance(exc, MediaError):
            error = ProviderFailed(f"unexpected error: {type(exc).__name__}: {exc}", provider=provider)
            error.at(scene, step)
        self.emit(StepFailed(scene, step, provider, str(error)))
        if audited:
            await self.audit.record(scene, step, provider, prompt, "failed", str(error))
        return error

    def _cached(self, scene: int | None, step: str, provider: str, media: MediaKind, key: str,
                cost: StepCost | None = None) -> Asset | None:  # fmt: skip
        """The stored output for `key`, reported as a cache hit (and, for a paid step, as money saved); None when
        the step must run (nothing stored, or the stored file was damaged: the person is told it is made again)."""
        asset = self.store.lookup(key)
        if isinstance(asset, Damaged):
            self.emit(StepWarning(scene, step, f"the stored {media} was damaged ({asset.reason}); made again"))
            return None
        if asset is not None:
            if cost is not None:
                self.money.saved(scene, step, cost)
            self.reused(scene, step, provider, media, asset)
        return asset

    def reused(self, scene: int | None, step: str, provider: str, media: MediaKind, asset: Asset) -> None:
        """Count and report a step whose output already exists (cached, or an approved image)."""
        self.cached[step] = self.cached.get(step, 0) + 1
        self.emit(StepCached(scene, step, provider, str(asset.path), media))
