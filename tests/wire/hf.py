"""A fake Hugging Face inference endpoint for text-to-image, as `InferenceClient` calls a URL given as the model.

    POST /models/{owner}/{name}   Authorization: Bearer <token>, Accept: image/png,
                                  {"inputs": prompt, "parameters": {width, height, num_inference_steps, ...}}
                                  → raw PNG bytes of the asked size

Errors as HF inference sends them: `{"error": ...}` bodies, 401 for a bad token, 503 with `estimated_time` while a
model loads, 422 for bad parameters. huggingface_hub sends through httpx2, so this is a real local server.
"""

from __future__ import annotations

import io
import re
from typing import Any, Callable

from PIL import Image

from tests.wire.server import FakeServer, Received, Reply

IMAGE = r"/models/[^/]+/[^/]+"
PARAMETERS = {"width", "height", "num_inference_steps", "guidance_scale", "seed", "negative_prompt", "scheduler"}


def make_png(width: int, height: int) -> bytes:
    """A real PNG: dark-to-light from left to right, a red band along the top."""
    image = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((width, height)).convert("RGB")
    image.paste((220, 30, 30), (0, 0, width, 16))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def loading(seconds: float = 0.05) -> Reply:
    return Reply(503, {"error": "Model black-forest-labs/FLUX.1-schnell is currently loading",
                       "estimated_time": seconds})  # fmt: skip


def rate_limited(retry_after: str = "0") -> Reply:
    return Reply(429, {"error": "Rate limit reached. Please log in or use a HF access token"},
                 {"retry-after": retry_after})  # fmt: skip


def unauthorized() -> Reply:
    return Reply(401, {"error": "Invalid credentials in Authorization header"})


def authorized_json(received: Received, token: str, problems_of: Callable[[Any], list[str]]) -> Any:
    """The request's JSON body, or the Reply HF sends instead: 401 for a wrong token, 400 for a body that is not
    JSON, 422 listing what `problems_of` finds wrong. Every HF route checks a request in this order."""
    if received.headers.get("authorization") != f"Bearer {token}":
        return unauthorized()
    try:
        body = received.json()
    except ValueError:
        return Reply(400, {"error": "Body is not valid JSON"})
    if problems := problems_of(body):
        return Reply(422, {"error": problems})
    return body


class FakeHfInference(FakeServer):
    def __init__(self, token: str, *, max_steps: int = 50) -> None:
        super().__init__()
        self.token = token
        self.max_steps = max_steps
        self.route("POST", IMAGE, self._text_to_image)

    def endpoint(self, model: str = "black-forest-labs/FLUX.1-schnell") -> str:
        return f"{self.url}/models/{model}"

    def _problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict) or set(body) - {"inputs", "parameters"}:
            return ["body must be {inputs, parameters}"]
        if not isinstance(body.get("inputs"), str) or not body["inputs"].strip():
            return ["inputs: a non-empty prompt is required"]
        params = body.get("parameters") or {}
        problems = [f"parameters.{k}: unknown parameter" for k in params if k not in PARAMETERS]
        for name in ("width", "height"):
            value = params.get(name)
            if name in params and (type(value) is not int or value % 8 or not 64 <= value <= 2048):
                problems.append(f"parameters.{name}: must be a multiple of 8 from 64 to 2048")
        steps = params.get("num_inference_steps")
        if steps is not None and (type(steps) is not int or not 1 <= steps <= self.max_steps):
            problems.append(f"parameters.num_inference_steps: must be 1..{self.max_steps}")
        if "seed" in params and type(params["seed"]) is not int:
            problems.append("parameters.seed: must be an integer")
        return problems

    def _text_to_image(self, received: Received, _match: re.Match[str]) -> Reply:
        body = authorized_json(received, self.token, self._problems)
        if isinstance(body, Reply):
            return body
        if "image/png" not in received.headers.get("accept", ""):
            return Reply(400, {"error": "Accept must allow image/png"})
        params = body.get("parameters") or {}
        size = params.get("width", 1024), params.get("height", 1024)
        return Reply(200, make_png(*size), {"content-type": "image/png"})
