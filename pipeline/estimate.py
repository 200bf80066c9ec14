"""Before a run: what each scene's steps would cost now, with what the cache already holds at $0.

Uses the render's own step keys, so "cached" here means exactly "will not run". A clip's key depends on its
image's bytes: when the image is not made yet, the clip cannot be cached and is priced in full.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.credentials import Credentials
from pipeline.plan import RenderPlan, plan_render
from pipeline.pricing import CostEstimate, StepCost, prices_as_of, step_cost
from pipeline.store import Asset, Store
from pipeline.storyboard import Storyboard


def estimate_cost(
    storyboard: Storyboard, *, credentials: Credentials | None = None, store: Store | None = None, owner: str = "cli"
) -> CostEstimate:
    """The cost of rendering `storyboard` now for `owner`, per scene and step (raises InputError like a render
    would; a pinned image counts only when the owner may use it, as in the render)."""
    from pipeline.runner import Render

    render = Render(storyboard, "", lambda event: None, store=store or Store(), credentials=credentials, owner=owner)
    return estimate_plan(render, plan_render(storyboard, render.credentials))


def estimate_plan(render: Any, plan: RenderPlan) -> CostEstimate:
    store: Store = render.store
    in_use = (plan.image_provider, plan.video_provider, plan.voice_provider)
    estimate = CostEstimate(plan.storyboard.title, prices_as_of=prices_as_of(p for p in in_use if p.paid))
    for scene in plan.scenes:
        steps: list[StepCost] = []
        image: Asset | None
        if scene.pinned_image is not None:
            image = render.pinned_image(scene)
            steps.append(StepCost("image", "approved", None, 1, "image", 0.0, cached=True))
        else:
            image = store.get(render.image_key(plan, scene))
            steps.append(step_cost("image", plan.image_provider, scene.image, cached=image is not None))
        if image is not None:
            request = render.video_request(plan, scene, image)
            cached = store.get(render.video_key(plan, request)) is not None
        else:
            request, cached = render.video_request(plan, scene, Asset("", "", Path())), False
        steps.append(step_cost("video", plan.video_provider, request, cached=cached))
        if scene.voice is not None:
            cached = store.get(render.voice_key(plan, scene.voice)) is not None
            steps.append(step_cost("voice", plan.voice_provider, scene.voice, cached=cached))
        estimate.scenes.append(steps)
    return estimate
