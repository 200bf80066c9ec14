"""Limits shared by every render in the process: one on local CPU work, one per provider key.

Drawing (draft), camera motion (warp + x264), Piper synthesis and the runner's ffmpeg steps (segment, mix, sound
track, join) each take one slot while they run; waiting on a paid provider (Runway, BFL, ElevenLabs, HF) takes
none. So any number of renders can wait on providers at once, while their local work together never runs more
steps at once than there are slots: several sessions' offline renders share two cores instead of each assuming
it has them to itself.

    slots = services.cpu                        # one per Services (pipeline/services.py): the CLI and the studio
                                                # build one per process, sized by EngineSettings.cpu_slots
    async with slots.hold(cancel):              # in a render's event loop: waits without holding a thread
        await asyncio.to_thread(work)

A step's output is made once across renders (`making`): two sessions asking for the same output (the same step
key: same inputs, same paying key) at once make, and pay for, it once; the second finds it stored.

A provider whose own limit on requests at once is per API key (`Provider.key_concurrency`: ElevenLabs refuses
more with 429, BFL caps active tasks) gets one such limit per key, shared by every render using that key
(`key_slots`), so many sessions on the server's key do not turn into refusals.

Slots are granted in the order they were asked for, so an earlier render's steps are not overtaken by a later
one's. A stop (the render's CancelToken) ends a wait within `POLL` seconds; a slot granted to a waiter that has
just stopped passes straight to the next.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from pipeline.cancel import CancelToken
from pipeline.errors import Cancelled

POLL = 0.1  # seconds between checks of the cancel token while waiting for a slot (a stop is seen within this)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Waiter:
    __slots__ = ("wake", "granted")

    def __init__(self, wake: Callable[[], bool]) -> None:
        self.wake = wake  # tells the waiter it has a slot; False if it can no longer be told (its loop closed)
        self.granted = False


class Slots:
    """A first-come, first-served counting limit that render event loops wait on without taking a thread.

    `held` is how many slots are taken now, `peak` the most ever taken at once (tests and diagnostics read them).
    """

    def __init__(self, slots: int) -> None:
        self.slots = max(1, int(slots))
        self.held = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._waiting: deque[_Waiter] = deque()

    @property
    def waiting(self) -> int:
        """How many are waiting for a slot now."""
        with self._lock:
            return len(self._waiting)

    @asynccontextmanager
    async def hold(self, cancel: CancelToken | None = None) -> AsyncIterator[None]:
        """Hold a slot for the block. Waits in the event loop (no worker thread is taken while waiting), and
        raises Cancelled within POLL seconds of a stop."""
        loop = asyncio.get_running_loop()
        granted = loop.create_future()

        def wake() -> bool:
            try:
                loop.call_soon_threadsafe(lambda: granted.done() or granted.set_result(None))
                return True
            except RuntimeError:  # that render's loop has closed: nobody is waiting there any more
                return False

        waiter = self._ask(wake)
        if waiter is not None:
            try:
                while not granted.done():
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled("render stopped")
                    await asyncio.wait({granted}, timeout=POLL)
            except BaseException:  # a stop, or the task cancelled: give up the place (or the slot just granted)
                self._withdraw(waiter)
                raise
        try:
            yield
        finally:
            self.release()

    def release(self) -> None:
        with self._lock:
            self.held -= 1
            self._grant_waiting()

    # -- bookkeeping (under the lock) ----------------------------------------------------------------------

    def _ask(self, wake: Callable[[], bool]) -> _Waiter | None:
        """A slot now (None), or a place in the queue."""
        with self._lock:
            if self.held < self.slots and not self._waiting:
                self._take()
                return None
            waiter = _Waiter(wake)
            self._waiting.append(waiter)
            return waiter

    def _withdraw(self, waiter: _Waiter) -> None:
        with self._lock:
            if waiter.granted:
                self.held -= 1  # granted while it was giving up: pass the slot on
                self._grant_waiting()
            else:
                self._waiting.remove(waiter)

    def _take(self) -> None:
        self.held += 1
        self.peak = max(self.peak, self.held)

    def _grant_waiting(self) -> None:
        while self._waiting and self.held < self.slots:
            waiter = self._waiting.popleft()
            if waiter.wake():
                waiter.granted = True
                self._take()


_shared_lock = threading.Lock()


_per_key: dict[tuple[str, str], Slots] = {}


def key_slots(provider: str, key_fingerprint: str, size: int) -> Slots:
    """The process's limit for one provider key (by its one-way fingerprint, never the key), made when first used."""
    with _shared_lock:
        slots = _per_key.get((provider, key_fingerprint))
        if slots is None:
            slots = _per_key[(provider, key_fingerprint)] = Slots(size)
        return slots


_making: dict[str, tuple[Slots, int]] = {}  # step key → (its one slot, how many renders hold or wait for it)


@asynccontextmanager
async def making(step_key: str, cancel: CancelToken | None = None) -> AsyncIterator[None]:
    """Held while a step's output is made, across every render in the process: another render asking for the same
    output waits here (a stop ends the wait), then finds it stored instead of making or paying for it again."""
    with _shared_lock:
        slot, users = _making.get(step_key) or (Slots(1), 0)
        _making[step_key] = (slot, users + 1)
    try:
        async with slot.hold(cancel):
            yield
    finally:
        with _shared_lock:
            slot, users = _making[step_key]
            if users == 1:
                del _making[step_key]
            else:
                _making[step_key] = (slot, users - 1)
