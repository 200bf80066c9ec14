"""The studio page in headless Chromium (Debian's chromium, driven by Playwright): load, render, play; the layout
at a laptop's and a phone's size in light and dark mode, the board's honest states and their contrast.

Screenshots go to REELSMITH_SCREENSHOTS (default: a fresh temporary folder) so CI can keep them as artifacts."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from pipeline.board import RenderBoard
from pipeline.events import (
    RenderFailed,
    RenderFinished,
    RenderStarted,
    StepCached,
    StepFailed,
    StepFinished,
    StepProgress,
)
from tests.studio import generation_rows, media_files, steps_running, wait_until

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGE_LOADED = "() => document.body.innerText.includes('Lighthouse')"  # the default storyboard is on the page
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]  # fmt: skip
LAPTOP, SMALL_LAPTOP, PHONE = (1440, 900), (1280, 720), (390, 844)
HEADLINE = "() => document.querySelector('#board .board-status')?.textContent || ''"
# WCAG 2 contrast of every piece of text on the board against what is painted behind it, from computed styles.
CONTRASTS = """() => {
  const parse = c => {
    const srgb = c.match(/color\\(srgb ([^)]+)\\)/);
    if (srgb) { const p = srgb[1].split(/[ /]+/).filter(Boolean).map(Number);
                return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1]; }
    const p = c.match(/rgba?\\(([^)]+)\\)/)[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const luminance = rgb => {
    const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(rgb[0]) + 0.7152 * f(rgb[1]) + 0.0722 * f(rgb[2]);
  };
  const over = (top, under) => under.map((v, i) => top[i] * top[3] + v * (1 - top[3]));
  const behind = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let rgb = [255, 255, 255];  // the canvas, when no element paints an opaque background
    for (const layer of layers.reverse()) rgb = over(layer, rgb);
    return rgb;
  };
  return [...document.querySelectorAll('#board .board td, #board .board th, #board .board b, #board .board small')]
    .filter(el => el.textContent.trim())
    .map(el => {
      const bg = behind(el), fg = over(parse(getComputedStyle(el).color), bg);
      const [a, b] = [luminance(fg), luminance(bg)];
      return {text: el.textContent.trim().slice(0, 40), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
              color: getComputedStyle(el).color, background: bg.map(Math.round).join(',')};
    });
}"""


# Text and controls under `root` that are cut off: past the window's edge, or past an ancestor's box that does not
# show overflow (Gradio's blocks scroll, but a checkbox's label scrolled inside a 70 px box is still cut off). The
# scene table is its own scroller and is left out.
CLIPPED = """root => {
  const parts = [...document.querySelectorAll(`${root} input, ${root} label, ${root} label span, ${root} button,
                                              ${root} textarea`)]
    .filter(e => !e.closest('[aria-hidden="true"], .hide, #scene-table'));  // aria-hidden: the tabs' measuring copy
  const cut = [];
  for (const e of parts) {
    let r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (e.textContent.trim() && !['INPUT', 'TEXTAREA'].includes(e.tagName)) {  // the text's own extent
      const range = document.createRange();
      range.selectNodeContents(e);
      r = range.getBoundingClientRect();
    }
    const name = (e.textContent.trim() || e.getAttribute('aria-label') || e.tagName).slice(0, 30);
    if (r.left < -1 || r.right > window.innerWidth + 1) { cut.push(`${name}: past the window`); continue; }
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const box = a.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1) { cut.push(`${name}: cut by its box`); break; }
    }
  }
  return cut;
}"""


# Times, in the page, from the click on `button` to the board's headline saying "Stopped" (window.stoppedAfter, ms).
STOPPED_AFTER = """button => {
  window.stoppedAfter = null;
  button.addEventListener('click', () => {
    const clicked = performance.now();
    const board = document.querySelector('#board');
    const seen = () => {
      const headline = board.querySelector('.board-status')?.textContent || '';
      if (headline.startsWith('Stopped') && window.stoppedAfter === null) window.stoppedAfter = performance.now() - clicked;
    };
    new MutationObserver(seen).observe(board, {subtree: true, childList: true, characterData: true});
  }, {capture: true, once: true});
}"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `bash .ci/run` installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("REELSMITH_SCREENSHOTS") or tempfile.mkdtemp(prefix="reelsmith-screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser, url, size=(1400, 1400), theme="light"):
    """A page of its own (its own browser context) at `size`, in `theme` (emulated and forced by ?__theme)."""
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=theme)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url.rstrip('/')}/?__theme={theme}")
    page.wait_for_function(PAGE_LOADED)
    return page, errors


def _set_storyboard(page, text: str, shows: str) -> None:
    if not page.locator(".cm-content").is_visible():
        page.get_by_text("Storyboard as YAML (import / export)").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)
    page.wait_for_function(f"() => document.body.innerText.includes({shows!r})")


def _low_contrast(page) -> list[dict]:
    found = page.evaluate(CONTRASTS)
    assert found, "the board shows no text"
    return [c for c in found if c["ratio"] < 4.5]


def _every_board_state() -> dict[str, str]:
    """The board in each of its states, every kind of cell among them, as the studio renders it."""
    def started() -> RenderBoard:
        board = RenderBoard()
        board.apply(RenderStarted("r", "Lighthouse", 3, [], {}))
        board.apply(StepFinished(0, "image", "draft", "/m/a.png", "image"))
        board.apply(StepCached(0, "video", "motion", "/m/v.mp4", "video"))
        board.apply(StepProgress(0, "voice", 0.68, "queued at Runway"))
        board.apply(StepFailed(1, "image", "bfl", "refused by the provider"))
        return board

    running, stopped, failed, done = started(), started(), started(), started()
    stopped.stop()
    failed.apply(RenderFailed("scene 2 image: refused by the provider", []))
    done.saved = "“Lighthouse” in History (Lighthouse.mp4)"
    done.apply(RenderFinished("/o.mp4", "/o.manifest.json", 31.0, 12.0, 9, 2))
    return {"ready": RenderBoard().html(), "running": running.html(), "stopped": stopped.html(),
            "failed": failed.html(), "done": done.html()}  # fmt: skip


def _show_board(page, html: str) -> None:
    page.evaluate("html => { document.querySelector('#board .board').outerHTML = html; }", html)


# ---------------------------------------------------------------------------------------------------------------
# Layout: the main action in view at every size, in both themes


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", [LAPTOP, SMALL_LAPTOP, PHONE], ids=["1440x900", "1280x720", "390x844"])
def test_render_is_in_the_first_viewport(browser, launched_studio, screenshots, size, theme):
    url, _ = launched_studio
    page, errors = _open(browser, url, size, theme)
    page.wait_for_timeout(500)  # the load event fills the table and settings
    name = f"studio-{size[0]}x{size[1]}-{theme}"
    page.screenshot(path=str(screenshots / f"{name}.png"))
    page.screenshot(path=str(screenshots / f"{name}-full.png"), full_page=True)
    render = page.get_by_role("button", name="Render", exact=True).bounding_box()
    stop = page.get_by_role("button", name="Stop", exact=True).bounding_box()
    board = page.locator("#board").bounding_box()
    width, height = size
    near_the_top = height if width > 760 else 300  # a phone shows Render under the title, before the storyboard
    assert render["y"] + render["height"] <= near_the_top and stop["y"] + stop["height"] <= near_the_top, (render, stop)
    assert render["x"] >= 0 and render["x"] + render["width"] <= width
    assert board["y"] < height, "the board starts in the first viewport"
    editor = page.locator("#editor-column").bounding_box()
    assert editor["y"] < height, "the storyboard starts within the first screen too (on a phone: under the render)"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "nothing sticks out sideways"
    # The manifest is a small download in a closed accordion, not a box as large as the video.
    assert not page.get_by_text("Manifest", exact=True).is_visible()
    assert errors == []
    page.get_by_role("tab", name="Step by step").click()
    approve = page.locator("#approve-image")
    approve.wait_for()
    assert "primary" not in approve.get_attribute("class"), "Approve image is not the main button before an image"
    assert "primary" in page.get_by_role("button", name="Generate image").get_attribute("class")
    assert errors == []
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_board_is_readable_in_every_state(browser, launched_studio, screenshots, theme):
    """Text contrast of at least 4.5:1 (WCAG AA) for every cell and headline of the board, in each state."""
    url, _ = launched_studio
    page, _ = _open(browser, url, LAPTOP, theme)
    for state, html in _every_board_state().items():
        _show_board(page, html)
        assert _low_contrast(page) == [], f"{theme} mode, board {state}"
        page.locator("#board").screenshot(path=str(screenshots / f"board-{state}-{theme}.png"))
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_on_a_phone_the_board_scrolls_and_the_settings_fit(browser, launched_studio, screenshots, theme):
    url, _ = launched_studio
    page, _ = _open(browser, url, PHONE, theme)
    board = RenderBoard()
    board.apply(RenderStarted("r", "Lighthouse", 6, [], {}))
    board.apply(StepProgress(0, "voice", 0.5, "retrying in 5 s"))
    _show_board(page, board.html())
    scroller = page.evaluate("""() => { const s = document.querySelector('#board .board-scroll');
        const r = s.getBoundingClientRect();
        return {left: r.left, right: r.right, scroll: s.scrollWidth, client: s.clientWidth,
                overflow: getComputedStyle(s).overflowX}; }""")  # fmt: skip
    assert 0 <= scroller["left"] and scroller["right"] <= PHONE[0], scroller
    assert scroller["scroll"] <= scroller["client"] or scroller["overflow"] in ("auto", "scroll"), \
        f"the board is wider than the phone and cannot be scrolled: {scroller}"  # fmt: skip
    # Scrolled to its end, the board's last column is on the screen.
    last = page.evaluate("""() => { const s = document.querySelector('#board .board-scroll');
        s.scrollLeft = s.scrollWidth; const cells = s.querySelectorAll('tr:first-child th');
        return cells[cells.length - 1].getBoundingClientRect().right; }""")  # fmt: skip
    assert last <= PHONE[0] + 1
    page.locator("#board").screenshot(path=str(screenshots / f"board-phone-{theme}.png"))
    for section in ("Advanced settings", "Export", "Captions", "Music and loudness", "Transitions between scenes"):
        page.locator("#editor-column").get_by_text(section, exact=True).click()
    page.wait_for_timeout(300)
    clipped = page.evaluate(CLIPPED, "#editor-column")
    assert clipped == [], f"controls cut off at the phone's edge: {clipped}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE[0]
    page.screenshot(path=str(screenshots / f"settings-phone-{theme}-full.png"), full_page=True)
    page.close()


# ---------------------------------------------------------------------------------------------------------------
# Honest states, on the real board


def test_render_an_example_and_play_the_final_video(browser, launched_studio, screenshots):
    url, _ = launched_studio
    page, errors = _open(browser, url)
    page.get_by_role("button", name="ocean-waves").click()
    page.wait_for_function("() => document.body.innerText.includes('Ocean Waves')")
    page.get_by_role("button", name="Render", exact=True).click()
    page.wait_for_function(f"() => ({HEADLINE})().startsWith('Rendering…')", timeout=30_000)
    page.wait_for_function(f"() => ({HEADLINE})().startsWith('Done')", timeout=180_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].some(v => v.currentSrc.includes('Ocean') && v.readyState >= 2)",
        timeout=30_000,
    )
    page.screenshot(path=str(screenshots / "studio-after-render.png"), full_page=True)
    assert errors == []
    cells = page.eval_on_selector_all(".board td", "tds => tds.map(td => td.className)")
    assert cells and all(c in ("done", "cached", "skipped") for c in cells if c), cells
    assert "skipped" in cells, "the silent second scene's narration reads as not needed"
    headline = page.evaluate(HEADLINE)
    assert re.fullmatch(r"Done in \d+ s · \d+ s video · saved to “Ocean Waves” in History \(Ocean.*\.mp4\)", headline), \
        headline  # fmt: skip
    assert _low_contrast(page) == []


def test_stop_says_stopped_at_once_and_a_bad_storyboard_says_failed(browser, launched_studio, screenshots):
    url, home = launched_studio
    page, _ = _open(browser, url, LAPTOP, "dark")
    text = "title: Stopped midway\nscenes:\n" + "".join(
        f"  - image_prompt: Harbour crane number {i} at dusk\n    video_prompt: slow zoom in\n    duration: 10\n"
        for i in range(6)
    )
    _set_storyboard(page, text, "Stopped midway")
    before = len(media_files(home, ".mp4"))
    page.get_by_role("button", name="Render", exact=True).click()
    assert wait_until(lambda: len(media_files(home, ".mp4")) > before, interval=0.1), "no clip was made"
    assert page.evaluate(HEADLINE).startswith("Rendering…")
    stop = page.get_by_role("button", name="Stop", exact=True)
    stop.evaluate(STOPPED_AFTER)
    stop.click()
    page.wait_for_function(f"() => ({HEADLINE})().startsWith('Stopped')", timeout=10_000)
    took = page.evaluate("() => window.stoppedAfter") / 1000
    assert took < 1.0, f"the board said Stopped {took:.2f} s after the click"
    page.wait_for_timeout(2000)  # a late update of the cancelled render does not bring back "Rendering…"
    assert page.evaluate(HEADLINE).startswith("Stopped"), page.evaluate(HEADLINE)
    assert "%" not in page.locator("#board").inner_text()
    assert _low_contrast(page) == []
    page.screenshot(path=str(screenshots / "studio-stopped-dark.png"))

    _set_storyboard(page, "title: Too long\nscenes:\n  - image_prompt: A kite\n    duration: 99\n", "duration: 99")
    page.get_by_role("button", name="Render", exact=True).click()
    page.wait_for_function(f"() => ({HEADLINE})().startsWith('Failed: ')", timeout=30_000)
    assert "Scene 1" in page.evaluate(HEADLINE)
    assert _low_contrast(page) == []
    page.screenshot(path=str(screenshots / "studio-failed-dark.png"))
    page.close()


def test_transitions_are_set_in_the_studio_and_written_into_the_storyboard(browser, launched_studio):
    url, _ = launched_studio
    page, _ = _open(browser, url, LAPTOP)
    page.get_by_text("Transitions between scenes", exact=True).click()
    page.get_by_label("Transition", exact=True).click()
    page.get_by_role("option", name="Fade through black").click()  # the example crossfades (0.75 s) project-wide
    page.get_by_text("Storyboard as YAML (import / export)").click()
    page.wait_for_function("() => document.querySelector('.cm-content')?.innerText.includes('{type: fade_black, seconds: 0.75}')",
                           timeout=30_000)  # fmt: skip
    storyboard = page.locator(".cm-content").inner_text()
    assert storyboard.startswith("# A three-scene narrated short story"), "the person's comments stay"
    assert "transition:" in storyboard and "null" not in storyboard
    # Longer than the 5-second scenes can hold: refused, and the slider shows the storyboard's 0.75 s again.
    seconds = page.locator("#transition-seconds input[type='number']")
    seconds.fill("5")
    seconds.press("Enter")
    page.get_by_text("Not changed, the settings show the storyboard again").first.wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelector('#transition-seconds input[type=number]').value === '0.75'",
                           timeout=30_000)  # fmt: skip
    assert "seconds: 5" not in page.locator(".cm-content").inner_text()
    page.close()


def test_the_table_cannot_lose_a_column_and_a_bad_cell_reverts(browser, launched_studio):
    """Issue 15: the table's menu has no column actions (a deleted column once shifted every later field); a bad
    cell is refused and reverts to the storyboard's value; a good one is written keeping the person's comments."""
    url, _ = launched_studio
    page, _ = _open(browser, url, LAPTOP)
    table = page.locator("#scene-table")

    def cell(row: int, column: int):
        return table.locator(f"[data-testid='cell-{row}-{column}']")

    def type_into(row: int, column: int, text: str) -> None:
        cell(row, column).dblclick(position={"x": 6, "y": 10})  # a narrow cell's middle is its menu button
        # Fill the cell's editor itself: Ctrl+A after a revert can leave the caret after the old value ("67").
        editor = table.locator("textarea:focus, input:focus").first
        editor.wait_for()
        editor.fill(text)
        page.keyboard.press("Enter")

    cell(0, 4).wait_for()
    page.get_by_text("Storyboard as YAML (import / export)").click()  # the storyboard's text, to read back
    code = page.locator(".cm-content").first
    code.wait_for()
    cell(0, 1).click()
    page.get_by_role("button", name="Open cell menu").first.click()
    menu = page.locator(".cell-menu").first
    menu.wait_for()
    assert "Delete row" in menu.inner_text() and "column" not in menu.inner_text().lower(), menu.inner_text()
    page.keyboard.press("Escape")

    assert cell(0, 4).inner_text().split("\n")[0].strip() == "6"
    type_into(0, 4, "99")
    page.get_by_text("99 is above the maximum of 10 seconds").first.wait_for(timeout=30_000)
    # The value is the cell's first line (a selected cell also shows its menu button, "⋮").
    page.wait_for_function("cell => cell.innerText.split('\\n')[0].trim() === '6'",
                           arg=cell(0, 4).element_handle(), timeout=30_000)  # fmt: skip
    assert "duration: 6" in code.inner_text() and "duration: 99" not in code.inner_text()

    type_into(0, 4, "7")
    page.wait_for_function("() => document.body.innerText.includes('duration: 7')", timeout=30_000)
    storyboard = code.inner_text()
    assert storyboard.startswith("# A three-scene narrated short story"), "the example's comment stays"
    assert "null" not in storyboard and "steps:" not in storyboard, "no expanded defaults"
    page.close()




def test_approve_image_becomes_the_main_button_once_there_is_an_image(browser, launched_studio):
    url, _ = launched_studio
    page, errors = _open(browser, url, LAPTOP)
    page.get_by_role("tab", name="Step by step").click()
    approve = page.locator("#approve-image")
    approve.wait_for()
    assert "primary" not in approve.get_attribute("class")
    page.get_by_role("button", name="Generate image").click()
    page.wait_for_function("() => document.querySelector('#approve-image').className.includes('primary')",
                           timeout=60_000)  # fmt: skip
    assert page.locator("img[src*='.png']").count() >= 1, "the scene's image is shown"
    assert errors == []
    page.close()


def test_preferences_are_remembered_in_the_browser(browser, launched_studio):
    url, _ = launched_studio
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(PAGE_LOADED)
    # BrowserState may store its (encrypted) default at load, so wait for the stored value to change, not to exist
    stored_before = page.evaluate("() => localStorage.getItem('reelsmith-preferences')")
    style = page.get_by_label("Style")
    style.click()
    page.get_by_role("option", name="3D render").click()
    page.wait_for_function("(before) => { const now = localStorage.getItem('reelsmith-preferences');"
                           " return now !== null && now !== before; }", arg=stored_before, timeout=30_000)
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
    page.wait_for_function(f"() => ({HEADLINE})().startsWith('Done')",
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
