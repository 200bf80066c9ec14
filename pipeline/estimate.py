"""Before a run: what each scene's steps would cost now, with what the cache already holds at $0.

Uses the render's own step keys (pipeline/steps.py), so "cached" here means exactly "will not run". A clip's key
depends on its image's bytes: when the image is not made yet, the clip cannot be cached and is priced in full.
"""

from __future__ import annotations

from typing import Callable

from pipeline.credentials import Credentials
from pipeline.owners import pinned_image
from pipeline.plan import RenderPlan, ScenePlan, plan_render
from pipeline.pricing import CostEstimate, prices_as_of
from pipeline.services import Services, services_for_call
from pipeline.steps import APPROVED, StepGraph, key_for, plan_steps
from pipeline.store import Asset, Store
from pipeline.storyboard import Storyboard


def estimate_cost(
    storyboard: Storyboard,
    *,
    credentials: Credentials | None = None,
    store: Store | None = None,
    owner: str = "cli",
    services: Services | None = None,
) -> CostEstimate:
    """The cost of rendering `storyboard` now for `owner`, per scene and step (raises InputError like a render
    would; a pinned image counts only when the owner may use it, as in the render). `store=` / `credentials=`
    replace the services' own."""
    services = services_for_call(services, store=store, credentials=credentials)
    store, credentials, owned = services.store, services.credentials, services.owned_images
    plan = plan_render(storyboard, credentials, blocklist=services.settings.blocklist)
    return estimate_plan(plan, plan_steps(plan, credentials), store,
                         lambda scene: pinned_image(store, owned, owner, scene.pinned_image))  # fmt: skip


def estimate_plan(
    plan: RenderPlan, graph: StepGraph, store: Store, pinned: Callable[[ScenePlan], Asset | None]
) -> CostEstimate:
    """The estimate of a planned render: `pinned` finds a scene's approved image the way the render will.

    Walks the graph in order, so a step whose inputs are already stored (or approved) is keyed and looked up
    exactly as the render will; every scene step of a kind that declares a cost is listed."""
    in_use = (plan.image_provider, plan.video_provider, plan.voice_provider)
    estimate = CostEstimate(plan.storyboard.title, prices_as_of=prices_as_of(p for p in in_use if p.paid))
    estimate.scenes = [[] for _ in plan.scenes]
    stored: dict[str, Asset] = {}  # step id → its output, where it exists already
    for step in graph:
        inputs = {i: stored[i] for i in step.inputs if i in stored}
        if step.provider == APPROVED:
            found = pinned(plan.scenes[step.scene]) if step.scene is not None else None
        elif step.key is not None or len(inputs) == len(step.inputs):
            found = store.get(key_for(step, inputs))
        else:
            found = None  # an input is not made yet: neither is this
        if found is not None:
            stored[step.id] = found
        price = graph.kind(step.kind).cost
        if price is not None and step.scene is not None:
            estimate.scenes[step.scene].append(price(step, inputs, found is not None))
    order = {name: i for i, name in enumerate(graph.kind_names)}  # a scene's narration is planned first
    for costs in estimate.scenes:
        costs.sort(key=lambda c: order.get(c.step, len(order)))
    return estimate
