"""A fake Runway API (gen4_turbo image-to-video) that checks what it receives the way Runway's docs say it should.

    POST   /v1/image_to_video   Bearer key, X-Runway-Version, camelCase JSON body → {"id": uuid}
    GET    /v1/tasks/{id}       walks the task's scripted states, one per request (the last one stays)
    DELETE /v1/tasks/{id}       cancels (204); afterwards CANCELLED, or 404 with `deleted_answer_404`
    GET    /outputs/{id}.mp4    a real H.264 clip of the ratio's aspect (404 with `expired_status=404`)

Anything wrong in a request gets Runway-like 400/401 error bodies, so a provider that sends the wrong header or
field name fails its test. Plans per submission: `fake.plan("PENDING", "RUNNING", "FAILED:SAFETY.INPUT.TEXT")`
(`FAILED` alone has no failureCode); submissions beyond the planned ones get `default_plan`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline.media.ffmpeg import run_ffmpeg
from tests.wire.server import Received, Reply, TaskServer

VERSION = "2024-11-06"
RATIOS = {"1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"}
MAX_DATA_URI = 5_000_000
FIELDS = {"model", "promptImage", "ratio", "duration", "promptText", "seed", "contentModeration"}
DATA_URI = re.compile(r"data:(image/(?:png|jpeg));base64,(.*)", re.DOTALL)
# Paths as tests count them: fake.count("POST", CREATE)
CREATE = r"/v1/image_to_video"
TASKS = r"/v1/tasks/[^/]+"
OUTPUTS = r"/outputs/[^/]+\.mp4"


@functools.lru_cache(maxsize=None)
def sample_clip(ratio: str, seconds: int = 2) -> bytes:
    """A real H.264 MP4 (testsrc) at a quarter of the ratio's size, made once per ratio."""
    width, height = (int(v) // 4 // 2 * 2 for v in ratio.split(":"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=24:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                    str(out)])  # fmt: skip
        return out.read_bytes()


@dataclass
class Task:
    id: str
    body: dict[str, Any]
    states: list[str]
    image_size: tuple[int, int]
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"))
    polls: int = 0
    deleted: bool = False


def _issue(path: str, message: str) -> dict[str, Any]:
    return {"code": "custom", "path": [path] if path else [], "message": message}


class FakeRunway(TaskServer):
    def __init__(self, key: str, *, default_plan: tuple[str, ...] = ("PENDING", "RUNNING", "SUCCEEDED")) -> None:
        super().__init__(default_plan)
        self.key = key
        self.tasks: dict[str, Task] = {}
        self.expired_status: int | None = None  # 403/404: output URLs have expired
        self.deleted_answer_404 = False
        self.route("POST", r"/v1/image_to_video", self._create)
        self.route("GET", r"/v1/tasks/(?P<id>[^/]+)", self._retrieve)
        self.route("DELETE", r"/v1/tasks/(?P<id>[^/]+)", self._delete)
        self.route("GET", r"/outputs/(?P<id>[^/]+)\.mp4", self._output)

    def add_task(self, states: list[str], ratio: str = "1280:720", duration: int = 5) -> str:
        """A task submitted earlier (for journal re-attach tests)."""
        task = Task(str(uuid.uuid4()), {"ratio": ratio, "duration": duration}, states, (0, 0))
        self.tasks[task.id] = task
        return task.id

    @property
    def submissions(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.image_size != (0, 0)]

    # -- checks -------------------------------------------------------------------------------------------------

    def _refused(self, received: Received) -> Reply | None:
        if received.headers.get("authorization") != f"Bearer {self.key}":
            return Reply(401, {"error": "Invalid API secret or missing Authorization header"})
        if received.headers.get("x-runway-version") != VERSION:
            return Reply(400, {"error": f"Missing or unsupported X-Runway-Version header; use {VERSION}"})
        return None

    def _body_issues(self, body: Any) -> tuple[list[dict[str, Any]], tuple[int, int]]:
        if not isinstance(body, dict):
            return [_issue("", "Expected a JSON object")], (0, 0)
        issues = [_issue(k, f"Unrecognized key '{k}'") for k in body if k not in FIELDS]
        size = (0, 0)
        if body.get("model") != "gen4_turbo":
            issues.append(_issue("model", "Expected 'gen4_turbo'"))
        image = body.get("promptImage")
        match = DATA_URI.fullmatch(image) if isinstance(image, str) else None
        if match is None:
            issues.append(_issue("promptImage", "Expected a data URI data:image/png|jpeg;base64,..."))
        elif len(image) > MAX_DATA_URI:
            issues.append(_issue("promptImage", f"Data URI is {len(image)} characters; the limit is 5MB"))
        else:
            try:
                with Image.open(io.BytesIO(base64.b64decode(match.group(2), validate=True))) as decoded:
                    if Image.MIME.get(decoded.format or "") != match.group(1):
                        issues.append(_issue("promptImage", f"Content type {match.group(1)} but {decoded.format}"))
                    size = decoded.size
            except (binascii.Error, OSError, ValueError):
                issues.append(_issue("promptImage", "The data URI does not decode as an image"))
        if body.get("ratio") not in RATIOS:
            issues.append(_issue("ratio", f"Invalid enum value. Expected one of {sorted(RATIOS)}"))
        duration = body.get("duration")
        if "duration" in body and (type(duration) is not int or not 2 <= duration <= 10):
            issues.append(_issue("duration", "Expected an integer from 2 to 10"))
        text = body.get("promptText")
        if "promptText" in body and (not isinstance(text, str) or not 1 <= len(text.encode("utf-16-le")) // 2
                                     <= 1000):  # fmt: skip
            issues.append(_issue("promptText", "Expected a non-empty string of at most 1000 UTF-16 code units"))
        seed = body.get("seed")
        if "seed" in body and (type(seed) is not int or not 0 <= seed <= 4294967295):
            issues.append(_issue("seed", "Expected an integer from 0 to 4294967295"))
        moderation = body.get("contentModeration")
        if "contentModeration" in body and (not isinstance(moderation, dict) or set(moderation) !=
                                            {"publicFigureThreshold"} or
                                            moderation["publicFigureThreshold"] not in ("auto", "low")):  # fmt: skip
            issues.append(_issue("contentModeration", "Expected {publicFigureThreshold: 'auto' | 'low'}"))
        return issues, size

    # -- routes -------------------------------------------------------------------------------------------------

    def _create(self, received: Received, _match: re.Match[str]) -> Reply:
        if refused := self._refused(received):
            return refused
        if not received.headers.get("content-type", "").startswith("application/json"):
            return Reply(400, {"error": "Expected a JSON body"})
        try:
            body = received.json()
        except ValueError:
            return Reply(400, {"error": "Body is not valid JSON"})
        issues, size = self._body_issues(body)
        if issues:
            return Reply(400, {"error": "Validation of body failed", "issues": issues})
        task = Task(str(uuid.uuid4()), body, self._next_plan(), size)
        self.tasks[task.id] = task
        return Reply(200, {"id": task.id})

    def _task_json(self, task: Task) -> dict[str, Any]:
        if task.deleted:
            state = "CANCELLED"
        else:
            state = self._advance(task)
        status, _, code = state.partition(":")
        credits = 5 * int(task.body.get("duration", 5))
        data: dict[str, Any] = {"id": task.id, "createdAt": task.created, "status": status}
        if status in ("PENDING", "THROTTLED", "RUNNING"):
            data["estimatedCost"] = {"credits": credits}
        else:
            data["cost"] = {"credits": credits if status == "SUCCEEDED" else 0}
        if status == "RUNNING":
            running = [i for i, s in enumerate(task.states) if s == "RUNNING"]
            data["progress"] = round((running.index(task.polls - 1) + 1) / (len(running) + 1), 3)
        elif status == "SUCCEEDED":
            data["output"] = [f"{self.url}/outputs/{task.id}.mp4"]
        elif status == "FAILED":
            data["failure"] = f"The task failed ({code or 'unknown reason'})."
            if code:
                data["failureCode"] = code
        return data

    def _retrieve(self, received: Received, match: re.Match[str]) -> Reply:
        if refused := self._refused(received):
            return refused
        task = self.tasks.get(match["id"])
        if task is None or (task.deleted and self.deleted_answer_404):
            return Reply(404, {"error": "Task not found"})
        return Reply(200, self._task_json(task))

    def _delete(self, received: Received, match: re.Match[str]) -> Reply:
        if refused := self._refused(received):
            return refused
        task = self.tasks.get(match["id"])
        if task is None or (task.deleted and self.deleted_answer_404):
            return Reply(404, {"error": "Task not found"})
        task.deleted = True
        return Reply(204)

    def _output(self, received: Received, match: re.Match[str]) -> Reply:
        # Output URLs are signed CDN links: a client that sends its Runway key there leaks it.
        if "authorization" in received.headers:
            return Reply(400, "<Error><Code>InvalidArgument</Code><Message>Unexpected Authorization</Message></Error>")
        task = self.tasks.get(match["id"])
        if task is None or self.expired_status:
            return Reply(self.expired_status or 404,
                         "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        return Reply(200, sample_clip(task.body["ratio"]), {"content-type": "video/mp4"})
