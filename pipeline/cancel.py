"""Stopping a render: one token, set once, checked by the runner and by every long loop."""

from __future__ import annotations

import threading

from pipeline.errors import Cancelled


class CancelToken:
    """Set once by whoever stops a render; checked by the runner and by providers' loops."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
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
