"""Run a render: every scene concurrently under per-provider limits, every step cached by its content key.

    for event in iter_render(storyboard, "out.mp4"):      # CLI, studio and API clients all consume events
        ...
    result = render(storyboard, "out.mp4")                 # or just the result (raises on failure)

A render plans (pipeline/plan.py, then its steps and keys: pipeline/steps.py), walks the steps, starting each as
soon as its inputs exist, through its kind's executor (pipeline/kinds/), and writes the manifest
(pipeline/manifest.py). How one step runs (cache, limits, money, audit, events) is the executor's it is handed
(pipeline/local_steps.py); the money is RenderSpending's (pipeline/spending.py); recording the render in its
project, as it starts and when it ends, is the ProjectRecorder's its caller hands it (pipeline/projects.py).

Blocking work (drawing, ffmpeg, neural TTS) runs in threads: Pillow, OpenCV, onnxruntime and ffmpeg's own
processes release the GIL, so two cores are used. Local CPU work holds a slot of the one process-wide CPU limiter
(pipeline/limits.py) shared with every other render; waiting on a paid provider holds none. A stop
(`CancelToken.cancel()`, or closing the event iterator) stops queued steps at once (also those waiting for a CPU
slot) and running ones at their next check; finished steps stay in the store.
"""

from __future__ import annotations

import asyncio
import queue
import shutil
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from pipeline.blocklist import RefusedPrompt
from pipeline.captions.language import voice_language_warnings
from pipeline.captions.steps import write_caption_files
from pipeline.credentials import Credentials
from pipeline.pricing import StepCost, step_cost
from pipeline.errors import (
    BudgetExceeded,
    Cancelled,
    InputError,
    MediaError,
    ProviderError,
    RateLimitExceeded,
    StudioError,
)
from pipeline.events import (
    Event,
    RenderCancelled,
    RenderFailed,
    RenderFinished,
    RenderStarted,
    SceneStepDone,
    StepWarning,
)
from pipeline.manifest import manifest_path, write_manifest
from pipeline.memory import tune_allocator
from pipeline.music_track import resolve_track
from pipeline.owners import OwnedImages, pinned_image
from pipeline.plan import RenderPlan, plan_render, unapproved_images
from pipeline.projects import ProjectRecorder
from pipeline.providers import registry
from pipeline.providers.base import CancelToken, StepContext, StepOutput
from pipeline.local_steps import GenerationAudit, LocalStepRunner
from pipeline.ratelimit import Quota
from pipeline.services import Services, services_for_call
from pipeline.result import RenderResult, SceneResult
from pipeline.spending import RenderSpending
from pipeline.step_executor import StepExecutor, StepExecutorFactory
from pipeline.steps import Step, StepGraph, plan_steps, scene_frames, step_id
from pipeline.store import Asset, Store
from pipeline.storyboard import Storyboard


async def take_render_slot(quota: Quota, services: Services, owner: str, client: str | None) -> None:
    """One of the host's hourly render slots (a refusal is audited, then raised)."""
    try:
        quota.take()
    except RateLimitExceeded as exc:
        await asyncio.to_thread(services.audit_log.refusal, "render", str(exc), owner=owner, client=client)
        raise


def _warm_up_voice(storyboard: Storyboard) -> None:
    """A narrated storyboard's voice provider loads its model in the background while the render plans."""
    if not any(scene.audio_script.strip() for scene in storyboard.scenes):
        return
    try:
        provider = registry.get("voice", storyboard.voice.provider)
    except Exception:  # noqa: BLE001 - an unknown provider is refused by planning, with its message
        return
    threading.Thread(target=provider.warm_up, args=(storyboard.voice.voice_id,), name="warm-up", daemon=True).start()


async def release_when_done(provider: Any, tasks: list[asyncio.Task[Any]]) -> None:
    """Once `tasks` (a render's every step of one provider) have ended, made, stored or failed, the provider drops
    what it keeps loaded (Provider.release), so the memory is free for the rest of the render (the encoders)."""
    await asyncio.wait(tasks)
    await asyncio.to_thread(provider.release)


class Render:
    """One render of one storyboard. Use `iter_render` / `render` rather than this class directly."""

    def __init__(
        self,
        storyboard: Storyboard,
        output: str | Path,
        emit: Callable[[Event], None],
        *,
        store: Store | None = None,
        cancel: CancelToken | None = None,
        render_id: str | None = None,
        credentials: Credentials | None = None,
        budget: float | None = None,
        owner: str = "cli",
        client: str | None = None,
        paid_step_quota: Quota | None = None,
        render_quota: Quota | None = None,
        require_budget: bool = False,
        project: ProjectRecorder | None = None,
        services: Services | None = None,
        executor: StepExecutorFactory = LocalStepRunner,
    ):
        tune_allocator()
        # Whose work this is: the server-decided owner ("cli" on the command line; a studio browser's or API
        # session's server-issued id) and a one-way hash of the client's address (None on the CLI).
        self.owner = owner
        self.client = client
        # Everything this render works with, handed in (pipeline/services.py); `store=` / `credentials=` replace
        # the bundle's own (a session's keys).
        self.services = services_for_call(services, store=store, credentials=credentials)
        self.credentials = self.services.credentials
        self.storyboard = storyboard
        self.output = Path(output)
        self.emit = emit
        self.store = self.services.store
        self.cancel = cancel or CancelToken()
        self.render_id = render_id or datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        # The budget gate (and, for the studio and the API, a budget when paid work will run), reserve/settle, ledger.
        self.money = RenderSpending(self.render_id, self.credentials, budget, lambda: self.services.ledger,
                                    require_budget)  # fmt: skip
        # The host's hourly render limit (the studio's), taken once the render passed its checks: a render refused
        # for its input or its budget costs the person no slot.
        self.render_quota = render_quota
        self.project = project  # records the render in its project (pipeline/projects.py); None: not recorded
        if project is not None and project.projects is None:
            project.projects = self.services.projects  # in the services' home, like everything else
        self.audit = GenerationAudit(owner, client, self.render_id, self.credentials, emit,
                                     lambda: self.services.audit_log)  # fmt: skip
        # Runs each step (pipeline/step_executor.py): on this machine by default (threads, under the process-wide
        # limits); another factory runs the same steps elsewhere.
        self.executor: StepExecutor = executor(self.services, emit, self.cancel, self.money, self.audit,
                                               paid_step_quota)  # fmt: skip
        self._owned_images: OwnedImages | None = None
        self.graph: StepGraph | None = None  # every step of the render, with its key (set by _plan)

    # -- the run, as numbered steps ------------------------------------------------------------------------

    async def run(self) -> RenderResult:
        """The render, recorded in its project (when it has one) as it starts and when it ends."""
        if self.project is None:
            return await self._run()
        with self.project.recording(self.render_id, self.owner, self.storyboard,
                                    spent=lambda: self.spent) as outcome:
            outcome.result = await self._run()
        return outcome.result

    async def _run(self) -> RenderResult:
        started = time.monotonic()
        _warm_up_voice(self.storyboard)
        # 1. validate and plan (providers' pre-flight checks run before anything slow or paid)
        plan = await self._plan()
        if problems := unapproved_images(plan):
            raise InputError(problems)
        # A music track this owner may not play (a path from a studio) is refused before any work starts.
        resolve_track(self.storyboard.music.track, self.owner, self.store, self.owned_images)
        if self.money.gated:
            self._check_budget(plan)
        if self.render_quota is not None:
            await take_render_slot(self.render_quota, self.services, self.owner, self.client)
        self.emit(RenderStarted(self.render_id, self.storyboard.title, len(plan.scenes), list(self._graph.kind_names),
                                plan.providers))  # fmt: skip
        for scene, message in voice_language_warnings(plan):  # a narration the voice cannot speak: warned, not refused
            self.emit(StepWarning(scene, "voice", message))
        self.executor.set_limits(plan)

        # 2. generate: every step starts as soon as its inputs exist, so every scene's sound (voice → mix) and
        #    picture (image → video → segment) run concurrently, and the sound track is encoded as soon as every mix
        #    exists, while pictures may still be rendering. A failing step does not stop the others: their work is
        #    stored and a re-run reuses it.
        outputs = await self._walk(list(self._graph), release=plan)
        scenes = [self._scene_result(s.index, outputs) for s in plan.scenes]

        # 3. assemble: the join stream-copied the pictures and the sound track into the final file
        final = outputs[self._graph.final]
        self.output.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, final.path, self.output)
        captions = await asyncio.to_thread(write_caption_files, plan, outputs, self.output)  # OUT.srt, OUT.vtt

        # 4. the manifest beside the video: a pure function of the result
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        # The join knows the video's length: the scenes' less their transitions' overlaps.
        duration = final.meta.get("duration", sum(s.frames for s in scenes) / plan.profile.fps)
        result = RenderResult(self.render_id, self.output, manifest_path(self.output), duration,
                              time.monotonic() - started, scenes,
                              dict(self.executed), dict(self.cached), self.spent, final, plan,
                              dict(self.money.costs), self.money.budget, created, captions,
                              finished_sound=outputs.get("finish"))  # fmt: skip
        write_manifest(result)
        return result

    @staticmethod
    def _raise_first(outcomes: list[Any]) -> None:
        errors: list[BaseException] = []
        for o in outcomes:
            if isinstance(o, BaseException) and not any(o is e for e in errors):
                errors.append(o)
        if not errors:
            return
        if any(isinstance(e, (Cancelled, asyncio.CancelledError)) for e in errors):
            raise Cancelled("render stopped")
        for e in errors:
            if not isinstance(e, StudioError):
                raise e
        raise errors[0]

    async def _walk(self, steps: list[Step], release: RenderPlan | None = None) -> dict[str, Asset]:
        """Run `steps` (each after its inputs, as soon as they exist) by their kinds' executors; their outputs by
        step id. Kinds that start first do (narration decides a scene's length); then scene order (first preview
        first). With `release` (a whole render's plan), each provider is released once its kind's steps end."""
        tasks: dict[str, asyncio.Task[Asset]] = {}

        async def execute(step: Step) -> Asset:
            inputs = {i: await tasks[i] for i in step.inputs}
            return await self._graph.kind(step.kind).execute(self, step, inputs)

        for step in sorted(steps, key=lambda s: not self._graph.kind(s.kind).starts_first):
            tasks[step.id] = asyncio.create_task(execute(step))
        releases = [asyncio.create_task(release_when_done(getattr(release, f"{kind}_provider"), of_kind))
                    for kind in ("image", "video", "voice") if release is not None
                    and (of_kind := [tasks[s.id] for s in steps if s.kind == kind])]  # fmt: skip
        self._raise_first(await asyncio.gather(*tasks.values(), return_exceptions=True))
        await asyncio.gather(*releases, return_exceptions=True)
        return {i: t.result() for i, t in tasks.items()}

    def _scene_result(self, index: int, outputs: dict[str, Asset]) -> SceneResult:
        made = {kind: outputs.get(step_id(kind, index)) for kind in self._graph.scene_kinds}
        frames = scene_frames(self._graph[step_id("mix", index)], outputs)
        return SceneResult(index, frames, made)

    async def cached_step(self, step: Step, key: str, produce: Callable[[StepContext], StepOutput],
                          cost: StepCost | None = None, prompt: str | None = None) -> Asset:  # fmt: skip
        """An executor's one call: the step's output (of its kind's media) from the cache, or made under its
        limits (media work under the render's ffmpeg limit), paid for, audited and reported."""
        limit, media = "media" if step.provider == "ffmpeg" else None, self._graph.kind(step.kind).media
        return await self.executor.run(step.scene, step.kind, step.provider, media, key, produce, limit, cost, prompt)

    @property
    def executed(self) -> dict[str, int]:
        """Steps run, by kind."""
        return self.executor.executed

    @property
    def cached(self) -> dict[str, int]:
        """Steps found in the cache (or approved), by kind."""
        return self.executor.cached

    @property
    def owned_images(self) -> OwnedImages:
        if self._owned_images is None:
            self._owned_images = self.services.owned_images
        return self._owned_images

    def pinned_image(self, sha256: str | None) -> Asset | None:
        """An approved (pinned) picture, when this render's owner may use it and the store still has it."""
        return pinned_image(self.store, self.owned_images, self.owner, sha256)

    @property
    def _graph(self) -> StepGraph:
        assert self.graph is not None, "planned first"
        return self.graph

    # -- money: estimate, budget, ledger ------------------------------------------------------------------

    @staticmethod
    def cost(step: str, provider: Any, request: Any) -> StepCost | None:
        """What a paid step will cost (None: nobody is paid for it)."""
        return step_cost(step, provider, request) if getattr(provider, "paid", False) else None

    @property
    def spent(self) -> float:
        """USD this render has paid providers so far (also in the ledger)."""
        return self.money.spent

    def _check_budget(self, plan: RenderPlan) -> None:
        from pipeline.estimate import estimate_plan

        self.money.check(estimate_plan(plan, self._graph, self.store,
                                       lambda scene: self.pinned_image(scene.pinned_image)))  # fmt: skip

    async def run_scene(self, index: int, step: str) -> Asset | None:
        """Step-by-step control: one scene's image, clip (from its approved or cached image) or narration alone.

        Uses the same keys as a full render, so what is made here is reused by it (and vice versa).
        """
        plan = await self._plan()
        if not 0 <= index < len(plan.scenes):
            raise InputError(f"scene: {index + 1} is not a scene of this storyboard (1–{len(plan.scenes)})")
        self.executor.set_limits(plan)
        scene = plan.scenes[index]
        if step not in ("image", "video", "voice"):
            raise InputError(f"step: '{step}' is not one of image, video, voice")
        if step == "video" and scene.pinned_image is None and plan.video_provider.paid:
            # A person never pays for a clip made from a picture they have not seen and approved.
            raise InputError(f"scenes[{index}].image: approve (or upload) this scene's image before "
                             f"generating its clip with {plan.video_provider.label or plan.video_provider.name}")
        if step == "voice" and scene.voice is None:
            raise InputError(f"scenes[{index}].audio_script: this scene has no narration to speak")
        wanted = step_id(step, index)
        return (await self._walk(self._with_inputs(wanted)))[wanted]

    def _with_inputs(self, wanted: str) -> list[Step]:
        """The step `wanted` and every step it needs, inputs first."""
        needed: dict[str, Step] = {}

        def add(step_id: str) -> None:
            step = self._graph[step_id]
            for i in step.inputs:
                add(i)
            needed.setdefault(step_id, step)

        add(wanted)
        return list(needed.values())

    # -- the plan (refused prompts in the audit log) -------------------------------------------------------

    async def _plan(self) -> RenderPlan:
        """plan_render (and its steps, in self.graph), with every prompt the blocklist refused recorded in the
        audit log (outcome refused)."""
        try:
            plan = plan_render(self.storyboard, self.credentials, blocklist=self.services.settings.blocklist)
        except InputError as exc:
            providers = self.storyboard.providers
            for p in exc.problems:
                if isinstance(p, RefusedPrompt):
                    await self.audit.record(p.scene, p.step, providers.get(p.step), None, "refused", p.message,
                                       prompt_hash=p.prompt_sha256 or None)  # fmt: skip
            raise
        self.graph = plan_steps(plan, self.credentials)
        return plan

# ---------------------------------------------------------------------------------------------------------------
# Synchronous faces


_DONE = object()


class RenderJob:
    """A render running in a background thread; iterate it for its events as they happen.

    The last event is RenderFinished, RenderFailed or RenderCancelled; afterwards `result` (or `error`) is set.
    Leaving the iteration early (a client that goes away) cancels the render but leaves paid remote tasks running
    for the next run to re-attach to; `cancel()` (a person's Stop) cancels those too. Finished steps stay cached.
    """

    def __init__(
        self,
        storyboard: Storyboard,
        output: str | Path,
        *,
        cancel: CancelToken | None = None,
        scene_step: tuple[int, str] | None = None,
        **options: Any,
    ):
        """`options`: Render's keyword arguments (services, credentials, budget, owner, project, …)."""
        self.cancel_token = cancel or CancelToken()
        self.scene_step = scene_step  # (scene index, "image" | "video" | "voice"): that step alone
        self._events: queue.Queue[Any] = queue.Queue()
        self._render = Render(storyboard, output, self._events.put, cancel=self.cancel_token, **options)
        self.render_id = self._render.render_id
        self.result: Any = None  # RenderResult, or the Asset of a scene step
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=f"render-{self.render_id}", daemon=True)
        self._thread.start()

    def cancel(self, *, keep_remote_tasks: bool = False) -> None:
        self.cancel_token.cancel(keep_remote_tasks=keep_remote_tasks)

    @property
    def spent(self) -> float:
        """USD this job has paid providers so far (also in the ledger)."""
        return self._render.spent

    def _work(self) -> None:
        job, put = self._render, self._events.put
        try:
            if self.scene_step is not None:
                index, step = self.scene_step
                asset = self.result = asyncio.run(job.run_scene(index, step))
                if asset is not None:
                    put(SceneStepDone(index, step, str(asset.path), asset.sha256))
                return
            r = self.result = asyncio.run(job.run())
            put(RenderFinished(str(r.output), str(r.manifest), round(r.duration, 3), round(r.seconds, 3),
                               sum(r.executed.values()), sum(r.cached.values())))  # fmt: skip
        except Cancelled as exc:
            self.error = exc
            put(RenderCancelled("render stopped", kept=sum(job.executed.values())))
        except InputError as exc:
            self.error = exc
            put(RenderFailed(str(exc), [str(p) for p in exc.problems], "input"))
        except BudgetExceeded as exc:
            self.error = exc
            put(RenderFailed(str(exc), [str(exc)], "budget"))
        except RateLimitExceeded as exc:
            self.error = exc
            put(RenderFailed(str(exc), [str(exc)], "limit"))
        except (ProviderError, MediaError) as exc:
            self.error = exc
            put(RenderFailed(str(exc), [str(exc)], "media" if isinstance(exc, MediaError) else "provider"))
        except BaseException as exc:  # noqa: BLE001 - reported, never a silent thread death
            self.error = exc
            put(RenderFailed(f"unexpected error: {type(exc).__name__}: {exc}", [], "provider"))
        finally:
            put(_DONE)

    def __iter__(self) -> Iterator[Event]:
        try:
            while (item := self._events.get()) is not _DONE:
                yield item
        finally:
            if self._thread.is_alive():
                # Nobody is watching any more (a closed page, a dropped client): stop, but leave paid remote tasks
                # running; their ids are journalled and the next render of the same steps re-attaches.
                self.cancel(keep_remote_tasks=True)
                self._thread.join()


def iter_render(storyboard: Storyboard, output: str | Path, **kwargs: Any) -> RenderJob:
    """Start a render in the background; iterate the returned job for its events."""
    return RenderJob(storyboard, output, **kwargs)


def iter_scene_step(storyboard: Storyboard, scene: int, step: str, **kwargs: Any) -> RenderJob:
    """Step-by-step control in the background: one scene's image, clip or narration (0-based `scene`)."""
    return RenderJob(storyboard, "", scene_step=(scene, step), **kwargs)


def render(
    storyboard: Storyboard,
    output: str | Path,
    *,
    on_event: Callable[[Event], None] | None = None,
    **options: Any,
) -> RenderResult:
    """Render and return the result; raise the StudioError that stopped it (Cancelled when stopped). `options`:
    Render's keyword arguments (services, credentials, budget, owner, cancel, project, …).

    `on_event` may be called from worker threads.
    """
    job = Render(storyboard, output, on_event or (lambda event: None), **options)
    return asyncio.run(job.run())
