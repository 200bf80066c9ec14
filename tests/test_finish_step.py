"""The finish step in real renders: music ducked under the narration, every video at −14 LUFS, stems of the
video's exact length, all cached on a re-render, and music files only from where an owner may take them."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import InputError
from pipeline.finish_step import stems_zip, write_stems
from pipeline.media.ffmpeg import read_wav, run_ffmpeg
from pipeline.media.loudness import measure_loudness
from pipeline.media.music import HOLD_S, speech_intervals
from pipeline.music_track import upload_music
from pipeline.owners import CLI_OWNER
from pipeline.runner import render
from pipeline.store import Store
from pipeline.storyboard import Storyboard, load_storyboard, validate_storyboard
from tests.media import ffprobe, streams

EXAMPLES = sorted((Path(__file__).parent.parent / "assets" / "examples").glob("*.yaml"))
RATE = 48000
STUDIO_OWNER = "web-someone"


def storyboard(track: str = "bundled:calm", **music) -> Storyboard:
    """Narration, a 3 s scene nobody speaks in (the music comes back up there), narration again."""
    return validate_storyboard({
        "title": "Sound check", "resolution": "720x1280", "music": {"track": track, **music},
        "scenes": [
            {"image_prompt": "A lighthouse at night", "audio_script": "The light keeps turning through the night.",
             "duration": 2},
            {"image_prompt": "A calm sea at dawn", "duration": 3},
            {"image_prompt": "Birds over the harbour", "audio_script": "Morning comes, and the boats go out.",
             "duration": 2},
        ],
    })  # fmt: skip


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x.astype(np.float64) / 32768.0)) + 1e-20))


def loudness_of(path: Path) -> float:
    """Integrated loudness of a file's sound (decoded by ffmpeg, measured by ebur128)."""
    from pipeline.media.ffmpeg import decode_audio

    return measure_loudness(decode_audio(path, RATE, 2).astype(np.float32) / 32768.0, RATE).integrated


@pytest.fixture
def finished(small_render, tmp_path, isolated_home):
    result = render(storyboard(), tmp_path / "video.mp4")
    return result, write_stems(result.finished_sound, Store(isolated_home), tmp_path / "stems")


def test_music_stem_is_ducked_10_db_under_the_narration(finished):
    result, stems = finished
    narration, _ = read_wav(stems["narration"])
    music, _ = read_wav(stems["music"])
    speech = speech_intervals(narration)
    assert speech, "the narration is found"
    # Inside the narration: from the first word to the last of each stretch (gaps under HOLD_S are one stretch);
    # a pause: the silent scene's middle, far from both voices.
    stretches: list[list[float]] = []
    for a, b in speech:
        if stretches and a - stretches[-1][1] < HOLD_S:
            stretches[-1][1] = b
        else:
            stretches.append([a, b])
    assert len(stretches) == 2, "two narrated scenes around a pause"
    inside = np.concatenate([music[int(a * RATE) : int(b * RATE)] for a, b in stretches])
    first = result.scenes[0].frames / 24
    pause = music[int((first + 1.0) * RATE) : int((first + 2.0) * RATE)]
    assert rms_db(narration[int((first + 1.0) * RATE) : int((first + 2.0) * RATE)]) < -80, "nobody speaks there"
    assert rms_db(pause) > -40, "the music plays in the pause"
    assert rms_db(inside) <= rms_db(pause) - 10


def test_stems_are_48k_and_exactly_the_videos_length(finished, tmp_path, isolated_home):
    result, stems = finished
    video = streams(ffprobe(result.output), "video")[0]
    frames = int(video["nb_read_frames"])
    assert frames == sum(s.frames for s in result.scenes)
    for path in stems.values():
        pcm, rate = read_wav(path)
        assert rate == RATE and pcm.shape[1] == 2
        assert len(pcm) == frames * RATE // 24, path.name
        assert float(streams(ffprobe(path), "audio")[0]["duration"]) == pytest.approx(frames / 24, abs=1e-6)
    mix, _ = read_wav(stems["mix"])
    narration, _ = read_wav(stems["narration"])
    music, _ = read_wav(stems["music"])
    assert np.abs(mix.astype(np.int32) - narration - music).max() <= 2, "the stems add up to the mix"
    zipped = stems_zip(result.finished_sound, Store(isolated_home), tmp_path / "stems.zip")
    assert sorted(zipfile.ZipFile(zipped).namelist()) == ["mix.wav", "music.wav", "narration.wav"]


def test_the_video_is_at_the_loudness_target_and_a_rerender_is_all_cached(finished, tmp_path):
    result, _ = finished
    assert loudness_of(result.output) == pytest.approx(-14.0, abs=1.0)
    again = render(storyboard(), tmp_path / "again.mp4")
    assert again.executed == {}
    assert again.output.read_bytes() == result.output.read_bytes()


def test_new_music_settings_rerun_only_the_sound(finished, tmp_path):
    result, _ = finished
    quieter = render(storyboard(volume_db=-24, duck_db=15), tmp_path / "quieter.mp4")
    assert quieter.executed == {"finish": 1, "soundtrack": 1, "join": 1}
    louder = render(validate_storyboard({**storyboard().model_dump(), "output": {"loudness_lufs": -16}}),
                    tmp_path / "louder.mp4")  # fmt: skip
    assert louder.executed == {"finish": 1, "soundtrack": 1, "join": 1}
    assert loudness_of(louder.output) == pytest.approx(-16.0, abs=1.0)


# -- every example at the target, a near-silent one too ------------------------------------------------------


def short(sb: Storyboard, track: str, **music) -> Storyboard:
    data = sb.model_dump(mode="json")
    for scene in data["scenes"]:
        scene["duration"] = 2  # the narration stretches a scene: its picture is kept short
        scene.pop("transition")  # a long one of the example's would not fit a 2 s scene; its project-wide one does
    data["music"] = {"track": track, **music}
    return validate_storyboard(data)


def near_silent() -> Storyboard:
    """Nobody speaks and the bed plays 60 dB down: the whole track has to come up ~45 dB."""
    return validate_storyboard({
        "title": "Near silence", "resolution": "720x1280", "music": {"track": "bundled:upbeat", "volume_db": -60},
        "scenes": [{"image_prompt": "An empty room", "duration": 3}, {"image_prompt": "A closed door", "duration": 3}],
    })  # fmt: skip


def one_sentence() -> Storyboard:
    """One sentence in 8 s of silence, no music: the silence must not drag the level down."""
    return validate_storyboard({
        "title": "One sentence", "resolution": "720x1280",
        "scenes": [{"image_prompt": "An empty room", "audio_script": "Someone was here.", "duration": 4},
                   {"image_prompt": "A closed door", "duration": 4}],
    })  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", [p.stem for p in EXAMPLES] + ["near-silent", "one-sentence"])
def test_every_example_lands_within_1_lu_of_the_target(case, small_render, tmp_path):
    if case == "near-silent":
        sb = near_silent()
    elif case == "one-sentence":
        sb = one_sentence()
    else:
        index = [p.stem for p in EXAMPLES].index(case)
        sb = short(load_storyboard(EXAMPLES[index]), ("bundled:calm", "bundled:upbeat")[index % 2])
    result = render(sb, tmp_path / "video.mp4")
    assert loudness_of(result.output) == pytest.approx(-14.0, abs=1.0)
    assert result.finished_sound.meta["true_peak_dbtp"] <= -1.0


# -- which music an owner may play ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["/etc/passwd", "server.secret", "../../etc/hostname"])
def test_a_studio_owner_cannot_name_a_file_path(secret, isolated_home, tmp_path):
    if secret == "server.secret":
        from pipeline.owners import server_secret

        server_secret(isolated_home)
        secret = str(isolated_home / "server.secret")
    with pytest.raises(InputError) as refused:
        render(storyboard(secret), tmp_path / "video.mp4", owner=STUDIO_OWNER)
    message = str(refused.value)
    assert "music.track" in message and "only on the command line" in message and "upload" in message
    assert secret not in message and "passwd" not in message
    assert not (tmp_path / "video.mp4").exists()


def test_the_command_line_may_name_a_file(small_render, tmp_path):
    song = tmp_path / "song.mp3"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=330:duration=3", "-ac", "2", str(song)])
    result = render(storyboard(str(song)), tmp_path / "video.mp4", owner=CLI_OWNER)
    assert result.finished_sound.meta["music"].startswith("file-")
    assert loudness_of(result.output) == pytest.approx(-14.0, abs=1.0)


def test_an_upload_plays_for_its_owner_only(small_render, tmp_path, isolated_home):
    song = tmp_path / "song.flac"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=220:duration=2", str(song)])
    track = upload_music(song, STUDIO_OWNER, Store(isolated_home))
    assert track.startswith("sha256:")
    with pytest.raises(InputError, match="music.track: that uploaded music is not in your uploads"):
        render(storyboard(track), tmp_path / "theirs.mp4", owner="web-someone-else")
    result = render(storyboard(track), tmp_path / "mine.mp4", owner=STUDIO_OWNER)
    assert result.finished_sound.meta["music"] == f"upload-{track.removeprefix('sha256:')}"


def test_an_upload_that_points_at_other_files_is_refused(tmp_path, isolated_home):
    """An HLS playlist lists another file on the server: decoded, that file would become the uploader's music (and
    come back in the mix and the stems). The studio's file-type filter is the browser's; an API client sends any."""
    private = tmp_path / "private.ts"  # MPEG-TS: a segment ffmpeg's HLS reader accepts
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "mp2", "-f", "mpegts", str(private)])
    playlist = tmp_path / "song.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile://{private}\n#EXT-X-ENDLIST\n")
    with pytest.raises(InputError, match="not music ffmpeg can read"):
        upload_music(playlist, STUDIO_OWNER, Store(isolated_home))
    assert not list(Path(os.environ["REELSMITH_HOME"]).glob("media/*/*.wav"))


# -- the storyboard keys and the studio's settings -----------------------------------------------------------


@pytest.mark.parametrize("yaml_text, message", [
    ("music: {track: bundled:jazz}", "music.track: 'bundled:jazz' names no bundled bed; choose one of: "
                                     "bundled:calm, bundled:upbeat (line 1)"),
    ("music: {track: 'sha256:abc'}", "music.track: an uploaded track is 'sha256:' and 64 lowercase hex digits"),
    ("music: {volume_db: 3}", "music.volume_db: 3 is above the maximum of 0.0 dB (line 1)"),
    ("music: {duck_db: -1}", "music.duck_db: -1 is below the minimum of 0.0 dB (line 1)"),
    ("output: {loudness_lufs: -50}", "output.loudness_lufs: -50 is below the minimum of -40.0 LUFS (line 1)"),
    ("music: {trak: none}", "music.trak: unknown field; did you mean 'track'? (line 1)"),
])  # fmt: skip
def test_music_and_loudness_settings_name_the_field(yaml_text, message):
    from pipeline.storyboard import parse_storyboard

    with pytest.raises(InputError) as refused:
        parse_storyboard(f"{yaml_text}\nscenes: [{{image_prompt: x}}]")
    assert message in str(refused.value)


def test_defaults_schema_and_the_studios_settings_write_the_yaml():
    from pipeline import scenes
    from pipeline.storyboard import parse_storyboard, storyboard_schema

    sb = parse_storyboard("scenes: [{image_prompt: x}]")
    assert sb.music.model_dump() == {"track": "none", "volume_db": -18.0, "duck_db": 12.0}
    assert sb.output.loudness_lufs == -14.0
    schema = storyboard_schema()["$defs"]
    assert {"track", "volume_db", "duck_db"} <= set(schema["MusicSettings"]["properties"])
    assert "loudness_lufs" in schema["OutputSettings"]["properties"]
    values = scenes.settings_of(sb)
    fields = list(scenes.SETTING_FIELDS)
    for name, value in {"music.track": "bundled:upbeat", "music.volume_db": -20, "music.duck_db": 15,
                        "output.loudness_lufs": -16}.items():  # fmt: skip
        values[fields.index(name)] = value
    edited = parse_storyboard(scenes.apply_settings(sb, values).to_yaml())
    assert edited.music.track == "bundled:upbeat" and edited.music.volume_db == -20 and edited.music.duck_db == 15
    assert edited.output.loudness_lufs == -16


def test_stems_deleted_from_the_store_are_named_not_a_traceback(finished, tmp_path, isolated_home):
    from pipeline.errors import MediaError
    from pipeline.finish_step import stems_key

    result, _ = finished
    store = Store(isolated_home)
    store.get(stems_key(result.finished_sound.key)).path.unlink()
    with pytest.raises(MediaError, match="the stems of this render are no longer stored; change a music setting"):
        write_stems(result.finished_sound, store, tmp_path / "gone")


def test_a_video_too_quiet_to_reach_the_target_says_so(small_render, tmp_path):
    from pipeline.events import StepWarning

    sb = validate_storyboard({"title": "Hush", "resolution": "720x1280",
                              "scenes": [{"image_prompt": "An empty room", "audio_script": "Hush.", "duration": 4}]})
    warnings = []
    result = render(sb, tmp_path / "hush.mp4", on_event=lambda e: warnings.append(e) if isinstance(e, StepWarning)
                    else None)  # fmt: skip
    assert result.finished_sound.meta["reached_target"] is False
    assert [w.step for w in warnings] == ["finish"]
    assert "output.loudness_lufs: the finished sound measures" in warnings[0].message
    assert "not -14" in warnings[0].message


def test_the_finished_sound_holds_room_in_the_memory_budget(small_render, tmp_path, isolated_home):
    """Its float arrays (~33 bytes a sample) wait for room beside the encoders, like an encoder, instead of landing
    on top of a 1080p encode (a 20-scene 1080p render's peak)."""
    from pipeline.media.budget import EncoderBudget
    from pipeline.services import Services

    asked: list[float] = []

    class Recording(EncoderBudget):
        def acquire(self, cost_mb, cancel=None):
            asked.append(cost_mb)
            super().acquire(cost_mb, cancel)

    services = Services.for_home(isolated_home)
    services.encoders = Recording(280.0)
    result = render(storyboard(), tmp_path / "video.mp4", services=services)
    samples = result.finished_sound.meta["samples"]
    assert EncoderBudget.sound_cost_mb(samples) in asked
    assert services.encoders.used_mb == pytest.approx(0, abs=1e-6), "every hold was given back"
