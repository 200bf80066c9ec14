"""The scene runner: caching by content key, concurrency, cancellation, failures, events."""

from __future__ import annotations

import threading

import pytest

from pipeline.errors import Cancelled, Rejected
from pipeline.events import RenderCancelled, RenderFailed, RenderFinished, StepCached, StepFinished, StepStarted
from pipeline.runner import iter_render, render
from pipeline.store import Store
from pipeline.storyboard import validate_storyboard
from tests.fakes import storyboard_dict


def _run(sb, out):
    events = []
    result = render(sb, out, on_event=events.append)
    return result, events


def _ran(events):
    """(scene, step) of every step that executed, sorted; the join (scene None) sorts first."""
    return sorted(((-1 if e.scene is None else e.scene), e.step) for e in _started(events))


def _started(events, step=None):
    return [e for e in events if isinstance(e, StepStarted) and (step is None or e.step == step)]


def test_unchanged_rerender_executes_no_step(test_providers, tmp_path):
    sb = validate_storyboard(storyboard_dict(scenes=3))
    first, events = _run(sb, tmp_path / "a.mp4")
    # image, video, voice, segment, mix, captioned per (narrated) scene; finish, soundtrack, join
    assert len(_started(events)) == 3 * 6 + 3
    calls = len(test_providers.calls)

    second, events = _run(sb, tmp_path / "b.mp4")
    assert _started(events) == []
    assert len(test_providers.calls) == calls
    assert sum(second.cached.values()) == 3 * 6 + 3
    assert (tmp_path / "b.mp4").read_bytes() == (tmp_path / "a.mp4").read_bytes()


def test_narration_edit_reruns_only_that_voice_its_mix_and_the_join(test_providers, tmp_path):
    data = storyboard_dict(scenes=3)
    _run(validate_storyboard(data), tmp_path / "a.mp4")
    before = {k: test_providers.count(k) for k in ("image", "video", "voice")}

    data["scenes"][1]["audio_script"] = "hello there 9"  # same length: the picture keeps its frames
    _, events = _run(validate_storyboard(data), tmp_path / "b.mp4")
    # (and its burned-in captions, which show the new words)
    assert _ran(events) == [(-1, "finish"), (-1, "join"), (-1, "soundtrack"), (1, "captioned"), (1, "mix"), (1, "voice")]
    assert test_providers.count("voice") == before["voice"] + 1
    assert test_providers.count("image") == before["image"]
    assert test_providers.count("video") == before["video"]


def test_longer_narration_also_refits_that_scenes_picture(test_providers, tmp_path):
    data = storyboard_dict(scenes=2)
    _run(validate_storyboard(data), tmp_path / "a.mp4")
    data["scenes"][0]["audio_script"] = "a much longer narration that needs more time than two seconds " * 2
    result, events = _run(validate_storyboard(data), tmp_path / "b.mp4")
    assert _ran(events) == [(-1, "finish"), (-1, "join"), (-1, "soundtrack"), (0, "captioned"), (0, "mix"), (0, "segment"),
                            (0, "voice")]  # fmt: skip
    assert result.scenes[0].frames > 2 * 24  # stretched to fit every word


def test_reordering_scenes_reuses_every_generated_asset(test_providers, tmp_path):
    data = storyboard_dict(scenes=3)
    _run(validate_storyboard(data), tmp_path / "a.mp4")
    data["scenes"].reverse()
    _, events = _run(validate_storyboard(data), tmp_path / "b.mp4")
    assert _ran(events) == [(-1, "finish"), (-1, "join"), (-1, "soundtrack")]


def test_identical_scenes_are_generated_once(test_providers, tmp_path):
    data = storyboard_dict(scenes=1)
    data["scenes"] = data["scenes"] * 3
    _run(validate_storyboard(data), tmp_path / "a.mp4")
    assert test_providers.count("image") == 1
    assert test_providers.count("video") == 1
    assert test_providers.count("voice") == 1


def test_scenes_run_concurrently(test_providers, tmp_path):
    # Each image call waits (up to 10 s) until all three are running, and the first voice call until an image is
    # running beside it: a runner that ran them one after another leaves the peaks short, whatever the load.
    test_providers.delay = {"image": 0.4, "voice": 0.4}
    test_providers.together = {"image": 3}
    _run(validate_storyboard(storyboard_dict(scenes=3)), tmp_path / "a.mp4")
    images = [c for c in test_providers.calls if c.kind == "image"]
    assert len(images) == 3
    assert test_providers.peak_by_kind["image"] == 3, "all three image steps were running at one moment"
    voices = [c for c in test_providers.calls if c.kind == "voice"]
    assert min(c.start for c in voices) < max(c.end for c in images), "voice runs beside the images"
    assert test_providers.peak >= 4, "a voice step ran while the three images did"


def test_cancel_stops_queued_work_and_keeps_finished_steps(test_providers, tmp_path):
    test_providers.delay = {"video": 5.0}
    sb = validate_storyboard(storyboard_dict(scenes=2))
    job = iter_render(sb, tmp_path / "a.mp4")
    seen = []
    for event in job:
        seen.append(event)
        if isinstance(event, StepStarted) and event.step == "video":
            job.cancel()
    assert isinstance(seen[-1], RenderCancelled)
    assert isinstance(job.error, Cancelled)
    assert not (tmp_path / "a.mp4").exists()
    assert not any(isinstance(e, StepFinished) and e.step == "video" for e in seen)
    # Cancelling took far less than the 5 s the video step would have needed.
    video_calls = [c for c in test_providers.calls if c.kind == "video"]
    assert all(c.end is None for c in video_calls)

    test_providers.delay = {}
    _, events = _run(sb, tmp_path / "a.mp4")
    cached = {(e.scene, e.step) for e in events if isinstance(e, StepCached)}
    assert {(0, "image"), (1, "image"), (0, "voice"), (1, "voice")} <= cached
    assert test_providers.count("image") == 2


def test_leaving_the_event_stream_cancels_the_render(test_providers, tmp_path):
    test_providers.delay = {"video": 5.0}
    job = iter_render(validate_storyboard(storyboard_dict(scenes=1)), tmp_path / "a.mp4")
    for event in job:
        if isinstance(event, StepStarted) and event.step == "video":
            break
    stream = iter(job)
    stream.close()
    assert job.cancel_token.cancelled


def test_failure_names_scene_step_and_reason_and_keeps_other_scenes(test_providers, tmp_path):
    test_providers.fail = {
        "scene 2": Rejected("the image prompt was refused by moderation", provider="test-image",
                            advice="reword the image prompt")  # fmt: skip
    }
    job = iter_render(validate_storyboard(storyboard_dict(scenes=3)), tmp_path / "a.mp4")
    events = list(job)
    final = events[-1]
    assert isinstance(final, RenderFailed)
    assert final.reason == (
        "scene 3 image: test-image: the image prompt was refused by moderation — reword the image prompt"
    )
    # The other scenes finished and were stored: a re-run after fixing scene 3 pays only for scene 3.
    test_providers.fail = {}
    calls_before = len(test_providers.calls)
    _, again = _run(validate_storyboard(storyboard_dict(scenes=3)), tmp_path / "a.mp4")
    ran = {(e.scene, e.step) for e in _started(again) if e.step in ("image", "video", "voice")}
    assert ran == {(2, "image"), (2, "video")}
    assert len(test_providers.calls) == calls_before + 2


def test_events_stream_in_order_and_finish_with_the_result(test_providers, tmp_path):
    job = iter_render(validate_storyboard(storyboard_dict(scenes=2)), tmp_path / "a.mp4")
    events = list(job)
    assert events[0].type == "RenderStarted"
    assert isinstance(events[-1], RenderFinished)
    assert job.result is not None and job.result.output.exists()
    for scene in (0, 1):
        order = [e.step for e in events if isinstance(e, StepFinished) and e.scene == scene]
        assert order.index("image") < order.index("video") < order.index("segment")
        assert order.index("voice") < order.index("mix")
    order = [(e.scene, e.step) for e in events if isinstance(e, StepFinished)]
    assert order.index((None, "soundtrack")) < order.index((None, "join"))
    first_preview = next(e for e in events if isinstance(e, StepFinished))
    assert first_preview.media in ("image", "audio") and first_preview.path


def test_cache_index_never_holds_pickles(test_providers, tmp_path, isolated_home):
    _run(validate_storyboard(storyboard_dict(scenes=1)), tmp_path / "a.mp4")
    store = Store(isolated_home)
    keys = list(store.index.iterkeys())
    assert keys
    for key in keys:
        record = store.index.get(key)
        if key.startswith("media/"):  # a stored file's own record (for find): its bytes' hash, size and mtime
            assert isinstance(record, dict) and set(record) == {"sha256", "size", "mtime_ns"}
        else:
            assert isinstance(record, dict) and set(record) == {"sha256", "path", "size", "mtime_ns", "meta"}
    store.close()


def test_a_missing_media_file_is_regenerated_not_served(test_providers, tmp_path):
    sb = validate_storyboard(storyboard_dict(scenes=1))
    result, _ = _run(sb, tmp_path / "a.mp4")
    result.scenes[0].image.path.unlink()
    _, events = _run(sb, tmp_path / "b.mp4")
    assert [(e.scene, e.step) for e in _started(events)] == [(0, "image")]


def test_progress_callback_may_come_from_threads(test_providers, tmp_path):
    names = set()
    render(validate_storyboard(storyboard_dict(scenes=1)), tmp_path / "a.mp4",
           on_event=lambda e: names.add(threading.current_thread().name))  # fmt: skip
    assert names


@pytest.mark.parametrize("scenes", [1, 4])
def test_manifest_lists_every_scene_and_cache_hits(test_providers, tmp_path, scenes):
    import json

    result, _ = _run(validate_storyboard(storyboard_dict(scenes=scenes)), tmp_path / "a.mp4")
    manifest = json.loads(result.manifest.read_text())
    assert result.manifest == tmp_path / "a.manifest.json"
    assert len(manifest["scenes"]) == scenes
    assert manifest["output"]["duration"] == pytest.approx(result.duration)
    assert manifest["stats"]["executed"]["image"] == scenes


@pytest.mark.parametrize(
    "fmt, vcodec, acodec",
    [("mp4", "h264", "aac"), ("mov", "h264", "aac"), ("webm", "vp9", "opus")],
)
def test_output_formats(test_providers, tmp_path, fmt, vcodec, acodec):
    from tests.media import ffprobe, streams

    sb = validate_storyboard(storyboard_dict(scenes=2, output={"format": fmt}))
    result, _ = _run(sb, tmp_path / f"a.{fmt}")
    report = ffprobe(result.output)
    (video,) = streams(report, "video")
    (audio,) = streams(report, "audio")
    assert (video["codec_name"], audio["codec_name"]) == (vcodec, acodec)
    assert float(report["format"]["duration"]) == pytest.approx(result.duration, abs=0.1)


@pytest.mark.slow
@pytest.mark.full_size
def test_watermark_is_burnt_into_the_picture_and_keyed(test_providers, tmp_path):
    import numpy as np

    from tests.media import frame_at

    plain, _ = _run(validate_storyboard(storyboard_dict(scenes=1)), tmp_path / "a.mp4")
    marked, events = _run(validate_storyboard(storyboard_dict(scenes=1, output={"watermark": True})),
                          tmp_path / "b.mp4")  # fmt: skip
    # only the picture's segment, its captions burned in again over it, and the join change
    assert _ran(events) == [(-1, "join"), (0, "captioned"), (0, "segment")]
    a = frame_at(plain.output, 1.0, 1280, 720).astype(int)
    b = frame_at(marked.output, 1.0, 1280, 720).astype(int)
    corner = np.abs(a[-80:, -360:] - b[-80:, -360:]).mean()
    elsewhere = np.abs(a[:300, :600] - b[:300, :600]).mean()
    assert corner > 5 and elsewhere < 2


def _truncate(path, keep: float = 0.3) -> None:
    """Damage a stored file as a full disk or a killed copy would: its tail is gone."""
    with open(path, "r+b") as f:
        f.truncate(int(path.stat().st_size * keep))


def test_damaged_stored_files_are_made_again_with_a_warning_and_the_output_is_whole(test_providers, tmp_path,
                                                                                    isolated_home):
    import json

    from pipeline.events import StepWarning
    from tests.media import ffprobe, streams

    data = storyboard_dict(scenes=2)
    data["scenes"][1]["audio_script"] = "a narration longer than the two seconds of its scene " * 2
    sb = validate_storyboard(data)
    first, _ = _run(sb, tmp_path / "a.mp4")
    assert first.scenes[1].segment.path != first.scenes[1].video.path  # held its last frame: a file of its own
    _truncate(first.scenes[0].video.path)
    _truncate(first.scenes[1].segment.path)
    final = json.loads(first.manifest.read_text())["output"]["sha256"]
    _truncate(isolated_home / "media" / final[:2] / f"{final}.mp4")  # the stored final video
    videos = test_providers.count("video")

    second, events = _run(sb, tmp_path / "b.mp4")
    warned = {(e.scene, e.step) for e in events if isinstance(e, StepWarning)}
    assert warned == {(0, "video"), (1, "segment"), (None, "join")}
    warning = next(e.message for e in events if isinstance(e, StepWarning) and e.step == "video")
    assert warning.startswith("the stored video was damaged (") and warning.endswith("); made again")
    # Exactly the damaged steps ran again; each re-made file has its old bytes, so nothing downstream changed key.
    assert _ran(events) == [(-1, "join"), (0, "video"), (1, "segment")]
    assert test_providers.count("video") == videos + 1
    assert (second.scenes[0].video.sha256, second.scenes[1].segment.sha256) == (
        first.scenes[0].video.sha256, first.scenes[1].segment.sha256)  # fmt: skip
    duration = json.loads(second.manifest.read_text())["output"]["duration"]
    (video,) = streams(ffprobe(second.output), "video")
    assert int(video["nb_read_frames"]) == round(duration * 24)
    assert (tmp_path / "b.mp4").read_bytes() == (tmp_path / "a.mp4").read_bytes()



def test_a_damaged_pinned_image_is_reported_like_a_missing_one(test_providers, tmp_path, isolated_home):
    from PIL import Image

    from pipeline.errors import InputError
    from pipeline.scenes import upload_image

    src = tmp_path / "mine.png"
    Image.new("RGB", (640, 360), (200, 30, 30)).save(src)
    sb = upload_image(validate_storyboard(storyboard_dict(scenes=1)), 1, src, owner="cli")
    with Store(isolated_home) as store:
        pinned = store.find(sb.scenes[0].image.removeprefix("sha256:"))
    _truncate(pinned)
    with pytest.raises(InputError, match=r"Scene 1, image \(scenes\[0\]\.image\): the approved image is no longer in the store"):
        render(sb, tmp_path / "a.mp4")
    assert test_providers.count("video") == 0, "no clip was made from the damaged picture"


def test_steps_remove_their_work_folders_and_release_their_locks_even_when_one_fails(test_providers, tmp_path,
                                                                                    isolated_home):
    test_providers.fail = {"scene 1": Rejected("refused", provider="test-image")}
    with Store(isolated_home) as store:
        with pytest.raises(Rejected):
            render(validate_storyboard(storyboard_dict(scenes=2)), tmp_path / "a.mp4", store=store)
        assert list((isolated_home / "work").iterdir()) == []
        assert store._workdir_locks == {}, "every lock taken for a step was released"


def test_a_render_releases_each_provider_once_its_steps_are_done(test_providers, tmp_path):
    """The voice model is dropped as soon as the last narration is spoken, while pictures are still being made
    (Provider.release), so its memory is the encoders' for the rest of the render."""
    test_providers.delay = {"video": 0.5}
    _run(validate_storyboard(storyboard_dict(3)), tmp_path / "out.mp4")
    released = dict(test_providers.released)
    assert sorted(k for k, _ in test_providers.released) == ["image", "video", "voice"], "each released once"
    voices = [c for c in test_providers.calls if c.kind == "voice"]
    videos = [c for c in test_providers.calls if c.kind == "video"]
    assert released["voice"] >= max(c.end for c in voices)
    assert released["voice"] < max(c.end for c in videos), "released while pictures were still being made"
    assert released["video"] >= max(c.end for c in videos)
