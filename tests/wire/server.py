"""A small threaded HTTP server for fakes: routes by method + path regex, records every request it receives.

A fake subclasses `FakeServer`, adds routes with `self.route("POST", r"/v1/thing", handler)` and answers with
`Reply`. Tests read `server.requests` (every request, in order) and `server.count(method, path_regex)`; faults are
scripted per route with `server.script(method, path_regex, [Reply(...), ...])` (consumed one per request before
the normal handler answers). `Reply(hang=seconds)` holds the connection without answering (a hung request).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    time: float

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (longer than the client's timeout = a hung request)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body or b"", "application/octet-stream"


Handler = Callable[[Received, "re.Match[str]"], Reply]


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._scripts: dict[tuple[str, str], list[Reply]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set up -------------------------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern + r"\Z"), handler))

    def script(self, method: str, pattern: str, replies: list[Reply]) -> None:
        """The next requests matching method + pattern get these replies, in order, before normal handling."""
        with self._lock:
            self._scripts.setdefault((method, pattern), []).extend(replies)

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(self.command, split.path, parse_qs(split.query),
                                    {k.lower(): v for k, v in self.headers.items()}, body, time.time())  # fmt: skip
                with fake._lock:
                    fake.requests.append(received)
                reply = fake._dispatch(received)
                if reply.hang:
                    time.sleep(reply.hang)
                data, ctype = reply.encoded()
                try:
                    self.send_response(reply.status)
                    headers = {"content-type": ctype, **{k.lower(): v for k, v in reply.headers.items()}}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        # serve_forever checks for shutdown() between polls: at its default 0.5 s every fake's stop took up to half
        # a second, about a minute over the provider tests.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- serve --------------------------------------------------------------------------------------------

    def _dispatch(self, received: Received) -> Reply:
        with self._lock:
            for (method, pattern), replies in self._scripts.items():
                if method == received.method and re.fullmatch(pattern, received.path) and replies:
                    return replies.pop(0)
        for method, pattern, handler in self._routes:
            if method == received.method and (match := pattern.match(received.path)):
                return handler(received, match)
        return Reply(404, {"error": f"no route for {received.method} {received.path}"})

    # -- read back ----------------------------------------------------------------------------------------

    def matching(self, method: str, pattern: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def count(self, method: str, pattern: str) -> int:
        return len(self.matching(method, pattern))


class TaskServer(FakeServer):
    """A fake of an API whose submissions become tasks that walk scripted states, one per poll (the last stays):
    `plan(...)` scripts the next submissions, later ones get `default_plan`."""

    def __init__(self, default_plan: tuple[str, ...]) -> None:
        super().__init__()
        self.default_plan = list(default_plan)
        self.plans: list[list[str]] = []

    def plan(self, *states: str) -> "TaskServer":
        self.plans.append(list(states))
        return self

    def _next_plan(self) -> list[str]:
        with self._lock:
            return self.plans.pop(0) if self.plans else list(self.default_plan)

    @staticmethod
    def _advance(task: Any) -> str:
        """The task's state for this poll (`task.states`, `task.polls`)."""
        state = task.states[min(task.polls, len(task.states) - 1)]
        task.polls += 1
        return state
