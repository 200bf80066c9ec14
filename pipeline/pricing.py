"""What each paid step costs: one dated price table, the billing units of a request, and the estimate of a render.

The same `step_cost` prices the estimate before a run, the budget check before each paid call and the ledger
row after it, so the numbers a person sees before, during and after a render agree by construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pipeline.providers.base import ImageRequest, Provider, VideoRequest, VoiceRequest

Unit = Literal["image", "second", "character"]

# Public list prices, USD, as published by each provider (see ../shared/design/providers.md). Update the date with
# the numbers. Hugging Face bills inference providers by compute time, not per image: the figure is an estimate.
PRICES_AS_OF = "2026-11"
PRICES: dict[tuple[str, str | None], tuple[Unit, float, str]] = {
    ("bfl", "flux-pro-1.1"): ("image", 0.04, "BFL pricing: FLUX1.1 [pro] $0.04 per image"),
    ("bfl", "flux-pro-1.1-ultra"): ("image", 0.06, "BFL pricing: FLUX1.1 [pro] Ultra $0.06 per image"),
    ("bfl", "flux-dev"): ("image", 0.025, "BFL pricing: FLUX.1 [dev] $0.025 per image"),
    ("hf", None): ("image", 0.003, "estimate: HF inference is billed by compute time (~1-2 s of GPU per image)"),
    ("runway", "gen4_turbo"): ("second", 0.05, "Runway: gen4_turbo 5 credits per second, 1 credit = $0.01"),
    ("elevenlabs", "eleven_multilingual_v2"): ("character", 0.0001, "ElevenLabs: 1 credit per character, ~$0.10/1k"),
    ("elevenlabs", "eleven_v3"): ("character", 0.0001, "ElevenLabs: 1 credit per character, ~$0.10/1k"),
    ("elevenlabs", "eleven_monolingual_v1"): ("character", 0.0001, "ElevenLabs: 1 credit per character"),
    ("elevenlabs", "eleven_multilingual_v1"): ("character", 0.0001, "ElevenLabs: 1 credit per character"),
    ("elevenlabs", "eleven_flash_v2_5"): ("character", 0.00005, "ElevenLabs: 0.5 credit per character, ~$0.05/1k"),
    ("elevenlabs", "eleven_turbo_v2_5"): ("character", 0.00005, "ElevenLabs: 0.5 credit per character, ~$0.05/1k"),
    ("elevenlabs", "eleven_flash_v2"): ("character", 0.00005, "ElevenLabs: 0.5 credit per character"),
    ("elevenlabs", "eleven_turbo_v2"): ("character", 0.00005, "ElevenLabs: 0.5 credit per character"),
}


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
    prices_as_of: str = PRICES_AS_OF

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


def price(provider: Provider, model: str | None) -> tuple[Unit, float] | None:
    """The provider's price per unit for `model`; None for a paid provider/model the table does not know."""
    entry = PRICES.get((provider.name, model)) or PRICES.get((provider.name, None))
    return (entry[0], entry[1]) if entry else None


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

            raise InputError(f"{step}.model: no price is known for {provider.name} model '{model}'; "
                             f"known: {', '.join(str(m) for p, m in PRICES if p == provider.name)}")  # fmt: skip
        unit, per_unit = known
        usd = round(units * per_unit, 6)
    return StepCost(step, provider.name, model, units, unit, usd, cached)
