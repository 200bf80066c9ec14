"""Command line: `python -m pipeline render|validate|estimate|ledger|audit|scene|projects|storyboard|schema|providers`.

Exit codes: 0 done, 1 a provider or media step failed (the message names scene, step and reason) or the machine
cannot do the work (REELSMITH_HOME not writable or full), 2 bad input (the storyboard or an option such as `-o`),
130 stopped by the user (finished steps stay cached).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from pipeline.errors import Cancelled, InputError, Problem, StudioError
from pipeline.owners import CLI_OWNER
from pipeline.services import Services
from pipeline.styles import STYLE_PRESETS as STYLE_NAMES
from pipeline.events import (
    Event,
    RenderCancelled,
    RenderFailed,
    RenderFinished,
    RenderStarted,
    StepCached,
    StepFailed,
    StepFinished,
    StepStarted,
    StepWarning,
)

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_STOPPED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    """The command line's subcommands and options (what `--help` shows)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="Reelsmith: storyboard in, video out.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("render", help="render a storyboard (YAML or JSON) to a video file")
    p.add_argument("storyboard", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="the video file to write")
    for kind in ("image", "video", "voice"):
        p.add_argument(f"--{kind}-provider", metavar="NAME", help=f"use this {kind} provider (see `providers`)")
    p.add_argument("--events", action="store_true", help="print every event as a JSON line instead of a table")
    p.add_argument("--budget", type=float, metavar="USD",
                   help="refuse to start above this estimate, and never spend past it during the render")  # fmt: skip
    p.add_argument("--timeline", type=Path, metavar="OUT.otio",
                   help="also write the edit as a timeline for editors (Resolve, Premiere, Kdenlive): .otio "
                   "(OpenTimelineIO), .xml (FCP 7 XML), .fcpxml (FCP X) or .edl (CMX 3600, the cut list only)")
    p.add_argument("--preview", action="store_true",
                   help="a free, fast animatic instead: offline providers whatever the storyboard names, half "
                   "size, scenes of at most 5 s, marked PREVIEW; written to OUTPUT with -preview added to its name"
                   )  # fmt: skip
    p.add_argument("--stems", type=Path, metavar="DIR",
                   help="also write narration.wav, music.wav and mix.wav (48 kHz, the video's length) into DIR")

    p = sub.add_parser("estimate", help="what a render would cost now, per scene and step (cached steps cost $0)")
    p.add_argument("storyboard", type=Path)
    for kind in ("image", "video", "voice"):
        p.add_argument(f"--{kind}-provider", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print the estimate as JSON")

    p = sub.add_parser("ledger", help="what was spent: by day, provider and render")
    p.add_argument("--json", action="store_true", help="every ledger row as JSON")

    p = sub.add_parser("audit", help="the audit log: every generation and report (fingerprints, never keys)")
    p.add_argument("--json", action="store_true", help="every row as JSON")
    p.add_argument("--since", metavar="WHEN", help="only rows since WHEN: a date/time (2026-12-01, "
                   "2026-12-01T09:30, UTC unless it says) or a span back from now (90m, 24h, 7d)")  # fmt: skip

    p = sub.add_parser("validate", help="check a storyboard and report every problem")
    p.add_argument("storyboard", type=Path)

    p = sub.add_parser("scene", help="step by step: one scene's image, clip or narration; approve or upload its image")
    p.add_argument("action", choices=["image", "video", "voice", "approve", "upload", "reroll"],
                   help="image/video/voice: make (or reuse) that output; approve: pin the scene's current image; "
                   "upload FILE: pin your own image; reroll: a new seed for a different picture")  # fmt: skip
    p.add_argument("storyboard", type=Path, help="approve/upload/reroll write the change into this file (only the "
                   "changed key; comments and layout stay)")
    p.add_argument("--scene", type=int, required=True, metavar="N", help="scene number, from 1")
    p.add_argument("--file", type=Path, help="the image to upload (with `upload`)")

    p = sub.add_parser("projects", help="list saved projects (studio and CLI), newest first")
    p.add_argument("--owner", default="cli", help="whose projects (the CLI saves as 'cli')")

    _storyboard_parser(sub)
    sub.add_parser("schema", help="print the storyboard's JSON Schema")
    sub.add_parser("providers", help="list the providers by step")
    return parser


def _storyboard_parser(sub: Any) -> None:
    """`storyboard --from-script FILE | --from-idea TEXT -o STORYBOARD.yaml`."""
    p = sub.add_parser("storyboard", help="draft a storyboard to edit and render: from a script you wrote (free, "
                       "offline, instant) or from an idea (a language model at Hugging Face; needs HF_TOKEN)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-script", type=Path, metavar="FILE", help="the narration, as plain text ('-': "
                        "standard input); cut into scenes at paragraphs and sentences, timed to the voice")
    source.add_argument("--from-idea", metavar="TEXT", help="what the video is about, in a sentence or two")
    p.add_argument("-o", "--output", type=Path, required=True, help="the storyboard file to write (.yaml or .json)")
    p.add_argument("--title", help="the video's title (default: from the script's first sentence, or the model's)")
    p.add_argument("--style", choices=sorted(STYLE_NAMES), help="the pictures' style (default photorealistic)")
    p.add_argument("--voice-provider", metavar="NAME", help="the narrator (default piper); scenes are timed to it")
    p.add_argument("--model", help="--from-idea: the Hugging Face chat model (default Qwen/Qwen2.5-72B-Instruct)")
    p.add_argument("--budget", type=float, metavar="USD", help="--from-idea: never spend more than this")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    services = Services.from_env()  # the one read of the environment: settings and the server's keys
    try:
        if args.command in ("render", "estimate", "ledger", "scene", "projects", "storyboard"):
            _check_home(services.home)
        if args.command == "schema":
            from pipeline.storyboard import storyboard_schema

            print(json.dumps(storyboard_schema(), indent=2))
            return EXIT_OK
        if args.command == "providers":
            return _providers()
        if args.command == "validate":
            return _validate(args.storyboard, services)
        if args.command == "estimate":
            return _estimate(args, services)
        if args.command == "ledger":
            return _ledger(args.json, services)
        if args.command == "audit":
            return _audit(args.json, args.since, services)
        if args.command == "scene":
            return _scene(args, services)
        if args.command == "projects":
            return _projects(args.owner, services)
        if args.command == "storyboard":
            return _draft(args, services)
        return _render(args, services)
    except InputError as exc:
        _print_problems(exc)
        return EXIT_INPUT
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, sqlite3.Error) as exc:
        # The machine, not the input: one line saying what to do, never a traceback.
        print(f"error: {_environment_problem(exc, services.home)}", file=sys.stderr)
        return EXIT_FAILED


def _check_home(home: Path) -> None:
    """REELSMITH_HOME exists and takes a new file, before any work (the store, ledger and journal live there)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    tempfile.TemporaryFile(dir=home, prefix=".reelsmith-check-").close()


def _environment_problem(exc: OSError | sqlite3.Error, home: Path) -> str:
    reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    filename = getattr(exc, "filename", None)
    in_home = isinstance(exc, sqlite3.Error) or (filename is not None and str(filename).startswith(str(home)))
    if in_home or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
        return (f"REELSMITH_HOME ({home}) cannot be used: {reason}. Make it writable with free space, or set "
                "REELSMITH_HOME to a folder that is.")  # fmt: skip
    return f"{reason}" + (f": {filename}" if filename else "")


def _check_output(output: Path, fmt: str) -> None:
    """Refuse an `-o` the render could not write, before any work: it used to fail only after the whole render."""

    def refused(what: str) -> InputError:
        return InputError([Problem("-o", what)])

    if output.is_dir():
        raise refused(f"{output} is a folder; give a file name such as {output / f'video.{fmt}'}")
    if output.suffix.lower() != f".{fmt}":
        raise refused(f"{output.name} does not end in .{fmt}, the storyboard's output.format; name the file "
                      f"{output.stem}.{fmt}, or set output.format to match")  # fmt: skip
    manifest = f"{output.stem}.manifest.json"  # the longest name the render writes beside the video
    if len(manifest.encode("utf-8", "surrogatepass")) > 255:
        raise refused("the file name is too long for most file systems; shorten it")
    parent = output.parent
    if parent.exists() and not parent.is_dir():
        raise refused(f"{parent} is a file, not a folder; choose a folder for the video")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=parent, prefix=".reelsmith-check-").close()
    except OSError as exc:
        raise refused(f"cannot write in {parent} ({exc.strerror or exc}); choose a folder you can write to") from None
    if output.exists() and not os.access(output, os.W_OK):
        raise refused(f"{output} exists and cannot be overwritten; choose another name")


def _print_problems(exc: InputError) -> None:
    count = len(exc.problems) + exc.more
    paths = {p.path for p in exc.problems}
    what = "invalid option" if all(path.startswith("-") for path in paths) else \
        f"invalid {paths.pop()}" if paths in ({"script"}, {"idea"}) else "invalid storyboard"  # fmt: skip
    print(f"{what} ({count} problem{'s' if count != 1 else ''}):", file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)
    if exc.more:
        print(f"  …and {exc.more} more problems (fix these first)", file=sys.stderr)


def _providers() -> int:
    from pipeline.pricing import price_summary
    from pipeline.providers import registry

    for kind in ("image", "video", "voice"):
        print(f"{kind}:")
        for cls in registry.classes(kind):
            where = "offline" if cls.offline else f"needs {cls.key_env_var}"
            cost = price_summary(cls) if cls.paid else None
            print(f"  {cls.name:<12} {cls.label} ({where}{'; ' + cost if cost else ''})")
    return EXIT_OK


def _validate(path: Path, services: Services) -> int:
    from pipeline.plan import plan_render
    from pipeline.storyboard import load_storyboard

    from pipeline.captions.language import voice_language_warnings

    storyboard = load_storyboard(path)
    plan = plan_render(storyboard, services.credentials, blocklist=services.settings.blocklist)
    for _, message in voice_language_warnings(plan):  # warned, not refused
        print(f"warning: {message}", file=sys.stderr)
    seconds = sum(s.duration for s in storyboard.scenes)
    print(f"ok: '{storyboard.title}', {len(storyboard.scenes)} scenes, {seconds} s before narration stretching, "
          f"{storyboard.resolution}, {storyboard.style}")  # fmt: skip
    return EXIT_OK


def _scene(args: argparse.Namespace, services: Services) -> int:
    from pipeline.runner import iter_scene_step
    from pipeline.storyboard import load_storyboard

    if args.action in ("approve", "upload", "reroll"):
        return _scene_edit(args, services)
    storyboard = load_storyboard(args.storyboard)
    index = args.scene - 1
    if not 0 <= index < len(storyboard.scenes):
        raise InputError(f"--scene: {args.scene} is not a scene of this storyboard (1–{len(storyboard.scenes)})")
    job = iter_scene_step(storyboard, index, args.action, services=services)
    view = _PlainLines()
    for event in job:
        view.show(event)
    if job.error is not None:
        raise job.error
    print(f"scene {args.scene} {args.action}: {job.result.path}")
    return EXIT_OK


def _scene_edit(args: argparse.Namespace, services: Services) -> int:
    """approve / upload / reroll: only the scene's changed key is written into the file (its comments and layout
    stay), atomically, and the command says so."""
    from pipeline import scenes
    from pipeline.storyboard import read_storyboard_text

    if args.action == "upload" and args.file is None:
        raise InputError("--file: give the image to upload")
    build = {
        "approve": lambda sb: scenes.approval(sb, args.scene, owner=CLI_OWNER, services=services),
        "upload": lambda sb: scenes.upload(sb, args.scene, args.file, owner=CLI_OWNER, services=services),
        "reroll": lambda sb: scenes.reroll(sb, args.scene),
    }[args.action]
    fmt = "json" if args.storyboard.suffix.lower() == ".json" else "yaml"
    edited = scenes.edit(read_storyboard_text(args.storyboard), build, fmt)
    _write_atomically(args.storyboard, edited.text)
    scene = edited.storyboard.scenes[args.scene - 1]
    what = {"approve": f"image approved ({scene.image})", "upload": f"your image pinned ({scene.image})",
            "reroll": f"new seed {scene.seed}, its image to be approved again"}[args.action]  # fmt: skip
    print(f"updated {args.storyboard}: scene {args.scene} {what}")
    return EXIT_OK


def _draft(args: argparse.Namespace, services: Services) -> int:
    """`storyboard --from-script FILE` / `--from-idea TEXT`: a storyboard written to `-o`, ready to edit."""
    from pipeline.script_storyboard import draft_yaml, language_warnings, read_script, script_to_storyboard

    if args.output.suffix.lower() not in (".yaml", ".yml", ".json") or args.output.is_dir():
        raise InputError([Problem("-o", f"{args.output} is not a .yaml or .json file name")])
    base = {"voice": {"provider": args.voice_provider}} if args.voice_provider else None
    if args.from_script is not None:
        storyboard = script_to_storyboard(read_script(args.from_script), title=args.title, style=args.style,
                                          voice_provider=args.voice_provider)  # fmt: skip
        paid = ""
    else:
        from pipeline.idea_storyboard import estimate_idea, idea_to_storyboard

        print(f"note: {estimate_idea(args.from_idea, args.model).summary()}", file=sys.stderr)
        draft = idea_to_storyboard(args.from_idea, services=services, model=args.model, budget=args.budget,
                                   base=base)  # fmt: skip
        storyboard = draft.storyboard
        if args.title or args.style:
            storyboard = storyboard.model_copy(update={k: v for k, v in (("title", args.title),
                                                                        ("style", args.style)) if v})  # fmt: skip
        paid = f"; drafted by {draft.model} for ${draft.usd:.4f} ({draft.calls} call{'s' * (draft.calls > 1)})"
    for warning in language_warnings(storyboard):
        print(f"warning: {warning}", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = storyboard.model_dump_json(indent=2) if args.output.suffix.lower() == ".json" else draft_yaml(storyboard)
    args.output.touch(exist_ok=True)
    _write_atomically(args.output, text)
    seconds = sum(s.duration for s in storyboard.scenes)
    print(f"wrote {args.output}: '{storyboard.title}', {len(storyboard.scenes)} scenes, {seconds} s{paid}")
    print(f"next: edit it, then `python -m pipeline render {args.output} -o video.mp4`")
    return EXIT_OK


def _write_atomically(path: Path, text: str) -> None:
    """Replace a file's text at once (a crash or a full disk never leaves half a storyboard), keeping its mode."""
    fd, temporary = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _estimate(args: argparse.Namespace, services: Services) -> int:
    from pipeline.estimate import estimate_cost
    from pipeline.storyboard import load_storyboard

    storyboard = load_storyboard(args.storyboard).with_providers(
        image=args.image_provider, video=args.video_provider, voice=args.voice_provider
    )
    estimate = estimate_cost(storyboard, services=services)
    if args.json:
        print(json.dumps(estimate.to_dict(), indent=2))
        return EXIT_OK
    print(f"{'scene':>5}  {'step':<6} {'provider':<11} {'units':>16} {'cost':>9}  state")
    for scene, step, provider, units, usd, state in estimate.table():
        print(f"{scene:>5}  {step:<6} {provider:<11} {units:>16} {usd:>9}  {state}")
    print(f"total ${estimate.total:.2f} (the cache saves ${estimate.saved:.2f}); prices as of {estimate.prices_as_of}")
    return EXIT_OK


def _ledger(as_json: bool, services: Services) -> int:
    ledger = services.ledger
    if as_json:
        print(json.dumps(ledger.rows(), indent=2))
        return EXIT_OK
    summary = ledger.summary()
    for group in ("day", "provider", "render"):
        print(f"by {group}:")
        for key, usd in sorted(summary[group].items()):
            print(f"  {key:<28} ${usd:.4f}")
    print(f"total ${ledger.total():.4f}")
    return EXIT_OK


def _audit(as_json: bool, since: str | None, services: Services) -> int:
    from pipeline.audit import parse_since

    rows = services.audit_log.rows(parse_since(since) if since else None)
    if as_json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print(f"{'time':<25} {'kind':<10} {'outcome':<9} {'render':<22} {'where':<14} {'provider':<11} "
          f"{'owner':<22} {'client':<21} reason")  # fmt: skip
    for r in rows:
        where = _where(r["scene"], r["step"]) if r["step"] else "-"
        print(f"{r['time']:<25} {r['kind']:<10} {r['outcome']:<9} {r['render_id'] or '-':<22} {where:<14} "
              f"{r['provider'] or '-':<11} {r['owner'] or '-':<22} {r['client'] or '-':<21} {r['reason'] or ''}")
    print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    return EXIT_OK


def _projects(owner: str, services: Services) -> int:
    for p in services.projects.history(owner):
        length = f"{p.duration:.1f} s" if p.duration else "not rendered"
        print(f"{p.id}  {p.updated[:16].replace('T', ' ')}  {p.title!r}  {length}  "
              f"{'/'.join(p.providers.values()) or '-'}  {p.video or ''}")  # fmt: skip
    return EXIT_OK


def _render(args: argparse.Namespace, services: Services) -> int:
    from pipeline.preview import for_preview
    from pipeline.projects import ProjectRecorder
    from pipeline.runner import iter_render
    from pipeline.storyboard import load_storyboard

    storyboard = load_storyboard(args.storyboard).with_providers(
        image=args.image_provider, video=args.video_provider, voice=args.voice_provider
    )
    if args.preview:
        storyboard, args.output = for_preview(storyboard, args.output)
    _check_output(args.output, storyboard.output.format)
    if args.timeline:
        from pipeline.timeline import timeline_adapter

        timeline_adapter(args.timeline)  # a suffix no adapter writes is refused before any work
    # Providers' pre-flight runs in the render itself; its problems come back as RenderFailed(kind="input").
    # The render records itself in the storyboard file's project (owner "cli"), as it starts and when it ends.
    project = ProjectRecorder(args.storyboard.read_text(encoding="utf-8"), source=args.storyboard)
    job = iter_render(storyboard, args.output, budget=args.budget, project=project, services=services)
    final = _follow(job, _view(args, storyboard))
    # With --events, stdout carries only JSON lines; the summary goes to stderr.
    summary = sys.stderr if args.events else sys.stdout
    if isinstance(final, RenderFinished):
        _write_extras(args, job.result, summary, services.store)
        spent = f"; spent ${job.result.spent:.2f}" if job.result and job.result.spent else ""
        print(f"done: {final.path} ({final.duration:.2f} s of video in {final.seconds:.1f} s; "
              f"{final.executed} steps ran, {final.cached} from cache{spent})", file=summary)  # fmt: skip
        return EXIT_OK
    return _unfinished(final, job)


def _view(args: argparse.Namespace, storyboard: Any) -> "_View":
    if args.events:
        return _JsonLines()
    if sys.stdout.isatty():
        return _LiveTable(len(storyboard.scenes), storyboard.title)
    return _PlainLines()


def _follow(job: Any, view: "_View") -> Event | None:
    """Show the render's events until it ends (Ctrl-C stops it, keeping finished steps); its last event."""
    final: Event | None = None
    with view:
        events = iter(job)
        while True:
            try:
                event = next(events)
            except StopIteration:
                break
            except KeyboardInterrupt:
                view.note("stopping… finished steps stay cached")
                job.cancel()
                continue
            view.show(event)
            if isinstance(event, (RenderFinished, RenderFailed, RenderCancelled)):
                final = event
    return final


def _write_extras(args: argparse.Namespace, result: Any, summary: Any, store: Any) -> None:
    """The timeline and stems asked for (from `store`, the render's), and the caption files' names (before "done:",
    which stays last)."""
    stems = None
    if args.stems and result.finished_sound is not None:
        from pipeline.finish_step import write_stems

        stems = write_stems(result.finished_sound, store, args.stems)
        print(f"stems: {', '.join(str(p) for p in stems.values())}", file=summary)
    if args.timeline:
        from pipeline.timeline import export_timeline

        print(f"timeline: {export_timeline(result, args.timeline, store, stems)}", file=summary)
    if result.captions:
        print(f"captions: {', '.join(str(p) for p in result.captions)}", file=summary)


def _unfinished(final: Event | None, job: Any) -> int:
    """The exit code (and message) of a render that did not finish."""
    if isinstance(final, RenderCancelled):
        print(f"stopped: {final.kept} finished steps kept in the cache; run again to continue", file=sys.stderr)
        return EXIT_STOPPED
    if isinstance(final, RenderFailed):
        if final.kind == "input" and isinstance(job.error, InputError):
            _print_problems(job.error)
            return EXIT_INPUT
        print(f"failed: {final.reason}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(job.error, Cancelled):
        return EXIT_STOPPED
    print("failed: the render ended without a result", file=sys.stderr)
    return EXIT_FAILED


# ---------------------------------------------------------------------------------------------------------------
# Views of the event stream


class _View:
    def __enter__(self) -> "_View":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def show(self, event: Event) -> None:
        raise NotImplementedError

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


class _JsonLines(_View):
    def show(self, event: Event) -> None:
        print(json.dumps(event.to_dict()), flush=True)


def _where(scene: int | None, step: str) -> str:
    return f"scene {scene + 1} {step}" if scene is not None else step


class _PlainLines(_View):
    """For logs and CI: one line per step state change, no progress spam."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def show(self, event: Event) -> None:
        t = f"[{time.monotonic() - self.t0:6.1f}s]"
        if isinstance(event, RenderStarted):
            print(f"{t} render {event.render_id}: '{event.title}', {event.scenes} scenes, "
                  f"providers {event.providers}", flush=True)  # fmt: skip
        elif isinstance(event, StepStarted):
            print(f"{t} {_where(event.scene, event.step)}: started ({event.provider})", flush=True)
        elif isinstance(event, StepCached):
            print(f"{t} {_where(event.scene, event.step)}: cached", flush=True)
        elif isinstance(event, StepFinished):
            print(f"{t} {_where(event.scene, event.step)}: done in {event.seconds:.2f} s", flush=True)
        elif isinstance(event, StepFailed):
            print(f"{t} {_where(event.scene, event.step)}: FAILED: {event.reason}", flush=True)
        elif isinstance(event, StepWarning):
            print(f"{t} {_where(event.scene, event.step)}: warning: {event.message}", flush=True)


class _LiveTable(_View):
    """A live scenes × steps table on a terminal, drawn from the same RenderBoard the studio shows."""

    def __init__(self, scenes: int, title: str):
        from rich.console import Console
        from rich.live import Live

        from pipeline.board import RenderBoard

        self.title = title
        self.board = RenderBoard(scenes=scenes)
        self.notes: list[str] = []
        self.live = Live(self._table(), console=Console(), refresh_per_second=8, transient=False)

    # The table appears once the render has started: a storyboard that fails pre-flight shows only its problems.
    started = False

    def __exit__(self, *exc: Any) -> None:
        if self.started:
            self.live.update(self._table())
            self.live.__exit__(*exc)

    def note(self, text: str) -> None:
        self.notes.append(text)
        if self.started:
            self.live.update(self._table())

    def show(self, event: Event) -> None:
        if isinstance(event, RenderStarted) and not self.started:
            self.started = True
            self.live.__enter__()
        if self.board.apply(event) and self.started:
            self.live.update(self._table())

    def _cell(self, scene: int | None, step: str) -> str:
        state = self.board.state(scene, step)
        if state.status == "running":
            msg = f" {state.detail}" if state.detail and state.fraction < 0.2 else ""
            return f"[yellow]{state.fraction:4.0%}[/]{msg[:18]}"
        if state.status == "done":
            return f"[green]done[/] {state.seconds or 0:.1f}s"
        return {"queued": "[dim]queued[/]", "cached": "[cyan]cached[/]", "failed": "[red]failed[/]",
                "skipped": "[dim]– not needed[/]"}[state.status]  # fmt: skip

    def _table(self):
        from rich.console import Group
        from rich.table import Table

        table = Table(title=f"Reelsmith · {self.title}", expand=False)
        table.add_column("scene", justify="right")
        kinds, render_wide = self.board.scene_kinds, self.board.render_kinds  # as the render's plan announced them
        for step in kinds:
            table.add_column(step)
        for i in range(self.board.scenes):
            table.add_row(str(i + 1), *(self._cell(i, s) for s in kinds))
        # The render-wide steps under the last columns (the table grows a column when they outnumber the scenes').
        spare = max(len(kinds) - len(render_wide), 0)
        table.add_row("all", *[""] * spare, *(f"{k}: {self._cell(None, k)}" for k in render_wide))
        return Group(table, *(self.board.failures + self.board.warnings + self.notes)[-5:])


if __name__ == "__main__":
    sys.exit(main())
