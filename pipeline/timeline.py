"""The render as an editable timeline: an OpenTimelineIO file an editor (Resolve, Premiere, Kdenlive) can open.

    write_timeline(result, Path("film.otio"), music=stems["music"])   # CLI: render --timeline film.otio
    write_timeline(result, Path("film.xml"))                          # FCP 7 XML; .fcpxml FCP X; .edl CMX 3600

Tracks: Picture (one clip per scene segment, with a transition at each boundary that is not a cut), Narration (each
scene's voice where the render placed it), Music (one clip of the music as mixed, ducked, the video's length: the
music stem, when the render has a bed and one is given: `music=`), and a marker per caption on the timeline (the
render's own cues, where its .srt puts them; or `captions=`: (start, end, text) in seconds): timeline markers, which
FCP XML carries as the sequence's markers.

The file's format follows its suffix through OpenTimelineIO's adapters (TIMELINE_SUFFIXES): .otio is built in;
FCP XML (.xml), FCP X XML (.fcpxml) and CMX 3600 EDL (.edl) come from the otio-*-adapter packages. An EDL is the
picture's cut list only (its adapter writes the video track, every transition as a dissolve); FCP X XML keeps no
markers of ours.

OpenTimelineIO models a transition as an overlap into the clips' handles, not as a shortening of the track: each
scene's clip ends half an overlap into the outgoing transition and the next begins half an overlap into it, so the
timeline lasts exactly as long as the video (the scenes less their overlaps), and an editor can move every cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import opentimelineio as otio

from pipeline.errors import InputError, Problem
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


# The timeline formats `render --timeline` writes, by suffix: OpenTimelineIO's adapter for each.
TIMELINE_SUFFIXES = {".otio": "otio_json", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml", ".edl": "cmx_3600"}


def caption_marks(result: RenderResult) -> list[tuple[float, float, str]]:
    """The render's captions as (start, end, text) in seconds of the final video (where its .srt has them)."""
    from pipeline.captions.steps import video_caption_cues

    assert result.plan is not None, "a finished render carries its plan"
    outputs = {f"{kind}:{scene.index}": asset for scene in result.scenes
               for kind, asset in scene.outputs.items() if asset is not None}  # fmt: skip
    return [(cue.start, cue.end, cue.text) for cue in video_caption_cues(result.plan, outputs)]


def build_timeline(result: RenderResult, music: Path | None = None,
                   captions: Sequence[tuple[float, float, str]] | None = None) -> otio.schema.Timeline:  # fmt: skip
    """The render's timeline. `music`: the music as mixed (the music stem: pipeline.finish_step.write_stems), a clip
    of the video's length; `captions`: (start, end, text) in seconds, as markers (default: the render's own)."""
    assert result.plan is not None, "a finished render carries its plan"
    fps = result.plan.profile.fps
    boundaries = result.plan.boundaries
    timeline = otio.schema.Timeline(name=result.plan.storyboard.title, global_start_time=_time(0, fps))
    picture = _picture_track(result, boundaries, fps)
    for start, end, text in caption_marks(result) if captions is None else captions:
        timeline.tracks.markers.append(otio.schema.Marker(name=text, marked_range=_range(start * fps, (end - start) * fps, fps),
                                                  color=otio.schema.MarkerColor.YELLOW))  # fmt: skip
    music_track = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    duration = picture.duration().to_frames()
    if music is not None:
        music_track.append(otio.schema.Clip(name="Music (as mixed, ducked under the narration)",
                                            media_reference=_media(music, duration, fps),
                                            source_range=_range(0, duration, fps)))  # fmt: skip
    timeline.tracks.extend([picture, _narration_track(result, boundaries, fps), music_track])
    timeline.metadata["reelsmith"] = {"render_id": result.render_id, "video": str(result.output)}
    return timeline


def timeline_adapter(out: Path) -> str:
    """The OpenTimelineIO adapter that writes `out`, by its suffix; InputError naming the choices otherwise (checked
    before a render starts)."""
    adapter = TIMELINE_SUFFIXES.get(out.suffix.lower())
    if adapter is None:
        raise InputError([Problem("--timeline", f"{out.name} does not end in a timeline format's suffix; use "
                                  + ", ".join(TIMELINE_SUFFIXES))])  # fmt: skip
    if adapter not in otio.adapters.available_adapter_names():
        raise InputError([Problem("--timeline", f"writing {out.suffix} needs OpenTimelineIO's {adapter} adapter, "
                                  "which is not installed; pip install -r requirements.txt")])  # fmt: skip
    return adapter


def write_timeline(result: RenderResult, out: Path, **hooks: Any) -> Path:
    """Write the render's timeline in the format its suffix names (TIMELINE_SUFFIXES)."""
    adapter = timeline_adapter(out)
    otio.adapters.write_to_file(build_timeline(result, **hooks), str(out), adapter_name=adapter)
    return out


def export_timeline(result: RenderResult, out: Path, store: Any, stems: Mapping[str, Path] | None = None) -> Path:
    """The timeline of a finished render at `out`, its Music track a clip of the music stem: the one given in `stems`
    (written by `render --stems`), else written beside the timeline into OUT-stems/ (when the render has music)."""
    music = None
    if result.plan is not None and result.plan.storyboard.music.track != "none" and result.finished_sound is not None:
        if stems is None:
            from pipeline.finish_step import write_stems

            stems = write_stems(result.finished_sound, store, out.with_name(f"{out.stem}-stems"))
        music = stems["music"]
    return write_timeline(result, out, music=music)
