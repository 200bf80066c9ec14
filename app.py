"""Reelsmith studio: a Gradio Blocks app over the engine in pipeline/ (which holds all the logic).

Run: python app.py  (http://127.0.0.1:7860; offline providers need no keys)

The storyboard's YAML is the single source of truth: the scene table and the settings write it (on user input
only), and it writes them back whenever it changes (typing, an example, an upload, a reopened project).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import gradio as gr

from pipeline import scenes as scene_ops
from pipeline.audit import client_fingerprint
from pipeline.board import RenderBoard
from pipeline.captions.language import voice_language_warnings
from pipeline.credentials import Credentials, key_vars
from pipeline.errors import InputError, MediaError, StudioError
from pipeline.idea_storyboard import estimate_idea, idea_to_storyboard
from pipeline.estimate import estimate_cost
from pipeline.events import RenderFailed, RenderFinished, SceneStepDone, StepCached, StepFinished, StepWarning
from pipeline.filenames import safe_stem
from pipeline.finish_step import stems_zip
from pipeline.media.beds import MOODS
from pipeline.music_track import uploaded_music
from pipeline.owners import (STUDIO_PREFIX, API_PREFIX, SessionIds, owner_or_new, pinned_image, private_secret,
                             server_secret)  # fmt: skip
from pipeline.plan import plan_render
from pipeline.preview import preview_storyboard
from pipeline.history import EMPTY_HISTORY, HISTORY_HEADERS, history_cards, history_rows
from pipeline.projects import ProjectRecorder, Projects
from pipeline import provider_labels
from pipeline.provider_labels import AS_STORYBOARD
from pipeline.provider_settings import shown_settings
from pipeline.providers import registry
from pipeline.ratelimit import StudioLimits
from pipeline.spending import budget_advice
from pipeline.redact import without_paths
from pipeline.runner import iter_render, iter_scene_step
from pipeline.script_storyboard import draft_from_script
from pipeline.services import Services
from pipeline.storyboard import MAX_TRANSITION_SECONDS, Storyboard, parse_storyboard, read_storyboard_text
from pipeline.styles import STYLE_PRESETS
from pipeline.thumbnails import placeholder
from pipeline.warm import warm_in_background

EXAMPLES_DIR = Path(__file__).parent / "assets" / "examples"
EXAMPLES = {p.stem: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES_DIR.glob("*.yaml"))}
DEFAULT_STORYBOARD = EXAMPLES.get("short-story", next(iter(EXAMPLES.values()), ""))
# Files a session is shown are linked here, in the system temp dir: Gradio may copy them into its cache from
# there, but never serves this folder (or anything under REELSMITH_HOME) by path, since no allowed_paths are set.
SESSIONS = Path(tempfile.gettempdir()) / "reelsmith-sessions"
# Gradio tells sessions apart only by the session hash the client sends, so nothing a client sees may contain it
# (a manifest or file path with it once let its reader act as that session, with that session's pasted keys).
# A session's folder and an API client's owner are random ids the server keeps, never derived from the hash.
SESSION_FOLDERS = SessionIds()
API_OWNERS = SessionIds(API_PREFIX)
SERVER_SECRET = server_secret()  # signs studio owner tokens (pipeline.owners); never leaves the server
MAX_UPLOAD = "50mb"
UPDATE_INTERVAL = 0.2  # seconds between progress-only refreshes of the page
RESOLUTIONS = ["1280x720", "1920x1080", "720x1280", "640x360", "360x640"]
PREFERENCES = ("style", "resolution", "image.provider", "video.provider", "voice.provider", "voice.voice_id")
CSS = (
    # The board: every state's cell has its own text colour on its own background, in light and in dark mode
    # (white theme text on pastel cells was unreadable in dark mode); the table scrolls sideways on a phone.
    ".board .board-scroll{overflow-x:auto;max-width:100%}"
    ".board table{border-collapse:collapse;margin:0}.board td,.board th{padding:4px 8px;border:1px solid #8884;"
    "white-space:nowrap}.board .board-status{margin:0 0 6px;overflow-wrap:anywhere}"
    ".board td.running{background:#fff3c4;color:#3d3000}.board td.done{background:#d9f7d9;color:#0f3d0f}"
    ".board td.cached{background:#dcecff;color:#0d2b52}.board td.failed{background:#ffd6d6;color:#5c0000}"
    ".board td.stopped{background:#e6e6e6;color:#222}"
    # Scrolled sideways on a phone, the scene names stay in view.
    ".board tr>th:first-child{position:sticky;left:0;z-index:1;background:var(--block-background-fill)}"
    ".board-failed .board-status b{color:#a00000}.board-done .board-status b{color:#17621b}"
    ".dark .board td.running{background:#4a3d00;color:#fff3c4}.dark .board td.done{background:#14401a;color:#d9f7d9}"
    ".dark .board td.cached{background:#123457;color:#dcecff}.dark .board td.failed{background:#5c1111;color:#ffd6d6}"
    ".dark .board td.stopped{background:#3a3a3a;color:#eee}"
    ".dark .board-failed .board-status b{color:#ff9e9e}.dark .board-done .board-status b{color:#9be59b}"
    # A phone stacks the two columns: the render's (Render, Stop, board, video) comes first, its previews folded
    # to their labels until they have something to show (else the storyboard sat ~1000 px of empty boxes down).
    "@media (max-width:760px){#render-column{order:-1}#render-column .block:has(.empty){max-height:48px;"
    "min-height:0;overflow:hidden}}"
    "#render-actions{flex-wrap:wrap;gap:8px}#render-actions button{white-space:nowrap;padding-left:6px;"
    "padding-right:6px}@media (max-width:480px){#render-actions>button{flex:1 1 40%!important}}"
    # Gradio lays checkboxes out with no minimum width: on a phone their labels were cut to "Subti…".
    ".wide-check{min-width:min(200px,100%)!important}"
    # A failed render: the board says "Failed: <reason>" and a toast says it too; Gradio's own "Error" badge over
    # every output (the board's text included) would hide the reason and mark the previews as broken.
    "#render-column .wrap:has(> .error){display:none!important}"
    # Gradio fits the grid to the number of pictures (two scenes = two half-width tiles): keep thumbnails small.
    "#scene-gallery .grid-container{grid-template-columns:repeat(8,minmax(90px,1fr))!important}"
    # History cards: 16:9 thumbnails, their whole caption (title, length, cost, date) readable under each.
    "#history-gallery .grid-wrap{height:auto!important;max-height:none!important;min-height:0!important}"
    "#history-gallery .grid-container{padding-top:2.4rem!important}"
    "#history-gallery .thumbnail-item{aspect-ratio:auto!important;height:auto!important;display:flex;"
    "flex-direction:column}#history-gallery .thumbnail-item img{aspect-ratio:16/9;height:auto!important}"
    "#history-gallery .caption-label{position:static!important;white-space:normal!important;max-width:none!important;"
    "overflow:visible!important;transform:none!important;margin:0!important;border-radius:0!important;"
    "text-align:left;padding:6px 8px!important;line-height:1.35}"
)

# ---------------------------------------------------------------------------------------------------------------
# Helpers: sessions, files, errors


def _session_hash(request: gr.Request | None) -> str:
    return (request.session_hash if request is not None else None) or "anonymous"


def _session_dir(request: gr.Request | None) -> Path:
    """Each session's files live in a folder named by a random id of the server's (see SESSION_FOLDERS)."""
    folder = SESSIONS / SESSION_FOLDERS.get(_session_hash(request))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _publish(path: str | None, folder: Path) -> str | None:
    """Expose a stored asset to this session only: a hard link (or copy) inside the session's folder."""
    if not path:
        return None
    src = Path(path)
    dest = folder / src.name
    if not dest.exists():
        try:
            os.link(src, dest)
        except OSError:
            shutil.copyfile(src, dest)
    return str(dest)


# Each session's running jobs, so a person's Stop also cancels their paid remote tasks. Gradio's own cancel (which
# also removes a queued render) and a page going away only close the generator: paid tasks then keep running,
# journalled, and the next render of the same steps picks them up instead of paying again.
_RUNNING: dict[str, set[Any]] = {}


def _watch(job: Any, request: gr.Request | None) -> Iterator[Any]:
    key = (request.session_hash if request is not None else None) or ""
    _RUNNING.setdefault(key, set()).add(job)
    try:
        yield from job
    finally:
        _RUNNING.get(key, set()).discard(job)


def stop(request: gr.Request) -> None:
    """The Stop button: cancel this session's renders and their paid remote tasks (finished steps stay cached)."""
    for job in list(_RUNNING.get(request.session_hash or "", ())):
        job.cancel()


@functools.cache
def _services() -> Services:
    """The studio's services (pipeline/services.py): settings and the server's keys read from the environment
    once, at startup; every session's renders share its store, ledger, journal, audit log and limits."""
    return Services.from_env()


@functools.cache
def _limits() -> StudioLimits:
    """The host's hourly limits, read from the environment once, when the first render asks (not at import)."""
    return StudioLimits.from_env()


def _client(request: gr.Request | None) -> str | None:
    """A one-way keyed hash of the client's address: for limits and the audit log; the address itself is kept
    nowhere."""
    return client_fingerprint(request.client.host if request is not None and request.client else None)


# Each session's latest finished render, for "Report this video": the server's record, never a client-sent id.
class LastRender(NamedTuple):
    """A session's latest finished render: what "Report this video" names and what its stems are cut from."""

    render_id: str
    finished_sound: Any  # the finish step's Asset (pipeline/finish_step.py), or None


_LAST_RENDER: dict[str, LastRender] = {}
_REPORTED: dict[str, str] = {}  # session → the render it reported: one row per render, however often it is pressed
_LAST_RENDER_KEPT = 10_000  # sessions remembered (oldest forgotten first): a few hundred kB at most


def _needs_fixing(problems: str) -> gr.Error:
    return gr.Error(f"The storyboard needs fixing:\n{without_paths(problems)}", print_exception=False)


def _failed(event: RenderFailed) -> gr.Error:
    """A failed render or step as the person sees it: field-level for input, else the reason (no server paths)."""
    if event.kind == "input":
        return _needs_fixing(event.reason)
    return gr.Error(without_paths(event.reason), print_exception=False)


def _parse(text: str) -> Storyboard:
    try:
        return parse_storyboard(text or "")
    except InputError as exc:
        raise _needs_fixing(str(exc)) from None


def _credentials(keys: dict[str, str] | None) -> Credentials:
    """The server's keys with this session's own keys over them (kept in server memory for this session)."""
    return _services().credentials.with_session(keys or {})


def _edit(text: str, build: Any) -> str:
    """Apply a storyboard edit to the person's own text (only the changed keys are written; their comments and
    layout stay); a bad edit is a field-level gr.Error, never a traceback."""
    try:
        return scene_ops.edit(text or "", build).text
    except InputError as exc:
        raise _needs_fixing(str(exc)) from None


# ---------------------------------------------------------------------------------------------------------------
# Editor: YAML <-> scene table and settings


def form_from_text(text: str) -> list[Any]:
    """Fill the table and settings from the YAML; while the YAML does not parse, leave them as they are."""
    try:
        storyboard = parse_storyboard(text or "")
    except InputError:
        return [gr.skip()] * (2 + len(scene_ops.SETTING_FIELDS))
    shown = shown_settings(storyboard, scene_ops.SETTING_FIELDS)  # only the settings its providers use
    return [scene_ops.scene_table(storyboard), _summary(storyboard),
            *(gr.update(value=value, visible=visible)
              for value, visible in zip(scene_ops.settings_of(storyboard), shown))]  # fmt: skip


def _summary(storyboard: Storyboard) -> str:
    seconds = sum(s.duration for s in storyboard.scenes)
    pinned = sum(1 for s in storyboard.scenes if s.image)
    return (f"**{storyboard.title}** · {len(storyboard.scenes)} scenes · {seconds} s before narration · "
            f"{storyboard.resolution} · {pinned} approved image(s)")  # fmt: skip


def text_from_table(text: str, rows: Any) -> tuple[Any, Any]:
    """A table edit written into the storyboard; a refused one (a bad cell, a changed column) leaves the
    storyboard as it was and puts its values back in the table, with the reason."""
    headers = [str(c) for c in rows.columns] if hasattr(rows, "columns") else None
    values = rows.values.tolist() if hasattr(rows, "values") else list(rows or [])
    try:
        return scene_ops.edit(text or "", lambda sb: scene_ops.table_changes(sb, values, headers)).text, gr.skip()
    except InputError as exc:
        storyboard = _parse(text)  # a storyboard that does not parse is reported as it is
        gr.Warning(f"Not changed, the table shows the storyboard again:\n{without_paths(str(exc))}")
        return gr.skip(), scene_ops.scene_table(storyboard)


def text_from_settings(text: str, *values: Any) -> list[Any]:
    """A setting written into the storyboard; a refused one (a transition longer than its scenes) leaves the
    storyboard as it was and puts the storyboard's values back in the settings, with the reason."""
    try:
        return [scene_ops.edit(text or "", lambda sb: scene_ops.settings_changes(sb, values)).text,
                *[gr.skip()] * len(values)]  # fmt: skip
    except InputError as exc:
        storyboard = _parse(text)
        gr.Warning(f"Not changed, the settings show the storyboard again:\n{without_paths(str(exc))}")
        return [gr.skip(), *scene_ops.settings_of(storyboard)]


def add_scene(text: str, number: float) -> str:
    return _edit(text, lambda sb: scene_ops.new_scene(int(number or 0) or None))


def remove_scene(text: str, number: float) -> str:
    return _edit(text, lambda sb: scene_ops.RemoveScene(int(number or 1)))


def move_up(text: str, number: float) -> tuple[str, int]:
    return _edit(text, lambda sb: scene_ops.MoveScene(int(number or 1), -1)), max(1, int(number or 1) - 1)


def move_down(text: str, number: float) -> tuple[str, int]:
    storyboard = _parse(text)
    return _edit(text, lambda sb: scene_ops.MoveScene(int(number or 1), 1)), min(len(storyboard.scenes),
                                                                               int(number or 1) + 1)  # fmt: skip


def import_yaml(path: str | None) -> str:
    if not path:
        return gr.skip()
    try:
        text = read_storyboard_text(path)  # bounded: an upload may be gigabytes
    except InputError as exc:
        raise _needs_fixing(without_paths(str(exc))) from None
    _parse(text)  # refuse a bad file with its field-level problems
    return text


def export_yaml(text: str, request: gr.Request) -> str:
    storyboard = _parse(text)
    path = _session_dir(request) / f"{safe_stem(storyboard.title, fallback='storyboard')}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------------------------------------------
# Start from a script or an idea (pipeline/script_storyboard.py, pipeline/idea_storyboard.py)


def storyboard_from_script(script: str, text: str) -> tuple[str, str]:
    """Start from a script: the narration cut into scenes timed to the voice (free, offline), over the open
    storyboard's settings; the YAML goes to the editor."""
    try:
        draft = draft_from_script(script or "", current=text)
    except InputError as exc:
        raise gr.Error(f"The script needs fixing:\n{exc}", print_exception=False) from None
    return draft.yaml, draft.note


def storyboard_from_idea(idea: str, text: str, budget: float | None, keys: dict[str, str] | None,
                         request: gr.Request) -> tuple[str, str]:  # fmt: skip
    """Start from an idea: a storyboard drafted by a language model at Hugging Face (paid: needs a token and a
    budget, counted by the host's hourly limit on paid steps); the YAML goes to the editor."""
    client = _client(request)
    try:
        drafted = idea_to_storyboard(idea or "", services=_services(), credentials=_credentials(keys), base=text,
                                     budget=budget or None, require_budget=True,
                                     quota=_limits().paid_steps.bind(session=request.session_hash, client=client))
    except InputError as exc:
        raise gr.Error(f"The idea needs fixing:\n{exc}", print_exception=False) from None
    except StudioError as exc:
        raise gr.Error(without_paths(str(exc)), print_exception=False) from None
    return drafted.draft.yaml, drafted.draft.note


# ---------------------------------------------------------------------------------------------------------------
# Keys, providers, preferences


def _provider_choices(kind: str, credentials: Credentials) -> list[tuple[str, str]]:
    """Each provider as a creator knows it ("Flux (Black Forest Labs) — needs a Black Forest Labs API key"); the
    value stays its registry name (pipeline/provider_labels.py)."""
    return provider_labels.provider_choices(kind, credentials)


def _provider_dropdowns(credentials: Credentials) -> list[Any]:
    return [gr.update(choices=_provider_choices(kind, credentials)) for kind in ("image", "video", "voice")]


def provider_status(keys: dict[str, str] | None) -> str:
    """Which providers can run now: offline ones always, paid ones when a key (server or yours) is present."""
    return provider_labels.provider_status(_credentials(keys))


def _key_boxes() -> list[gr.Textbox]:
    """One password box per key the registered providers use (credentials.key_vars order), labelled by what it
    pays for, its environment variable in small print."""
    return [gr.Textbox(label=field.label, info=field.env_var, type="password", max_lines=1,
                       elem_id=f"key-{field.env_var}") for field in registry.keys()]  # fmt: skip


def use_keys(keys: dict[str, str] | None, *values: str) -> list[Any]:
    """Keep pasted keys in this session's server memory only (never on disk, in logs or in the browser).
    `values` are the key boxes' in key_vars() order (a provider registered later adds a box at the end)."""
    merged = dict(keys or {})
    for name, value in zip(key_vars(), values):
        if value and value.strip():
            merged[name] = value.strip()
    gr.Info(f"Kept for this session only: {', '.join(provider_labels.key_titles(list(merged))) or 'no keys'}")
    return [merged, *[""] * len(values), provider_status(merged), *_provider_dropdowns(_credentials(merged))]


def forget_keys() -> list[Any]:
    return [{}, provider_status({}), *_provider_dropdowns(_credentials({}))]


def remember_preferences(*values: Any) -> dict[str, Any]:
    """Style, resolution, providers and voice, kept in this browser's storage (never keys)."""
    return dict(zip(PREFERENCES, values))


def start_session(text: str, prefs: dict[str, Any] | None, token: str | None) -> tuple[Any, str, str]:
    """A fresh page: the default storyboard with the browser's remembered preferences applied, and whose work this
    browser's is. What the person already typed or picked is never replaced.

    The owner comes from the browser's token only when this server signed it; a missing or forged one (a chosen
    id such as "cli", another browser's id without its signature) gets a fresh owner with an empty history. The
    verified owner is kept in server memory (a gr.State, which clients cannot set) for the session's events."""
    owner, token = owner_or_new(token, SERVER_SECRET)
    if (text or "").strip() != DEFAULT_STORYBOARD.strip():
        return gr.skip(), token, owner
    text = DEFAULT_STORYBOARD
    if prefs:
        try:
            storyboard = parse_storyboard(text)
            values = scene_ops.settings_of(storyboard)
            for name, value in prefs.items():
                if name in PREFERENCES and value:
                    values[scene_ops.SETTING_FIELDS.index(name)] = value
            text = scene_ops.edit(text, lambda sb: scene_ops.settings_changes(sb, values)).text
        except (InputError, ValueError):
            pass  # a preference that no longer exists (a removed provider) is simply not applied
    return text, token, owner


# ---------------------------------------------------------------------------------------------------------------
# Validate, render, step by step


def validate(text: str, keys: dict[str, str] | None = None) -> str:
    """Check a storyboard; every problem with its field path and line, including the providers' limits."""
    try:
        storyboard = parse_storyboard(text or "")
        plan = plan_render(storyboard, _credentials(keys), blocklist=_services().settings.blocklist)
    except InputError as exc:
        return "✗ Needs fixing:\n" + "\n".join(f"- {p}" for p in exc.problems)
    seconds = sum(s.duration for s in storyboard.scenes)
    warnings = "".join(f"\n- ⚠ {message}" for _, message in voice_language_warnings(plan))
    return (f"✓ '{storyboard.title}': {len(storyboard.scenes)} scenes, {seconds} s before narration, "
            f"{storyboard.resolution}{warnings}")  # fmt: skip


COST_HEADERS = ["scene", "step", "provider", "units", "price", "state"]


def estimate(text: str, image: str | None, video: str | None, voice: str | None, keys: dict[str, str] | None = None,
             owner: str | None = None, request: gr.Request | None = None):  # fmt: skip
    """What rendering now would cost, per scene and step: cached steps are $0, offline ones free."""
    storyboard = _with_providers(_parse(text), image, video, voice)
    try:
        cost = estimate_cost(storyboard, credentials=_credentials(keys), owner=_owner(owner, request),
                             services=_services())  # fmt: skip
    except InputError as exc:
        raise _needs_fixing(str(exc)) from None
    will_run = sum(1 for scene in cost.scenes for s in scene if not s.cached)
    summary = (f"**Estimate: ${cost.total:.2f}** for {will_run} step(s) that will run; the cache saves "
               f"${cost.saved:.2f}. Prices as of {cost.prices_as_of}. {budget_advice(cost)}").rstrip()  # fmt: skip
    return cost.table(), summary


class RenderView(NamedTuple):
    """The render's outputs by name, in the order the `render` event lists its components (API clients read
    them by position: board, image, clip, voice, final, manifest, gallery; the project id is the page's state;
    then the caption files, SRT and WebVTT, appended last so the earlier positions stay where they were)."""

    board: Any
    image: Any
    clip: Any
    voice: Any
    final: Any
    manifest: Any
    gallery: Any
    project: Any
    captions: Any


RENDER_FILES = ("image", "clip", "voice", "final", "manifest")  # the RenderView fields that are files to publish


def render(
    text: str,
    image: str | None,
    video: str | None,
    voice: str | None,
    budget: float | None,
    keys: dict[str, str] | None,
    owner: str | None,
    project: str | None,
    request: gr.Request,
) -> Iterator[RenderView]:
    """Render the storyboard, streaming the board, each new preview, then the video and its manifest.

    The engine refuses a render that costs money without a budget (0 here), and records it in its project: the
    open one while the title stays the same, else a new one."""
    owner = _owner(owner, request)
    try:
        storyboard = _with_providers(_parse(text), image, video, voice)
    except gr.Error as exc:  # the board says so too, not only the toast
        yield _board_only(_session_board(request, RenderBoard(status="failed", error=str(exc.message))))
        raise
    client = _client(request)
    folder = _session_dir(request)
    recorder = ProjectRecorder(text, project_id=project)
    job = iter_render(storyboard, folder / f"{safe_stem(storyboard.title)}.{storyboard.output.format}",
                      credentials=_credentials(keys), budget=budget or None, require_budget=True, owner=owner,
                      client=client, paid_step_quota=_limits().paid_steps.bind(session=request.session_hash,
                                                                               client=client),
                      render_quota=_limits().renders.bind(session=request.session_hash, client=client),
                      project=recorder, services=_services())  # fmt: skip
    # A closed tab or a Stop cancels this generator; leaving `job`'s iteration cancels the render (kept cached).
    yield from _stream(job, recorder, folder, request)


def render_preview(text: str, owner: str | None, project: str | None, request: gr.Request) -> Iterator[RenderView]:
    """A free animatic of the storyboard (pipeline/preview.py), through `render`: offline providers, no keys, no
    budget; its own project ("<title>-preview"), so the open project keeps the person's storyboard."""
    preview = preview_storyboard(_parse(text)).to_yaml()
    yield from render(preview, None, None, None, None, None, owner, project, request)


def _with_providers(storyboard: Storyboard, image: str | None, video: str | None, voice: str | None) -> Storyboard:
    try:
        return storyboard.with_providers(image=image, video=video, voice=voice)
    except InputError as exc:
        raise _needs_fixing(str(exc)) from None


def _stream(job: Any, recorder: ProjectRecorder, folder: Path, request: gr.Request | None) -> Iterator[RenderView]:
    board = _session_board(request, RenderBoard())
    last = 0.0
    shown: tuple = ()
    sent = RenderView._make([None] * len(RenderView._fields))  # what the page shows already
    for event in _watch(job, request):
        changed = board.apply(event)
        if isinstance(event, StepWarning):
            gr.Warning(without_paths(event.message))
        if isinstance(event, RenderFinished):
            board.saved = f"“{board.title}” in History ({Path(event.path).name})"
        if isinstance(event, RenderFailed):  # pre-flight and budget refusals arrive here too (the engine's rules)
            board.error = without_paths(event.reason)
            yield _board_only(board)
            raise _failed(event)
        if isinstance(event, RenderFinished) and job.result is not None and job.result.spent:
            gr.Info(f"Spent ${job.result.spent:.2f} on this render (ledger: python -m pipeline ledger)")
        previews = (board.latest.get("image"), board.latest.get("video"), board.latest.get("audio"))
        now = time.monotonic()
        if changed and (previews != shown or now - last >= UPDATE_INTERVAL or board.final):
            shown, last = previews, now
            view = RenderView(board.html(), *previews, board.final, board.manifest, tuple(board.gallery()),
                              recorder.project_id or "", tuple(board.captions) or None)  # fmt: skip
            yield _changes(_published(view, folder), view, sent, final=bool(board.final))
            sent = view
    if job.result is not None:
        _remember_render(request, job.render_id, job.result.finished_sound)


# Each session's latest render board: Stop marks it stopped at once (the cancelled render sends no more updates).
_BOARDS: dict[str, RenderBoard] = {}


def _session_board(request: gr.Request | None, board: RenderBoard) -> RenderBoard:
    """`board` as this session's latest (the oldest sessions' forgotten first)."""
    key = _session_hash(request)
    _BOARDS.pop(key, None)
    _BOARDS[key] = board
    while len(_BOARDS) > _LAST_RENDER_KEPT:
        del _BOARDS[next(iter(_BOARDS))]
    return board


def _board_only(board: RenderBoard) -> RenderView:
    """An update of the board alone (every other output as it is)."""
    return RenderView(board.html(), *[gr.skip()] * (len(RenderView._fields) - 1))


def stopped_board(request: gr.Request) -> Any:
    """The board as Stop leaves it, within a moment: "Stopped", its running steps stopped (a render that had
    already ended stays Done or Failed)."""
    board = _BOARDS.get(_session_hash(request))
    if board is None:
        return gr.skip()
    board.stop()
    return board.html()


def _published(view: RenderView, folder: Path) -> RenderView:
    """The view with its files linked into the session's folder (the only place the page may read them)."""
    files = {name: _publish(getattr(view, name), folder) for name in RENDER_FILES}
    captions = [_publish(path, folder) for path in view.captions] if view.captions else None
    return view._replace(**files, gallery=[(_publish(path, folder), caption) for path, caption in view.gallery],
                         captions=captions)  # fmt: skip


def _changes(published: RenderView, view: RenderView, sent: RenderView, *, final: bool) -> RenderView:
    """A file already shown is skipped (gr.skip) until it changes: Gradio probes and hashes every file of every
    update, which with many sessions at once made the page, not the render, the bottleneck. The last update (with
    the final video) carries every output, so a program's result() has them all."""
    return RenderView._make(gr.skip() if now and now == before and not final else value
                            for value, now, before in zip(published, view, sent))  # fmt: skip


def _remember_render(request: gr.Request | None, render_id: str, finished_sound: Any = None) -> None:
    """This session's latest finished render, for "Report this video" and its sound stems (the oldest sessions
    forgotten first)."""
    if request is None or not request.session_hash:
        return
    _LAST_RENDER.pop(request.session_hash, None)
    _LAST_RENDER[request.session_hash] = LastRender(render_id, finished_sound)
    while len(_LAST_RENDER) > _LAST_RENDER_KEPT:
        oldest = next(iter(_LAST_RENDER))
        del _LAST_RENDER[oldest]
        _REPORTED.pop(oldest, None)


def _scene_step(text: str, number: float, step: str, keys: dict[str, str] | None, owner: str | None,
                request: gr.Request):  # fmt: skip
    """Run one scene's step alone; yield (path or None, status line) as it goes."""
    storyboard = _parse(text)
    index = int(number or 1) - 1
    folder = _session_dir(request)
    client = _client(request)
    job = iter_scene_step(storyboard, index, step, credentials=_credentials(keys), owner=_owner(owner, request),
                          client=client, services=_services(),
                          paid_step_quota=_limits().paid_steps.bind(session=request.session_hash, client=client))
    yield from _scene_events(job, index, step, folder, request)


def _scene_events(job: Any, index: int, step: str, folder: Path, request: gr.Request | None):
    notes: list[str] = []
    for event in _watch(job, request):
        if isinstance(event, StepWarning):
            gr.Warning(without_paths(event.message))
        elif isinstance(event, StepCached):
            notes.append(f"{event.step}: reused ({provider_labels.shown_as(event.step, event.provider)}), "
                         "nothing ran")  # fmt: skip
        elif isinstance(event, StepFinished):
            notes.append(f"{event.step}: made by {provider_labels.shown_as(event.step, event.provider)} in "
                         f"{event.seconds:.1f} s")  # fmt: skip
        elif isinstance(event, RenderFailed):
            raise _failed(event)
        elif isinstance(event, SceneStepDone):
            paid = f" — paid ${job.spent:.2f} (see the ledger)" if job.spent else ""
            yield _publish(event.path, folder), f"Scene {index + 1}: " + "; ".join(notes) + paid
            return
        yield None, f"Scene {index + 1}: {step} running… " + "; ".join(notes)


def generate_image(text: str, number: float, new_seed: bool, keys: dict[str, str] | None, owner: str | None,
                   request: gr.Request):  # fmt: skip
    """Generate (or reuse) one scene's image; with new_seed, a different picture (the storyboard gets the seed)."""
    if new_seed:
        text = _edit(text, lambda sb: scene_ops.reroll(sb, int(number or 1)))
    for path, status in _scene_step(text, number, "image", keys, owner, request):
        yield path, status, text


def generate_video(text: str, number: float, keys: dict[str, str] | None, owner: str | None, request: gr.Request):
    """One scene's clip from its approved image (required for paid video) or its cached/generated draft image."""
    yield from _scene_step(text, number, "video", keys, owner, request)


def generate_voice(text: str, number: float, keys: dict[str, str] | None, owner: str | None, request: gr.Request):
    """One scene's narration alone."""
    yield from _scene_step(text, number, "voice", keys, owner, request)


def approve_image(text: str, number: float, keys: dict[str, str] | None, owner: str | None,
                  request: gr.Request) -> tuple[str, str, str | None]:  # fmt: skip
    """Pin the image this scene's settings made: renders and clips use exactly it from now on. Shows the pinned
    picture itself (not its hash)."""
    owner = _owner(owner, request)
    new = _edit(text, lambda sb: scene_ops.approval(sb, int(number or 1), owner=owner, credentials=_credentials(keys),
                                                    services=_services()))  # fmt: skip
    return new, f"Scene {int(number or 1)}: this image is approved and pinned", _approved_picture(new, number, owner,
                                                                                                  request)  # fmt: skip


def _approved_picture(text: str, number: float, owner: str, request: gr.Request | None) -> str | None:
    """The scene's approved picture, when this owner may see it: a pin to someone else's image (a pasted
    storyboard) shows nothing, as it renders nothing (pipeline.owners.pinned_image)."""
    try:
        scene = parse_storyboard(text or "").scenes[int(number or 1) - 1]
    except (InputError, IndexError, ValueError):
        return None
    sha = (scene.image or "").removeprefix("sha256:") or None
    asset = pinned_image(_services().store, _services().owned_images, owner, sha)
    return _publish(str(asset.path), _session_dir(request)) if asset is not None else None


def show_scene_step(text: str, number: float, owner: str | None, request: gr.Request) -> tuple[str | None, str]:
    """Step by step, another scene chosen: its approved picture, or an empty frame and what to do first."""
    n = int(number or 1)
    picture = _approved_picture(text, n, _owner(owner, request), request)
    if picture:
        return picture, f"Scene {n}: its approved image (renders use exactly it)"
    return None, f"Scene {n}: no image yet — **Generate image** or **Upload my image**, then approve it"


def approve_allowed(picture: str | None) -> Any:
    """"Approve image" waits for a picture to approve (then becomes the main action)."""
    return gr.update(interactive=bool(picture), variant="primary" if picture else "secondary")


def upload_image(text: str, number: float, path: str | None, owner: str | None,
                 request: gr.Request) -> tuple[str, str | None, str]:  # fmt: skip
    """Use one's own picture for a scene (fitted to the resolution) and pin it."""
    if not path:
        raise gr.Error("Choose an image file to upload.", print_exception=False)
    owner = _owner(owner, request)
    new = _edit(text, lambda sb: scene_ops.upload(sb, int(number or 1), path, owner=owner, services=_services()))
    pinned = parse_storyboard(new).scenes[int(number or 1) - 1].image or ""
    shown = _publish(str(_services().store.find(pinned.removeprefix("sha256:"))), _session_dir(request))
    return new, shown, f"Scene {int(number or 1)}: your image is pinned"


def upload_music(text: str, path: str | None, owner: str | None, request: gr.Request) -> str:
    """Use one's own music file as the bed (kept for this owner only; the storyboard names it by its hash)."""
    if not path:
        raise gr.Error("Choose a music file to upload.", print_exception=False)
    owner = _owner(owner, request)
    return _edit(text, lambda storyboard: uploaded_music(storyboard, path, owner=owner, services=_services()))


def sound_stems(request: gr.Request) -> str:
    """narration.wav, music.wav and mix.wav of this session's last render, in one zip."""
    last = _LAST_RENDER.get(request.session_hash or "")
    finished = last.finished_sound if last else None
    if finished is None:
        raise gr.Error("Render a video first: the stems are its narration, music and mix.", print_exception=False)
    try:
        return str(stems_zip(finished, _services().store, _session_dir(request) / "sound-stems.zip"))
    except MediaError as exc:
        raise gr.Error(without_paths(str(exc)), print_exception=False) from None


def report_video(reason: str, owner: str | None, request: gr.Request) -> str:
    """Report this session's latest video to the host: the audit log records the render and the reason."""
    session = request.session_hash or ""
    last = _LAST_RENDER.get(session)
    render_id = last.render_id if last else None
    if render_id is None:
        raise gr.Error("Nothing to report yet: this session has not finished a render.", print_exception=False)
    if _REPORTED.get(session) != render_id:
        _services().audit_log.report(render_id, reason or "", owner=_owner(owner, request), client=_client(request))
        _REPORTED[session] = render_id
    gr.Info("Thanks — reported to the host")
    return ""


# ---------------------------------------------------------------------------------------------------------------
# History


def _owner(owner: str | None, request: gr.Request | None) -> str:
    """Whose work: the browser's owner as verified on page load (kept in a gr.State, which only the server sets),
    or, for an API client without browser storage, a random owner of its session's. Never a client's choice."""
    if owner and owner.startswith(STUDIO_PREFIX):
        return owner
    return API_OWNERS.get(_session_hash(request))


def history(owner: str | None, request: gr.Request) -> list[list[Any]]:
    """This browser's (or API session's) projects, newest first (HISTORY_HEADERS)."""
    return history_rows(Projects(), _owner(owner, request))


def history_view(owner: str | None, request: gr.Request) -> tuple[Any, Any, Any, list[str]]:
    """The History tab as a person sees it: a card per project (its video's thumbnail, length, cost, date), or
    before the first render the empty state instead of an empty table; and the ids the cards open."""
    projects = Projects()
    cards = history_cards(projects, _owner(owner, request))
    folder = _session_dir(request)
    shown = [(_publish(c.thumbnail, folder) or _publish(str(placeholder(projects.home)), folder), c.caption)
             for c in cards]  # fmt: skip
    return (gr.update(value=shown, visible=bool(cards)), gr.update(visible=not cards),
            gr.update(visible=bool(cards)), [c.project_id for c in cards])  # fmt: skip


def open_picked(ids: list[str] | None, owner: str | None, evt: gr.SelectData,
                request: gr.Request) -> tuple[str, str, str | None, str | None]:  # fmt: skip
    """A history card clicked: its project opens in place (the ids are the server's, from history_view)."""
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    if not ids or not 0 <= index < len(ids):
        raise gr.Error("That project is no longer in your history: refresh it.", print_exception=False)
    return open_project(ids[index], owner, request)


def pick_project(evt: gr.SelectData, rows: Any) -> str:
    values = rows.values.tolist() if hasattr(rows, "values") else rows
    return values[evt.index[0]][0]


def open_project(project: str, owner: str | None, request: gr.Request) -> tuple[str, str, str | None, str | None]:
    """Reopen a project of this browser's: its storyboard for editing and its newest video."""
    opened = Projects().reopen(_owner(owner, request), (project or "").strip())
    if opened is None:
        raise gr.Error("No such project in your history.", print_exception=False)
    folder = _session_dir(request)
    gr.Info("Opened: the storyboard is in the editor" + (", its video under Final video" if opened.video else ""))
    return opened.storyboard, opened.id, _publish(opened.video, folder), _publish(opened.manifest, folder)


# ---------------------------------------------------------------------------------------------------------------
# Layout


def browser_state_secret() -> str:
    """Browser-stored preferences are encrypted with a secret kept under REELSMITH_HOME, stable across restarts
    (Gradio's default is a new secret per launch, which would forget every preference on restart).

    NOT a secret: Gradio sends it to every browser in the page's public /config, and the browser encrypts and
    decrypts with it. It keeps preferences (style, resolution, providers, voice) readable only through the page;
    it protects nothing that matters. Whose work a browser's is rests on the owner token, which is signed with
    SERVER_SECRET (pipeline.owners), a different secret that never leaves the server."""
    return private_secret("browser-state.secret")


def _settings_components() -> list[gr.components.Component]:
    """One input per scene_ops.SETTING_FIELDS entry, in that order, laid out in groups."""
    credentials = _services().credentials
    with gr.Row():
        project = [
            gr.Textbox(label="Title", max_lines=1, scale=2),
            gr.Dropdown([(p.label, n) for n, p in STYLE_PRESETS.items()], label="Style", scale=1),
            gr.Dropdown(RESOLUTIONS, label="Resolution", scale=1),
        ]
    with gr.Accordion("Providers", open=True), gr.Row():
        providers = [
            # A program that sends only the storyboard gets the storyboard's providers: a Dropdown without a value
            # would hand the API its first choice (bfl, runway, elevenlabs) and override them; None would make the
            # argument required.
            gr.Dropdown(_provider_choices(kind, credentials), value=AS_STORYBOARD,
                        label=f"{kind.capitalize()} provider", min_width=160)
            for kind in ("image", "video", "voice")
        ]
    with gr.Accordion("Advanced settings", open=False):
        with gr.Row():
            image = [
                gr.Textbox(label="Image model (blank: provider default)", max_lines=1),
                gr.Slider(1, 50, step=1, label="Image steps"),
                gr.Slider(1.0, 10.0, step=0.1, label="Guidance"),
                gr.Number(label="Project seed (blank: per scene)", precision=0),
            ]
        with gr.Row():
            video = [gr.Dropdown(["auto", "low"], label="Video moderation: public figure threshold")]
            voice = [
                gr.Textbox(label="Voice (blank: provider default)", max_lines=1),
                gr.Slider(0.0, 1.0, step=0.05, label="Voice stability"),
                gr.Slider(0.0, 1.0, step=0.05, label="Voice similarity"),
            ]
    with gr.Accordion("Export", open=False):
        with gr.Row():
            output = [
                gr.Dropdown([("MP4 (H.264/AAC, stream copy)", "mp4"), ("MOV (stream copy)", "mov"),
                             ("WebM (VP9/Opus, transcoded)", "webm")], label="Format"),  # fmt: skip
                gr.Dropdown(["draft", "low", "medium", "high"], label="Quality"),
                gr.Checkbox(label="Watermark"),
            ]
    return [*project, *providers, *image, *video, *voice, *output, *_finishing_components()]


def _finishing_components() -> list[gr.components.Component]:
    """The captions, the music and loudness and the transition settings (the last SETTING_FIELDS entries, in that
    order)."""
    with gr.Accordion("Captions", open=False):
        with gr.Row():
            captions = [
                gr.Checkbox(label="Subtitle files (.srt, .vtt)", elem_classes=["wide-check"]),
                gr.Checkbox(label="Burn captions into the video", elem_classes=["wide-check"]),
                gr.Dropdown([("Boxed", "boxed"), ("Outlined", "outline"), ("Karaoke (spoken word highlighted)",
                                                                           "karaoke")], label="Caption style"),
                gr.Dropdown([("Bottom", "bottom"), ("Middle", "middle"), ("Top", "top")], label="Caption position"),
            ]  # fmt: skip
    with gr.Accordion("Music and loudness", open=False):
        with gr.Row():
            sound = [
                # allow_custom_value: an uploaded track shows as its sha256:…, a typed path as itself.
                gr.Dropdown([("No music", "none"), *((f"{m.capitalize()} (bundled)", f"bundled:{m}") for m in MOODS)],
                            label="Music", allow_custom_value=True),  # fmt: skip
                gr.Slider(-60, 0, step=1, label="Music volume (dB; the narration sits at -17)"),
                gr.Slider(0, 40, step=1, label="Duck under narration (dB)"),
                gr.Slider(-40, -5, step=0.5, label="Loudness target (LUFS; -14 for YouTube and Spotify)"),
            ]
    with gr.Accordion("Transitions between scenes", open=False):
        with gr.Row():
            transition = [
                gr.Dropdown([("Cut", "cut"), ("Crossfade (the scenes dissolve)", "crossfade"),
                             ("Fade through black", "fade_black")], label="Transition", elem_id="transition-type"),
                gr.Slider(0.1, MAX_TRANSITION_SECONDS, step=0.1, label="Transition length (s; the video gets this "
                          "much shorter per scene change)", elem_id="transition-seconds"),
            ]  # fmt: skip
    return [*captions, *sound, *transition]


with gr.Blocks(title="Reelsmith studio") as demo:
    session_keys = gr.State({})
    project_id = gr.State("")
    preview_project = gr.State("")
    state_secret = browser_state_secret()  # public (see its docstring): preferences only
    prefs = gr.BrowserState({}, storage_key="reelsmith-preferences", secret=state_secret)
    # The browser keeps a server-signed token; the verified owner lives in owner_shadow (server memory).
    owner_token = gr.BrowserState("", storage_key="reelsmith-owner-token", secret=state_secret)
    owner_shadow = gr.State("")

    gr.Markdown("# Reelsmith studio\nWrite the storyboard on the left, press **Render** on the right, watch every "
                "step, play and download the video.", elem_id="intro")  # fmt: skip
    # Two columns: the storyboard (and, in tabs, step by step, history, keys) on the left; the render on the right,
    # its buttons at the top. On a phone the columns stack with the render first (CSS `order`), so Render is near
    # the top there too.
    with gr.Row(equal_height=False, elem_id="studio"):
        with gr.Column(scale=3, min_width=340, elem_id="editor-column"):
            with gr.Tab("Storyboard"):
                summary = gr.Markdown()
                scenes_table = gr.Dataframe(
                    headers=scene_ops.TABLE_HEADERS, datatype=["str", "str", "str", "str", "number", "str", "str"],
                    interactive=True, label="Scenes (edit cells; add rows at the end)", static_columns=[6],
                    # Fixed: the column menu can no longer add or delete a column (static_columns alone does not
                    # fix them in Gradio 6.31's table, whose menu checks column_count's "fixed").
                    column_count=(len(scene_ops.TABLE_HEADERS), "fixed"),
                    elem_id="scene-table",
                    show_row_numbers=True, max_height=420,
                    column_widths=["25%", "16%", "25%", "9%", "11%", "7%", "7%"],
                )  # fmt: skip
                with gr.Row():
                    scene_number = gr.Number(1, label="Scene", precision=0, minimum=1, scale=1, min_width=80)
                    add_btn = gr.Button("Add scene after", size="sm", min_width=80)
                    remove_btn = gr.Button("Remove", size="sm", min_width=80)
                    up_btn = gr.Button("Move up", size="sm", min_width=80)
                    down_btn = gr.Button("Move down", size="sm", min_width=80)
                settings = _settings_components()
                music_upload_btn = gr.UploadButton("Upload my music (the Music setting)", file_types=["audio"],
                                                   size="sm")  # fmt: skip
                with gr.Accordion("Storyboard as YAML (import / export)", open=False):
                    storyboard_box = gr.Code(DEFAULT_STORYBOARD, language="yaml", label="Storyboard (YAML or JSON)",
                                             lines=18)  # fmt: skip
                    with gr.Row():
                        import_btn = gr.UploadButton("Import YAML", file_types=[".yaml", ".yml", ".json"], size="sm")
                        export_btn = gr.Button("Export YAML", size="sm")
                        export_file = gr.File(label="Exported storyboard", interactive=False, height=60)
                gr.Examples([[t] for t in EXAMPLES.values()], inputs=[storyboard_box], label="Examples",
                            example_labels=list(EXAMPLES))  # fmt: skip
                with gr.Accordion("Start from a script or an idea", open=True, elem_id="start-from"):
                    with gr.Tab("Start from a script"):
                        script_box = gr.Textbox(label="Your narration: paragraphs and sentences become timed scenes",
                                                lines=5, max_lines=20, max_length=30_000, elem_id="script-box")
                        script_btn = gr.Button("Make scenes from my script (free)", size="sm")
                    with gr.Tab("Start from an idea"):
                        idea_box = gr.Textbox(label="What is the video about? A language model drafts the scenes",
                                              lines=2, max_length=2000, elem_id="idea-box")  # fmt: skip
                        idea_btn = gr.Button("Draft scenes from my idea (Hugging Face token and budget)", size="sm")
                    draft_note = gr.Markdown(
                        "From a script: free and instant. From an idea: a language model at Hugging Face drafts the "
                        f"scenes for up to ${estimate_idea('an idea').max_usd:.2f}; it needs a token (Keys & "
                        "providers) and a budget (Cost).")  # fmt: skip

            with gr.Tab("Step by step"):
                gr.Markdown("Generate one scene's image, look at it, regenerate or upload your own, **approve** it, "
                            "then make its clip and narration. Approved images are pinned: a full render reuses "
                            "them.")  # fmt: skip
                with gr.Row():
                    step_scene = gr.Number(1, label="Scene", precision=0, minimum=1, min_width=80)
                    new_seed = gr.Checkbox(False, label="New picture (new seed)")
                    gen_image_btn = gr.Button("Generate image", variant="primary")
                    upload_btn = gr.UploadButton("Upload my image", file_types=["image"])
                    # Usable, and the main action, only once there is an image to approve (approve_allowed).
                    approve_btn = gr.Button("Approve image", variant="secondary", interactive=False,
                                            elem_id="approve-image")
                    gen_video_btn = gr.Button("Generate clip")
                    gen_voice_btn = gr.Button("Generate narration")
                step_status = gr.Markdown()
                with gr.Row():
                    step_image = gr.Image(label="Scene image", type="filepath", interactive=False, height=300)
                    step_clip = gr.Video(label="Scene clip", interactive=False, height=300)
                    step_voice = gr.Audio(label="Scene narration", type="filepath", interactive=False)

            with gr.Tab("History"):
                history_empty = gr.Markdown(EMPTY_HISTORY, elem_id="history-empty")
                history_gallery = gr.Gallery(label="Your videos: click one to open it", columns=3, fit_columns=False,
                                             height="auto", object_fit="cover", allow_preview=False,
                                             interactive=False, buttons=[], visible=False,
                                             elem_id="history-gallery")  # fmt: skip
                history_ids = gr.State([])  # the project each card opens, in the cards' order (the server's)
                with gr.Accordion("All projects as a table", open=False, visible=False) as history_details:
                    with gr.Row():
                        refresh_btn = gr.Button("Refresh", size="sm")
                        open_id = gr.Textbox(label="Project id", max_lines=1, scale=2)
                        open_btn = gr.Button("Open project", size="sm")
                    history_table = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, label="Your projects")

            with gr.Tab("Keys & providers"):
                gr.Markdown("Paste your own keys to use paid providers. They stay in this session's server memory "
                            "only: never written to disk, logs, files or your browser's storage, used only for your "
                            "work.")  # fmt: skip
                key_boxes = _key_boxes()
                with gr.Row():
                    keys_btn = gr.Button("Use these keys for this session", variant="primary")
                    forget_btn = gr.Button("Forget my keys")
                provider_view = gr.Markdown(provider_status({}))

        with gr.Column(scale=2, min_width=340, elem_id="render-column"):
            with gr.Row(elem_id="render-actions"):
                render_btn = gr.Button("Render", variant="primary", scale=2, min_width=70, elem_id="render-button")
                preview_btn = gr.Button("Free preview", scale=2, min_width=70)
                stop_btn = gr.Button("Stop", variant="stop", scale=1, min_width=50)
                validate_btn = gr.Button("Check", scale=1, min_width=50)
            validation = gr.Markdown()
            board_view = gr.HTML(RenderBoard().html(), label="Workflow", elem_id="board")
            final_video = gr.Video(label="Final video", interactive=False, height=320)
            with gr.Row():
                image_preview = gr.Image(label="Latest image", type="filepath", interactive=False, height=150,
                                         min_width=100)  # fmt: skip
                clip_preview = gr.Video(label="Latest clip", interactive=False, height=150, min_width=100)
            voice_preview = gr.Audio(label="Latest narration", type="filepath", interactive=False)
            scene_gallery = gr.Gallery(label="Scenes", columns=8, height=140, object_fit="contain",
                                       allow_preview=True, interactive=False, elem_id="scene-gallery")  # fmt: skip
            with gr.Accordion("Cost and budget", open=False):
                with gr.Row():
                    budget_box = gr.Number(0, label="Budget in USD (0: none; needed when paid steps will run)",
                                           minimum=0, scale=2)  # fmt: skip
                    estimate_btn = gr.Button("Estimate cost", scale=1)
                cost_summary = gr.Markdown("Offline providers are free. Press **Estimate cost** to price a render.")
                cost_table = gr.Dataframe(headers=COST_HEADERS, interactive=False, max_height=240, visible=True)
            with gr.Accordion("Files: manifest, captions, sound stems", open=False):
                manifest_file = gr.File(label="Manifest", interactive=False, height=60)
                captions_file = gr.File(label="Captions (SRT, WebVTT)", file_count="multiple", interactive=False,
                                        height=80)  # fmt: skip
                stems_btn = gr.Button("Sound stems (zip)", size="sm")
                stems_file = gr.File(label="Narration, music, mix (48 kHz WAV)", interactive=False, height=60)
            with gr.Accordion("Report this video", open=False):
                report_reason = gr.Textbox(label="Report this video to the host: what is wrong with it?",
                                           max_lines=3, max_length=500)  # fmt: skip
                report_btn = gr.Button("Report this video", size="sm")

    # -- wiring ----------------------------------------------------------------------------------------------
    # Renders and scene steps of every session share one pool of REELSMITH_CONCURRENT_RENDERS: a render waiting
    # minutes on Runway no longer holds everyone else's. Local CPU work is bounded separately, process-wide, by
    # the CPU limiter (pipeline/limits.py), so many offline renders at once still never oversubscribe the cores.
    render_pool = {"concurrency_limit": _services().settings.concurrent_renders, "concurrency_id": "rendering"}
    provider_boxes = settings[3:6]
    form = [scenes_table, summary, *settings]
    storyboard_box.change(form_from_text, [storyboard_box], form, api_name=False, show_progress="hidden")
    scenes_table.input(text_from_table, [storyboard_box, scenes_table], [storyboard_box, scenes_table], api_name=False)
    for box in settings:
        box.input(text_from_settings, [storyboard_box, *settings], [storyboard_box, *settings], api_name=False)
    pref_boxes = [settings[scene_ops.SETTING_FIELDS.index(n)] for n in PREFERENCES]
    for box in pref_boxes:
        box.input(remember_preferences, pref_boxes, [prefs], api_name=False)
    add_btn.click(add_scene, [storyboard_box, scene_number], [storyboard_box], api_name="add_scene")
    remove_btn.click(remove_scene, [storyboard_box, scene_number], [storyboard_box], api_name="remove_scene")
    up_btn.click(move_up, [storyboard_box, scene_number], [storyboard_box, scene_number], api_name="move_scene_up")
    down_btn.click(move_down, [storyboard_box, scene_number], [storyboard_box, scene_number],
                   api_name="move_scene_down")  # fmt: skip
    import_btn.upload(import_yaml, [import_btn], [storyboard_box], api_name="import_storyboard")
    export_btn.click(export_yaml, [storyboard_box], [export_file], api_name="export_storyboard")

    validate_btn.click(validate, [storyboard_box, session_keys], [validation], api_name="validate")
    estimate_btn.click(estimate, [storyboard_box, *provider_boxes, session_keys, owner_shadow], [cost_table, cost_summary],
                       api_name="estimate_cost")  # fmt: skip
    render_view = RenderView(board=board_view, image=image_preview, clip=clip_preview, voice=voice_preview,
                             final=final_video, manifest=manifest_file, gallery=scene_gallery, project=project_id,
                             captions=captions_file)  # fmt: skip
    render_event = render_btn.click(
        render,
        [storyboard_box, *provider_boxes, budget_box, session_keys, owner_shadow, project_id],
        list(render_view),
        api_name="render",
        **render_pool,
    )

    preview_event = preview_btn.click(
        render_preview,
        [storyboard_box, owner_shadow, preview_project],
        list(render_view._replace(project=preview_project)),
        api_name="render_preview",
        **render_pool,
    )

    # The history follows every render (finished, failed or stopped) by itself: its table, then its cards.
    history_outputs = [history_gallery, history_empty, history_details, history_ids]
    for finished in (render_event, preview_event):
        for after in (finished.then, finished.failure):
            after(history, [owner_shadow], [history_table], api_name=False).then(
                history_view, [owner_shadow], history_outputs, api_name=False)  # fmt: skip

    gen_image_event = gen_image_btn.click(generate_image, [storyboard_box, step_scene, new_seed, session_keys, owner_shadow],
                                          [step_image, step_status, storyboard_box], api_name="generate_image",
                                          **render_pool)  # fmt: skip
    approve_btn.click(approve_image, [storyboard_box, step_scene, session_keys, owner_shadow],
                      [storyboard_box, step_status, step_image], api_name="approve_image")  # fmt: skip
    step_image.change(approve_allowed, [step_image], [approve_btn], api_name=False, show_progress="hidden")
    step_scene.change(show_scene_step, [storyboard_box, step_scene, owner_shadow], [step_image, step_status],
                      api_name=False, show_progress="hidden")  # fmt: skip
    upload_btn.upload(upload_image, [storyboard_box, step_scene, upload_btn, owner_shadow],
                      [storyboard_box, step_image, step_status],
                      api_name="upload_image")  # fmt: skip
    gen_video_event = gen_video_btn.click(generate_video, [storyboard_box, step_scene, session_keys, owner_shadow],
                                          [step_clip, step_status], api_name="generate_video",
                                          **render_pool)  # fmt: skip
    gen_voice_event = gen_voice_btn.click(generate_voice, [storyboard_box, step_scene, session_keys, owner_shadow],
                                          [step_voice, step_status], api_name="generate_voice",
                                          **render_pool)  # fmt: skip

    stop_btn.click(stop, None, None,
                   cancels=[render_event, preview_event, gen_image_event, gen_video_event, gen_voice_event],
                   api_name="stop")  # fmt: skip
    stop_btn.click(stopped_board, None, [board_view], api_name=False, queue=False)  # "Stopped" at once

    music_upload_btn.upload(upload_music, [storyboard_box, music_upload_btn, owner_shadow], [storyboard_box],
                            api_name="upload_music")  # fmt: skip
    stems_btn.click(sound_stems, None, [stems_file], api_name="sound_stems")

    report_btn.click(report_video, [report_reason, owner_shadow], [report_reason], api_name="report_video")

    refresh_btn.click(history, [owner_shadow], [history_table], api_name="history").then(
        history_view, [owner_shadow], history_outputs, api_name=False)  # fmt: skip
    history_gallery.select(open_picked, [history_ids, owner_shadow],
                           [storyboard_box, project_id, final_video, manifest_file], api_name=False)  # fmt: skip
    history_table.select(pick_project, [history_table], [open_id], api_name=False)
    open_btn.click(open_project, [open_id, owner_shadow], [storyboard_box, project_id, final_video, manifest_file],
                   api_name="open_project")  # fmt: skip

    keys_btn.click(use_keys, [session_keys, *key_boxes], [session_keys, *key_boxes, provider_view, *provider_boxes],
                   api_name="set_keys")  # fmt: skip
    forget_btn.click(forget_keys, None, [session_keys, provider_view, *provider_boxes], api_name="forget_keys")

    script_btn.click(storyboard_from_script, [script_box, storyboard_box], [storyboard_box, draft_note],
                     api_name="storyboard_from_script")  # fmt: skip
    idea_btn.click(storyboard_from_idea, [idea_box, storyboard_box, budget_box, session_keys],
                   [storyboard_box, draft_note], api_name="storyboard_from_idea")  # fmt: skip

    demo.load(start_session, [storyboard_box, prefs, owner_token], [storyboard_box, owner_token, owner_shadow],
              api_name=False).then(
        form_from_text, [storyboard_box], form, api_name=False, show_progress="hidden"
    ).then(history, [owner_shadow], [history_table], api_name=False).then(
        history_view, [owner_shadow], history_outputs, api_name=False)  # fmt: skip

demo.queue(default_concurrency_limit=2)

if __name__ == "__main__":
    SESSIONS.mkdir(parents=True, exist_ok=True, mode=0o700)
    _services()  # built at startup (already, for the Blocks' render pool): one read of the environment
    warm_in_background(_services())  # the first render's one-time costs, paid before anyone clicks Render
    _limits()  # a malformed REELSMITH_*_PER_HOUR stops the launch instead of a stranger's first render
    # Uploads are storyboards (at most 2 MB) and pictures (at most 40 megapixels): nothing needs more than this,
    # and without it Gradio accepts any size onto the server's disk.
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), css=CSS, max_file_size=MAX_UPLOAD)
