"""Reelsmith studio: a Gradio Blocks app over the engine in pipeline/ (which holds all the logic).

Run: python app.py  (http://127.0.0.1:7860; offline providers need no keys)
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import gradio as gr

from pipeline.board import RenderBoard
from pipeline.errors import InputError
from pipeline.events import RenderFailed, StepWarning
from pipeline.plan import plan_render
from pipeline.providers import registry
from pipeline.runner import iter_render
from pipeline.settings import reelsmith_home
from pipeline.storyboard import parse_storyboard

EXAMPLES_DIR = Path(__file__).parent / "assets" / "examples"
EXAMPLES = {p.stem: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES_DIR.glob("*.yaml"))}
DEFAULT_STORYBOARD = EXAMPLES.get("short-story", next(iter(EXAMPLES.values()), ""))
SESSIONS = reelsmith_home() / "sessions"
UPDATE_INTERVAL = 0.2  # seconds between progress-only refreshes of the page


def _session_dir(request: gr.Request | None) -> Path:
    """Each browser session's files live in a folder named by its unguessable session hash."""
    token = (request.session_hash if request is not None else None) or "anonymous"
    folder = SESSIONS / "".join(c for c in token if c.isalnum())[:64]
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


def _needs_fixing(problems: str) -> gr.Error:
    return gr.Error(f"The storyboard needs fixing:\n{problems}", print_exception=False)


def _storyboard(text: str, image: str | None = None, video: str | None = None, voice: str | None = None):
    try:
        return parse_storyboard(text or "").with_providers(image=image, video=video, voice=voice)
    except InputError as exc:
        raise _needs_fixing(str(exc)) from None


def validate(text: str) -> str:
    """Check a storyboard; every problem with its field path and line."""
    try:
        storyboard = parse_storyboard(text or "")
        plan_render(storyboard)
    except InputError as exc:
        return "✗ Needs fixing:\n" + "\n".join(f"- {p}" for p in exc.problems)
    seconds = sum(s.duration for s in storyboard.scenes)
    return f"✓ '{storyboard.title}': {len(storyboard.scenes)} scenes, {seconds} s before narration, {storyboard.resolution}"


def render(text: str, image: str, video: str, voice: str, request: gr.Request):
    """Render the storyboard, streaming the board, each new preview and finally the video and its manifest."""
    storyboard = _storyboard(text, image, video, voice)
    folder = _session_dir(request)
    board = RenderBoard()
    job = iter_render(storyboard, folder / f"{storyboard.title.strip() or 'video'}.mp4".replace("/", "-"))
    last = 0.0
    shown: tuple = ()
    for event in job:
        changed = board.apply(event)
        if isinstance(event, StepWarning):
            gr.Warning(event.message)
        if isinstance(event, RenderFailed):  # providers' pre-flight problems arrive here as kind "input"
            raise _needs_fixing(event.reason) if event.kind == "input" else gr.Error(event.reason, print_exception=False)
        previews = (board.latest.get("image"), board.latest.get("video"), board.latest.get("audio"))
        now = time.monotonic()
        if changed and (previews != shown or now - last >= UPDATE_INTERVAL or board.final):
            shown, last = previews, now
            yield (board.html(), *(_publish(p, folder) for p in previews), _publish(board.final, folder),
                   _publish(board.manifest, folder))  # fmt: skip


def _choices(kind: str) -> list[str]:
    return registry.names(kind)


with gr.Blocks(title="Reelsmith studio") as demo:
    gr.Markdown("# Reelsmith studio\nWrite a storyboard, press **Render**, watch every step, download the video.")
    with gr.Row():
        with gr.Column(scale=3):
            storyboard_box = gr.Code(DEFAULT_STORYBOARD, language="yaml", label="Storyboard (YAML or JSON)", lines=22)
            gr.Examples([[t] for t in EXAMPLES.values()], inputs=[storyboard_box], label="Examples",
                        example_labels=list(EXAMPLES))  # fmt: skip
        with gr.Column(scale=2):
            with gr.Accordion("Pipeline configuration", open=True):
                image_provider = gr.Dropdown(_choices("image"), value="draft", label="Image provider")
                video_provider = gr.Dropdown(_choices("video"), value="motion", label="Video provider")
                voice_provider = gr.Dropdown(_choices("voice"), value="piper", label="Voice provider")
            with gr.Row():
                validate_btn = gr.Button("Validate")
                render_btn = gr.Button("Render", variant="primary")
                stop_btn = gr.Button("Stop", variant="stop")
            validation = gr.Markdown()
            board_view = gr.HTML(RenderBoard().html(), label="Workflow")
    with gr.Row():
        image_preview = gr.Image(label="Latest image", type="filepath", interactive=False, height=320)
        clip_preview = gr.Video(label="Latest clip", interactive=False, height=320)
        voice_preview = gr.Audio(label="Latest narration", type="filepath", interactive=False)
    with gr.Row():
        final_video = gr.Video(label="Final video", interactive=False, height=480)
        manifest_file = gr.File(label="Manifest", interactive=False)

    validate_btn.click(validate, [storyboard_box], [validation], api_name="validate")
    render_event = render_btn.click(
        render,
        [storyboard_box, image_provider, video_provider, voice_provider],
        [board_view, image_preview, clip_preview, voice_preview, final_video, manifest_file],
        api_name="render",
        concurrency_limit=1,  # two cores: one render at a time, the rest wait in the queue
    )
    stop_btn.click(None, cancels=[render_event], api_name=False)

demo.queue(default_concurrency_limit=2)

if __name__ == "__main__":
    SESSIONS.mkdir(parents=True, exist_ok=True)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        allowed_paths=[str(SESSIONS)],
        css=".board table{border-collapse:collapse}.board td,.board th{padding:4px 10px;border:1px solid #8884}"
        ".board td.running{background:#fff3c4}.board td.done{background:#d9f7d9}.board td.cached{background:#dcecff}"
        ".board td.failed{background:#ffd6d6}",
    )
