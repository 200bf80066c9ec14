"""Time from the Render click to the first preview image on the page, in headless Chromium, offline default.

    python bench/first_preview.py [--runs 3]

Each run starts the studio with an empty REELSMITH_HOME (nothing cached), opens the page, waits until it is
idle, clicks Render on the default storyboard and measures in the page (performance.now()) until the "Latest
image" preview shows a loaded picture. Goal (issue 17): <= 0.5 s. Prints each run, the median and the ratio to the goal.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.studio import running_studio  # noqa: E402

GOAL = 0.5  # issue 17
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WATCH = """() => new Promise(resolve => {
  const t0 = performance.now();
  const seen = () => [...document.querySelectorAll('[data-testid="image"] img, .image-container img')]
      .some(img => img.complete && img.naturalWidth > 0 && img.src.includes('/file='));
  const tick = () => seen() ? resolve((performance.now() - t0) / 1000) : requestAnimationFrame(tick);
  document.querySelector('button.primary, button.lg.primary') && [...document.querySelectorAll('button')]
      .find(b => b.textContent.trim() === 'Render').click();
  tick();
})"""


def one_run() -> float:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="reelsmith-bench-"))
    try:
        with running_studio(home) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(url)
            page.wait_for_function("() => document.body.innerText.includes('Lighthouse')")
            page.wait_for_timeout(1500)  # the load events (preferences, history) settle
            seconds = page.evaluate(WATCH)
            browser.close()
            return seconds
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = []
    for i in range(args.runs):
        times.append(one_run())
        print(f"run {i + 1}: click -> first preview image {times[-1]:.2f} s")
    median = statistics.median(times)
    print(f"median {median:.2f} s; goal {GOAL} s; median/goal = {median / GOAL:.2f} ({'met' if median <= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
