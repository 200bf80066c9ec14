"""A step kind is one definition: a kind registered from this file alone is planned into the graph, run and cached
by the render, shown on the board and the CLI's live table, listed in the manifest and by the estimate; a kind that
wraps another slots in between without editing either; unregistered, everything is as before. Nothing in
pipeline/ names these kinds."""

from __future__ import annotations

import io
import json
from typing import Any, Mapping

import pytest
from PIL import Image

from pipeline.board import RenderBoard
from pipeline.credentials import Credentials
from pipeline.estimate import estimate_cost
from pipeline.manifest import build_manifest
from pipeline.media.ffmpeg import run_ffmpeg
from pipeline.plan import ScenePlan, plan_render
from pipeline.pricing import StepCost
from pipeline.providers import StepContext, StepOutput
from pipeline.runner import render
from pipeline.steps import Planning, Step, StepKind, key_for, kinds, plan_steps, step_id
from pipeline.store import Asset, Store, step_key
from pipeline.storyboard import validate_storyboard
from tests.fakes import storyboard_dict

BUILT_IN = ["image", "video", "voice", "segment", "captioned", "mix", "finish", "soundtrack", "join"]
SCENE_KINDS, RENDER_KINDS = BUILT_IN[:6], BUILT_IN[6:]  # captioned: burned-in captions (pipeline/kinds/captioned.py)
# Registered, but in a render's kinds only when it plans a step of theirs (transitions: none between cuts).
OPT_IN = ["transition"]


# -- a per-scene "still": a PNG of the segment's first frame ------------------------------------------------


def plan_still(planning: Planning, scene: ScenePlan | None) -> Step:
    assert scene is not None
    segment = planning.output_of("segment", scene.index)
    assert segment is not None
    return Step(step_id("still", scene.index), "still", scene.index, "ffmpeg", (segment,))


def still_key(step: Step, outputs: Mapping[str, Asset]) -> str:
    return step_key("still", version=1, segment=outputs[step.inputs[0]].sha256)


def still_cost(step: Step, inputs: Mapping[str, Asset], cached: bool) -> StepCost:
    return StepCost("still", "ffmpeg", None, 1, "image", 0.0, cached)


async def execute_still(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    segment = inputs[step.inputs[0]]

    def produce(ctx: StepContext) -> StepOutput:
        out = ctx.workdir / "still.png"
        run_ffmpeg(["-i", str(segment.path), "-frames:v", "1", str(out)], ctx.cancel, "still")
        return StepOutput(out, {"from_frames": segment.meta["frames"]})

    return await run.cached_step(step, key_for(step, inputs), produce)


STILL = StepKind("still", per_scene=True, label="Still frame", media="image", plan=plan_still, key=still_key,
                 execute=execute_still, cost=still_cost)  # fmt: skip


@pytest.fixture
def still():
    kinds.register(STILL)
    try:
        yield STILL
    finally:
        kinds.unregister("still")


def _plan(scenes: int = 2):
    sb = validate_storyboard(storyboard_dict(scenes=scenes))
    credentials = Credentials({})
    return sb, plan_steps(plan_render(sb, credentials), credentials)


def test_it_is_planned_after_the_kinds_before_it_from_their_outputs(test_providers, still):
    _, graph = _plan()
    assert graph.kind_names == (*BUILT_IN, "still") and graph.scene_kinds == (*SCENE_KINDS, "still")
    # in a scene, the kinds that start first (its narration decides its length) are planned first
    first = [k for k in SCENE_KINDS if kinds.get(k).starts_first]
    planned = [s.kind for s in graph if s.scene == 0]
    assert planned == [*first, *(k for k in SCENE_KINDS if k not in first and k in planned), "still"]
    # the scene's segment as it is joined: with its captions burned in (by the captioned step, or drawn into an
    # offline camera move's clip, which is then the segment as it is)
    joined = graph["join"].inputs[1]
    assert joined in ("captioned:1", "segment:1") and graph["still:1"].inputs == (joined,)
    assert graph["still:1"].key is None
    assert graph["join"].inputs == (graph["still:0"].inputs[0], joined, "soundtrack"), "nothing else changes"


def test_it_renders_shows_everywhere_and_is_cached_the_second_time(test_providers, still, tmp_path):
    from pipeline.cli import _LiveTable

    sb = validate_storyboard(storyboard_dict(scenes=2))
    before = estimate_cost(sb, credentials=Credentials({}))
    assert [(s.step, s.cached) for s in before.scenes[0]] == [("image", False), ("video", False),
                                                             ("voice", False), ("still", False)]  # fmt: skip
    events: list[Any] = []
    first = render(sb, tmp_path / "out.mp4", on_event=events.append, credentials=Credentials({}))
    for scene in first.scenes:
        png = scene.outputs["still"]
        assert png is not None and png.path.suffix == ".png"
        assert Image.open(png.path).size == Image.open(scene.image.path).size == sb.size
    assert first.executed["still"] == 2

    manifest = json.loads(first.manifest.read_text())
    assert manifest == build_manifest(first)
    assert list(manifest["scenes"][1]["steps"]) == [*SCENE_KINDS, "still"]
    assert manifest["scenes"][1]["steps"]["still"]["sha256"] == first.scenes[1].outputs["still"].sha256

    board = RenderBoard()
    for event in events:
        board.apply(event)
    assert board.scene_kinds == [*SCENE_KINDS, "still"] and board.render_kinds == RENDER_KINDS
    assert "<th>Still frame</th>" in board.html() and board.state(1, "still").status == "done"

    table = _LiveTable(2, sb.title)
    for event in events:
        table.show(event)
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(table._table())
    header = next(line for line in console.file.getvalue().splitlines() if "image" in line)
    assert header.split("┃")[-2].strip() == "still"

    after = estimate_cost(sb, credentials=Credentials({}))
    assert [(s.step, s.cached) for s in after.scenes[1]][-1] == ("still", True), "the render's own key"
    second = render(sb, tmp_path / "again.mp4", credentials=Credentials({}))
    assert "still" not in second.executed and second.cached["still"] == 2
    assert second.scenes[0].outputs["still"].sha256 == first.scenes[0].outputs["still"].sha256


def test_unregistering_restores_every_view(test_providers, tmp_path):
    _, plain = _plan()
    kinds.register(STILL)
    try:
        assert "still" in RenderBoard().scene_kinds
    finally:
        kinds.unregister("still")
    _, again = _plan()
    assert again == plain and again.kind_names == tuple(BUILT_IN) and kinds.names() == [*BUILT_IN, *OPT_IN]
    assert [k for k in RenderBoard().scene_kinds] == SCENE_KINDS
    result = render(validate_storyboard(storyboard_dict(scenes=1)), tmp_path / "out.mp4")
    assert list(build_manifest(result)["scenes"][0]["steps"]) == SCENE_KINDS


# -- kinds that wrap another: they slot in between without editing it -----------------------------------------


async def _pass_through(run: Any, step: Step, inputs: Mapping[str, Asset]) -> Asset:
    return inputs[step.inputs[0]]


def _kind(name: str, wraps: str, per_scene: bool, inputs: Any) -> StepKind:
    """A kind that wraps `wraps`, planned from `inputs(planning, scene)`."""

    def plan(planning: Planning, scene: ScenePlan | None) -> Step | None:
        index = scene.index if scene is not None else None
        taken = inputs(planning, index)
        return Step(step_id(name, index), name, index, "ffmpeg", taken) if taken else None

    return StepKind(name, per_scene=per_scene, label=name.title(), media="video", plan=plan, execute=_pass_through,
                    wraps=wraps)  # fmt: skip


@pytest.fixture
def wrappers():
    registered: list[str] = []

    def add(kind: StepKind) -> StepKind:
        kinds.register(kind)
        registered.append(kind.name)
        return kind

    yield add
    for name in reversed(registered):
        kinds.unregister(name)


def test_a_scene_wrapper_takes_the_segment_and_the_join_takes_it(test_providers, wrappers):
    # Captions-like: only some scenes get a step; the join takes subtitled:i where it exists, and elsewhere what
    # stood in for segment:i before (the real captioned:i). Built-in captions are off here, so this one is alone.
    def subtitled_inputs(planning: Planning, i: int) -> tuple[str, ...]:
        voice = planning.output_of("voice", i)
        return (planning.output_of("segment", i), voice) if voice and i != 1 else ()

    wrappers(_kind("subtitled", "segment", True, subtitled_inputs))
    sb = validate_storyboard(storyboard_dict(scenes=3, captions={"burn_in": False}))
    graph = plan_steps(plan_render(sb, Credentials({})), Credentials({}))
    assert graph.scene_kinds == ("image", "video", "voice", "segment", "captioned", "subtitled", "mix"), \
        "right after segment and its earlier wrappers"  # fmt: skip
    assert graph["subtitled:0"].inputs == ("segment:0", "voice:0") and "subtitled:1" not in graph
    assert graph["join"].inputs == ("subtitled:0", "segment:1", "subtitled:2", "soundtrack")


def test_a_render_wide_wrapper_of_the_mixes_feeds_the_sound_track(test_providers):
    # The built-in music bed + loudness pass (pipeline/kinds/finish.py) wraps every scene's mix: the sound track
    # encodes its one output.
    _, graph = _plan(2)
    assert graph.render_kinds == ("finish", "soundtrack", "join")
    assert graph["finish"].inputs == ("mix:0", "mix:1") and graph["soundtrack"].inputs == ("finish",)
    assert [s.id for s in graph][-3:] == ["finish", "soundtrack", "join"]


def test_wrappers_chain_and_the_final_file_follows_the_join_s_stand_in(test_providers, wrappers):
    wrappers(_kind("loudness", "soundtrack", False, lambda planning, _: (planning.output_of("soundtrack"),)))
    wrappers(_kind("framed", "segment", True, lambda planning, i: (planning.output_of("segment", i),)))
    wrappers(_kind("graded", "framed", True, lambda planning, i: (planning.output_of("framed", i),)))
    wrappers(_kind("boxed", "segment", True, lambda planning, i: (planning.output_of("segment", i),)))
    wrappers(_kind("stamped", "join", False, lambda planning, _: (planning.output_of("join"),)))
    _, graph = _plan(1)
    assert graph.scene_kinds == ("image", "video", "voice", "segment", "captioned", "framed", "graded", "boxed",
                                 "mix")  # fmt: skip
    assert graph["framed:0"].inputs == ("captioned:0",) and graph["boxed:0"].inputs == ("graded:0",)
    assert graph["join"].inputs == ("boxed:0", "loudness") and graph.final == "stamped"


def test_a_kind_that_cannot_sit_anywhere_is_refused_with_what_is_known(wrappers):
    with pytest.raises(ValueError, match="wraps 'subtitles', which is not registered; known: image, video"):
        kinds.register(_kind("burn", "subtitles", True, lambda planning, i: ()))
    with pytest.raises(ValueError, match="'still' is per scene and cannot wrap the render-wide 'join'"):
        kinds.register(_kind("still", "join", True, lambda planning, i: ()))
    with pytest.raises(ValueError, match="step kind 'image' is already registered"):
        kinds.register(_kind("image", "segment", True, lambda planning, i: ()))
    wrappers(_kind("framed", "segment", True, lambda planning, i: ()))
    with pytest.raises(ValueError, match="'segment' is wrapped by captioned, framed; unregister those first"):
        kinds.unregister("segment")
    assert kinds.names() == [*BUILT_IN[:5], "framed", *BUILT_IN[5:], *OPT_IN]


# -- the README's "Adding a step kind" example, as printed ----------------------------------------------------


def test_the_readme_example_is_a_whole_step_kind(test_providers, tmp_path):
    """The README's example file, run as it is printed, adds a working kind: planned, rendered, in the manifest
    (a developer following the README touches only the file it names)."""
    import types
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("# pipeline/kinds/still.py")
    module = types.ModuleType("pipeline.kinds.still")
    exec(compile(readme[start : readme.index("```", start)], "README.md", "exec"), module.__dict__)
    try:
        sb = validate_storyboard(storyboard_dict(scenes=1))
        result = render(sb, tmp_path / "out.mp4", credentials=Credentials({}))
        assert "still" in build_manifest(result)["scenes"][0]["steps"]
        still = result.scenes[0].outputs["still"]
        assert Image.open(still.path).format == "PNG"
    finally:
        kinds.unregister("still")
    assert "still" not in kinds.names()
