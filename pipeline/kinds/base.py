"""The step graph's machinery: a render is a graph of steps, and every step is of a registered kind.

A `StepKind` is everything the engine knows about one kind of step, in one definition:

    kinds.register(StepKind(
        "still", per_scene=True, label="Still", media="image",
        plan=plan_still,          # (planning, scene) → the scene's Step of this kind, or None (the scene has none)
        key=still_key,            # (step, outputs of its inputs) → its content key, when the key waits for inputs
        execute=execute_still,    # async (run, step, outputs of its inputs) → its Asset, through run.cached_step
    ))

`plan_steps` asks every kind's planner for its steps, in the registry's order: per-scene kinds scene by scene
(first scene first; in a scene, the kinds that start first before the others), then render-wide kinds. A
planner sees the graph so far (`Planning`) and names its inputs through `planning.output_of(kind, scene)`: the
step whose output a step planned *now* should take for that kind.

Where a new kind sits: it is planned after the kinds registered before it, so it can take their outputs. To slot
in between two existing kinds, it declares `wraps="<kind>"`: it is placed right after that kind (board column and
planning order alike), takes its output, and from then on stands in for it, so every step planned later that asks
for the wrapped kind's output gets the wrapper's instead, without editing those kinds:

    captioned (per scene, wraps "segment"):  segment:i → captioned:i, and the join takes captioned:i
    finish (render-wide, wraps "mix"):       mix:0…n → finish, and the sound track takes finish alone
    loudness (render-wide, wraps "soundtrack"): soundtrack → loudness, and the join takes loudness

A scene without a step of the wrapper's kind (no narration to caption) keeps the wrapped step's output. The kind
that delivers the render's file declares `final=True` (the join); the graph's `final` is its stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator, Mapping

from pipeline.credentials import Credentials
from pipeline.events import MediaKind
from pipeline.plan import RenderPlan, ScenePlan
from pipeline.pricing import StepCost
from pipeline.store import Asset


@dataclass(frozen=True)
class Step:
    """One step of a render: what it makes, from which steps' outputs, with what settings, under which key.

    `key` is None while it depends on outputs not made yet (see `key_for`), and for an approved image (which is
    found by its hash, not made)."""

    id: str
    kind: str
    scene: int | None
    provider: str  # a provider's name; "ffmpeg" for media work; "approved" for a pinned image
    inputs: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None


def step_id(kind: str, scene: int | None = None) -> str:
    return kind if scene is None else f"{kind}:{scene}"


# What a kind's definition is made of.
Planner = Callable[["Planning", "ScenePlan | None"], "Step | None"]  # scene is None for a render-wide kind
KeyFromInputs = Callable[[Step, Mapping[str, Asset]], str]
# (step, outputs of its inputs known so far, whether its output is already stored) → what it would cost
Pricer = Callable[[Step, Mapping[str, Asset], bool], StepCost]
Executor = Callable[[Any, Step, Mapping[str, Asset]], Awaitable[Asset]]  # run: the render in progress


@dataclass(frozen=True)
class StepKind:
    """One kind of step: where it sits, how it is planned and keyed, what it costs, and how it runs."""

    name: str
    per_scene: bool  # one step per scene (a board column), or one for the whole render (the board's last row)
    label: str  # its title on the board
    media: MediaKind  # what its output is: "image", "video" or "audio"
    plan: Planner
    execute: Executor
    key: KeyFromInputs | None = None  # None: every step of this kind carries its key from planning
    cost: Pricer | None = None  # the estimate lists the steps of kinds that have one (paid or not)
    wraps: str | None = None  # the kind it sits right after and stands in for (see the module's docstring)
    starts_first: bool = False  # started before other steps (a scene's narration decides its length)
    preview: bool = False  # the board shows its newest output as the preview of its media
    final: bool = False  # its output (its stand-in's, when wrapped) is the render's file
    # Left out of a render's kinds (board, CLI table, manifest) when it plans no step in it, so an opt-in kind
    # (transitions: none between cuts) leaves renders that do not use it exactly as they were.
    only_when_planned: bool = False


class StepKinds:
    """The registered kinds by name, in registration order, except that a wrapper sits right after what it wraps."""

    def __init__(self) -> None:
        self._kinds: dict[str, StepKind] = {}

    def register(self, kind: StepKind) -> StepKind:
        if kind.name in self._kinds:
            raise ValueError(f"step kind '{kind.name}' is already registered; unregister it first")
        if kind.wraps is not None:
            wrapped = self._kinds.get(kind.wraps)
            if wrapped is None:
                raise ValueError(f"step kind '{kind.name}' wraps '{kind.wraps}', which is not registered; "
                                 f"known: {', '.join(self._kinds)}")  # fmt: skip
            if kind.per_scene and not wrapped.per_scene:
                raise ValueError(f"step kind '{kind.name}' is per scene and cannot wrap the render-wide "
                                 f"'{kind.wraps}'")  # fmt: skip
        self._kinds[kind.name] = kind
        return kind

    def unregister(self, name: str) -> None:
        wrappers = [k.name for k in self._kinds.values() if k.wraps == name]
        if wrappers:
            raise ValueError(f"step kind '{name}' is wrapped by {', '.join(wrappers)}; unregister those first")
        self._kinds.pop(name, None)

    def get(self, name: str) -> StepKind:
        kind = self._kinds.get(name)
        if kind is None:
            raise KeyError(f"no step kind '{name}'; known: {', '.join(self._kinds)}")
        return kind

    def find(self, name: str) -> StepKind | None:
        return self._kinds.get(name)

    def __iter__(self) -> Iterator[StepKind]:
        return iter(self.ordered())

    def names(self) -> list[str]:
        return [k.name for k in self.ordered()]

    def ordered(self) -> tuple[StepKind, ...]:
        """Planning and board order: registration order, each wrapper right after the kind it wraps and after
        that kind's earlier wrappers (and theirs)."""
        order: list[StepKind] = []
        for kind in self._kinds.values():
            if kind.wraps is None:
                order.append(kind)
                continue
            at = next(i for i, k in enumerate(order) if k.name == kind.wraps) + 1
            while at < len(order) and self._wraps(order[at], kind.wraps):
                at += 1
            order.insert(at, kind)
        return tuple(order)

    def _wraps(self, kind: StepKind, name: str) -> bool:
        """Whether `kind` wraps `name`, directly or through other wrappers."""
        while kind.wraps is not None:
            if kind.wraps == name:
                return True
            kind = self._kinds[kind.wraps]
        return False


kinds = StepKinds()


@dataclass(frozen=True)
class StepGraph:
    """The steps of one render, in an order where every step comes after its inputs, and the kinds it was planned
    with (board order; a kind may have no step in some scene, or in any: no narration)."""

    steps: tuple[Step, ...]
    kinds: tuple[StepKind, ...] = ()
    final: str = ""  # the id of the step whose output is the render's file
    by_id: dict[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {s.id: s for s in self.steps})

    def __getitem__(self, step_id: str) -> Step:
        return self.by_id[step_id]

    def __contains__(self, step_id: object) -> bool:
        return step_id in self.by_id

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def of_scene(self, scene: int, kind: str) -> Step | None:
        return self.by_id.get(step_id(kind, scene))

    def kind(self, name: str) -> StepKind:
        return next(k for k in self.kinds if k.name == name)

    @property
    def kind_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.kinds)

    @property
    def scene_kinds(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.kinds if k.per_scene)

    @property
    def render_kinds(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.kinds if not k.per_scene)


class Planning:
    """The graph so far, as a kind's planner sees it: the plan, the credentials, and the steps planned before."""

    def __init__(self, plan: RenderPlan, credentials: Credentials, planned_kinds: tuple[StepKind, ...]):
        self.plan, self.credentials = plan, credentials
        self.steps: list[Step] = []
        self._kinds = {k.name: k for k in planned_kinds}
        self._by_id: dict[str, Step] = {}
        self._stand_in: dict[str, str] = {}  # a step's id → the wrapper's step that stands in for its output

    def has(self, step_id: str) -> bool:
        return step_id in self._by_id

    def output_of(self, kind: str, scene: int | None = None) -> str | None:
        """The id of the step whose output a step planned now takes for `kind` (of `scene`): that kind's step, or
        the last wrapper standing in for it; None when there is no such step (a scene without narration)."""
        current = step_id(kind, scene)
        if current not in self._by_id:
            return None
        while current in self._stand_in:
            current = self._stand_in[current]
        return current

    def outputs_of(self, kind: str) -> tuple[str, ...]:
        """`output_of(kind, scene)` for every scene that has one, in scene order, each step once (a render-wide
        wrapper stands in for every scene's output at once)."""
        found = (self.output_of(kind, s.index) for s in self.plan.scenes)
        return tuple(dict.fromkeys(i for i in found if i is not None))

    def add(self, step: Step) -> None:
        kind = self._kinds.get(step.kind)
        if kind is None:
            raise ValueError(f"step '{step.id}' is of kind '{step.kind}', which is not registered")
        if step.id in self._by_id:
            raise ValueError(f"step '{step.id}' is planned twice")
        if missing := [i for i in step.inputs if i not in self._by_id]:
            raise ValueError(f"step '{step.id}' takes {', '.join(missing)}, not planned before it")
        self.steps.append(step)
        self._by_id[step.id] = step
        if kind.wraps is not None:
            wrapped = self._kinds[kind.wraps]
            every_scene = wrapped.per_scene and not kind.per_scene
            scenes = [s.index for s in self.plan.scenes] if every_scene else [step.scene]
            for s in scenes:
                if step_id(kind.wraps, s) in self._by_id:
                    self._stand_in[step_id(kind.wraps, s)] = step.id


def plan_steps(plan: RenderPlan, credentials: Credentials) -> StepGraph:
    """Every step of the render `plan` describes, from every registered kind's planner, with its key where the
    plan alone decides it."""
    order = kinds.ordered()
    planning = Planning(plan, credentials, order)
    # A scene's kinds that start first are planned first, so any kind may take the scene's narration (the offline
    # camera move draws the captions into its clip); the board keeps the registry's order.
    scene_order = sorted((k for k in order if k.per_scene), key=lambda k: not k.starts_first)
    for scene in plan.scenes:
        for kind in scene_order:
            if (step := kind.plan(planning, scene)) is not None:
                planning.add(step)
    for kind in order:
        if not kind.per_scene and (step := kind.plan(planning, None)) is not None:
            planning.add(step)
    final = next((planning.output_of(k.name) for k in order if k.final), None)
    planned = {s.kind for s in planning.steps}
    shown = tuple(k for k in order if not k.only_when_planned or k.name in planned)
    return StepGraph(tuple(planning.steps), shown, final or "")


def key_for(step: Step, outputs: Mapping[str, Asset]) -> str:
    """The step's content key: the planned one, or computed by its kind from the outputs of its inputs."""
    if step.key is not None:
        return step.key
    missing = [i for i in step.inputs if i not in outputs]
    key = kinds.get(step.kind).key
    if missing or key is None:
        raise ValueError(f"{step.id}: no key yet (waiting for {', '.join(missing) or 'nothing it can name'})")
    return key(step, outputs)
