"""Contract tests for the ElevenLabs voice provider: the real `elevenlabs` SDK against tests/wire/elevenlabs.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.errors import (
    InvalidRequest,
    ProviderFailed,
    QuotaExceeded,
    RateLimited,
)
from pipeline.media.ffmpeg import decode_audio
from pipeline.providers import remote
from pipeline.providers import elevenlabs as el
from pipeline.providers.base import VoiceRequest, registry
from tests.step_run import StepRun, assert_secret_nowhere, failure
from tests.studio import free_port
from tests.wire.elevenlabs import TTS, FakeElevenLabs, quota_exceeded, rate_limited, server_error

KEY = "canary-e1e7-secret"
GEORGE = "JBFqnCBsd6RMkjVDRZzb"
RACHEL = "21m00Tcm4TlvDq8ikWAM"
TEXT = "The lighthouse keeper climbs the stairs. Below, the sea is calm!"


def step_run(tmp_path: Path, key: str | None = KEY) -> StepRun:
    return StepRun(tmp_path, "ELEVENLABS_API_KEY", key)


@pytest.fixture
def fake(monkeypatch):
    server = FakeElevenLabs(KEY).start()
    monkeypatch.setenv("ELEVENLABS_BASE_URL", server.url)
    monkeypatch.setattr(remote, "BACKOFF", 0.01)
    yield server
    server.stop()


@pytest.fixture
def provider():
    return el.ElevenLabsVoiceProvider()


def voice_request(**changes: Any) -> VoiceRequest:
    fields: dict[str, Any] = dict(text=TEXT, voice_id=None, model=None, stability=0.4, similarity_boost=0.8)
    fields.update(changes)
    return VoiceRequest(**fields)


# ---------------------------------------------------------------------------------------------------------------
# The happy path and what goes over the wire


def test_speech_with_timings_through_the_sdk(fake, provider, tmp_path, isolated_home):
    run = step_run(tmp_path)

    out = provider.generate(voice_request(), run.ctx)

    assert fake.count("POST", TTS) == 1
    sent = fake.matching("POST", TTS)[0]
    assert sent.path == f"/v1/text-to-speech/{GEORGE}/with-timestamps"  # no voice asked: the default, George
    assert sent.headers["xi-api-key"] == KEY
    assert sent.query == {"output_format": ["mp3_44100_128"]}
    assert sent.json() == {"text": TEXT, "model_id": "eleven_multilingual_v2",
                           "voice_settings": {"stability": 0.4, "similarity_boost": 0.8}}  # fmt: skip
    # The file is the MP3 ElevenLabs sent, and its measured length is the narration's duration.
    assert out.path == run.workdir / "voice.mp3" and out.path.read_bytes()[:3] in (b"ID3", b"\xff\xfb")
    decoded = decode_audio(out.path, 44100, 1)
    assert out.meta["duration"] == pytest.approx(len(decoded) / 44100)
    assert out.meta["duration"] == pytest.approx(len(TEXT) * 0.02, abs=0.08)
    assert out.meta["characters"] == len(TEXT)
    assert (out.meta["model"], out.meta["voice"], out.meta["requests"]) == ("eleven_multilingual_v2", GEORGE, 1)
    alignment = out.meta["alignment"]
    assert "".join(alignment["characters"]) == TEXT
    assert alignment["character_start_times_seconds"][1] == pytest.approx(0.02)
    assert alignment["character_end_times_seconds"][-1] == pytest.approx(len(TEXT) * 0.02)
    # Two sentences, the second starting where its first letter does.
    second = TEXT.index("Below")
    assert out.meta["sentences"] == [[0.0, pytest.approx(second * 0.02 - 0.02, abs=0.001)],
                                     [pytest.approx(second * 0.02, abs=0.001), pytest.approx(len(TEXT) * 0.02)]]
    assert_secret_nowhere(KEY, None, run.workdir, isolated_home)


def test_a_chosen_voice_and_model_are_sent(fake, provider, tmp_path):
    out = provider.generate(voice_request(voice_id=RACHEL, model="eleven_flash_v2_5"), step_run(tmp_path).ctx)

    sent = fake.matching("POST", TTS)[0]
    assert sent.path == f"/v1/text-to-speech/{RACHEL}/with-timestamps"
    assert sent.json()["model_id"] == "eleven_flash_v2_5"
    assert out.meta["voice"] == RACHEL


def test_text_over_the_models_limit_is_split_at_sentences_and_joined(fake, provider, tmp_path):
    fake.seconds_per_char = 0.001
    sentence = "The tide comes in over the rocks and the gulls cry above the harbour wall. "
    text = (sentence * 150).strip()  # 11,249 characters: over multilingual v2's 10,000
    run = step_run(tmp_path)

    out = provider.generate(voice_request(text=text), run.ctx)

    sent = [r.json()["text"] for r in fake.matching("POST", TTS)]
    assert len(sent) == 2 and all(len(t) <= 10_000 for t in sent)
    assert all(t.endswith("harbour wall.") for t in sent)  # cut after a sentence, not inside one
    assert " ".join(sent) == text
    assert out.path == run.workdir / "voice.wav" and sorted(p.name for p in run.workdir.iterdir()) == ["voice.wav"]
    parts = [round(max(0.2, len(t) * 0.001), 3) for t in sent]
    assert out.meta["duration"] == pytest.approx(sum(parts), abs=0.06)
    assert len(decode_audio(out.path, 44100, 1)) / 44100 == pytest.approx(out.meta["duration"], abs=0.001)
    assert out.meta["requests"] == 2 and out.meta["characters"] == len(text)
    alignment = out.meta["alignment"]
    assert "".join(alignment["characters"]) == text
    # The second piece's timings start after the first piece's audio (its MP3 is a few ms longer than asked).
    first_of_second = len(sent[0]) + 1
    assert alignment["character_start_times_seconds"][first_of_second] == pytest.approx(parts[0], abs=0.06)
    starts = alignment["character_start_times_seconds"]
    assert all(a <= b for a, b in zip(starts, starts[1:]))


def test_a_flash_model_takes_the_same_text_in_one_request(fake, provider, tmp_path):
    fake.seconds_per_char = 0.001
    text = ("Waves. " * 1600).strip()

    out = provider.generate(voice_request(text=text, model="eleven_flash_v2_5"), step_run(tmp_path).ctx)

    assert fake.count("POST", TTS) == 1 and out.meta["requests"] == 1


def test_account_voices_are_listed(fake, provider, tmp_path):
    voices = provider.account_voices(step_run(tmp_path).ctx)

    assert (GEORGE, "George") in voices and len(voices) == 3
    assert fake.matching("GET", r"/v1/voices")[0].headers["xi-api-key"] == KEY


def test_registered_with_its_settings():
    provider = registry.get("voice", "elevenlabs")
    assert (provider.label, provider.key_env_var, provider.base_url_env_var) == \
        ("ElevenLabs", "ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL")  # fmt: skip
    assert provider.paid and not provider.offline and provider.needs_key
    assert provider.default_voice == GEORGE and GEORGE in provider.voices
    assert {"eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_turbo_v2_5"} <= set(provider.models)


# ---------------------------------------------------------------------------------------------------------------
# Faults: one retry policy (ours), each fault's exact number of requests


def test_persistent_429_is_retried_by_one_policy_only(fake, provider, tmp_path):
    # The SDK's own 2 retries are off: 3 attempts in all, not 3 x 3.
    fake.script("POST", TTS, [rate_limited()] * 9)

    error = failure(provider, voice_request(), step_run(tmp_path))

    assert isinstance(error, RateLimited) and error.status == 429
    assert fake.count("POST", TTS) == remote.ATTEMPTS == 3
    assert "too many concurrent requests" in str(error).lower()


def test_500_then_success(fake, provider, tmp_path):
    fake.script("POST", TTS, [server_error()])

    provider.generate(voice_request(), step_run(tmp_path).ctx)

    assert fake.count("POST", TTS) == 2


def test_persistent_500_gives_up_after_three(fake, provider, tmp_path):
    fake.script("POST", TTS, [server_error()] * 5)

    error = failure(provider, voice_request(), step_run(tmp_path))

    assert isinstance(error, ProviderFailed) and error.retryable and error.status == 500
    assert fake.count("POST", TTS) == 3


def test_quota_exceeded_sent_as_401_is_not_a_bad_key(fake, provider, tmp_path):
    fake.script("POST", TTS, [quota_exceeded()])

    error = failure(provider, voice_request(), step_run(tmp_path))

    assert type(error) is QuotaExceeded and error.status == 401
    assert "switch the voice provider to piper" in error.advice and "add credits" in error.advice
    assert "12 credits remaining" in error.reason
    assert str(error.at(2, "voice")).startswith("scene 3 voice: ElevenLabs: quota exceeded")
    assert fake.count("POST", TTS) == 1


def test_an_unknown_voice_is_named_and_the_list_offered(fake, provider, tmp_path):
    # A Piper voice name left in the storyboard goes to ElevenLabs as is; its answer says what is wrong.
    error = failure(provider, voice_request(voice_id="joe"), step_run(tmp_path))

    assert type(error) is InvalidRequest and error.status == 404
    assert "'joe'" in error.reason and "George (JBFqnCBsd6RMkjVDRZzb)" in error.advice
    assert fake.matching("POST", TTS)[0].path == "/v1/text-to-speech/joe/with-timestamps"
    assert fake.count("POST", TTS) == 1


def test_max_character_limit_exceeded_is_an_invalid_request(fake, provider, tmp_path, monkeypatch):
    monkeypatch.setitem(el.CHARACTER_LIMITS, "eleven_v3", 100_000)  # our limit above ElevenLabs': it refuses
    error = failure(provider, voice_request(text="Word " * 1200, model="eleven_v3"), step_run(tmp_path))

    assert type(error) is InvalidRequest and error.status == 400 and "too long" in error.reason
    assert fake.count("POST", TTS) == 1


def test_a_refused_connection_is_retried_and_reported(provider, tmp_path, monkeypatch):
    monkeypatch.setenv("ELEVENLABS_BASE_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setattr(remote, "BACKOFF", 0.01)

    run = step_run(tmp_path)

    error = failure(provider, voice_request(), run)

    assert type(error) is ProviderFailed and "refused" in error.reason
    assert len([n for n in run.notes if n.startswith("retrying in")]) == 2  # nothing was sent: 3 attempts


# ---------------------------------------------------------------------------------------------------------------
# Pre-flight and splitting


def test_check_refuses_empty_and_absurd_text_and_unknown_models(provider):
    assert provider.check(voice_request()) == []
    assert provider.check(voice_request(text="x" * 40_000)) == []  # split into requests, not refused
    assert "empty" in provider.check(voice_request(text="   "))[0]
    assert "100,000" in provider.check(voice_request(text="x" * 100_001))[0]
    assert "eleven_nonexistent" in provider.check(voice_request(model="eleven_nonexistent"))[0]


def test_generate_refuses_what_check_refuses_without_a_request(fake, provider, tmp_path):
    with pytest.raises(InvalidRequest):
        provider.generate(voice_request(text=" "), step_run(tmp_path).ctx)
    assert fake.requests == []


@pytest.mark.parametrize("limit", [7, 20, 45])
def test_split_text_round_trips_and_respects_the_limit(limit):
    text = 'One two three. "Four five!" Six seven eight nine ten eleven twelve? Thirteen\nfourteen. Supercalifragilistic'
    pieces = el.split_text(text, limit)

    assert "".join(p + s for p, s in pieces) == text
    assert all(0 < len(p) <= limit for p, _ in pieces)


def test_split_text_prefers_sentence_ends_over_spaces():
    pieces = el.split_text("Alpha beta. Gamma delta epsilon.", 20)
    assert pieces == [("Alpha beta.", " "), ("Gamma delta epsilon.", "")]
    assert el.split_text("short", 20) == [("short", "")]


def test_the_fake_refuses_wrong_headers_and_fields():
    with FakeElevenLabs(KEY) as server, httpx.Client(base_url=server.url) as http:
        url = f"/v1/text-to-speech/{GEORGE}/with-timestamps"
        body = {"text": "hi", "model_id": "eleven_multilingual_v2"}
        assert http.post(url, json=body, headers={"xi-api-key": KEY}).status_code == 200
        assert http.post(url, json=body, headers={"authorization": f"Bearer {KEY}"}).status_code == 401
        assert http.post(url, json={**body, "voiceSettings": {}}, headers={"xi-api-key": KEY}).status_code == 422
        assert http.post(url, json={**body, "voice_settings": {"stabilty": 0.5}},
                         headers={"xi-api-key": KEY}).status_code == 422  # fmt: skip
        assert http.post(url, params={"output_format": "mp3"}, json=body,
                         headers={"xi-api-key": KEY}).status_code == 422  # fmt: skip
