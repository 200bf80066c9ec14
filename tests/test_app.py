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
    assert Path(image).suffix == ".png" and "made by offline sketch" in status
    images_before = media_files(home, ".png")
    text, status, approved = client.predict(text, 1, api_name="/approve_image")
    assert "image: sha256:" in text and "approved" in status
    assert Path(approved).read_bytes() == Path(image).read_bytes(), "the approved picture is shown, not its hash"
    clip, status = client.predict(text, 1, api_name="/generate_video")
    assert "image: reused (approved), nothing ran" in status and "video: made by offline camera move" in status
    assert media_files(home, ".png") == images_before, "no second image was made"
    report = ffprobe(Path(clip))
    assert streams(report, "video")[0]["codec_name"] == "h264"
    # A new seed is a new picture, and it is no longer approved.
    _, status, text2 = client.predict(text, 1, True, api_name="/generate_image")
    assert "image: sha256:" not in text2 and "seed:" in text2 and "made by offline sketch" in status


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


# -- the history as a person sees it (issue 15): handler-level, in-process, with the fast test providers ----------

HISTORY_BOARD = """title: Harbour history
image: {provider: test-image}
video: {provider: test-video}
voice: {provider: test-voice}
scenes:
  - {image_prompt: A harbour at dawn, audio_script: Good morning., duration: 2}
"""


def _history_request(name: str):
    import gradio as gr

    return gr.Request(session_hash=f"history-{name}-session", client=None)


def test_the_history_shows_the_empty_state_then_a_card_with_the_videos_thumbnail(test_providers):
    import app

    owner, request = "web-history-card-owner", _history_request("card")
    gallery, empty, details, ids = app.history_view(owner, request)
    assert (gallery["visible"], empty["visible"], details["visible"], ids) == (False, True, False, [])
    assert "No renders yet" in app.history_empty.value and "Render" in app.history_empty.value

    list(app.render(HISTORY_BOARD, "", "", "", 0, {}, owner, "", request))
    gallery, empty, details, ids = app.history_view(owner, request)
    assert (gallery["visible"], empty["visible"], details["visible"]) == (True, False, True)
    [(picture, caption)] = gallery["value"]
    assert Path(picture).parent == app._session_dir(request), "shown from this session's own folder"
    from PIL import Image

    with Image.open(picture) as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.width == 320
    assert caption.startswith("Harbour history — 2.0 s · free · ") and caption.endswith(" UTC")
    [row] = app.history(owner, request)
    assert ids == [row[0]] and row[-1] == 0.0, "the table (the /history API) has the cost too"


def test_clicking_a_history_card_opens_its_project_in_place(test_providers):
    import gradio as gr

    import app

    owner, request = "web-history-open-owner", _history_request("open")
    list(app.render(HISTORY_BOARD, "", "", "", 0, {}, owner, "", request))
    _, _, _, ids = app.history_view(owner, request)
    click = gr.SelectData(app.history_gallery, {"index": 0, "value": None})
    text, project, video, manifest = app.open_picked(ids, owner, click, request)
    assert text == HISTORY_BOARD and project == ids[0] and Path(video).suffix == ".mp4"
    # Someone else's session clicking the same card position opens nothing of this owner's.
    with pytest.raises(gr.Error, match="No such project in your history"):
        app.open_picked(ids, "web-history-someone-else", click, _history_request("other"))
    with pytest.raises(gr.Error, match="no longer in your history"):
        app.open_picked([], owner, click, request)


def test_the_history_refreshes_by_itself_after_every_render_and_preview():
    """The page chains history → history_view after the render and preview events, whether they finish, are
    stopped or fail (Gradio 6's page runs a .then after a success or a Stop, a .failure after an error), and after
    Refresh and the page load: no Refresh needed. Read from the Blocks' own event graph, the one the browser runs."""
    import app

    deps = app.demo.config["dependencies"]
    by_id = {d["id"]: d for d in deps}

    def chained_outputs(api_name: str, on_failure: bool = False) -> set[int]:
        [start] = [d["id"] for d in deps if d["api_name"] == api_name]
        frontier = {d["id"] for d in deps if d["trigger_after"] == start and d["trigger_only_on_failure"] == on_failure
                    and not d["trigger_only_on_success"]}  # fmt: skip
        found: set[int] = set()
        while frontier:
            found |= {o for i in frontier for o in by_id[i]["outputs"]}
            frontier = {d["id"] for d in deps if d["trigger_after"] in frontier}
        return found

    for event, on_failure in [("render", False), ("render", True), ("render_preview", False),
                              ("render_preview", True), ("history", False)]:  # fmt: skip
        outputs = chained_outputs(event, on_failure)
        assert app.history_gallery._id in outputs and app.history_empty._id in outputs, (event, on_failure)
        if event != "history":
            assert app.history_table._id in outputs, (event, on_failure)


# -- words a creator uses (issue 15): handler-level ------------------------------------------------------------


def test_the_form_hides_the_settings_the_storyboards_providers_ignore():
    import app
    from pipeline.scenes import SETTING_FIELDS

    def visible(text: str) -> dict[str, bool]:
        updates = app.form_from_text(text)[2:]
        return {field: update["visible"] for field, update in zip(SETTING_FIELDS, updates)}

    offline = visible("title: t\nscenes:\n  - image_prompt: a harbour\n")
    assert not any(offline[f] for f in ("image.steps", "image.guidance", "image.model", "voice.stability",
                                        "voice.similarity_boost", "video.content_moderation.public_figure_threshold"))
    assert offline["title"] and offline["image.seed"] and offline["image.provider"]
    paid = visible("title: t\nimage: {provider: bfl, model: flux-dev}\nvoice: {provider: elevenlabs}\n"
                   "scenes:\n  - image_prompt: a harbour\n")  # fmt: skip
    assert paid["image.steps"] and paid["image.guidance"] and paid["voice.stability"]
    assert app.form_from_text("title: t\nimage: {provider: bfl}\nscenes:\n  - image_prompt: a\n")[5]["value"] == "bfl"


def test_the_key_boxes_and_provider_dropdowns_speak_a_creators_words():
    import app

    labels = [box.label for box in app.key_boxes]
    assert labels[:4] == ["Runway API key (video clips)", "ElevenLabs API key (narration)",
                          "Black Forest Labs API key (images)", "Hugging Face token (images)"]  # fmt: skip
    assert [box.info for box in app.key_boxes][:2] == ["RUNWAYML_API_SECRET", "ELEVENLABS_API_KEY"], "small print"
    image_dropdown = app.settings[3]
    assert ("offline sketch — free, runs on this server", "draft") in image_dropdown.choices


def test_approve_waits_for_a_picture_and_an_approved_scene_shows_its_picture(test_providers):
    import gradio as gr

    import app

    assert app.approve_btn.interactive is False and app.approve_btn.variant == "secondary"
    assert app.approve_allowed(None) == {"__type__": "update", "interactive": False, "variant": "secondary"}
    assert app.approve_allowed("x.png")["interactive"] is True
    owner, request = "web-approve-owner", gr.Request(session_hash="approve-session", client=None)
    text = HISTORY_BOARD + "  - {image_prompt: A lighthouse at dusk, duration: 2}\n"
    picture, status = app.show_scene_step(text, 1, owner, request)
    assert picture is None and "no image yet" in status
    *_, (made, _, text) = list(app.generate_image(text, 1, False, {}, owner, request))
    text, status, approved = app.approve_image(text, 1, {}, owner, request)
    assert Path(approved).read_bytes() == Path(made).read_bytes() and "approved" in status
    shown, status = app.show_scene_step(text, 1, owner, request)
    assert Path(shown).read_bytes() == Path(made).read_bytes() and "approved image" in status
    assert app.show_scene_step(text, 2, owner, request)[0] is None, "scene 2 has none"
    # Someone else's session pasting this storyboard sees no picture for the pin (it is not theirs).
    assert app.show_scene_step(text, 1, "web-someone-else", gr.Request(session_hash="other", client=None))[0] is None
