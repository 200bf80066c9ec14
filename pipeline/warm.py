"""Start-up work that would otherwise land on the first render a server runs.

Measured on the 2-core machine (a fresh studio, the default storyboard): the first render spent ~0.3 s before its
first step (compiling the blocklist's terms, opening the ledger, projects, audit and journal databases) and its
first picture took twice as long as the next (numpy's and Pillow's first calls). A person clicking Render waits
for exactly that, so a server pays it once, in the background, right after it starts. Nothing here is cached to
disk or kept in memory beyond what the first render would keep anyway: the voice model is not loaded (it is
released after each render's last narration; see Provider.warm_up).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.services import Services

log = logging.getLogger(__name__)

_SKETCH_SIZE = (160, 96)  # small: the code paths warm, the time stays a few milliseconds


def warm_engine(services: "Services") -> None:
    """Compile the blocklist, open the home's databases and draw one small offline sketch."""
    from pipeline.blocklist import Blocklist

    Blocklist.load(services.settings.blocklist)
    for name in ("store", "ledger", "journal", "audit_log", "projects", "owned_images"):
        getattr(services, name)
    _draw_sketch()


def _draw_sketch() -> None:
    import io

    from pipeline.providers.base import ImageRequest
    from pipeline.providers.draft import frame

    request = ImageRequest("a lighthouse on a cliff at dusk", "a lighthouse on a cliff at dusk", "cinematic",
                           *_SKETCH_SIZE, 1, None, 4, 3.5)  # fmt: skip
    frame.render(request, _QuietContext()).save(io.BytesIO(), format="PNG", compress_level=1)


class _QuietContext:
    """The step context the sketch is drawn with: no progress to report, never cancelled."""

    def progress(self, *_args: object) -> None:
        pass


def warm_in_background(services: "Services") -> threading.Thread:
    """`warm_engine` on a daemon thread; a failure is logged, never raised (the first render then pays)."""

    def work() -> None:
        try:
            warm_engine(services)
        except Exception:  # noqa: BLE001 - warming is an optimisation; the render reports real problems itself
            log.warning("start-up warm-up failed; the first render will do that work", exc_info=True)

    thread = threading.Thread(target=work, name="warm-engine", daemon=True)
    thread.start()
    return thread
