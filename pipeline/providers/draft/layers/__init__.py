"""The table of layers: every layer the painter can draw, back to front, each with the condition that draws it.

A frame is painted by walking the table in order and drawing each layer whose condition holds for the scene (the
words the prompt used, the time of day). The order matters twice: nearer layers cover farther ones, and layers take
their random choices from the scene's shared sources in turn, so reordering the table changes every later layer.
To add an element: a pattern in `prompt.FEATURES`, a function `paint_…(scene)` in the module for its part of the
picture, and a row here in the right place.

In the layer functions, `p` is the scene's painter (sizes in `p.unit`, the short side), `lay` its layout and `pal`
its palette; `scene.choices` and `scene.noise` are the only sources of randomness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pipeline.providers.base import StepContext
from pipeline.providers.draft.layers.abstract import paint_abstract
from pipeline.providers.draft.layers.city import paint_city
from pipeline.providers.draft.layers.coast import paint_cliff, paint_lighthouse
from pipeline.providers.draft.layers.figures import paint_birds, paint_figure
from pipeline.providers.draft.layers.land import paint_dunes, paint_hills, paint_mountains
from pipeline.providers.draft.layers.sky import paint_clouds, paint_light, paint_rainbow, paint_sky, paint_stars
from pipeline.providers.draft.layers.water import paint_boat, paint_sea, paint_shore
from pipeline.providers.draft.layers.weather import paint_fog, paint_lightning, paint_rain, paint_snowfall
from pipeline.providers.draft.layers.woods import paint_forest, paint_lone_tree
from pipeline.providers.draft.prompt import SCENERY
from pipeline.providers.draft.scene import Scene


@dataclass(frozen=True)
class Layer:
    name: str
    when: Callable[[Scene], bool]  # draw this layer for this scene?
    paint: Callable[[Scene], None]


def _has(*features: str) -> Callable[[Scene], bool]:
    """The condition 'the prompt names any of these features'."""
    return lambda scene: bool(scene.features & set(features))


def _always(scene: Scene) -> bool:
    return True


def _clouds_show(scene: Scene) -> bool:
    f, time = scene.features, scene.layout.time
    return "clouds" in f or time in ("day", "sunset", "dawn", "overcast") or "night" in f and "rain" in f


def _rolling_hills(scene: Scene) -> bool:
    """Hills of their own: fields or hills named, snowy open land, or a lone tree with no other scenery."""
    f = scene.features
    return bool(f & {"field", "hill"}) or ("snow" in f and not f & {"forest", "city", "sea"}) or f & SCENERY == {"tree"}


def _foothills(scene: Scene) -> bool:
    """Low dark hills in front of a mountain range that has nothing else before it."""
    f = scene.features
    return not _rolling_hills(scene) and "mountain" in f and not f & {"forest", "city", "desert", "sea"}


def _paint_rolling_hills(scene: Scene) -> None:
    paint_hills(scene, snowy="snow" in scene.features)


def _paint_foothills(scene: Scene) -> None:
    paint_hills(scene, snowy="snow" in scene.features, low=True)


SKY = (
    Layer("sky", _always, paint_sky),
    Layer("stars", lambda scene: scene.night, paint_stars),
    Layer("light", _always, paint_light),  # the sun, the moon or a neon glow, when it shows
    Layer("clouds", _clouds_show, paint_clouds),
    Layer("rainbow", _has("rainbow"), paint_rainbow),
)
LAND = (
    Layer("abstract", lambda scene: not scene.scenery, paint_abstract),  # no scenery words at all
    Layer("mountains", _has("mountain"), paint_mountains),
    Layer("sea", _has("sea"), paint_sea),
    Layer("dunes", lambda scene: "desert" in scene.features and "sea" not in scene.features, paint_dunes),
    Layer("hills", _rolling_hills, _paint_rolling_hills),
    Layer("foothills", _foothills, _paint_foothills),
)
NEAR = (
    Layer("city", _has("city"), paint_city),
    Layer("forest", _has("forest"), paint_forest),
    Layer("lone tree", _has("tree"), paint_lone_tree),
    Layer("cliff", _has("cliff", "lighthouse"), paint_cliff),
    Layer("lighthouse", _has("lighthouse"), paint_lighthouse),
    Layer("shore", _has("sea"), paint_shore),
    Layer("boat", _has("boat"), paint_boat),
    Layer("figure", _has("figure"), paint_figure),
    Layer("birds", _has("birds"), paint_birds),
)
WEATHER = (
    Layer("fog", _has("fog"), paint_fog),
    Layer("lightning", _has("lightning"), paint_lightning),
    Layer("rain", _has("rain"), paint_rain),
    Layer("snowfall", _has("snow"), paint_snowfall),
)
# The table, back to front, in stages; after each stage the step reports its progress (a fraction of the frame).
STAGES: tuple[tuple[tuple[Layer, ...], float | None], ...] = ((SKY, 0.15), (LAND, 0.3), (NEAR, 0.45), (WEATHER, None))
LAYERS: tuple[Layer, ...] = tuple(layer for stage, _ in STAGES for layer in stage)


def paint_scene(scene: Scene, ctx: StepContext) -> None:
    """Paint every layer whose condition holds, back to front, reporting progress after each stage."""
    for stage, progress in STAGES:
        for layer in stage:
            if layer.when(scene):
                layer.paint(scene)
        if progress is not None:
            ctx.progress(progress)
