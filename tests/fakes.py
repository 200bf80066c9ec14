"""Fast providers for engine tests, registered by name like any other; they record every call they serve."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from pipeline.errors import ProviderError
from pipeline.media.ffmpeg import FrameEncoder, write_wav
from pipeline.providers.base import (
    ImageProvider,
    ImageRequest,
    StepContext,
    StepOutput,
    VideoProvider,
    VideoRequest,
    VoiceProvider,
    VoiceRequest,
    registry,
)


@dataclass
class Call:
    kind: str
    subject: str
    start: float
    end: float | None = None


@dataclass
class TestProviders:
    calls: list[Call] = field(default_factory=list)
    delay: dict[str, float] = field(default_factory=dict)  # kind → seconds each call takes
    fail: dict[str, ProviderError] = field(default_factory=dict)  # subject substring → error to raise
    tone_seconds_per_char: float = 0.05
    # Kinds whose calls count as local CPU work (they hold a slot of the process-wide CPU limiter, as draft,
    # motion and piper do); the others stand in for remote providers, which hold none.
    local_cpu: set[str] = field(default_factory=set)
    # Kind → the provider's own limit on calls at once per API key (ELEVENLABS_API_KEY stands for the key).
    key_concurrency: dict[str, int] = field(default_factory=dict)
    # Kind → how many of its calls must be running at once before any of them goes on (each waits up to 10 s):
    # proves concurrency by the calls themselves meeting, not by timestamps a loaded machine can skew.
    together: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    contexts: list[StepContext] = field(default_factory=list)  # the context each call was handed, in call order
    running: int = 0  # calls running now
    peak: int = 0  # most calls running at once
    running_by_kind: dict[str, int] = field(default_factory=dict)
    released: list[tuple[str, float]] = field(default_factory=list)  # (kind, when) of every Provider.release()
    peak_by_kind: dict[str, int] = field(default_factory=dict)

    def register(self) -> None:
        global ACTIVE
        ACTIVE = self
        for cls in (FakeImageProvider, FakeVideoProvider, FakeVoiceProvider):
            registry.register(cls)

    def unregister(self) -> None:
        for cls in (FakeImageProvider, FakeVideoProvider, FakeVoiceProvider):
            registry.unregister(cls.kind, cls.name)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.calls if c.kind == kind)

    def run(self, kind: str, subject: str, ctx: StepContext) -> None:
        call = Call(kind, subject, time.monotonic())
        with self.lock:
            self.calls.append(call)
            self.contexts.append(ctx)
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.running_by_kind[kind] = self.running_by_kind.get(kind, 0) + 1
            self.peak_by_kind[kind] = max(self.peak_by_kind.get(kind, 0), self.running_by_kind[kind])
        try:
            if kind in self.together:
                deadline = time.monotonic() + 10
                while self.peak_by_kind[kind] < self.together[kind] and time.monotonic() < deadline:
                    time.sleep(0.01)
                call.start = time.monotonic()  # its own work starts once the others met it (or gave up)
            for needle, error in self.fail.items():
                if needle in subject:
                    raise error
            deadline = call.start + self.delay.get(kind, 0.0)
            while (now := time.monotonic()) < deadline:
                ctx.progress(1 - (deadline - now) / self.delay[kind])
                time.sleep(0.01)
            call.end = time.monotonic()
        finally:
            with self.lock:
                self.running -= 1
                self.running_by_kind[kind] -= 1


ACTIVE: TestProviders | None = None


class _FakeProvider:
    """What the three fakes share: whether their kind is marked as local CPU work, or as limited per key."""

    kind: str

    @property
    def local_cpu(self) -> bool:  # type: ignore[override]
        return ACTIVE is not None and self.kind in ACTIVE.local_cpu

    @property
    def key_concurrency(self) -> int | None:  # type: ignore[override]
        return ACTIVE.key_concurrency.get(self.kind) if ACTIVE is not None else None

    @property
    def key_env_var(self) -> str | None:  # type: ignore[override]
        return "ELEVENLABS_API_KEY" if self.key_concurrency else None

    def release(self) -> None:
        if ACTIVE is not None:
            with ACTIVE.lock:
                ACTIVE.released.append((self.kind, time.monotonic()))


def _colour(text: str) -> tuple[int, int, int]:
    d = hashlib.sha256(text.encode()).digest()
    return d[0], d[1], d[2]


class FakeImageProvider(_FakeProvider, ImageProvider):
    name = "test-image"
    label = "test image"
    max_concurrency = 4

    def generate(self, request: ImageRequest, ctx: StepContext) -> StepOutput:
        assert ACTIVE is not None
        ACTIVE.run("image", request.scene_prompt, ctx)
        img = Image.new("RGB", (request.width, request.height), _colour(request.scene_prompt))
        path = ctx.workdir / "image.png"
        img.save(path)
        return StepOutput(path)


class FakeVideoProvider(_FakeProvider, VideoProvider):
    name = "test-video"
    label = "test video"
    max_concurrency = 4

    def generate(self, request: VideoRequest, ctx: StepContext) -> StepOutput:
        assert ACTIVE is not None
        ACTIVE.run("video", request.prompt or request.image_sha256, ctx)
        frame = np.asarray(Image.open(request.image_path).convert("RGB"))
        frames = request.duration * request.delivery.fps
        path = ctx.workdir / "clip.mp4"
        with FrameEncoder(path, request.delivery, ctx.cancel, encoders=ctx.encoders) as enc:
            for _ in range(frames):
                enc.write(frame)
        return StepOutput(path, {"profile": request.delivery.id, "frames": frames})


class FakeVoiceProvider(_FakeProvider, VoiceProvider):
    """Speaks a steady tone, as long as the text asks for: boundaries in the sound track are easy to see."""

    name = "test-voice"
    label = "test voice"
    max_concurrency = 4
    voices = ("tone",)
    default_voice = "tone"

    def generate(self, request: VoiceRequest, ctx: StepContext) -> StepOutput:
        assert ACTIVE is not None
        ACTIVE.run("voice", request.text, ctx)
        rate = 24000
        seconds = len(request.text) * ACTIVE.tone_seconds_per_char
        t = np.arange(round(seconds * rate)) / rate
        pitch = 300 + hashlib.sha256(request.text.encode()).digest()[0]  # each text its own sound
        samples = (np.sin(2 * np.pi * pitch * t) * 12000).astype(np.int16)
        path = ctx.workdir / "voice.wav"
        write_wav(path, samples, rate)
        return StepOutput(path, {"duration": len(samples) / rate})


def storyboard_dict(scenes: int = 3, duration: int = 2, script: str = "hello there", **extra: Any) -> dict:
    return {
        "title": "test",
        "image": {"provider": "test-image"},
        "video": {"provider": "test-video"},
        "voice": {"provider": "test-voice"},
        "scenes": [
            {"image_prompt": f"scene {i}", "video_prompt": f"motion {i}", "audio_script": f"{script} {i}",
             "duration": duration}  # fmt: skip
            for i in range(scenes)
        ],
        **extra,
    }
