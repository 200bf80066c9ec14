"""A fake OpenAI-compatible chat-completions route, as `InferenceClient(base_url=...).chat_completion` calls it.

    POST {base}/v1/chat/completions   Authorization: Bearer <token>
        {"model", "messages": [{"role", "content"}, ...], "response_format", "max_tokens", "temperature", ...}
        → {"id", "object": "chat.completion", "created", "model", "system_fingerprint",
           "choices": [{"index": 0, "message": {"role": "assistant", "content", "refusal"?}, "finish_reason"}],
           "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}

`answers` scripts the assistant's next replies (a string is its content; a dict is the whole message, such as
{"content": None, "refusal": "..."}); with none scripted it answers a valid storyboard. Faults as the providers
send them: `{"error": ...}` bodies, 401 for a bad token, 429 with Retry-After; `Reply(hang=...)` for a timeout.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from tests.wire.hf import authorized_json
from tests.wire.server import FakeServer, Received, Reply

CHAT = r"(/[^/]+)*/v1/chat/completions"
PARAMETERS = {"model", "messages", "response_format", "max_tokens", "temperature", "top_p", "seed", "stop",
              "stream", "frequency_penalty", "presence_penalty", "n", "logprobs", "tools", "tool_choice"}  # fmt: skip

STORYBOARD = {
    "title": "The Last Lighthouse",
    "style": "anime",
    "scenes": [
        {"image_prompt": "An old lighthouse on a cliff at dusk, one window glowing", "video_prompt": "Slow zoom in",
         "audio_script": "For forty years, Elias kept the light burning.", "duration": 4},
        {"image_prompt": "A storm over a black sea, a small boat in the waves", "video_prompt": "Fast pan left",
         "audio_script": "One winter night, a storm swallowed the sea.", "duration": 2},
        {"image_prompt": "Sunrise over a calm harbour, the boat safe at the quay", "video_prompt": "Slow zoom out",
         "audio_script": "By morning, the boat was home.", "duration": 4},
    ],
}  # fmt: skip


def rate_limited(retry_after: str = "1") -> Reply:
    return Reply(429, {"error": "Rate limit reached. Please slow down"}, {"retry-after": retry_after})


class FakeHfChat(FakeServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.answers: list[str | dict[str, Any]] = []
        self._answers_lock = threading.Lock()
        self.route("POST", CHAT, self._chat)

    def answer(self, *answers: str | dict[str, Any]) -> "FakeHfChat":
        with self._answers_lock:
            self.answers.extend(answers)
        return self

    def base_url(self) -> str:
        return f"{self.url}/v1"

    def _problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["body must be a JSON object"]
        problems = [f"{k}: unknown parameter" for k in body if k not in PARAMETERS]
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
                and isinstance(m.get("content"), str) for m in messages):  # fmt: skip
            problems.append("messages: a list of {role, content} is required")
        if not isinstance(body.get("model"), str) or not body["model"]:
            problems.append("model: required")
        fmt = body.get("response_format")
        # OpenAI's json_schema, or TGI's {"type": "json_object", "value": schema} (huggingface_hub sends that to a
        # URL it was given); either way with a schema.
        if fmt is not None and not (
                (fmt.get("type") == "json_schema" and isinstance(fmt.get("json_schema", {}).get("schema"), dict))
                or (fmt.get("type") in ("json_object", "json") and isinstance(fmt.get("value"), dict))):
            problems.append("response_format: json_schema with a schema, or json_object with a value")
        return problems

    def _next_message(self) -> dict[str, Any]:
        with self._answers_lock:
            said = self.answers.pop(0) if self.answers else json.dumps(STORYBOARD)
        return {"role": "assistant", "content": said} if isinstance(said, str) else {"role": "assistant", **said}

    def _chat(self, received: Received, _match: re.Match[str]) -> Reply:
        body = authorized_json(received, self.token, self._problems)
        if isinstance(body, Reply):
            return body
        message = self._next_message()
        prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        completion = len(message.get("content") or message.get("refusal") or "") // 4
        return Reply(200, {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 1764547200,
            "model": body["model"], "system_fingerprint": "fake",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        })  # fmt: skip
