"""The render as a timeline for editors (`render --timeline`): OpenTimelineIO with the picture, its transitions,
the narration, the music as mixed and a marker per caption; converted by OpenTimelineIO's adapters to FCP XML,
FCP X XML and a CMX 3600 EDL, each read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.media.ffmpeg import read_wav
from tests.media import ffprobe, streams

pytestmark = pytest.mark.slow

FPS = 24
BOARD = """title: Harbour
image: {provider: test-image}
video: {provider: test-video}
voice: {provider: test-voice}
music: {track: "bundled:calm"}
transition: {type: crossfade, seconds: 0.5}
scenes:
  - {image_prompt: A harbour at dawn, audio_script: Good morning. The boats go out., duration: 2}
  - {image_prompt: A lighthouse at dusk, duration: 2, transition: {type: fade_black, seconds: 1}}
  - {image_prompt: A boat at noon, audio_script: And they come home., duration: 3}
"""


def _render(tmp_path: Path, *extra: str) -> Path:
    from pipeline.cli import main

    board = tmp_path / "board.yaml"
    board.write_text(BOARD, encoding="utf-8")
    video = tmp_path / "film.mp4"
    assert main(["render", str(board), "-o", str(video), *extra]) == 0
    return video


def _frames(video: Path) -> int:
    (picture,) = streams(ffprobe(video), "video")
    return int(picture["nb_read_frames"])


def test_the_otio_has_the_scenes_transitions_voices_music_and_caption_markers(tmp_path, test_providers,
                                                                               isolated_home):  # fmt: skip
    import opentimelineio as otio
    import pysubs2

    video = _render(tmp_path, "--timeline", str(tmp_path / "film.otio"))
    timeline = otio.adapters.read_from_file(str(tmp_path / "film.otio"))
    picture, narration, music = timeline.tracks
    frames = _frames(video)
    assert timeline.duration().to_frames() == frames
    assert [c.name for c in picture.find_clips()] == ["Scene 1", "Scene 2", "Scene 3"]
    assert [t.metadata["reelsmith"]["type"] for t in picture if isinstance(t, otio.schema.Transition)] == [
        "crossfade", "fade_black"]  # fmt: skip
    assert len(list(narration.find_clips())) == 2, "the two narrated scenes"

    # Music: one clip of the video's length, the music as mixed (ducked), a WAV of exactly that length.
    (bed,) = music.find_clips()
    assert bed.duration().to_frames() == frames
    path = Path(otio.url_utils.filepath_from_url(bed.media_reference.target_url))
    pcm, rate = read_wav(path)
    assert path.name == "music.wav" and len(pcm) == frames * rate // FPS

    # A marker per caption, where the .srt shows it.
    cues = pysubs2.load(str(video.with_suffix(".srt")))
    marks = list(timeline.tracks.markers)
    assert [m.name.replace("\n", " ") for m in marks] == [c.plaintext.replace("\n", " ") for c in cues]
    for mark, cue in zip(marks, cues):
        assert abs(mark.marked_range.start_time.to_seconds() - cue.start / 1000) <= 1 / FPS


@pytest.mark.parametrize("suffix", [".xml", ".fcpxml", ".edl"])
def test_the_timeline_converts_for_editors_and_reads_back(suffix, tmp_path, test_providers, isolated_home):
    """FCP 7 XML (Premiere, Resolve, Kdenlive), FCP X XML and a CMX 3600 EDL, through OpenTimelineIO's adapters:
    read back, the picture is the three scenes and lasts as long as the video."""
    import opentimelineio as otio
    import pysubs2

    out = tmp_path / f"film{suffix}"
    video = _render(tmp_path, "--timeline", str(out))
    read = otio.adapters.read_from_file(str(out), **({"rate": FPS} if suffix == ".edl" else {}))
    pictures = [t for t in read.tracks if t.kind == otio.schema.TrackKind.Video]
    assert len(pictures) == 1
    assert len(list(pictures[0].find_clips())) == 3
    assert pictures[0].duration().to_frames() == _frames(video)
    if suffix == ".xml":  # the narration, the music and the caption markers come along
        assert sum(len(list(t.find_clips())) for t in read.tracks if t.kind == otio.schema.TrackKind.Audio) == 3
        assert len(read.tracks.markers) == len(pysubs2.load(str(video.with_suffix(".srt"))))


def test_a_timeline_suffix_no_adapter_writes_is_refused_before_the_render(tmp_path, test_providers, isolated_home,
                                                                          capsys):  # fmt: skip
    from pipeline.cli import EXIT_INPUT, main

    board = tmp_path / "board.yaml"
    board.write_text(BOARD, encoding="utf-8")
    assert main(["render", str(board), "-o", str(tmp_path / "film.mp4"), "--timeline", str(tmp_path / "t.aaf")]) == (
        EXIT_INPUT)  # fmt: skip
    assert ".otio" in capsys.readouterr().err and not (tmp_path / "film.mp4").exists()
