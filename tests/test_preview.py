"""The free preview (pipeline/preview.py): the storyboard transformation, and previews rendered for real: against the
paid providers' wire-level fakes with keys set (not one request), through the CLI and through gradio_client, and a
full offline render afterwards that reuses what the two share."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.errors import InputError
from pipeline.media.ffmpeg import read_wav, write_wav
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import build_scene_audio, segment_frames
from pipeline.preview import PREVIEW_LABEL, for_preview, preview_output, preview_storyboard
from pipeline.runner import render
from pipeline.steps import segment_key
from pipeline.storyboard import Storyboard, parse_storyboard
from tests.media import ffprobe, frame_at, streams
from tests.studio import run_cli
from tests.wire.bfl import SUBMIT, FakeBfl
from tests.wire.elevenlabs import TTS, FakeElevenLabs
from tests.wire.runway import CREATE, FakeRunway

KEYS = {"RUNWAYML_API_SECRET": "canary-preview-runway-51d0", "ELEVENLABS_API_KEY": "canary-preview-eleven-2c77",
        "BFL_API_KEY": "canary-preview-bfl-a913"}  # fmt: skip
# Paid everywhere, with a model and voice ids that belong to the paid providers; one scene longer than a preview's
# 5 s with a narration longer than 5 s, one pinned (approved) image.
PAID = """
title: Paid trip
resolution: 1920x1080
image: {provider: bfl, model: flux-pro-1.1}
video: {provider: runway, require_approval: false}
voice: {provider: elevenlabs, voice_id: 21m00Tcm4TlvDq8ikWAM}
output: {quality: high}
scenes:
  - image_prompt: A red tram in Lisbon
    video_prompt: slow pan right
    audio_script: The tram climbs the hill, past the old cathedral, while the city wakes up below it, one window at a time.
    duration: 8
  - {image_prompt: A harbour at dusk, audio_script: Boats come home., duration: 3, voice_id: pNInz6obpgDQGcFmaJgB}
"""
PINNED = "sha256:" + "ab" * 32


def _paid() -> Storyboard:
    data = parse_storyboard(PAID).model_dump()
    data["scenes"][1]["image"] = PINNED
    return Storyboard.model_validate(data)


# -- the transformation ---------------------------------------------------------------------------------------


def test_a_preview_is_offline_half_size_short_and_marked():
    preview = preview_storyboard(_paid())
    assert preview.providers == {"image": "draft", "video": "motion", "voice": "piper"}
    assert (preview.image.model, preview.voice.model, preview.voice.voice_id) == (None, None, None)
    assert [s.voice_id for s in preview.scenes] == [None, None], "voice ids belong to the paid voice"
    assert preview.resolution == "640x360"
    assert [s.duration for s in preview.scenes] == [5, 3]
    assert preview.output.max_scene_seconds == 5, "a long narration is cut, never lengthening the scene past 5 s"
    assert (preview.output.label, preview.output.quality) == (PREVIEW_LABEL, "draft")
    assert preview.title == "Paid trip-preview"
    # What is the same: the scenes' words and pictures, and an approved image (already paid for, in the store).
    assert [s.audio_script for s in preview.scenes] == [s.audio_script for s in _paid().scenes]
    assert preview.scenes[1].image == PINNED
    if "captions" in Storyboard.model_fields:  # HOOK(captions): the preview burns captions in
        assert preview.captions.burn_in is True  # type: ignore[attr-defined]


def test_vertical_video_previews_vertical_and_an_offline_voice_keeps_its_voice():
    board = Storyboard.model_validate({**_paid().model_dump(), "resolution": "720x1280",
                                       "voice": {"provider": "piper", "voice_id": "joe"}})  # fmt: skip
    preview = preview_storyboard(board)
    assert preview.resolution == "360x640"
    assert preview.voice.voice_id == "joe"


def test_the_preview_file_is_named_beside_the_video(tmp_path):
    assert preview_output(tmp_path / "trip.mp4") == tmp_path / "trip-preview.mp4"
    assert preview_output(tmp_path / "trip-preview.webm") == tmp_path / "trip-preview.webm"
    board, out = for_preview(_paid(), tmp_path / "a.mov")
    assert out.name == "a-preview.mov" and board.output.label == PREVIEW_LABEL


def test_a_label_or_cap_the_engine_cannot_honour_is_named_with_what_is_allowed():
    with pytest.raises(InputError) as info:
        parse_storyboard("output: {label: プレビュー, max_scene_seconds: 1}\nscenes:\n  - image_prompt: a\n")
    assert [str(p) for p in info.value.problems] == [
        "output.label: must be a few plain Latin letters, digits or punctuation, such as PREVIEW or DRAFT (line 1)",
        "output.max_scene_seconds: 1 is below the minimum of 2 seconds (line 1)",
    ]


def test_a_label_is_in_the_segment_key_and_absent_leaves_it_unchanged():
    from pipeline.plan import encode_profile

    profile = encode_profile(_paid())
    plain = segment_key(profile, "c" * 64, 120, False)
    assert segment_key(profile, "c" * 64, 120, False, None) == plain
    assert segment_key(profile, "c" * 64, 120, False, PREVIEW_LABEL) != plain


def test_a_narrated_scenes_label_is_drawn_with_its_captions_in_one_encode():
    """The PREVIEW label of a scene whose captions are burned in is drawn with them, into the camera move's own
    encode (the segment then uses the motion clip as it is, and there is no captioned step), so the scene is
    encoded once; a silent scene's segment still draws it."""
    from pipeline.credentials import Credentials
    from pipeline.plan import plan_render
    from pipeline.steps import plan_steps

    data = _paid().model_dump()
    data["scenes"][1].update(audio_script="", image=None)
    preview = preview_storyboard(Storyboard.model_validate(data))
    steps = {s.id: s for s in plan_steps(plan_render(preview, Credentials({})), Credentials({}))}
    assert steps["segment:0"].params["label"] is None and steps["video:0"].params["overlay"]["label"] == PREVIEW_LABEL
    assert "captioned:0" not in steps and steps["video:0"].inputs == ("image:0", "voice:0")
    assert steps["segment:1"].params["label"] == PREVIEW_LABEL and "captioned:1" not in steps


def test_a_capped_scene_stops_at_the_cap_and_fades_its_narration_out(tmp_path):
    assert segment_frames(5, 6.0, 24, max_seconds=5) == 120, "no stretching past the cap"
    assert segment_frames(3, 1.0, 24, max_seconds=5) == segment_frames(3, 1.0, 24), "what fits is unchanged"
    assert segment_frames(3, 4.5, 24, max_seconds=5) == 120, "stretched, up to the cap"

    profile = EncodeProfile(320, 180)
    voice = tmp_path / "v.wav"
    write_wav(voice, (np.sin(np.arange(22050 * 3) / 10) * 8000).astype(np.int16), 22050)  # 3 s, loud throughout
    samples, _ = read_wav(build_scene_audio(voice, 48, profile, tmp_path / "m.wav"))  # a 2 s scene
    before, tail = (np.abs(samples[-round(s * profile.audio_rate) :]).max() for s in (0.5, 0.01))
    assert before > 1000 and tail < 0.1 * before, "faded out, not cut off (a click)"


# -- rendered ---------------------------------------------------------------------------------------------------


@pytest.fixture
def paid_fakes():
    servers = (FakeBfl(KEYS["BFL_API_KEY"]).start(), FakeRunway(KEYS["RUNWAYML_API_SECRET"]).start(),
               FakeElevenLabs(KEYS["ELEVENLABS_API_KEY"]).start())  # fmt: skip
    yield servers
    for server in servers:
        server.stop()


def _label_text(video: Path, width: int, height: int) -> str:
    """What OCR reads in the top-right corner of the first frame (where the label is drawn)."""
    exe = shutil.which("tesseract")
    assert exe, "tesseract is missing: install Debian's tesseract-ocr (.ci/run does)"
    corner = frame_at(video, 0.5, width, height)[: height // 6, width // 2 :]
    png = video.with_suffix(".corner.png")
    Image.fromarray(np.ascontiguousarray(corner)).resize((corner.shape[1] * 3, corner.shape[0] * 3)).save(png)
    return subprocess.run([exe, str(png), "-", "--psm", "6"], capture_output=True, text=True).stdout


@pytest.mark.slow
def test_the_cli_previews_a_paid_storyboard_without_one_request_even_with_keys(paid_fakes, tmp_path):
    bfl, runway, eleven = paid_fakes
    home, board, out = tmp_path / "home", tmp_path / "board.yaml", tmp_path / "out" / "trip.mp4"
    board.write_text(PAID)
    env = {**KEYS, "BFL_API_URL": bfl.url, "RUNWAYML_BASE_URL": runway.url, "ELEVENLABS_BASE_URL": eleven.url}
    done = run_cli("render", str(board), "-o", str(out), "--preview", home=home, env_extra=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [len(server.requests) for server in paid_fakes] == [0, 0, 0], "a preview never calls a paid provider"
    assert (bfl.count("POST", SUBMIT), runway.count("POST", CREATE), eleven.count("POST", TTS)) == (0, 0, 0)
    assert not out.exists(), "the full render's file is not touched"

    preview = out.with_name("trip-preview.mp4")
    report = ffprobe(preview)
    (video,) = streams(report, "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
    manifest = json.loads(out.with_name("trip-preview.manifest.json").read_text())
    assert [s["duration"] for s in manifest["scenes"]] == [5.0, 3.0], "each scene at most 5 s, long narration cut"
    assert manifest["scenes"][0]["narration_seconds"] > 5.0
    assert float(report["format"]["duration"]) == pytest.approx(8.0, abs=0.1)
    assert manifest["providers"] == {"image": "draft", "video": "motion", "voice": "piper"}
    assert manifest["cost"]["spent_usd"] == 0
    assert json.loads(run_cli("ledger", "--json", home=home).stdout) == [], "nothing in the ledger"
    assert "PREVIEW" in _label_text(preview, 640, 360)


@pytest.mark.slow
def test_a_full_offline_render_after_a_preview_reuses_the_narration_and_the_short_scenes_sound(small_render,
                                                                                                tmp_path):  # fmt: skip
    # The storyboard names ElevenLabs; its offline render (the CLI's --voice-provider piper) and its preview both
    # speak with piper's default voice, so each narration is made once.
    board = _paid().with_providers(image="draft", video="motion")
    data = board.model_dump()
    data["scenes"][1]["image"] = None
    board = Storyboard.model_validate(data)
    preview = render(preview_storyboard(board), tmp_path / "p.mp4")
    assert sum(preview.cached.values()) == 0

    full = render(board.with_providers(voice="piper"), tmp_path / "full.mp4")
    # Shared: both narrations (the paid part of a real render, and most of a preview's time). Not shared: every
    # picture (half size, 12 frames a second), each scene's sound (laid out at the animatic's frame rate; the 8 s
    # scene's is also cut to 5 s), hence the sound track, and the join.
    assert full.cached == {"voice": 2}
    assert full.executed["image"] == 2 and full.executed["segment"] == 2
    assert [s.frames for s in full.scenes][0] > 5 * 24, "the full render keeps the whole narration"


@pytest.mark.slow
def test_the_studio_previews_through_render_preview(launched_studio):
    from gradio_client import Client

    client = Client(launched_studio[0], verbose=False)
    text = PAID.replace("duration: 8", "duration: 2")
    board, image, clip, voice, final, manifest, gallery, captions = client.predict(text, api_name="/render_preview")
    assert "Done" in board
    (video,) = streams(ffprobe(Path(final)), "video")
    assert (video["width"], video["height"]) == (640, 360)
    assert Path(final).name == "Paid trip-preview.mp4"
    assert json.loads(Path(manifest).read_text())["providers"] == {"image": "draft", "video": "motion",
                                                                   "voice": "piper"}  # fmt: skip
