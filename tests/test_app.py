"""The studio through gradio_client, against the app launched on a free port."""

from __future__ import annotations

import json

import time
from pathlib import Path

import pytest

from tests.media import ffprobe, streams
from tests.studio import generation_rows, media_files, steps_running, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studio(launched_studio):
    from gradio_client import Client

    url, home = launched_studio
    return Client(url, verbose=False), home


def test_validate_returns_the_field_level_message(studio):
    client, _ = studio
    message = client.predict("scenes:\n  - image_prompt: a\n    duration: 14\n", api_name="/validate")
    assert message == "✗ Needs fixing:\n- Scene 1, duration (scenes[0].duration): 14 is above the maximum of 10 seconds (line 3)"


def test_render_streams_updates_and_returns_a_playable_video(studio):
    client, _ = studio
    text = "title: api\nscenes:\n  - image_prompt: A mountain at sunset\n    audio_script: Hello there.\n    duration: 2\n"
    job = client.submit(text, "draft", "motion", "piper", api_name="/render")
    updates = list(job)
    assert job.status().success, job.status()
    assert len(updates) >= 3, "progress streams while rendering"
    assert any(u[1] for u in updates[:-1]), "an image preview arrives before the end"
    board, image, clip, voice, final, manifest, gallery, captions = job.result()
    assert len(gallery) == 1 and gallery[0]["caption"] == "Scene 1"
    assert "Done" in board
    report = ffprobe(Path(final))
    assert len(streams(report, "video")) == 1 and len(streams(report, "audio")) == 1
    assert Path(manifest).name.endswith(".manifest.json")


def test_render_returns_the_caption_files_with_the_narrations_words(studio):
    """Issue 13: the SRT and WebVTT are outputs of `/render` itself (appended after the gallery), not only files
    on the server's disk; their cue text, joined, is the narration."""
    client, _ = studio
    words = "The tide comes in slowly. Then the harbour wakes."
    text = f"title: captions api\nscenes:\n  - image_prompt: A harbour at dawn\n    audio_script: {words}\n    duration: 2\n"
    *_, manifest, gallery, captions = client.predict(text, api_name="/render")
    files = {Path(f).suffix: Path(f).read_text(encoding="utf-8") for f in captions}
    assert sorted(files) == [".srt", ".vtt"]
    assert files[".vtt"].startswith("WEBVTT")
    for body in files.values():
        cue_text = [line for line in body.splitlines() if line and "-->" not in line and not line.isdigit()
                    and line != "WEBVTT"]  # fmt: skip
        assert " ".join(cue_text).split() == words.split()
    assert {Path(f).name for f in captions} == {Path(manifest).name.replace(".manifest.json", ext)
                                                for ext in (".srt", ".vtt")}  # fmt: skip


def test_a_client_that_sends_only_the_storyboard_gets_the_storyboards_providers(studio):
    """Issue 15: the provider arguments default to "as the storyboard says", not to the dropdowns' first choices
    (bfl, runway, elevenlabs), which needed keys the storyboard never asked for."""
    client, _ = studio
    text = ("title: only text\nvoice: {provider: piper}\nscenes:\n  - image_prompt: A quiet harbour at dawn\n"
            "    audio_script: Morning.\n    duration: 2\n")
    table, summary = client.predict(text, api_name="/estimate_cost")
    assert "Estimate: $0.00" in summary, summary
    board, image, clip, voice, final, manifest, gallery, captions = client.predict(text, api_name="/render")
    assert "Done" in board
    assert json.loads(Path(manifest).read_text())["providers"] == {"image": "draft", "video": "motion",
                                                                   "voice": "piper"}  # fmt: skip


def test_a_bad_storyboard_is_an_error_not_a_traceback(studio):
    client, _ = studio
    job = client.submit("scenes: [", "draft", "motion", "piper", api_name="/render")
    list(job)
    assert not job.status().success
    with pytest.raises(Exception, match="malformed YAML"):
        job.result()


def test_generate_image_then_video_reuses_the_approved_image(studio):
    client, home = studio
    text = "title: steps\nscenes:\n  - image_prompt: A red lighthouse on a rock\n    duration: 2\n"
    image, status, text = client.predict(text, 1, False, api_name="/generate_image")
    assert Path(image).suffix == ".png" and "made by draft" in status
    images_before = media_files(home, ".png")
    text, status = client.predict(text, 1, api_name="/approve_image")
    assert "image: sha256:" in text and "approved" in status
    clip, status = client.predict(text, 1, api_name="/generate_video")
    assert "image: reused (approved), nothing ran" in status and "video: made by motion" in status
    assert media_files(home, ".png") == images_before, "no second image was made"
    report = ffprobe(Path(clip))
    assert streams(report, "video")[0]["codec_name"] == "h264"
    # A new seed is a new picture, and it is no longer approved.
    _, status, text2 = client.predict(text, 1, True, api_name="/generate_image")
    assert "image: sha256:" not in text2 and "seed:" in text2 and "made by draft" in status


def test_a_second_session_cannot_read_the_first_ones_files(studio, launched_studio):
    import json
    import tempfile

    import httpx
    from gradio_client import Client

    client, home = studio
    url = launched_studio[0]
    text = "title: private\nscenes:\n  - image_prompt: A secret garden at dawn\n    duration: 2\n"
    client.predict(text, 1, False, api_name="/generate_image")
    theirs = [p for p in (Path(tempfile.gettempdir()) / "reelsmith-sessions").rglob("*.png")]
    assert theirs, "the first session was shown its image from its own folder"
    stored = next(iter(media_files(home, ".png")))
    other = Client(url, verbose=False)
    assert other.session_hash != client.session_hash
    with httpx.Client(base_url=url) as http:
        for path in (theirs[0], stored, home / "projects.sqlite3", home / "index" / "cache.db"):
            response = http.get(f"gradio_api/file={path}")
            assert response.status_code == 403, (path, response.status_code)
        # Nor can another session hand the first session's file to the studio as its own input.
        body = {"data": [{"path": str(theirs[0]), "meta": {"_type": "gradio.FileData"}}],
                "session_hash": other.session_hash}  # fmt: skip
        event = http.post("gradio_api/call/import_storyboard", json=body).json()["event_id"]
        stream = http.get(f"gradio_api/call/import_storyboard/{event}").text
        assert "event: error" in stream and "event: complete" not in stream, stream
    # History is per owner: the second session sees none of the first one's projects.
    assert other.predict(api_name="/history")["data"] == []
    assert json.dumps(client.predict(api_name="/history")["data"]) != "[]"


def test_cancelling_a_render_stops_it_and_the_next_run_reuses_cached_steps(studio):
    import json
    import time

    client, home = studio
    text = ("title: stop me\nscenes:\n"
            + "".join(f"  - image_prompt: Scene {i} of a long trip across the desert\n"
                      f"    video_prompt: slow pan right\n    duration: 8\n" for i in range(4)))  # fmt: skip
    rows_before = len(generation_rows(home))
    job = client.submit(text, "draft", "motion", "piper", api_name="/render")
    assert wait_until(lambda: any(u[2] for u in job.outputs())), "no clip was made"  # the first clip
    job.cancel()
    assert wait_until(job.done, timeout=30), "the render did not stop"
    assert not job.status().success

    # The stop reached the render's steps (one running was cancelled) and nothing of it runs any more.
    def stopped() -> bool:
        rows = generation_rows(home)[rows_before:]
        return any(r["outcome"] == "cancelled" for r in rows) and steps_running(home) == 0

    assert wait_until(stopped, timeout=30), generation_rows(home)[rows_before:]
    made = [r for r in generation_rows(home)[rows_before:] if r["step"] == "video" and r["outcome"] == "done"]
    assert 1 <= len(made) < 4, "a clip was made before the stop, and not every clip"
    clips_after_stop = len(media_files(home, ".mp4"))

    again = client.submit(text, "draft", "motion", "piper", api_name="/render")
    board, image, clip, voice, final, manifest, gallery, captions = again.result(timeout=240)
    stats = json.loads(Path(manifest).read_text())["stats"]
    assert stats["cached"].get("video", 0) >= 1, stats
    assert stats["executed"].get("image", 0) < 4, stats
    # Nothing more was made after the stop: the clips the stopped render had made are reused, the rest made now.
    assert (stats["cached"].get("video", 0), stats["executed"].get("video", 0)) == (len(made), 4 - len(made)), stats
    assert len(media_files(home, ".mp4")) > clips_after_stop


def test_history_lists_a_render_and_reopens_it(studio):
    client, _ = studio
    text = "title: reopen me\nscenes:\n  - image_prompt: A quiet library\n    duration: 2\n"
    client.predict(text, "draft", "motion", "piper", api_name="/render")
    rows = client.predict(api_name="/history")["data"]
    row = next(r for r in rows if r[1] == "reopen me")
    assert row[3] == 1 and row[4] == 2.0 and row[5] == "draft · motion · piper" and row[6].startswith("✓")
    reopened, video, manifest = client.predict(row[0], api_name="/open_project")
    assert reopened.strip() == text.strip()
    assert ffprobe(Path(video))["format"]["duration"].startswith("2.0")


def test_estimate_cost_prices_every_step(studio):
    client, _ = studio
    text = "title: priced\nscenes:\n  - image_prompt: A meadow\n    audio_script: Hello.\n    duration: 3\n"
    table, summary = client.predict(text, "draft", "motion", "piper", api_name="/estimate_cost")
    assert [row[1] for row in table["data"]] == ["image", "video", "voice"]
    assert table["data"][1][3] == "3 seconds" and "**Estimate: $0.00**" in summary


def test_a_long_cjk_title_renders_under_a_safe_name_with_the_formats_suffix(studio):
    # Issue 12: a 200-character CJK title failed with "File name too long" after the render, and a webm render
    # was named .mp4.
    client, _ = studio
    text = ("title: " + "漢" * 200 + "\noutput: {format: webm}\nscenes:\n  - image_prompt: A harbour at night\n"
            "    duration: 2\n")  # fmt: skip
    job = client.submit(text, "draft", "motion", "piper", api_name="/render")
    list(job)
    assert job.status().success, job.status()
    final = Path(job.result()[4])
    assert final.suffix == ".webm" and len(final.stem.encode()) <= 100


def test_an_alias_bomb_gets_a_short_answer_at_once(studio):
    client, _ = studio
    bomb = ", ".join(["&a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
                     + [f"&{n} [" + ",".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdefgh", "bcdefghi")])
    started = time.monotonic()
    message = client.predict(f"style: [{bomb}]\nscenes:\n  - image_prompt: a\n", api_name="/validate")
    assert time.monotonic() - started < 5
    assert "YAML aliases (*a) are not supported in storyboards" in message and len(message) < 300


def test_uploaded_music_plays_under_the_render_and_its_stems_download_as_a_zip(studio, tmp_path):
    import zipfile

    from gradio_client import handle_file

    from pipeline.media.ffmpeg import read_wav, run_ffmpeg

    client, _ = studio
    song = tmp_path / "song.mp3"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=330:duration=2", str(song)])
    text = "title: music\nscenes:\n  - image_prompt: A harbour at dawn\n    audio_script: Morning.\n    duration: 2\n"
    text = client.predict(text, handle_file(str(song)), api_name="/upload_music")
    assert "track: sha256:" in text
    board, image, clip, voice, final, manifest, gallery, captions = client.predict(text, api_name="/render")
    assert "Done" in board
    stems = Path(client.predict(api_name="/sound_stems"))
    with zipfile.ZipFile(stems) as z:
        assert sorted(z.namelist()) == ["mix.wav", "music.wav", "narration.wav"]
        z.extractall(tmp_path / "stems")
    frames = int(streams(ffprobe(Path(final)), "video")[0]["nb_read_frames"])
    for name in ("mix", "music", "narration"):
        pcm, rate = read_wav(tmp_path / "stems" / f"{name}.wav")
        assert rate == 48000 and len(pcm) == frames * 2000


def test_a_music_path_from_the_studio_is_refused(studio):
    client, _ = studio
    text = "title: sneaky\nmusic: {track: /etc/passwd}\nscenes:\n  - image_prompt: A door\n    duration: 2\n"
    job = client.submit(text, api_name="/render")
    list(job)
    assert not job.status().success
    with pytest.raises(Exception, match="a file path is read only on the command line"):
        job.result()
