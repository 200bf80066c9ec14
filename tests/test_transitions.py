"""Transitions: the storyboard keys, the plan (cuts add nothing), the picture (only the overlaps re-encoded, the rest
stream copy), the sound (no voice cut or spoken over) and the OpenTimelineIO export."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.credentials import Credentials
from pipeline.errors import InputError
from pipeline.media.ffmpeg import FrameEncoder, ffmpeg_exe, read_wav, write_wav
from pipeline.media.join import join_segments
from pipeline.media.mp4index import read_video_index
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import NARRATION_LEAD, NARRATION_TAIL, samples_for_frames, segment_frames
from pipeline.media.transitions import (
    cut_keyframes,
    join_with_transitions,
    overlap_mixes,
    render_transition,
)
from pipeline.plan import QUALITY_PRESETS, plan_render
from pipeline.steps import plan_steps
from pipeline.storyboard import parse_storyboard, storyboard_schema
from tests.media import frame_at, sound

PROFILE = EncodeProfile(320, 180)
FPS, RATE = PROFILE.fps, PROFILE.audio_rate

STORY = """
title: Three scenes
transition: {type: crossfade, seconds: 0.5}
scenes:
  - {image_prompt: "A red mountain at sunset", audio_script: "The mountain glows red tonight.", duration: 3}
  - {image_prompt: "A blue ocean with waves", audio_script: "Waves roll in.", duration: 3,
     transition: {type: fade_black, seconds: 1}}
  - {image_prompt: "A green forest in fog", audio_script: "The forest is quiet.", duration: 3}
"""


def _cut(text: str) -> str:
    return text.replace("type: crossfade", "type: cut").replace("type: fade_black", "type: cut")


# -- the storyboard keys ------------------------------------------------------------------------------------


def test_a_transition_longer_than_its_scene_allows_is_refused_naming_the_scene():
    with pytest.raises(InputError) as info:
        parse_storyboard(STORY.replace("seconds: 1}", "seconds: 2.8}"))
    message = str(info.value)
    assert message.startswith("Scene 2, duration (scenes[1].duration): lasts 3 seconds") and "in 0.5 + out 2.8" in message


def test_unknown_transition_type_lists_the_allowed_ones():
    with pytest.raises(InputError, match="transition.type: 'wipe' is not allowed; choose one of: cut, crossfade, "
                                         "fade_black"):  # fmt: skip
        parse_storyboard("transition: {type: wipe}\nscenes:\n  - {image_prompt: a}\n")


def test_schema_has_the_project_and_scene_transition():
    schema = storyboard_schema()
    assert "transition" in schema["properties"] and "transition" in schema["$defs"]["Scene"]["properties"]
    assert schema["$defs"]["TransitionSettings"]["properties"]["type"]["enum"] == ["cut", "crossfade", "fade_black"]


# -- the plan ------------------------------------------------------------------------------------------------


def _graph(text: str):
    return plan_steps(plan_render(parse_storyboard(text)), Credentials())


def test_the_studio_offers_every_transition_type_with_a_label():
    from pipeline.transition_plan import transition_choices

    schema = storyboard_schema()["$defs"]["TransitionSettings"]["properties"]["type"]["enum"]
    assert [value for _, value in transition_choices()] == schema == ["cut", "crossfade", "fade_black"]
    assert all(label and label[0].isupper() for label, _ in transition_choices())


def test_cuts_add_no_step_and_no_param():
    graph = _graph(_cut(STORY))
    assert not [s for s in graph if s.kind == "transition"]
    for step in graph:
        assert not {"head", "tail", "overlaps", "transitions"} & set(step.params), step.id


def test_each_overlapping_boundary_is_a_step_from_its_two_segments():
    graph = _graph(STORY)
    transitions = [s for s in graph if s.kind == "transition"]
    # Narrated scenes' captions are drawn into their offline clips (captions are burned in by default).
    assert [(s.id, s.inputs, s.params["type"], s.params["frames"]) for s in transitions] == [
        ("transition:1", ("segment:0", "segment:1"), "crossfade", 12),
        ("transition:2", ("segment:1", "segment:2"), "fade_black", 24),
    ]
    plain = _graph(STORY + "captions: {burn_in: false}\n")
    assert [s.inputs for s in plain if s.kind == "transition"] == [("segment:0", "segment:1"), ("segment:1", "segment:2")]
    assert [s.scene for s in transitions] == [1, 2], "each is the passage into its scene"
    assert graph["segment:1"].params["head"] == 12 and graph["segment:1"].params["tail"] == 24
    assert [(graph[f"mix:{i}"].params["head"], graph[f"mix:{i}"].params["tail"]) for i in range(3)] == [
        (0, 12), (12, 24), (24, 0)]
    assert graph["join"].inputs == ("segment:0", "segment:1", "segment:2", "transition:1", "transition:2",
                                    "soundtrack")  # fmt: skip
    # the clip drawn with its captions is the segment: its GOPs start at both cut points
    assert graph["video:1"].params["overlay"]["head"] == 12 and graph["video:1"].params["overlay"]["tail"] == 24
    # The music and loudness pass lays the mixes out with the overlaps crossfaded; the sound track adds none.
    assert graph["finish"].params["overlaps"] == (12, 24) and "overlaps" not in graph["soundtrack"].params


def test_a_scene_stretches_so_its_narration_fits_between_its_overlaps():
    plain = segment_frames(3, 2.5, FPS)
    between = segment_frames(3, 2.5, FPS, head=12, tail=24)
    assert between - plain == 36
    assert (between - 36) / FPS >= NARRATION_LEAD + 2.5 + NARRATION_TAIL
    assert segment_frames(5, 1.0, FPS, head=12, tail=24) == 120, "a long enough scene keeps its duration"


# -- the picture ---------------------------------------------------------------------------------------------


def _pattern(index: int) -> np.ndarray:
    """A frame that differs between scenes in colour and detail (so blends and copies can be told apart)."""
    yy, xx = np.mgrid[0 : PROFILE.height, 0 : PROFILE.width]
    base = np.array([[200, 40, 40], [40, 60, 210], [30, 170, 60]][index % 3])
    ripple = ((xx // (8 + 4 * index) + yy // 10) % 2 * 40)[..., None]
    return np.clip(base + ripple, 0, 255).astype(np.uint8)


def _segment(path: Path, frames: int, index: int, keyframes: tuple[int, ...], profile: EncodeProfile = PROFILE) -> Path:
    """A segment as the segment step makes it: in the profile, moving, GOPs forced at the cut points."""
    from pipeline.media.transitions import force_keyframes_args

    raw = path.with_suffix(".rgb")
    with open(raw, "wb") as f:
        for n in range(frames):
            f.write(np.roll(_pattern(index), n * 2, axis=1).tobytes())
    from pipeline.media.ffmpeg import x264_args

    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "320x180",
                    "-r", str(FPS), "-i", str(raw), "-vf", "format=yuv420p", *x264_args(profile),
                    *force_keyframes_args(keyframes), str(path)], check=True)  # fmt: skip
    return path


def _framemd5(path: Path) -> list[str]:
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if not line.startswith("#")]


def _silence(path: Path, frames: int) -> Path:
    write_wav(path.with_suffix(".wav"), np.zeros((samples_for_frames(frames, PROFILE), 2), np.int16), RATE)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(path.with_suffix(".wav")), "-c:a", "aac", str(path)],
                   check=True)  # fmt: skip
    return path


FRAMES = [72, 77, 74]
OVERLAPS = [12, 24]


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """Three segments joined with a crossfade (12 frames) and a fade through black (24), and by plain cuts."""
    tmp = tmp_path_factory.mktemp("joined")
    heads, tails = [0, *OVERLAPS], [*OVERLAPS, 0]
    segments = [_segment(tmp / f"s{i}.mp4", n, i, cut_keyframes(n, heads[i], tails[i])) for i, n in enumerate(FRAMES)]
    pieces = [render_transition(segments[i], segments[i + 1], kind, OVERLAPS[i], PROFILE, tmp / f"t{i}.mp4")
              for i, kind in enumerate(["crossfade", "fade_black"])]  # fmt: skip
    out = join_with_transitions(segments, pieces, _silence(tmp / "a.m4a", sum(FRAMES) - sum(OVERLAPS)),
                                tmp / "final.mp4", PROFILE)  # fmt: skip
    (tmp / "cut").mkdir()
    cut = join_segments(segments, _silence(tmp / "b.m4a", sum(FRAMES)), tmp / "cut" / "final.mp4", PROFILE)
    return segments, pieces, out, cut


def test_keyframes_land_on_the_cut_points_and_the_index_reads_them(joined):
    segments, *_ = joined
    index = read_video_index(segments[1])
    assert {12, 77 - 24} <= set(index.keyframes) and index.frames == 77
    # The decode times are the ones ffmpeg reads (its framecrc of a stream copy lists dts first).
    crc = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(segments[1]), "-c", "copy", "-f", "framecrc", "-"],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    dts = [int(line.split(",")[1]) for line in crc.splitlines() if not line.startswith("#")]
    assert dts == list(index.decode_ticks)


def test_only_the_overlapped_frames_are_encoded(joined):
    _, pieces, _, _ = joined
    assert [p.frames for p in pieces] == OVERLAPS
    assert [(p.a_from, p.b_to) for p in pieces] == [(72 - 12, 12), (77 - 24, 24)]


def test_duration_is_the_scenes_less_the_overlaps(joined):
    _, _, out, _ = joined
    assert len(_framemd5(out)) == sum(FRAMES) - sum(OVERLAPS)
    assert read_video_index(out).frames == sum(FRAMES) - sum(OVERLAPS)


def test_frames_away_from_the_boundaries_are_the_copied_segments_bit_for_bit(joined):
    """Against the same segments joined by plain cuts (stream copy): every frame outside an overlap decodes to the
    same bytes, so the middles were copied, not re-encoded."""
    _, _, out, cut = joined
    ours, reference = _framemd5(out), _framemd5(cut)
    starts = np.cumsum([0, *FRAMES])  # each scene's first frame in the cut version
    expected: list[str | None] = []
    for i, n in enumerate(FRAMES):
        head = OVERLAPS[i - 1] if i else 0
        tail = OVERLAPS[i] if i < len(OVERLAPS) else 0
        expected += reference[starts[i] + head : starts[i] + n - tail]
        if tail:
            expected += [None] * tail
    assert len(expected) == len(ours)
    mismatched = [n for n, (a, b) in enumerate(zip(ours, expected)) if b is not None and a != b]
    assert not mismatched and sum(e is not None for e in expected) == len(ours) - sum(OVERLAPS)


def _stream_headers(path: Path) -> str:
    """The H.264 parameter sets (avcC) as Debian's ffprobe reads them."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=extradata",
                          "-show_data", str(path)], check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert "extradata=" in out
    return out


@pytest.mark.parametrize("quality", sorted(QUALITY_PRESETS))
def test_pieces_encode_cheaper_but_with_the_segments_stream_headers(quality, tmp_path):
    """The pieces' encoder analysis differs from the segments' (piece_x264_args), their parameter sets must not:
    the join copies both into one stream under the first segment's headers."""
    profile = EncodeProfile(320, 180, **QUALITY_PRESETS[quality])
    a = _segment(tmp_path / "a.mp4", 24, 0, cut_keyframes(24, 0, 6), profile)
    b = _segment(tmp_path / "b.mp4", 24, 1, cut_keyframes(24, 6, 0), profile)
    piece = render_transition(a, b, "crossfade", 6, profile, tmp_path / "t.mp4")
    assert _stream_headers(piece.path) == _stream_headers(a)


def _means(path: Path, frame: int) -> np.ndarray:
    return frame_at(path, (frame + 0.25) / FPS, 320, 180).reshape(-1, 3).mean(axis=0)


def test_a_crossfade_midpoint_mixes_both_scenes(joined, tmp_path):
    segments, _, out, _ = joined
    a, b = _means(segments[0], 72 - 6), _means(segments[1], 6)
    middle = _means(out, 72 - 12 + 6)
    assert np.all(np.abs(middle - (a + b) / 2) < 0.2 * np.abs(a - b) + 4), (a, b, middle)
    assert np.abs(middle - a).sum() > 30 and np.abs(middle - b).sum() > 30, "neither scene alone"
    _png(out, 72 - 12 + 6, tmp_path / "crossfade.png")


def test_a_fade_through_black_darkens_between_the_scenes(joined, tmp_path):
    segments, _, out, _ = joined
    start = 72 - 12 + 77 - 24  # where scene 3 begins in the joined video
    a, b = _means(segments[1], 77 - 12).mean(), _means(segments[2], 12).mean()
    middle = _means(out, start + 12).mean()
    assert middle < 0.1 * min(a, b), (a, b, middle)  # black at the midpoint
    _png(out, start + 12, tmp_path / "fade_black.png")


def _png(video: Path, frame: int, out: Path) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{(frame + 0.25) / FPS:.4f}", "-i", str(video),
                    "-frames:v", "1", str(out)], check=True)  # fmt: skip
    assert out.stat().st_size > 0


# -- the sound -----------------------------------------------------------------------------------------------


def test_overlapped_mixes_keep_each_voice_whole_and_last_as_long_as_the_picture(tmp_path):
    mixes, voices = [], []
    for i, (n, head, tail) in enumerate(zip(FRAMES, [0, *OVERLAPS], [*OVERLAPS, 0])):
        pcm = np.zeros((samples_for_frames(n, PROFILE), 2), np.int16)
        start = round((NARRATION_LEAD + head / FPS) * RATE)
        end = len(pcm) - round((NARRATION_TAIL + tail / FPS) * RATE)
        pcm[start:end] = (np.sin(np.arange(end - start) * (0.05 + 0.02 * i)) * 9000).astype(np.int16)[:, None]
        write_wav(tmp_path / f"m{i}.wav", pcm, RATE)
        mixes.append(tmp_path / f"m{i}.wav")
        voices.append((start, end, pcm[start:end]))
    track, _ = read_wav(overlap_mixes(mixes, OVERLAPS, PROFILE, tmp_path / "track.wav"))
    assert len(track) == samples_for_frames(sum(FRAMES) - sum(OVERLAPS), PROFILE)
    at = 0
    for i, (start, end, voice) in enumerate(voices):
        assert np.array_equal(track[at + start : at + end], voice), f"scene {i + 1}'s voice is whole and alone"
        at += samples_for_frames(FRAMES[i], PROFILE) - (samples_for_frames(OVERLAPS[i], PROFILE) if i < 2 else 0)


# -- a whole render, offline ---------------------------------------------------------------------------------


def _speech_intervals(samples: np.ndarray, threshold_db: float = -45.0) -> list[tuple[float, float]]:
    """Voiced stretches (20 ms windows above the threshold, pauses under 0.3 s bridged), in seconds."""
    window = RATE // 50
    usable = len(samples) // window * window
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, window)), axis=1))
    voiced = 20 * np.log10(np.maximum(rms, 1e-9)) > threshold_db
    spans: list[list[float]] = []
    for n in np.flatnonzero(voiced):
        t = n / 50
        if spans and t - spans[-1][1] <= 0.3:
            spans[-1][1] = t + 0.02
        else:
            spans.append([t, t + 0.02])
    return [(a, b) for a, b in spans]


@pytest.mark.slow
def test_an_offline_render_with_transitions(tmp_path, small_render):
    import opentimelineio as otio

    from pipeline.runner import render
    from pipeline.timeline import write_timeline
    from tests.media import ffprobe, streams

    sb = parse_storyboard(STORY)
    result = render(sb, tmp_path / "film.mp4")
    frames = [s.frames for s in result.scenes]
    total = sum(frames) - sum(OVERLAPS)
    (video,) = streams(ffprobe(result.output), "video")
    assert abs(int(video["nb_read_frames"]) - total) <= 1 and result.duration == pytest.approx(total / FPS)
    assert result.executed.get("transition") == 2

    # Each scene's voice is in the final sound whole, where its own sound has it, and never in an overlap.
    final = sound(result.output)
    starts = np.cumsum([0, *(f - o for f, o in zip(frames, OVERLAPS))]) / FPS
    overlaps = [(starts[i + 1], starts[i + 1] + o / FPS) for i, o in enumerate(OVERLAPS)]
    spans = _speech_intervals(final)
    for i, scene in enumerate(result.scenes):
        mix, _ = read_wav(scene.mix.path)
        voiced = _speech_intervals(mix.astype(np.float32).mean(axis=1) / 32768)
        own = [(a + starts[i], b + starts[i]) for a, b in voiced]
        heard = [(a, b) for a, b in spans if starts[i] <= a < starts[i] + frames[i] / FPS]
        assert own and len(heard) == len(own), f"scene {i + 1}: its voice, once"
        for (a, b), (c, d) in zip(own, heard):
            assert abs(a - c) <= 0.05 and abs(b - d) <= 0.05, f"scene {i + 1}'s narration is whole: {(a, b)} {(c, d)}"
    for a, b in spans:
        for lo, hi in overlaps:
            assert b <= lo + 0.02 or a >= hi - 0.02, f"a voice at {a:.2f}-{b:.2f} s is in the overlap {lo:.2f}-{hi:.2f}"

    # The timeline: one clip per scene, the video's length.
    otio_path = write_timeline(result, tmp_path / "film.otio")
    timeline = otio.adapters.read_from_file(str(otio_path))
    picture = timeline.tracks[0]
    assert len(list(picture.find_clips())) == len(sb.scenes)
    assert len([t for t in picture if isinstance(t, otio.schema.Transition)]) == 2
    assert timeline.duration().to_frames() == total
    assert len(list(timeline.tracks[1].find_clips())) == 3 and timeline.tracks[2].name == "Music"

    again = render(sb, tmp_path / "again.mp4")
    assert not again.executed and again.cached.get("transition") == 2


def test_laying_out_cut_mixes_is_todays_concatenation_and_scene_starts_take_off_the_overlaps(tmp_path):
    from pipeline.media.join import concat_wavs
    from pipeline.transition_plan import Boundary, lay_out_mixes, scene_starts

    mixes = []
    for i, n in enumerate(FRAMES):
        write_wav(tmp_path / f"m{i}.wav", np.full((samples_for_frames(n, PROFILE), 2), 100 * (i + 1), np.int16), RATE)
        mixes.append(tmp_path / f"m{i}.wav")
    cut = lay_out_mixes(mixes, (0, 0), PROFILE, tmp_path / "laid.wav").read_bytes()
    assert cut == concat_wavs(mixes, tmp_path / "today.wav").read_bytes()
    crossfaded, _ = read_wav(lay_out_mixes(mixes, OVERLAPS, PROFILE, tmp_path / "x.wav"))
    assert len(crossfaded) == samples_for_frames(sum(FRAMES) - sum(OVERLAPS), PROFILE)
    boundaries = [Boundary(0, "crossfade", 12), Boundary(1, "fade_black", 24)]
    assert scene_starts(FRAMES, boundaries) == [0, 72 - 12, 72 - 12 + 77 - 24]


def test_segments_with_keyframes_elsewhere_are_copied_around_wider_pieces(tmp_path):
    """A clip already in the profile (the offline motion provider's, keyframes every 48 frames) is used as it is:
    each transition re-encodes from the keyframe before its overlap to the one after, and the rest is still copy."""
    from pipeline.media.transitions import middle_is_copyable

    frames = [120, 120]
    segments = [_segment(tmp_path / f"g{i}.mp4", n, i, ()) for i, n in enumerate(frames)]
    assert middle_is_copyable(segments[0], 120, 0, 12) and middle_is_copyable(segments[1], 120, 12, 0)
    assert not middle_is_copyable(segments[1], 120, 100, 12), "no keyframe between the cuts: re-encode instead"
    piece = render_transition(segments[0], segments[1], "crossfade", 12, PROFILE, tmp_path / "t.mp4")
    assert (piece.a_from, piece.b_to, piece.frames) == (96, 48, 24 + 48 - 12)
    out = join_with_transitions(segments, [piece], _silence(tmp_path / "a.m4a", 228), tmp_path / "x.mp4", PROFILE)
    ours, a, b = _framemd5(out), _framemd5(segments[0]), _framemd5(segments[1])
    assert len(ours) == 240 - 12
    assert ours[:96] == a[:96] and ours[96 + piece.frames :] == b[48:]


@pytest.mark.slow
def test_render_timeline_flag_writes_an_otio_of_the_video(tmp_path, test_providers):
    import opentimelineio as otio

    from pipeline.cli import main
    from tests.media import ffprobe, streams

    board = tmp_path / "board.yaml"
    board.write_text("image: {provider: test-image}\nvideo: {provider: test-video}\nvoice: {provider: test-voice}\n"
                     "transition: {type: crossfade, seconds: 0.5}\nscenes:\n"
                     "  - {image_prompt: A harbour at dawn, audio_script: Good morning., duration: 2}\n"
                     "  - {image_prompt: A lighthouse at dusk, duration: 2}\n"
                     "  - {image_prompt: A boat at noon, duration: 3}\n", encoding="utf-8")  # fmt: skip
    video, timeline_path = tmp_path / "cli.mp4", tmp_path / "cli.otio"
    assert main(["render", str(board), "-o", str(video), "--timeline", str(timeline_path)]) == 0
    timeline = otio.adapters.read_from_file(str(timeline_path))
    (picture,) = streams(ffprobe(video), "video")
    assert len(list(timeline.tracks[0].find_clips())) == 3
    assert timeline.duration().to_frames() == int(picture["nb_read_frames"])
