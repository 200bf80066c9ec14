"""A fake Black Forest Labs (FLUX) API that checks what it receives the way BFL's OpenAPI document says it should.

    POST /v1/flux-pro-1.1 | /v1/flux-dev | /v1/flux-pro-1.1-ultra   x-key, JSON body → {id, polling_url, cost}
    GET  /v1/get_result?id=...   (the polling_url) walks the task's scripted statuses, one per request
    GET  /delivery/{id}.{ext}    the signed sample: a real PNG/JPEG of the generated size; no x-key allowed

Anything wrong gets BFL's answers: 403 `{"detail": "Not authenticated"}` for a missing or wrong key, 422
`{"detail": [{"loc", "msg", "type"}]}` for a bad field. Plans per submission: `fake.plan("Pending", "Ready")`;
"Error", "Request Moderated", "Content Moderated", "Task not found" end a task without an image.
`sample_lifetime` makes samples expire (403 like an expired signed URL) that many seconds after they are ready.
"""

from __future__ import annotations

import io
import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image

from tests.wire.server import Received, Reply, TaskServer

MODELS = ("flux-pro-1.1", "flux-dev", "flux-pro-1.1-ultra")
COMMON = {"prompt", "prompt_upsampling", "seed", "safety_tolerance", "output_format", "webhook_url",
          "webhook_secret", "image_prompt"}  # fmt: skip
FIELDS = {"flux-pro-1.1": COMMON | {"width", "height"},
          "flux-dev": COMMON | {"width", "height", "steps", "guidance"},
          "flux-pro-1.1-ultra": COMMON | {"aspect_ratio", "raw", "image_prompt_strength"}}  # fmt: skip
ULTRA_MEGAPIXELS = 4.0
# Paths as tests count them: fake.count("POST", SUBMIT)
SUBMIT = r"/v1/flux-[a-z0-9.\-]+"
RESULT = r"/v1/get_result"
SAMPLE = r"/delivery/.+"


def make_image(width: int, height: int, fmt: str) -> bytes:
    """A real image: a horizontal gradient with a red border, so scaling and cropping show."""
    gradient = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90)  # dark left, light right
    image = gradient.resize((width, height)).convert("RGB")
    image.paste((220, 30, 30), (0, 0, width, 16))
    buffer = io.BytesIO()
    image.save(buffer, "PNG" if fmt == "png" else "JPEG", quality=90)
    return buffer.getvalue()


def error(status: int, detail: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"detail": detail}, headers or {})


def field_error(loc: str, msg: str) -> dict[str, Any]:
    return {"loc": ["body", loc], "msg": msg, "type": "value_error"}


@dataclass
class Task:
    id: str
    model: str
    body: dict[str, Any]
    states: list[str]
    size: tuple[int, int]
    polls: int = 0
    ready_at: float | None = None


class FakeBfl(TaskServer):
    def __init__(self, key: str, *, default_plan: tuple[str, ...] = ("Pending", "Ready")) -> None:
        super().__init__(default_plan)
        self.key = key
        self.tasks: dict[str, Task] = {}
        self.sample_lifetime: float | None = None  # seconds a ready sample stays downloadable
        self.route("POST", r"/v1/(?P<model>[a-z0-9.\-]+)", self._submit)
        self.route("GET", r"/v1/get_result", self._result)
        self.route("GET", r"/delivery/(?P<id>[^/.]+)\.(?P<ext>png|jpeg)", self._sample)

    def add_task(self, statuses: list[str], width: int = 1440, height: int = 800) -> Task:
        """A task submitted in an earlier run (journal re-attach tests)."""
        task = Task(str(uuid.uuid4()), "flux-pro-1.1", {"output_format": "png"}, statuses, (width, height))
        self.tasks[task.id] = task
        return task

    def polling_url(self, task_id: str) -> str:
        return f"{self.url}/v1/get_result?id={task_id}"

    # -- checks -------------------------------------------------------------------------------------------------

    def _authenticated(self, received: Received) -> bool:
        return received.headers.get("x-key") == self.key

    def _problems(self, model: str, body: Any) -> tuple[list[dict[str, Any]], tuple[int, int]]:
        if not isinstance(body, dict):
            return [field_error("", "Input should be a valid dictionary")], (0, 0)
        problems = [field_error(k, "Extra inputs are not permitted") for k in body if k not in FIELDS[model]]
        if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
            problems.append(field_error("prompt", "A prompt is required"))
        if "seed" in body and type(body["seed"]) is not int:
            problems.append(field_error("seed", "Input should be a valid integer"))
        if body.get("safety_tolerance", 2) not in range(0, 7):
            problems.append(field_error("safety_tolerance", "Input should be between 0 and 6"))
        if body.get("output_format", "jpeg") not in ("jpeg", "png"):
            problems.append(field_error("output_format", "Input should be 'jpeg' or 'png'"))
        if type(body.get("prompt_upsampling", False)) is not bool:
            problems.append(field_error("prompt_upsampling", "Input should be a valid boolean"))
        size = (0, 0)
        if model == "flux-pro-1.1-ultra":
            match = re.fullmatch(r"(\d+):(\d+)", str(body.get("aspect_ratio", "16:9")))
            aspect = int(match[1]) / int(match[2]) if match and int(match[2]) else 0.0
            if not 9 / 21 <= aspect <= 21 / 9:
                problems.append(field_error("aspect_ratio", "Aspect ratio must be between 21:9 and 9:21"))
            else:
                height = math.sqrt(ULTRA_MEGAPIXELS * 1e6 / aspect)
                size = (round(height * aspect / 32) * 32, round(height / 32) * 32)
        else:
            for name in ("width", "height"):
                value = body.get(name, 1024)
                if type(value) is not int or not 256 <= value <= 1440 or value % 32:
                    problems.append(field_error(name, "Must be a multiple of 32 between 256 and 1440"))
            size = (body.get("width", 1024), body.get("height", 768))
        if model == "flux-dev":
            if "steps" in body and (type(body["steps"]) is not int or not 1 <= body["steps"] <= 50):
                problems.append(field_error("steps", "Input should be between 1 and 50"))
            if "guidance" in body and (not isinstance(body["guidance"], (int, float)) or
                                       not 1.5 <= body["guidance"] <= 5):  # fmt: skip
                problems.append(field_error("guidance", "Input should be between 1.5 and 5"))
        return problems, size

    # -- routes -------------------------------------------------------------------------------------------------

    def _submit(self, received: Received, match: re.Match[str]) -> Reply:
        model = match["model"]
        if model not in MODELS:
            return error(404, "Not Found")
        if not self._authenticated(received):
            return error(403, "Not authenticated")
        try:
            body = received.json()
        except ValueError:
            return error(422, [field_error("", "JSON decode error")])
        problems, size = self._problems(model, body)
        if problems:
            return error(422, problems)
        task = Task(str(uuid.uuid4()), model, body, self._next_plan(), size)
        self.tasks[task.id] = task
        return Reply(200, {"id": task.id, "polling_url": self.polling_url(task.id), "cost": 4.0})

    def _result(self, received: Received, _match: re.Match[str]) -> Reply:
        if not self._authenticated(received):
            return error(403, "Not authenticated")
        task_id = (received.query.get("id") or [""])[0]
        task = self.tasks.get(task_id)
        if task is None:
            return Reply(200, {"id": task_id, "status": "Task not found"})
        status = self._advance(task)
        data: dict[str, Any] = {"id": task.id, "status": status, "result": None, "progress": None, "details": None}
        if status == "Pending":
            data["progress"] = min(0.9, 0.3 * task.polls)
        elif status == "Ready":
            task.ready_at = task.ready_at or time.time()
            ext = task.body.get("output_format", "jpeg")
            data["result"] = {"sample": f"{self.url}/delivery/{task.id}.{ext}?se=signed",
                              "prompt": task.body.get("prompt"), "seed": task.body.get("seed")}  # fmt: skip
        elif status in ("Request Moderated", "Content Moderated"):
            data["details"] = {"Moderation Reasons": ["Derivative Works Filter"]}
        elif status == "Error":
            data["details"] = {"error": "Internal generation error"}
        return Reply(200, data)

    def _sample(self, received: Received, match: re.Match[str]) -> Reply:
        # A signed URL on the delivery host: a client that sends its key there leaks it.
        if "x-key" in received.headers:
            return Reply(400, "<Error><Code>InvalidArgument</Code><Message>Unexpected x-key</Message></Error>")
        task = self.tasks.get(match["id"])
        if task is None or task.ready_at is None:
            return Reply(404, "<Error><Code>NoSuchKey</Code></Error>")
        if self.sample_lifetime is not None and time.time() > task.ready_at + self.sample_lifetime:
            return Reply(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        ext = match["ext"]
        return Reply(200, make_image(*task.size, ext), {"content-type": f"image/{ext}"})
