"""A fake ElevenLabs API that checks what it receives the way ElevenLabs' docs say it should.

    POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=...   xi-api-key, JSON body
         → {audio_base64: a real MP3 (a tone as long as the text would take to say), alignment, normalized_alignment}
    GET  /v1/voices                                                         → {"voices": [{voice_id, name, ...}]}

Errors come as ElevenLabs sends them: `{"detail": {"status": ..., "message": ...}}` (invalid_api_key and
quota_exceeded both with HTTP 401, voice_not_found 404, max_character_limit_exceeded 400) and FastAPI's 422
`{"detail": [{"loc", "msg", "type"}]}` for a malformed body. Faults are scripted with `script(...)`; the helpers
below build the documented error replies.
"""

from __future__ import annotations

import base64
import functools
import re
import tempfile
from pathlib import Path
from typing import Any

from pipeline.media.ffmpeg import run_ffmpeg
from tests.wire.server import FakeServer, Received, Reply

TTS = r"/v1/text-to-speech/[^/]+/with-timestamps"
VOICES = {"JBFqnCBsd6RMkjVDRZzb": "George", "21m00Tcm4TlvDq8ikWAM": "Rachel", "EXAVITQu4vr4xnSDxMaL": "Sarah"}
LIMITS = {"eleven_multilingual_v2": 10_000, "eleven_flash_v2_5": 40_000, "eleven_turbo_v2_5": 40_000,
          "eleven_flash_v2": 30_000, "eleven_turbo_v2": 30_000, "eleven_v3": 5_000,
          "eleven_monolingual_v1": 10_000, "eleven_multilingual_v1": 10_000}  # fmt: skip
OUTPUT_FORMATS = {"mp3_22050_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128", "mp3_44100_192", "pcm_22050",
                  "pcm_44100", "wav_44100", "opus_48000_64"}  # fmt: skip
BODY_FIELDS = {"text", "model_id", "language_code", "voice_settings", "pronunciation_dictionary_locators", "seed",
               "previous_text", "next_text", "previous_request_ids", "next_request_ids", "use_pvc_as_ivc",
               "apply_text_normalization", "apply_language_text_normalization", "audio_effects"}  # fmt: skip
SETTINGS_FIELDS = {"stability", "similarity_boost", "style", "speed", "use_speaker_boost"}


@functools.lru_cache(maxsize=64)
def tone_mp3(seconds: float) -> bytes:
    """A real MP3 (44.1 kHz mono, 128 kb/s CBR) of a 220 Hz tone lasting `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tone.mp3"
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=44100:duration={seconds:.3f}",
                    "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k", str(out)])  # fmt: skip
        return out.read_bytes()


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"detail": {"status": code, "message": message}}, headers or {})


def quota_exceeded() -> Reply:
    return error(401, "quota_exceeded", "This request exceeds your quota of 10000. You have 12 credits remaining, "
                 "while 43 credits are required for this request.")  # fmt: skip


def rate_limited(retry_after: str = "0") -> Reply:
    return error(429, "too_many_concurrent_requests", "Too many concurrent requests for your subscription.",
                 {"retry-after": retry_after})  # fmt: skip


def server_error() -> Reply:
    return error(500, "internal_server_error", "An internal server error occurred.")


class FakeElevenLabs(FakeServer):
    def __init__(self, key: str, *, seconds_per_char: float = 0.02) -> None:
        super().__init__()
        self.key = key
        self.seconds_per_char = seconds_per_char
        self.voices = dict(VOICES)
        self.route("POST", r"/v1/text-to-speech/(?P<voice>[^/]+)/with-timestamps", self._speak)
        self.route("GET", r"/v1/voices", self._voices)

    def _refused(self, received: Received) -> Reply | None:
        if received.headers.get("xi-api-key") != self.key:
            return error(401, "invalid_api_key", "Invalid API key")
        return None

    def _body_problems(self, body: Any) -> list[dict[str, Any]]:
        def problem(loc: str, msg: str) -> dict[str, Any]:
            return {"loc": ["body", *loc.split(".")] if loc else ["body"], "msg": msg, "type": "value_error"}

        if not isinstance(body, dict):
            return [problem("", "Input should be a valid dictionary")]
        problems = [problem(k, "Extra inputs are not permitted") for k in body if k not in BODY_FIELDS]
        if not isinstance(body.get("text"), str) or not body["text"].strip():
            problems.append(problem("text", "Field required (a non-empty string)"))
        if body.get("model_id") not in LIMITS:
            problems.append(problem("model_id", f"Unknown model; one of {sorted(LIMITS)}"))
        settings = body.get("voice_settings")
        if "voice_settings" in body:
            if not isinstance(settings, dict):
                problems.append(problem("voice_settings", "Input should be a valid dictionary"))
            else:
                problems += [problem(f"voice_settings.{k}", "Extra inputs are not permitted")
                             for k in settings if k not in SETTINGS_FIELDS]  # fmt: skip
                for name in ("stability", "similarity_boost"):
                    value = settings.get(name)
                    if name in settings and (not isinstance(value, (int, float)) or not 0 <= value <= 1):
                        problems.append(problem(f"voice_settings.{name}", "Input should be between 0 and 1"))
        return problems

    def _speak(self, received: Received, match: re.Match[str]) -> Reply:
        if refused := self._refused(received):
            return refused
        output_format = (received.query.get("output_format") or ["mp3_44100_128"])[0]
        if output_format not in OUTPUT_FORMATS:
            return Reply(422, {"detail": [{"loc": ["query", "output_format"], "msg": "Invalid output format",
                                           "type": "enum"}]})  # fmt: skip
        try:
            body = received.json()
        except ValueError:
            return Reply(400, {"detail": {"status": "invalid_json", "message": "Body is not valid JSON"}})
        if problems := self._body_problems(body):
            return Reply(422, {"detail": problems})
        voice = match["voice"]
        if voice not in self.voices:
            return error(404, "voice_not_found", f"A voice with the voice_id {voice} was not found.")
        text, limit = body["text"], LIMITS[body["model_id"]]
        if len(text) > limit:
            return error(400, "max_character_limit_exceeded",
                         f"Text is too long: {len(text)} characters; the limit is {limit}.")  # fmt: skip
        seconds = round(max(0.2, len(text) * self.seconds_per_char), 3)
        step = seconds / len(text)
        alignment = {"characters": list(text),
                     "character_start_times_seconds": [round(i * step, 4) for i in range(len(text))],
                     "character_end_times_seconds": [round((i + 1) * step, 4) for i in range(len(text))]}  # fmt: skip
        return Reply(200, {"audio_base64": base64.b64encode(tone_mp3(seconds)).decode("ascii"),
                           "alignment": alignment, "normalized_alignment": alignment})  # fmt: skip

    def _voices(self, received: Received, _match: re.Match[str]) -> Reply:
        if refused := self._refused(received):
            return refused
        return Reply(200, {"voices": [{"voice_id": vid, "name": name, "category": "premade"}
                                      for vid, name in self.voices.items()]})  # fmt: skip
