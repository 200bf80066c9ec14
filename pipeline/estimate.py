"""Before a run: what each scene's steps would cost now, with what the cache already holds at $0.

Uses the render's own step keys (pipeline/steps.py), so "cached" here means exactly "will not run". A clip's key
depends on its image's bytes: when the image is not made yet, the clip cannot be cached and is priced in full.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pipeline.credentials import Credentials
from pipeline.owners import OwnedImages, pinned_image
from pipeline.plan import RenderPlan, ScenePlan, plan_render
from pipeline.pricing import CostEstimate, StepCost, prices_as_of, step_cost
from pipeline.steps import StepGraph, clip_request, key_for, plan_steps, step_id
from pipeline.store import Asset, Store
from pipeline.storyboard import Storyboard


def estimate_cost(
    storyboard: Storyboard, *, credentials: Credentials | None = None, store: Store | None = None, owner: str = "cli"
) -> CostEstimate:
    """The cost of rendering `storyboard` now for `owner`, per scene and step (raises InputError like a render
    would; a pinned image counts only when the owner may use it, as in the render)."""
    credentials = credentials if credentials is not None else Credentials.from_env()
    store = store or Store()
    plan = plan_render(storyboard, credentials)
    owned = OwnedImages(store.home)
    return estimate_plan(plan, plan_steps(plan, credentials), store,
                         lambda scene: pinned_image(store, owned, owner, scene.pinned_image))  # fmt: skip


def estimate_plan(
    plan: RenderPlan, graph: StepGraph, store: Store, pinned: Callable[[ScenePlan], Asset | None]
) -> CostEstimate:
    """The estimate of a planned render: `pinned` finds a scene's approved image the way the render will."""
    in_use = (plan.image_provider, plan.video_provider, plan.voice_provider)
    estimate = CostEstimate(plan.storyboard.title, prices_as_of=prices_as_of(p for p in in_use if p.paid))
    for scene in plan.scenes:
        i = scene.index
        steps: list[StepCost] = []
        image: Asset | None
        if scene.pinned_image is not None:
            image = pinned(scene)
            steps.append(StepCost("image", "approved", None, 1, "image", 0.0, cached=True))
        else:
            image = store.get(key_for(graph[step_id("image", i)], {}))
            steps.append(step_cost("image", plan.image_provider, scene.image, cached=image is not None))
        video = graph[step_id("video", i)]
        if image is not None:
            request = clip_request(video, image)
            cached = store.get(key_for(video, {step_id("image", i): image})) is not None
        else:
            request, cached = clip_request(video, Asset("", "", Path())), False
        steps.append(step_cost("video", plan.video_provider, request, cached=cached))
        if scene.voice is not None:
            cached = store.get(key_for(graph[step_id("voice", i)], {})) is not None
            steps.append(step_cost("voice", plan.voice_provider, scene.voice, cached=cached))
        estimate.scenes.append(steps)
    return estimate
