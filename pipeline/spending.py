"""A render's money: the budget gate before anything runs, a reservation while each paid step runs, settlement
into the ledger once it is paid, and the per-step cost records the manifest shows.

The runner hands every paid step here (`reserve` before the call, `settle` after, `saved` on a cache hit), so
no paid call can take a render past its budget even with steps running side by side.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from pipeline.credentials import Credentials
from pipeline.errors import BudgetExceeded, BudgetRequired, InputError, Problem
from pipeline.ledger import Ledger, Spend
from pipeline.pricing import CostEstimate, StepCost
from pipeline.providers import registry


def require_budget(estimate: CostEstimate, budget: float | None) -> None:
    """Paid work starts only when the person has seen the price and set a budget: raise BudgetRequired when the
    estimate costs money and no budget was given."""
    if budget is None and estimate.total > 0:
        raise BudgetRequired(f"This render will cost ${estimate.total:.2f} (see Cost). Set a budget of at least "
                             f"${estimate.total:.2f} to confirm.")  # fmt: skip


def budget_advice(estimate: CostEstimate) -> str:
    """What the studio's estimate adds for a render that costs money (the budget `require_budget` asks for)."""
    return "" if estimate.total == 0 else f"Set a budget of at least ${estimate.total:.2f} to render."


class RenderSpending:
    def __init__(self, render_id: str, credentials: Credentials, budget: float | None,
                 ledger: Callable[[], Ledger], budget_required: bool = False):  # fmt: skip
        """`ledger` opens the services' ledger (pipeline/services.py): only when a paid step is settled."""
        self.render_id = render_id
        self.credentials = credentials
        self.budget = budget  # USD: no paid call is made that would take this render's spend past it
        # The studio and the API: a render that costs money needs a budget (the CLI's --budget is optional).
        self.budget_required = budget_required
        self.spent = 0.0
        self.reserved = 0.0  # USD of paid steps running now
        self.costs: dict[tuple[int | None, str], dict[str, Any]] = {}  # per scene and step: usd, cached
        self._open_ledger = ledger
        self._ledger: Ledger | None = None
        # reserve runs in the render's event loop, settle in a worker thread (it writes the ledger): the running
        # totals change under this lock so neither loses the other's update.
        self._lock = threading.Lock()

    @property
    def gated(self) -> bool:
        """Whether the render must pass `check` before it starts (it then prices its plan first)."""
        return self.budget is not None or self.budget_required

    def check(self, estimate: CostEstimate) -> None:
        """The budget gate, before anything runs: BudgetRequired when a budget is required and missing,
        InputError when the estimate is above the budget."""
        if self.budget_required:
            require_budget(estimate, self.budget)
        if self.budget is None or estimate.total <= self.budget + 1e-9:
            return
        paid = sorted({s.provider for scene in estimate.scenes for s in scene if s.due > 0})
        raise InputError([Problem("budget", f"the estimate ${estimate.total:.2f} is above the budget "
                                  f"${self.budget:.2f}: raise the budget, shorten or remove scenes, approve "
                                  f"images you already have, or switch {', '.join(paid)} to an offline "
                                  "provider")])  # fmt: skip

    def reserve(self, cost: StepCost, scene: int | None) -> None:
        """Hold the step's price before its paid call (raises BudgetExceeded when it would not fit)."""
        with self._lock:
            if self.budget is not None and self.spent + self.reserved + cost.usd > self.budget + 1e-9:
                where = f"scene {scene + 1} {cost.step}" if scene is not None else cost.step
                raise BudgetExceeded(
                    f"{where}: not started — it costs ${cost.usd:.2f} and this render has spent ${self.spent:.2f} "
                    f"(+${self.reserved:.2f} running) of its ${self.budget:.2f} budget; finished steps are kept, "
                    "raise the budget to continue"
                )
            self.reserved += cost.usd

    def settle(self, cost: StepCost, scene: int | None, key: str, meta: dict[str, Any], paid: bool) -> None:
        """Release the reservation; when the provider was paid, count it, ledger it and record its cost."""
        with self._lock:
            self.reserved -= cost.usd
            if not paid:
                return
            self.spent = round(self.spent + cost.usd, 6)
        if self._ledger is None:
            self._ledger = self._open_ledger()
        provider = registry.get(cost.step, cost.provider)  # a paid step's name is its provider kind
        self._ledger.record(Spend(self.render_id, scene, cost.step, cost.provider, cost.model, cost.units, cost.unit,
                                  cost.usd, meta.get("provider_task_id"),
                                  self.credentials.fingerprint(provider.key_env_var), key))  # fmt: skip
        self.costs[(scene, cost.step)] = {"usd": cost.usd, "cached": False, "units": cost.units, "unit": cost.unit}

    def saved(self, scene: int | None, step: str, cost: StepCost) -> None:
        """A paid step found in the cache: $0 now, its price saved."""
        self.costs[(scene, step)] = {"usd": 0.0, "cached": True, "saved": cost.usd}
