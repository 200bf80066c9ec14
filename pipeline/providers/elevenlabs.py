"""Paid voice provider `elevenlabs`: ElevenLabs text-to-speech through the `elevenlabs` SDK, with timings.

`convert_with_timestamps` answers the audio (MP3, base64) with each character's start and end time, kept in
meta["alignment"] for captions. A narration longer than the model's per-request limit is split at sentence
boundaries; the pieces are joined and their timings offset by the audio before them.

One retry policy, ours: the SDK's own retries are off (`max_retries=0`) and `remote.call` retries what an answer
proves failed without audio (429 with its Retry-After, a 5xx, a refused connection). Speech is billed per
character, so a timeout or a dropped connection, after which ElevenLabs may have generated and billed the audio,
is reported instead of repeated.
"""

from __future__ import annotations

import base64
import contextlib
import re
from typing import Any, Iterator

import httpx
import numpy as np

from pipeline.errors import (
    AuthenticationFailed,
    InvalidRequest,
    MediaError,
    ProviderError,
    ProviderFailed,
    QuotaExceeded,
)
from pipeline.media.ffmpeg import decode_audio, write_wav
from pipeline.providers import remote
from pipeline.providers.base import Price, Prices, StepContext, StepOutput, VoiceProvider, VoiceRequest, register

LABEL = "ElevenLabs"
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
OUTPUT_FORMAT = "mp3_44100_128"
SAMPLE_RATE = 44100  # of OUTPUT_FORMAT
# Characters per request, by model (ElevenLabs' models page).
CHARACTER_LIMITS = {
    "eleven_multilingual_v2": 10_000,
    "eleven_flash_v2_5": 40_000,
    "eleven_turbo_v2_5": 40_000,
    "eleven_flash_v2": 30_000,
    "eleven_turbo_v2": 30_000,
    "eleven_v3": 5_000,
    "eleven_monolingual_v1": 10_000,
    "eleven_multilingual_v1": 10_000,
}
# Longer pieces are split, so only a narration no scene could hold is refused (100k characters is ~2 h of speech).
MAX_TEXT = 100_000
# Premade voices every account has.
VOICES = {
    "JBFqnCBsd6RMkjVDRZzb": "George",
    "21m00Tcm4TlvDq8ikWAM": "Rachel",
    "EXAVITQu4vr4xnSDxMaL": "Sarah",
    "pNInz6obpgDQGcFmaJgB": "Adam",
    "TX3LPaxmHKxFdv7VOQHJ": "Liam",
    "XB0fDUnXU5powFXDhCwa": "Charlotte",
    "onwK4e9ZLuTAKqWW03F9": "Daniel",
    "pFZP5JQG7iQjIQuC4Bku": "Lily",
    "nPczCjzI2devNBz1zQrb": "Brian",
    "Xb7hH8MSUJpSbSDYk0k2": "Alice",
}
SWITCH = "switch the voice provider to piper"
# A sentence ends at . ! ? … (and closing quotes or brackets); group 1 is the whitespace after it.
SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*(\s+)")


def split_text(text: str, limit: int) -> list[tuple[str, str]]:
    """`text` as (piece, separator) pairs of at most `limit` characters each, cut after sentences where possible
    (else between words, else anywhere); joining piece + separator in order gives `text` back."""
    pieces: list[tuple[str, str]] = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit + 1]  # a separator may begin right at the limit
        cuts = [m.span(1) for m in SENTENCE_END.finditer(window) if m.start(1) <= limit] or \
            [m.span() for m in re.finditer(r"\s+", window) if 0 < m.start() <= limit]  # fmt: skip
        if cuts:
            begin, end = cuts[-1]
            pieces.append((window[:begin], window[begin:end]))
            start += end
        else:
            pieces.append((window[:limit], ""))
            start += limit
    pieces.append((text[start:], ""))
    return [(piece, sep) for piece, sep in pieces if piece] or [("", "")]


def sentence_times(alignment: dict[str, list[Any]]) -> list[list[float]]:
    """[start, end] of each sentence in seconds, from the character timings (the shape Piper's meta has)."""
    chars = alignment["characters"]
    text = "".join(chars)
    spans, start = [], 0
    for match in [*SENTENCE_END.finditer(text), None]:
        end = match.start(1) if match else len(text)
        if end > start and text[start:end].strip():
            spans.append([round(alignment["character_start_times_seconds"][start], 3),
                          round(alignment["character_end_times_seconds"][end - 1], 3)])  # fmt: skip
        start = match.end(1) if match else len(text)
    return spans


def _detail(body: Any) -> tuple[str, str]:
    """(status, message) from ElevenLabs' error body `{"detail": {"status", "message"}}` (or FastAPI's list)."""
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, dict):
        return str(detail.get("status") or detail.get("code") or ""), str(detail.get("message") or "")
    if isinstance(detail, list):  # 422: [{"loc": [...], "msg": ..., "type": ...}]
        fields = [f"{'.'.join(str(p) for p in item.get('loc') or [] if p != 'body')}: {item.get('msg', '')}"
                  for item in detail if isinstance(item, dict)]  # fmt: skip
        return "validation_error", "; ".join(fields)
    return "", str(detail or "")


ERRORS = remote.ErrorMap(
    LABEL,
    key_env_var="ELEVENLABS_API_KEY",
    rules=(  # ElevenLabs says what went wrong in the body's status: quota_exceeded comes with HTTP 401, like a bad key
        remote.Rule("no_credit", QuotaExceeded, "quota exceeded", code=("quota_exceeded",)),
        remote.Rule("bad_key", AuthenticationFailed, "the key was refused", code=("invalid_api_key",
                                                                                  "missing_permissions")),
        remote.Rule("no_voice", InvalidRequest, "no voice '{voice}' in this account", code=("voice_not_found",),
                    advice="choose a voice from the list (" + ", ".join(f"{name} ({vid})" for vid, name in
                    VOICES.items()) + ") or a voice id from your ElevenLabs voice library"),
        remote.Rule("too_long", InvalidRequest, "the narration is too long for one request",
                    code=("max_character_limit_exceeded",),
                    advice="shorten the scene's narration or choose a flash/turbo model"),
    ),
    advice={"no_credit": f"add credits at elevenlabs.io or {SWITCH}",
            "bad_request": "check the voice, the model and the narration text",
            "server_error": f"ElevenLabs is having trouble; try again later or {SWITCH}",
            "timeout": "ElevenLabs may still have made (and billed) the speech; try again later, or shorten the "
                       "narration"},
)  # fmt: skip


def translate(exc: BaseException, *, key: str, voice: str) -> ProviderError | None:
    """An SDK error answer as our error, through ElevenLabs' error map (httpx failures: the map itself)."""
    from elevenlabs.core.api_error import ApiError

    if not isinstance(exc, ApiError):
        return None
    status, message = _detail(exc.body)
    return ERRORS.answer(exc.status_code or 0, message or status, code=status, headers=exc.headers, secret=key,
                         voice=voice)  # fmt: skip


@register
class ElevenLabsVoiceProvider(VoiceProvider):
    name = "elevenlabs"
    label = LABEL
    display_name = "ElevenLabs"
    version = "1"
    default_model = "eleven_multilingual_v2"
    models = tuple(CHARACTER_LIMITS)
    voices = tuple(VOICES)
    default_voice = "JBFqnCBsd6RMkjVDRZzb"  # George
    needs_key = True
    key_env_var = ERRORS.key_env_var  # one name for the key: the error map's advice says it too
    base_url_env_var = "ELEVENLABS_BASE_URL"
    default_base_url = DEFAULT_BASE_URL
    offline = False
    paid = True
    # Per character: 1 credit (~$0.10 per 1,000) for the full models, 0.5 credit for flash and turbo.
    prices = Prices("2026-11", {
        "eleven_multilingual_v2": Price("character", 0.0001, "ElevenLabs: 1 credit per character, ~$0.10/1k"),
        "eleven_v3": Price("character", 0.0001, "ElevenLabs: 1 credit per character, ~$0.10/1k"),
        "eleven_monolingual_v1": Price("character", 0.0001, "ElevenLabs: 1 credit per character"),
        "eleven_multilingual_v1": Price("character", 0.0001, "ElevenLabs: 1 credit per character"),
        "eleven_flash_v2_5": Price("character", 0.00005, "ElevenLabs: 0.5 credit per character, ~$0.05/1k"),
        "eleven_turbo_v2_5": Price("character", 0.00005, "ElevenLabs: 0.5 credit per character, ~$0.05/1k"),
        "eleven_flash_v2": Price("character", 0.00005, "ElevenLabs: 0.5 credit per character"),
        "eleven_turbo_v2": Price("character", 0.00005, "ElevenLabs: 0.5 credit per character"),
    })  # fmt: skip
    max_concurrency = 2  # the smallest plans allow 2-3 requests at once; more only answer 429
    key_concurrency = 2  # ... per key: renders of several sessions on one key share it

    REQUEST_TIMEOUT = 120.0  # 10,000 characters take well under a minute to speak

    def voice_for(self, voice_id: str | None) -> str:
        # Anything named is passed on as is: a voice id from the user's library is not in our short list.
        return voice_id or self.default_voice  # type: ignore[return-value]

    def cache_fields(self, request: VoiceRequest) -> dict[str, Any]:
        return {"text": request.text, "voice": self.voice_for(request.voice_id),
                "model": self.resolve_model(request.model), "stability": request.stability,
                "similarity_boost": request.similarity_boost, "format": OUTPUT_FORMAT}  # fmt: skip

    def check_request(self, request: VoiceRequest) -> list[str]:
        problems = []
        if not request.text.strip():
            problems.append("the narration is empty; write what should be said or remove the voice step")
        elif len(request.text) > MAX_TEXT:
            problems.append(f"the narration is {len(request.text):,} characters long; ElevenLabs narrations here "
                            f"are limited to {MAX_TEXT:,}: shorten it by {len(request.text) - MAX_TEXT:,}")  # fmt: skip
        return problems

    @contextlib.contextmanager
    def client(self, key: str) -> Iterator[Any]:
        from elevenlabs import ElevenLabs

        timeout = httpx.Timeout(self.REQUEST_TIMEOUT, connect=10.0)
        with httpx.Client(timeout=timeout, follow_redirects=True) as http:
            # timeout= as well: ElevenLabs() otherwise imposes its own 240 s on every request.
            yield ElevenLabs(api_key=key, base_url=self.base_url(), httpx_client=http, timeout=self.REQUEST_TIMEOUT)

    def account_voices(self, ctx: StepContext) -> list[tuple[str, str]]:
        """(voice id, name) of every voice the key's account can use (GET /v1/voices)."""
        key = ctx.key(self.key_env_var, LABEL)
        with self.client(key) as client:
            found = remote.call(lambda: client.voices.get_all(request_options={"max_retries": 0}), errors=ERRORS,
                                translate=lambda exc: translate(exc, key=key, voice=""), ctx=ctx)  # fmt: skip
        return [(v.voice_id, v.name or v.voice_id) for v in found.voices]

    # -----------------------------------------------------------------------------------------------------------

    def generate(self, request: VoiceRequest, ctx: StepContext) -> StepOutput:
        self.refuse_if_unfit(request)
        key = ctx.key(self.key_env_var, LABEL)
        with self.client(key) as client:
            return self._speak(client, request, ctx, key)

    def _speak(self, client: Any, request: VoiceRequest, ctx: StepContext, key: str) -> StepOutput:
        from elevenlabs import VoiceSettings

        model, voice = self.resolve_model(request.model), self.voice_for(request.voice_id)
        settings = VoiceSettings(stability=request.stability, similarity_boost=request.similarity_boost)
        pieces = split_text(request.text, CHARACTER_LIMITS[model])  # type: ignore[index]

        def speak(text: str) -> Any:
            return client.text_to_speech.convert_with_timestamps(
                voice, text=text, model_id=model, output_format=OUTPUT_FORMAT, voice_settings=settings,
                request_options={"max_retries": 0})  # fmt: skip

        audio: list[np.ndarray] = []
        alignment: dict[str, list[Any]] = {"characters": [], "character_start_times_seconds": [],
                                           "character_end_times_seconds": []}  # fmt: skip
        offset = 0.0
        ctx.progress(0.02, "speaking at ElevenLabs")
        for i, (text, separator) in enumerate(pieces):
            answer = remote.call(lambda: speak(text), errors=ERRORS, ctx=ctx, retry=remote.answered_without_output,
                                 translate=lambda exc: translate(exc, key=key, voice=voice))  # fmt: skip
            mp3 = ctx.workdir / (f"part-{i + 1}.mp3" if len(pieces) > 1 else "voice.mp3")
            try:
                mp3.write_bytes(base64.b64decode(answer.audio_base_64, validate=True))
                samples = decode_audio(mp3, SAMPLE_RATE, 1)
            except (TypeError, ValueError, MediaError) as exc:  # binascii.Error is a ValueError
                raise ProviderFailed(f"the audio ElevenLabs sent cannot be decoded ({type(exc).__name__})",
                                     provider=LABEL, advice="try again later") from None  # fmt: skip
            timing = answer.alignment
            if timing is not None:
                alignment["characters"] += list(timing.characters)
                alignment["character_start_times_seconds"] += [round(offset + t, 4)
                                                               for t in timing.character_start_times_seconds]
                alignment["character_end_times_seconds"] += [round(offset + t, 4)
                                                             for t in timing.character_end_times_seconds]
            offset += len(samples) / SAMPLE_RATE
            for char in separator:  # the whitespace the split removed: no sound of its own
                alignment["characters"].append(char)
                alignment["character_start_times_seconds"].append(round(offset, 4))
                alignment["character_end_times_seconds"].append(round(offset, 4))
            audio.append(samples)
            ctx.progress(0.02 + 0.93 * (i + 1) / len(pieces))
        if len(pieces) == 1:
            path = mp3
        else:
            path = ctx.workdir / "voice.wav"
            write_wav(path, np.concatenate(audio), SAMPLE_RATE)
            for i in range(len(pieces)):
                (ctx.workdir / f"part-{i + 1}.mp3").unlink(missing_ok=True)
        ctx.progress(1.0)
        return StepOutput(path, {
            "duration": offset,
            "characters": len(request.text),
            "sample_rate": SAMPLE_RATE,
            "model": model,
            "voice": voice,
            "requests": len(pieces),
            "alignment": alignment if alignment["characters"] else None,
            "sentences": sentence_times(alignment) if alignment["characters"] else [],
        })  # fmt: skip
