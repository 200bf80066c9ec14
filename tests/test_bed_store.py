"""The bundled music bed is kept in the store under its bed key, so a new process (every command-line render)
reads it instead of synthesising it again (pipeline.music_track.stored_bed)."""

from __future__ import annotations

import numpy as np

from pipeline.media.beds import BED_RATE, bed_key, bundled_bed
from pipeline.media.ffmpeg import read_wav, write_wav
from pipeline.media.music import to_float
from pipeline.music_track import MusicTrack, load_track, track_identity
from pipeline.store import Store, step_key


def test_a_bundled_bed_is_stored_once_and_then_read_from_the_store(tmp_path):
    store = Store(tmp_path / "home")
    track = MusicTrack("bundled:calm", track_identity("bundled:calm"))
    first = load_track(track, store)
    assert first is not None and first.looped and first.key == bed_key("calm")
    assert np.array_equal(first.pcm, to_float(bundled_bed("calm"))), "the same sound as synthesised"
    key = step_key("bed", bed=bed_key("calm"))
    stored = store.get(key)
    assert stored is not None and read_wav(stored.path)[1] == BED_RATE
    # What the store holds under the key is what plays: stored bytes are read back, not synthesised again.
    quieter = (read_wav(stored.path)[0] // 2).astype(np.int16)
    write_wav(tmp_path / "quieter.wav", quieter, BED_RATE)
    store.put(key, tmp_path / "quieter.wav")
    assert np.array_equal(load_track(track, store).pcm, to_float(quieter))


def test_an_unreadable_stored_bed_is_made_again(tmp_path):
    store = Store(tmp_path / "home")
    key = step_key("bed", bed=bed_key("upbeat"))
    (tmp_path / "junk.wav").write_bytes(b"not a wav file")
    store.put(key, tmp_path / "junk.wav")
    track = MusicTrack("bundled:upbeat", track_identity("bundled:upbeat"))
    assert np.array_equal(load_track(track, store).pcm, to_float(bundled_bed("upbeat")))
    assert read_wav(store.get(key).path)[1] == BED_RATE, "stored again, readable"
