"""The render as an editable timeline: an OpenTimelineIO file an editor (Resolve, Premiere, Kdenlive) can open.

    write_timeline(result, Path("film.otio"))          # after a render; CLI: render --timeline film.otio

Tracks: Picture (one clip per scene segment, with a transition at each boundary that is not a cut), Narration (each
scene's voice where the render placed it), Music (empty until a music bed is given: `music=`), and a marker per
caption on the picture track when captions are given (`captions=`: (start, end, text) in seconds).

OpenTimelineIO models a transition as an overlap into the clips' handles, not as a shortening of the track: each
scene's clip ends half an overlap into the outgoing transition and the next begins half an overlap into it, so the
timeline lasts exactly as long as the video (the scenes less their overlaps), and an editor can move every cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import opentimelineio as otio

from pipeline.media.segment import NARRATION_LEAD
from pipeline.result import RenderResult
from pipeline.transition_plan import Boundary, scene_starts

_TRANSITION_TYPES = {"crossfade": otio.schema.TransitionTypes.SMPTE_Dissolve, "fade_black": "Custom_FadeThroughBlack"}


def _time(frames: float, fps: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, fps)


def _range(start: float, duration: float, fps: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, fps), _time(duration, fps))


def _media(path: Path, frames: float, fps: int) -> otio.schema.ExternalReference:
    return otio.schema.ExternalReference(target_url=Path(path).resolve().as_uri(),
                                         available_range=_range(0, frames, fps))


def _picture_track(result: RenderResult, boundaries: Sequence[Boundary], fps: int) -> otio.schema.Track:
    track = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    for i, scene in enumerate(result.scenes):
        head = boundaries[i - 1].frames if i else 0
        tail = boundaries[i].frames if i < len(boundaries) else 0
        start, end = head // 2, scene.frames - tail + tail // 2
        media = _media(scene.segment.path, scene.frames, fps)
        track.append(otio.schema.Clip(name=f"Scene {i + 1}", media_reference=media,
                                      source_range=_range(start, end - start, fps)))
        if tail:
            b = boundaries[i]
            track.append(otio.schema.Transition(
                name=b.type, transition_type=_TRANSITION_TYPES[b.type], in_offset=_time(tail // 2, fps),
                out_offset=_time(tail - tail // 2, fps), metadata={"reelsmith": {"type": b.type, "frames": b.frames}}))
    return track


def _narration_track(result: RenderResult, boundaries: Sequence[Boundary], fps: int) -> otio.schema.Track:
    track = otio.schema.Track(name="Narration", kind=otio.schema.TrackKind.Audio)
    placed = 0.0  # where the track has reached, in frames
    starts = scene_starts([scene.frames for scene in result.scenes], boundaries)
    for i, scene in enumerate(result.scenes):
        if scene.voice is None:
            continue
        head = boundaries[i - 1].frames if i else 0
        start, length = starts[i] + head + NARRATION_LEAD * fps, float(scene.voice.meta["duration"]) * fps
        if start > placed:
            track.append(otio.schema.Gap(source_range=_range(0, start - placed, fps)))
        track.append(otio.schema.Clip(name=f"Scene {i + 1} narration",
                                      media_reference=_media(scene.voice.path, length, fps),
                                      source_range=_range(0, length, fps)))  # fmt: skip
        placed = start + length
    return track


def build_timeline(result: RenderResult, music: Path | None = None,
                   captions: Sequence[tuple[float, float, str]] = ()) -> otio.schema.Timeline:  # fmt: skip
    """The render's timeline. `music`: the music bed as mixed (a hook for the music step; empty track without it);
    `captions`: (start, end, text) in seconds, as markers (a hook for captions)."""
    assert result.plan is not None, "a finished render carries its plan"
    fps = result.plan.profile.fps
    boundaries = result.plan.boundaries
    timeline = otio.schema.Timeline(name=result.plan.storyboard.title, global_start_time=_time(0, fps))
    picture = _picture_track(result, boundaries, fps)
    for start, end, text in captions:
        picture.markers.append(otio.schema.Marker(name=text, marked_range=_range(start * fps, (end - start) * fps, fps),
                                                  color=otio.schema.MarkerColor.YELLOW))  # fmt: skip
    music_track = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    duration = picture.duration().to_frames()
    if music is not None:
        music_track.append(otio.schema.Clip(name="Music", media_reference=_media(music, duration, fps),
                                            source_range=_range(0, duration, fps)))  # fmt: skip
    timeline.tracks.extend([picture, _narration_track(result, boundaries, fps), music_track])
    timeline.metadata["reelsmith"] = {"render_id": result.render_id, "video": str(result.output)}
    return timeline


def write_timeline(result: RenderResult, out: Path, **hooks: Any) -> Path:
    """Write the render's timeline as .otio (OpenTimelineIO's adapters convert it: FCP XML, EDL, ...)."""
    otio.adapters.write_to_file(build_timeline(result, **hooks), str(out))
    return out
