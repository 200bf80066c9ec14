"""The studio page in headless Chromium (Debian's chromium, driven by Playwright): load, render, play."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.studio import generation_rows, media_files, steps_running, wait_until

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGE_LOADED = "() => document.body.innerText.includes('Lighthouse')"  # the default storyboard is on the page
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `bash .ci/run` installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_render_an_example_and_play_the_final_video(browser, launched_studio):
    url, _ = launched_studio
    page, errors = _open(browser, url)
    page.get_by_role("button", name="ocean-waves").click()
    page.wait_for_function("() => document.body.innerText.includes('Ocean Waves')")
    page.get_by_role("button", name="Render", exact=True).click()
    page.wait_for_function("() => [...document.querySelectorAll('.board b')].some(e => e.textContent === 'Rendering…')",
                           timeout=30_000)  # fmt: skip
    page.wait_for_function("() => [...document.querySelectorAll('.board b')].some(e => e.textContent === 'Done')",
                           timeout=180_000)  # fmt: skip
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].some(v => v.currentSrc.includes('Ocean') && v.readyState >= 2)",
        timeout=30_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "studio-after-render.png"), full_page=True)
    assert errors == []
    cells = page.eval_on_selector_all(".board td", "tds => tds.map(td => td.className)")
    assert cells and all(c in ("done", "cached", "skipped") for c in cells if c), cells
    assert "skipped" in cells, "the silent second scene's narration reads as not needed"


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(PAGE_LOADED)
    return page, errors


def test_preferences_are_remembered_in_the_browser(browser, launched_studio):
    url, _ = launched_studio
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(PAGE_LOADED)
    style = page.get_by_label("Style")
    style.click()
    page.get_by_role("option", name="3D render").click()
    page.wait_for_function("() => localStorage.getItem('reelsmith-preferences') !== null")
    page.wait_for_timeout(500)
    page.reload()
    page.wait_for_function(PAGE_LOADED)
    style = page.get_by_label("Style")
    for _ in range(50):  # the page's load event applies the stored preferences a moment after the first paint
        if style.input_value() == "3D render":
            break
        page.wait_for_timeout(200)
    assert style.input_value() == "3D render"
    context.close()


def test_closing_the_tab_stops_its_render(browser, launched_studio):
    url, home = launched_studio
    page, _ = _open(browser, url)
    text = "title: Closed tab\nscenes:\n" + "".join(
        f"  - image_prompt: Mountain pass number {i} in deep snow\n    video_prompt: slow zoom in\n    duration: 10\n"
        for i in range(6)
    )
    page.get_by_text("Storyboard as YAML (import / export)").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)
    page.wait_for_function("() => document.body.innerText.includes('Closed tab')")
    before = len(media_files(home, ".mp4"))  # the studio is shared with the other tests here
    rows_before = len(generation_rows(home))

    def clips() -> int:  # this render's clips only
        return len(media_files(home, ".mp4")) - before

    def rows() -> list[dict]:  # this render's generation steps that ended
        return generation_rows(home)[rows_before:]

    page.get_by_role("button", name="Render", exact=True).click()
    assert wait_until(clips, interval=0.1), "no clip was made"  # this render's first clip exists
    page.close()
    # The closed tab stopped the render: a running step was cancelled and no step runs any more. A render that
    # went on would make its six clips and end without a cancelled step: this times out instead.
    assert wait_until(lambda: any(r["outcome"] == "cancelled" for r in rows()) and steps_running(home) == 0), \
        f"the render went on after its tab closed: {rows()}"  # fmt: skip
    made = [r for r in rows() if r["step"] == "video" and r["outcome"] == "done"]
    assert 1 <= len(made) < 6 and 1 <= clips() < 6, (made, clips())


def test_a_browser_keeps_its_history_and_another_browser_does_not_see_it(browser, launched_studio):
    """The owner token round trip: the server issues it on the first load, the browser keeps it, the next load
    verifies it and shows the same history; a browser with other (or no) storage is another owner."""
    url, _ = launched_studio
    mine = browser.new_context()
    page = mine.new_page()
    page.goto(url)
    page.wait_for_function(PAGE_LOADED)
    page.wait_for_function("() => localStorage.getItem('reelsmith-owner-token') !== null")
    page.get_by_text("Storyboard as YAML (import / export)").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("title: Kept by this browser\nscenes:\n  - image_prompt: A kite on a beach\n"
                              "    duration: 2\n")  # fmt: skip
    page.wait_for_function("() => document.body.innerText.includes('Kept by this browser')")
    page.get_by_role("button", name="Render", exact=True).click()
    page.wait_for_function("() => [...document.querySelectorAll('.board b')].some(e => e.textContent === 'Done')",
                           timeout=180_000)  # fmt: skip
    listed = "() => document.body.innerText.includes('Kept by this browser')"  # the editor shows it no more
    page.reload()
    page.wait_for_function(PAGE_LOADED)
    page.get_by_role("tab", name="History").click()
    page.wait_for_function(listed, timeout=30_000)

    other = browser.new_context()
    stranger = other.new_page()
    stranger.goto(url)
    stranger.wait_for_function(PAGE_LOADED)
    stranger.wait_for_function("() => localStorage.getItem('reelsmith-owner-token') !== null")
    stranger.get_by_role("tab", name="History").click()
    stranger.wait_for_timeout(2000)  # the load event's history step has run (the token is stored before it)
    assert not stranger.evaluate(listed)
    mine.close()
    other.close()
