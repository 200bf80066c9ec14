"""The interface between a render and whatever runs its steps.

The render (pipeline/runner.py) decides what runs and when: it walks the step graph and, for each step, makes one
call to its executor's `run`. The executor decides how and where one step runs. Today that is
`pipeline.local_steps.LocalStepRunner` (threads on this machine, under the process-wide limits); the same steps
could run as tasks of a distributed engine by handing the render another `StepExecutorFactory`:

    Render(storyboard, out, emit, services=services, executor=my_cluster_executor)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

from pipeline.events import Event, MediaKind
from pipeline.pricing import StepCost
from pipeline.providers.base import CancelToken, StepContext, StepOutput
from pipeline.ratelimit import Quota
from pipeline.store import Asset

if TYPE_CHECKING:
    from pipeline.local_steps import GenerationAudit
    from pipeline.plan import RenderPlan
    from pipeline.services import Services
    from pipeline.spending import RenderSpending


class StepExecutor(Protocol):
    """Runs one render's steps, one `run` call per step. What any implementation (local or remote) must honour:

    - Idempotence, keyed by content: `key` is the sha256 of everything that changes the step's output
      (pipeline/steps.py). A step whose key is stored is never run again, and running a step twice (a retried
      task, a second worker) must store the same output under the same key: never a different one, never a
      second payment. `produce` is a pure function of its inputs plus the StepContext it is handed.
    - The cache protocol: look `key` up in the services' store first (a hit is reported with `reused`-style
      StepCached events and, for a paid step, as money saved); a damaged stored file is made again with a
      StepWarning; a made output is `store.put` under `key` before `run` returns its Asset. Two renders asking
      for the same key at once make it once.
    - Money: when `cost` is given the step is paid; the host's quota and the render's budget are reserved
      *before* the paid call (`money.reserve`, raising RateLimitExceeded / BudgetExceeded unpaid) and settled
      after it whatever happened (`money.settle`); the remote-task journal is handed to `produce` through its
      StepContext so a killed worker's paid task is re-attached, not paid again.
    - Cancellation: the render's CancelToken stops queued steps at once and running ones at their next check
      (`StepContext.progress` / `sleep` check it); a stop raises `Cancelled`, never a failure. A stop with
      `keep_remote_tasks` leaves paid remote tasks running for the next run to re-attach to.
    - Events, in order per step: StepStarted, StepProgress/StepWarning while it runs, then StepFinished,
      StepCached or StepFailed, emitted through the render's `emit` (thread-safe; may be called from anywhere).
      Errors raised are our StudioErrors (anything else becomes ProviderFailed), with the scene and step set.
    - Audit: one audit row per generation (image, video, voice) that ran, was refused, failed or was stopped.
    - Limits: `set_limits(plan)` is called before the steps of a plan run: per-provider concurrency, CPU slots
      for local work, per-key limits for providers that refuse past them.
    - Keys never leave the StepContext's credentials: not in keys, logs, events or stored metadata.
    """

    executed: dict[str, int]  # steps run, by kind
    cached: dict[str, int]  # steps found stored (or approved), by kind

    def set_limits(self, plan: "RenderPlan") -> None: ...

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
    ) -> Asset: ...

    def reused(self, scene: int | None, step: str, provider: str, media: MediaKind, asset: Asset) -> None:
        """Count and report a step whose output already exists (an approved image the render uses as is)."""
        ...


class StepExecutorFactory(Protocol):
    """Makes a render's executor from the render's collaborators (LocalStepRunner is one)."""

    def __call__(
        self,
        services: "Services",
        emit: Callable[[Event], None],
        cancel: CancelToken,
        money: "RenderSpending",
        audit: "GenerationAudit",
        paid_step_quota: Quota | None = None,
    ) -> StepExecutor: ...
