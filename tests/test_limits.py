"""The CPU limiter: local work of every render sharing the services (one per process at the CLI and the studio)
shares its slots, waiting on a provider holds none, and a stop while waiting for a slot is prompt."""

from __future__ import annotations

import time

import pytest

import pipeline.limits
from pipeline.limits import Slots
from pipeline.credentials import Credentials
from pipeline.events import RenderCancelled, RenderFinished, StepStarted
from pipeline.runner import iter_render
from pipeline.services import EngineSettings, Services
from pipeline.storyboard import validate_storyboard
from tests.fakes import storyboard_dict
from tests.studio import wait_until


@pytest.fixture
def shared(isolated_home):
    """The services every render of a test shares, configured with two CPU slots (a two-core machine)."""
    return Services.for_home(isolated_home, cpu_slots=2)


@pytest.fixture
def slots(shared):
    return shared.cpu


def _board(render: int, scenes: int = 2) -> dict:
    """A storyboard of its own per render, so nothing is shared through the cache."""
    data = storyboard_dict(scenes=scenes, duration=2)
    for scene in data["scenes"]:
        for field in ("image_prompt", "video_prompt", "audio_script"):
            scene[field] = f"render {render} {scene[field]}"
    return data


def _most_at_once(calls) -> int:
    """The most of these calls that were running at the same moment."""
    edges = sorted([(c.start, 1) for c in calls] + [(c.end, -1) for c in calls])  # at a tie, an end comes first
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def _renders(count: int, tmp_path, services: Services, scenes: int = 2, keys: list[str] | None = None):
    return [iter_render(validate_storyboard(_board(i, scenes)), tmp_path / f"r{i}.mp4", services=services,
                        credentials=Credentials({"ELEVENLABS_API_KEY": keys[i]}) if keys else None)
            for i in range(count)]  # fmt: skip


@pytest.mark.slow
def test_several_renders_never_hold_more_cpu_slots_than_there_are(test_providers, shared, slots, tmp_path):
    test_providers.local_cpu = {"image", "voice"}  # drawing and speech are local work; the clip is a provider's
    test_providers.delay = {"image": 0.15, "voice": 0.15, "video": 0.3}
    jobs = _renders(4, tmp_path, shared)
    for job in jobs:
        assert isinstance(list(job)[-1], RenderFinished), job.error
    local = [c for c in test_providers.calls if c.kind in test_providers.local_cpu]
    assert len(local) == 4 * 2 * 2
    # The fakes' own record, independent of the limiter's counter: never more than two local calls at once.
    assert _most_at_once(local) <= 2
    # The limiter was used (and full): 4 renders × (images, voices, mixes, segments, ...) queued for 2 slots.
    assert slots.peak == 2
    assert slots.held == 0 and slots.waiting == 0


@pytest.mark.slow
def test_steps_waiting_on_a_provider_hold_no_cpu_slot(test_providers, shared, slots, tmp_path):
    test_providers.local_cpu = {"image", "voice"}
    # The provider's task dominates (long wait, little local work), so the figure holds on a busy machine too.
    test_providers.delay = {"image": 0.05, "voice": 0.05, "video": 3.0}
    jobs = _renders(6, tmp_path, shared, scenes=1)
    for job in jobs:
        assert isinstance(list(job)[-1], RenderFinished), job.error
    videos = [c for c in test_providers.calls if c.kind == "video"]
    # All six renders wait on the provider at once, beyond the two CPU slots (one at a time would be 18 s).
    assert len(videos) == 6 and _most_at_once(videos) == 6
    assert slots.peak <= 2


@pytest.mark.slow
@pytest.mark.parametrize("keys, most", [(["same"] * 4, 2), (["a", "b", "c", "d"], 4)])
def test_a_provider_limited_per_key_is_limited_across_renders_on_that_key(test_providers, shared, tmp_path, keys,
                                                                          most):  # fmt: skip
    test_providers.key_concurrency = {"voice": 2}  # like ElevenLabs: more requests at once on a key answer 429
    test_providers.delay = {"voice": 1.0}
    jobs = _renders(4, tmp_path, shared, scenes=1, keys=keys)
    for job in jobs:
        assert isinstance(list(job)[-1], RenderFinished), job.error
    voices = [c for c in test_providers.calls if c.kind == "voice"]
    # Four sessions on one key share its two; on their own keys they do not wait for each other.
    assert len(voices) == 4 and _most_at_once(voices) == most


def test_renders_asking_for_the_same_output_at_once_make_it_once(test_providers, shared, tmp_path):
    # Two sessions render the same storyboard on the same key: each paid step would otherwise be paid twice.
    test_providers.delay = {"image": 0.5, "video": 1.0, "voice": 0.5}
    board = validate_storyboard(_board(0, scenes=1))
    jobs = [iter_render(board, tmp_path / f"same{i}.mp4", services=shared) for i in range(2)]
    for job in jobs:
        assert isinstance(list(job)[-1], RenderFinished), job.error
    assert [test_providers.count(kind) for kind in ("image", "video", "voice")] == [1, 1, 1]
    assert pipeline.limits._making == {}, "nothing left behind per step key"


def test_a_stop_while_waiting_for_a_cpu_slot_is_prompt(test_providers, isolated_home, tmp_path):
    services = Services.for_home(isolated_home, cpu_slots=1)
    limiter = services.cpu
    test_providers.local_cpu = {"image", "voice"}
    test_providers.delay = {"image": 20.0}  # the first render's first picture holds the only slot
    first = iter_render(validate_storyboard(_board(0, scenes=1)), tmp_path / "first.mp4", services=services)
    assert wait_until(lambda: test_providers.running == 1, timeout=10)

    second = iter_render(validate_storyboard(_board(1, scenes=1)), tmp_path / "second.mp4", services=services)
    events = iter(second)
    # The second render's picture and narration (and the first's narration) queue for the slot.
    assert wait_until(lambda: limiter.waiting >= 3, timeout=10)
    stopped = time.monotonic()
    second.cancel()
    rest = list(events)
    assert isinstance(rest[-1], RenderCancelled)
    assert time.monotonic() - stopped < 1.0, "a stop waited for a CPU slot"
    assert not any(isinstance(e, StepStarted) for e in rest), "nothing of the stopped render ran"
    assert test_providers.running == 1 and limiter.held == 1, "the first render kept its slot and its work"

    first.cancel()
    assert isinstance(list(first)[-1], RenderCancelled)
    assert limiter.held == 0 and limiter.waiting == 0, "no slot leaked by the stopped waiters"


def test_slots_are_granted_in_the_order_asked_and_a_stopped_waiter_passes_its_turn_on():
    import asyncio

    from pipeline.cancel import CancelToken

    limiter = Slots(1)
    order: list[str] = []
    stopped = CancelToken()

    async def work(name: str, cancel: CancelToken | None = None) -> None:
        async with limiter.hold(cancel):
            order.append(name)
            await asyncio.sleep(0.5)  # long enough that "b" sees its stop while still waiting

    async def main() -> None:
        tasks = [asyncio.create_task(work("a"))]
        await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(work("b", stopped)))
        await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(work("c")))
        await asyncio.sleep(0.01)
        stopped.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    assert order == ["a", "c"]
    assert limiter.held == 0 and limiter.waiting == 0


def test_the_number_of_slots_is_a_setting_of_the_services(tmp_path):
    def slots(**env: str) -> int:
        return Services(EngineSettings.from_env({"REELSMITH_HOME": str(tmp_path), **env})).cpu.slots

    assert slots(REELSMITH_CPU_SLOTS="3") == 3
    assert slots(REELSMITH_CPU_SLOTS="zero") == pipeline.limits.available_cores()
    assert slots() == pipeline.limits.available_cores() >= 1
    assert Services.for_home(tmp_path, cpu_slots=1).cpu.slots == 1
