"""Stopping a render: one token, set once, checked by the runner and by every long loop."""

from __future__ import annotations

import threading

from pipeline.errors import Cancelled


class CancelToken:
    """Set once by whoever stops a render; checked by the runner and by providers' loops."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.keep_remote_tasks = False

    def cancel(self, *, keep_remote_tasks: bool = False) -> None:
        """Stop. A person's Stop also cancels paid remote tasks (stop paying); a render that merely lost its
        watcher (a closed tab, a refresh, a dropped client) keeps them running, journalled, for the next run to
        pick up: that work is paid for already."""
        if not keep_remote_tasks or not self._event.is_set():
            self.keep_remote_tasks = keep_remote_tasks  # a person's Stop wins over a watcher going away
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("render stopped")

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking at once (and raising Cancelled) if the render is stopped."""
        if self._event.wait(max(0.0, seconds)):
            raise Cancelled("render stopped")
