"""Issue 12 through the studio: no session takeover, no one else's images by hash, owners decided by the server.

Each test is an attack from outside (gradio_client or plain HTTP against the launched studio) that once worked.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.studio import run_cli

pytestmark = pytest.mark.slow

SESSIONS = Path(tempfile.gettempdir()) / "reelsmith-sessions"
CANARY = "sk-canary-issue12-0123456789abcdef"
BOARD = "title: {title}\nscenes:\n  - image_prompt: {prompt}\n    audio_script: Hello there.\n    duration: 2\n"


@pytest.fixture(scope="module")
def studio(launched_studio):
    return launched_studio


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def _call(http: httpx.Client, api: str, data: list, session_hash: str) -> str:
    """One event over Gradio's plain HTTP API: the raw server-sent stream exactly as a client receives it."""
    event = http.post(f"gradio_api/call/{api}", json={"data": data, "session_hash": session_hash}).json()["event_id"]
    return http.get(f"gradio_api/call/{api}/{event}", timeout=240).text


def _urls(stream: str) -> list[str]:
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict):
            if value.get("url"):
                found.append(value["url"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for line in stream.splitlines():
        if line.startswith("data: ") and line[6:].strip() not in ("null", ""):
            walk(json.loads(line[6:]))
    return found


def _assert_tells_nothing(text: str, session_hash: str, home: Path) -> None:
    """No session hash, server folder or session-folder id in what a client received."""
    assert session_hash not in text, "the session hash reached the client"
    assert str(home) not in text and str(home.resolve()) not in text, "REELSMITH_HOME reached the client"
    assert "reelsmith-sessions" not in text, "the session folder reached the client"
    for folder in SESSIONS.iterdir() if SESSIONS.exists() else ():
        assert folder.name not in text, f"a session folder's id ({folder.name}) reached the client"


def test_nothing_a_render_returns_names_the_session_or_a_server_folder(studio):
    """The takeover: a manifest carried `.../reelsmith-sessions/<session hash>/...`, enough to act as that session
    (and spend its pasted keys). Render through the plain API and gradio_client; read everything that came back."""
    url, home = studio
    session_hash = "takeover0victim0session0hash01"
    text = BOARD.format(title="takeover", prompt="A harbour at dawn")
    with httpx.Client(base_url=url, timeout=60) as http:
        keys = _call(http, "set_keys", [CANARY, CANARY, CANARY, CANARY], session_hash)
        stream = _call(http, "render", [text, "draft", "motion", "piper", 0], session_hash)
        assert "event: complete" in stream, stream[-2000:]
        urls = _urls(stream)
        assert any(u.endswith(".manifest.json") for u in urls) and any(u.endswith(".mp4") for u in urls)
        downloaded = {u: http.get(u).text for u in urls if u.endswith(".json")}
    for received in (keys, stream, *urls, *downloaded.values()):
        _assert_tells_nothing(received, session_hash, home)
        assert CANARY not in received, "a pasted key reached a response"
    manifest = json.loads(next(v for u, v in downloaded.items() if u.endswith(".manifest.json")))
    assert manifest["output"]["file"] == "takeover.mp4" and "path" not in manifest["output"]

    client = _client(url)
    job = client.submit(text, "draft", "motion", "piper", api_name="/render")
    board, image, clip, voice, final, manifest_file, gallery, captions = job.result(timeout=240)
    for path in (image, clip, voice, final, manifest_file, *(g["image"] for g in gallery)):
        _assert_tells_nothing(Path(path).name, client.session_hash, home)
    _assert_tells_nothing(Path(manifest_file).read_text(), client.session_hash, home)


def test_a_pin_to_another_sessions_image_is_refused_like_an_unknown_hash(studio):
    """Owner B's storyboard pinning owner A's image hash is refused with the very words of an unknown hash."""
    url, _ = studio
    alice, bob = _client(url), _client(url)
    text = BOARD.format(title="pinned", prompt="A private garden at noon")
    alice.predict(text, 1, False, api_name="/generate_image")
    pinned, status, _ = alice.predict(text, 1, api_name="/approve_image")
    assert "image: sha256:" in pinned and "approved" in status
    image_hash = pinned.split("image: sha256:")[1].split()[0]
    unknown = pinned.replace(image_hash, "0" * 64)

    def refusal(client, board: str, api: str, *args) -> str:
        with pytest.raises(Exception) as caught:
            client.predict(board, *args, api_name=api)
        return str(caught.value)

    for api, args in (("/render", ("draft", "motion", "piper")), ("/generate_video", (1,))):
        stolen, missing = refusal(bob, pinned, api, *args), refusal(bob, unknown, api, *args)
        assert "no longer in the store" in missing
        assert stolen == missing, f"{api}: the refusal tells whether someone has that image"
    # Alice's own pin still works.
    clip, status = alice.predict(pinned, 1, api_name="/generate_video")
    assert "image: reused (approved)" in status


def test_the_studio_never_lists_or_opens_cli_projects(studio):
    """Owner "cli" (the command line's renders, with their videos) is not reachable from any studio session."""
    from pipeline.projects import Projects

    url, home = studio
    board = home.parent / "cli-board.yaml"
    board.write_text(BOARD.format(title="from the command line", prompt="A quiet street"))
    done = run_cli("render", str(board), "-o", str(home.parent / "cli.mp4"), home=home)
    assert done.returncode == 0, done.stderr
    cli_project = Projects(home / "projects.sqlite3").history("cli")[0]
    assert cli_project.video, "the CLI's render is in its history, with its video"
    assert cli_project.thumbnail and Path(cli_project.thumbnail).is_file(), "and its thumbnail"

    client = _client(url)
    assert client.predict(api_name="/history")["data"] == []
    with pytest.raises(Exception, match="No such project in your history"):
        client.predict(cli_project.id, api_name="/open_project")

    # The attack as it was: the page-load event (private, yet callable by its index) sent the owner "cli" as the
    # browser's stored value, and the session's later events then acted as "cli".
    session_hash = "owner0forger0session0hash0001"
    with httpx.Client(base_url=url, timeout=60) as http:
        deps = http.get("config").json()["dependencies"]
        load = next(i for i, d in enumerate(deps) if any(t[1] == "load" for t in d.get("targets", [])))
        assert "owner-token" in json.dumps(http.get("config").json()), "the page load reads the owner token"
        http.post("gradio_api/queue/join", json={"data": [None, {}, "cli"], "fn_index": load, "trigger_id": None,
                                                 "session_hash": session_hash, "event_data": None})  # fmt: skip
        with http.stream("GET", f"gradio_api/queue/data?session_hash={session_hash}") as events:
            for line in events.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed":
                    break
        listed = _call(http, "history", ["cli"], session_hash)
        opened = _call(http, "open_project", [cli_project.id, "cli"], session_hash)
    assert "event: complete" in listed and cli_project.id not in listed and "from the command line" not in listed
    assert "event: error" in opened and "event: complete" not in opened, opened
    # Nor is the CLI's thumbnail (under REELSMITH_HOME) served to anyone by its path.
    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.get(f"gradio_api/file={cli_project.thumbnail}").status_code == 403


def test_a_forged_owner_token_gets_a_fresh_owner_and_an_empty_history(studio, monkeypatch):
    """The page-load step, as a browser would call it with whatever its storage holds: "cli", another browser's
    bare id, a bad signature, or a token signed with another secret. Run in-process against the studio's home."""
    import gradio as gr

    _, home = studio
    monkeypatch.setenv("REELSMITH_HOME", str(home))
    import app
    from pipeline.owners import issue_owner, verify_owner
    from pipeline.projects import Projects

    monkeypatch.setattr(app, "SERVER_SECRET", (home / "server.secret").read_text().strip().encode())
    projects = Projects(home / "projects.sqlite3")
    cli_project = projects.save("cli", "the operator's", "title: the operator's")
    honest_owner, honest_token = issue_owner(app.SERVER_SECRET)
    projects.save(honest_owner, "honest", "title: honest")
    request = gr.Request(session_hash="forger-session")
    for forged in ("cli", honest_owner, f"{honest_owner}.{'0' * 64}", issue_owner(b"another secret" * 4)[1], None):
        _, token, owner = app.start_session(app.DEFAULT_STORYBOARD, {}, forged)
        assert owner not in (honest_owner, "cli") and verify_owner(token, app.SERVER_SECRET) == owner, forged
        assert app.history(owner, request) == []
        gallery, empty, _, ids = app.history_view(owner, request)
        assert (gallery["value"], gallery["visible"], empty["visible"], ids) == ([], False, True, []), forged
        with pytest.raises(gr.Error):
            app.open_project(cli_project, owner, request)
    # Even a session state holding "cli" is no studio owner: it falls back to the session's random owner.
    assert app.history("cli", request) == []
    # The honest browser's own token still opens its history.
    _, _, owner = app.start_session(app.DEFAULT_STORYBOARD, {}, honest_token)
    assert owner == honest_owner and [row[1] for row in app.history(owner, request)] == ["honest"]
    assert [caption.split(" — ")[0] for _, caption in app.history_view(owner, request)[0]["value"]] == ["honest"]
