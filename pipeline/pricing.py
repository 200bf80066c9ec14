"""What each paid step costs: the billing units of a request, the provider's dated price for them, and the estimate.

Prices are not kept here: each paid provider declares its own (`prices = Prices(as_of, per_model)` on its class,
see pipeline/providers/base.py), so a new provider is priced by its own module. The same `step_cost` prices the
estimate before a run, the budget check before each paid call and the ledger row after it, so the numbers a person
sees before, during and after a render agree by construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from pipeline.providers.base import BILLING_UNITS, ImageRequest, Price, Provider, Unit, VideoRequest, VoiceRequest

__all__ = ["BILLING_UNITS", "CostEstimate", "StepCost", "Unit", "billing_units", "price", "price_summary",
           "prices_as_of", "step_cost"]  # fmt: skip


def prices_as_of(providers: Iterable[Provider | type[Provider]] = ()) -> str:
    """The date of the prices that apply: the oldest among `providers` that have prices; with none of those
    (an offline render), the oldest among every registered provider's. "" when no provider declares prices."""
    dates = [p.prices.as_of for p in providers if p.prices is not None]
    if not dates:
        from pipeline.providers import registry

        dates = [cls.prices.as_of for cls in registry.all() if cls.prices is not None]
    return min(dates, default="")


def price_summary(provider: Provider | type[Provider]) -> str | None:
    """A provider's prices in a few words, dated ("$0.05 per second", "$0.05-$0.1 per 1,000 characters, prices as
    of 2026-11"); None for a provider without prices."""
    if provider.prices is None:
        return None
    listed = list(provider.prices.per_model.values())
    low, high = min(p.usd for p in listed), max(p.usd for p in listed)
    scale, per = (1000, "1,000 characters") if listed[0].unit == "character" else (1, listed[0].unit)
    amount = f"${low * scale:.4g}" if low == high else f"${low * scale:.4g}-${high * scale:.4g}"
    return f"{amount} per {per}, prices as of {provider.prices.as_of}"


@dataclass(frozen=True)
class StepCost:
    step: str
    provider: str
    model: str | None
    units: float
    unit: Unit
    usd: float
    cached: bool = False  # already in the store: nothing runs, nothing is paid

    @property
    def due(self) -> float:
        return 0.0 if self.cached else self.usd


@dataclass
class CostEstimate:
    """Per scene and step, what a render would cost now (cached steps cost $0)."""

    title: str
    scenes: list[list[StepCost]] = field(default_factory=list)
    prices_as_of: str = field(default_factory=prices_as_of)

    @property
    def total(self) -> float:
        return round(sum(s.due for scene in self.scenes for s in scene), 4)

    @property
    def saved(self) -> float:
        """What the cache saves: the price of the paid steps already stored."""
        return round(sum(s.usd for scene in self.scenes for s in scene if s.cached), 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "total_usd": self.total,
            "saved_by_cache_usd": self.saved,
            "prices_as_of": self.prices_as_of,
            "scenes": [{"scene": i + 1, "usd": round(sum(s.due for s in steps), 4),
                        "steps": [{**asdict(s), "due": s.due} for s in steps]}
                       for i, steps in enumerate(self.scenes)],  # fmt: skip
        }

    def table(self) -> list[list[Any]]:
        """Rows for a person: scene, step, provider, units, cost, state."""
        rows = []
        for i, steps in enumerate(self.scenes):
            for s in steps:
                amount = f"{s.units:g} {s.unit}{'s' if s.units != 1 else ''}"
                state = "cached: $0" if s.cached else ("free (offline)" if s.usd == 0 else "will run")
                rows.append([i + 1, s.step, s.provider, amount, f"${s.usd:.4f}", state])
        return rows


def billing_units(request: Any) -> tuple[float, Unit]:
    """How much of a request a provider bills: one image, the clip's requested seconds, the script's characters."""
    if isinstance(request, ImageRequest):
        return 1, "image"
    if isinstance(request, VideoRequest):
        return float(request.duration), "second"
    if isinstance(request, VoiceRequest):
        return float(len(request.text)), "character"
    raise TypeError(f"no billing unit for {type(request).__name__}")


def price(provider: Provider, model: str | None) -> Price | None:
    """The provider's own price per unit for `model`; None for a model its price list does not know."""
    return provider.prices.get(model) if provider.prices is not None else None


def step_cost(step: str, provider: Provider, request: Any, cached: bool = False) -> StepCost:
    """What `request` costs at `provider`, priced by the model it asks for."""
    model = request.model
    units, unit = billing_units(request)
    usd = 0.0
    if getattr(provider, "paid", False):
        known = price(provider, model)
        if known is None:
            # An unknown price must never read as free: the budget could not protect the user.
            from pipeline.errors import InputError

            known_models = ", ".join(provider.prices.models()) if provider.prices is not None else "none"
            raise InputError(f"{step}.model: no price is known for {provider.name} model '{model}'; "
                             f"known: {known_models}")  # fmt: skip
        unit, usd = known.unit, round(units * known.usd, 6)
    return StepCost(step, provider.name, model, units, unit, usd, cached)
