"""Offline video provider `motion`: a camera move over the still image, read from the motion prompt.

The move is a sub-pixel affine warp per frame (OpenCV) with an ease-in-out curve, so it glides with no jitter;
frames stream into x264 in the delivery profile, so the segment step can use the clip without re-encoding. A
draft picture's slate (`VideoRequest.slate`) is drawn into each frame after the move, at the top edge. With
`generate_overlaid` the clip is a narrated scene's whole segment: its length, its captions drawn in after the
move, GOPs at the cut points (the scene's one encode; pipeline/captions/steps.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from pipeline.media.ffmpeg import FrameEncoder, rgb_to_yuv420
from pipeline.providers.base import StepContext, StepOutput, VideoProvider, VideoRequest, register


@dataclass(frozen=True)
class CameraMove:
    """Zoom is magnification (1 = the whole frame); pan is where the view travels, -1..1 of the free margin."""

    zoom_from: float
    zoom_to: float
    pan_x: float
    pan_y: float
    label: str


# Phrases → (zoom direction, pan x, pan y). Order matters: longer phrases first.
_PHRASES: list[tuple[str, str]] = [
    (r"\b(zoom(s|ing)? out|pull(s|ing)? (back|out|away)|dolly (out|back)|move(s)? away|widen(s|ing)?|reveal(s|ing)?)\b", "out"),
    (r"\b(zoom(s|ing)?( in)?|push(es|ing)? in|dolly( in)?|move(s)? (closer|in)|approach(es|ing)?|close[- ]?up)\b", "in"),
    (r"\b(pan(s|ning)?|truck(s|ing)?|track(s|ing)?|slide(s|ing)?|move(s)?|drift(s|ing)?)( the camera)? left\b", "left"),
    (r"\b(pan(s|ning)?|truck(s|ing)?|track(s|ing)?|slide(s|ing)?|move(s)?|drift(s|ing)?)( the camera)? right\b", "right"),
    (r"\b(tilt(s|ing)? up|pan(s|ning)? up|crane(s|ing)? up|pedestal up|rise(s)?|rising|ascend(s|ing)?)\b", "up"),
    (r"\b(tilt(s|ing)? down|pan(s|ning)? down|crane(s|ing)? down|pedestal down|descend(s|ing)?|sink(s|ing)?)\b", "down"),
    (r"\b(static|still|locked[- ]off|locked|no (camera )?movement|tripod)\b", "static"),
    (r"\b(tracking shot|drone|aerial|flyover|fly(ing)? over|sweep(s|ing)?)\b", "glide"),
]
_SLOW = r"\b(slow(ly)?|gentle|gently|subtle|calm|soft(ly)?|gradual(ly)?|lingering)\b"
_FAST = r"\b(fast|quick(ly)?|rapid(ly)?|dynamic|swift(ly)?|energetic|dramatic)\b"


def parse_camera_move(prompt: str) -> CameraMove:
    """Read the camera move from a motion prompt; the default is a gentle push-in."""
    text = prompt.lower()
    found = [what for pattern, what in _PHRASES if re.search(pattern, text)]
    speed = 1.0
    if re.search(_SLOW, text):
        speed = 0.5
    if re.search(_FAST, text):
        speed = 2.0
    if "static" in found and len(found) == 1:
        return CameraMove(1.0, 1.0, 0.0, 0.0, "static")
    found = [f for f in found if f != "static"]
    if "in" in found and "out" in found:
        found.remove("in")  # "zoom out" also matched the bare "zoom"
    pan_x = (1.0 if "right" in found else 0.0) - (1.0 if "left" in found else 0.0)
    pan_y = (1.0 if "down" in found else 0.0) - (1.0 if "up" in found else 0.0)
    if "glide" in found and not (pan_x or pan_y):
        pan_x = 1.0
    zoom_amount = 0.12 * speed
    # Room to travel without showing an edge; fast pans travel further but keep the title-safe area in view.
    pan_zoom = 1.0 + {0.5: 0.05, 1.0: 0.10, 2.0: 0.16}[speed]
    labels: list[str] = []
    if "out" in found:
        z0, z1 = 1.0 + zoom_amount, 1.0
        labels.append("zoom out")
    elif "in" in found or not (pan_x or pan_y):
        z0, z1 = 1.0, 1.0 + zoom_amount
        labels.append("push in" if "in" in found else "gentle push-in")
    else:
        z0 = z1 = pan_zoom
    if pan_x or pan_y:
        lift = max(0.0, pan_zoom - min(z0, z1))
        z0, z1 = z0 + lift, z1 + lift
        labels.append(
            "pan " + "-".join(d for d, on in (("up", pan_y < 0), ("down", pan_y > 0), ("left", pan_x < 0), ("right", pan_x > 0)) if on)
        )
    tempo = {0.5: "slow ", 2.0: "fast ", 1.0: ""}[speed]
    if labels == ["gentle push-in"]:
        tempo = "" if speed == 1.0 else tempo
    return CameraMove(round(z0, 4), round(z1, 4), pan_x, pan_y, tempo + " + ".join(labels))


def ease_in_out(t: np.ndarray | float) -> Any:
    return t * t * (3.0 - 2.0 * t)


def camera_path(move: CameraMove, frames: int) -> np.ndarray:
    """Per frame (zoom, centre x, centre y), centres in frame units (0..1). Continuous, so no jitter."""
    t = ease_in_out(np.linspace(0.0, 1.0, frames)) if frames > 1 else np.zeros(1)
    zoom = move.zoom_from + (move.zoom_to - move.zoom_from) * t
    margin = (1.0 - 1.0 / zoom) / 2.0 * 0.96  # how far the view may travel off-centre at this zoom
    cx = 0.5 + move.pan_x * margin * (2.0 * t - 1.0)
    cy = 0.5 + move.pan_y * margin * (2.0 * t - 1.0)
    return np.stack([zoom, cx, cy], axis=1)


def _load_cover(path, width: int, height: int, max_zoom: float) -> np.ndarray:
    """The image as RGB, cover-fitted to the frame's aspect; a larger image keeps up to max_zoom × detail."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        cover = max(width / im.width, height / im.height)  # scale at which the image just covers the frame
        scale = min(1.0, cover * max_zoom) if cover < 1.0 else cover
        target_w, target_h = round(width * scale / cover), round(height * scale / cover)
        resized = im.resize((max(target_w, round(im.width * scale)), max(target_h, round(im.height * scale))), Image.LANCZOS)
        left, top = (resized.width - target_w) // 2, (resized.height - target_h) // 2
        return np.asarray(resized.crop((left, top, left + target_w, top + target_h)))


def _slate_frame(text: str, profile: Any) -> Any:
    """A draft picture's slate (pipeline/providers/draft/title_card.py), shown on every frame."""
    from pipeline.captions.render import CueFrame, CueImage
    from pipeline.providers.draft.title_card import slate_image

    image, x, y = slate_image(text, profile.width, profile.height)
    return CueFrame(0.0, 1e9, CueImage(image, x, y))


@register
class MotionVideoProvider(VideoProvider):
    name = "motion"
    label = "Camera-motion renderer (offline)"
    display_name = "offline camera move"
    version = "2"
    default_model = "motion-v1"
    models = ("motion-v1",)
    max_concurrency = 1

    def cache_fields(self, request: VideoRequest) -> dict[str, Any]:
        # Only the parsed move changes the picture: rewording a prompt into the same move reuses the clip.
        return {
            "image_sha256": request.image_sha256,
            "camera": asdict(parse_camera_move(request.prompt)),
            "duration": request.duration,
            "size": [request.width, request.height],
            "delivery": request.delivery.id,
            **({"slate": request.slate} if request.slate else {}),  # only when drawn: other clips keep their keys
        }

    draws_overlays = True

    def generate(self, request: VideoRequest, ctx: StepContext) -> StepOutput:
        slate = [_slate_frame(request.slate, request.delivery)] if request.slate else []
        return self._render(request, ctx, round(request.duration * request.delivery.fps), slate, ())

    def generate_overlaid(self, request: VideoRequest, ctx: StepContext, frames: int, overlays: Sequence[Any],
                          keyframes: Sequence[int] = ()) -> StepOutput:  # fmt: skip
        """A scene's segment in one encode: the move over the requested duration, its last frame held for a
        longer narration, the captions (and label) drawn in after the move, GOPs starting at the cut points."""
        return self._render(request, ctx, frames, overlays, keyframes)

    def _render(self, request: VideoRequest, ctx: StepContext, frames: int, overlays: Sequence[Any],
                keyframes: Sequence[int]) -> StepOutput:  # fmt: skip
        import cv2

        from pipeline.captions.burn import Overlays

        # One warp is ~2 ms of work: OpenCV's thread pool only adds sync overhead while x264 holds both cores.
        cv2.setNumThreads(1)
        profile = request.delivery
        width, height = profile.width, profile.height
        move = parse_camera_move(request.prompt)
        max_zoom = max(move.zoom_from, move.zoom_to)
        # The still is converted to the delivery colour space once; each frame warps its three planes.
        planes = rgb_to_yuv420(_load_cover(request.image_path, width, height, max_zoom))
        k = planes[0].shape[1] / width  # source pixels per frame pixel at zoom 1
        src_w, src_h = planes[0].shape[1], planes[0].shape[0]
        out = ctx.workdir / "clip.mp4"
        path = camera_path(move, round(request.duration * profile.fps))  # past its end: its last frame, held
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        drawn = Overlays(overlays, profile.fps, width, height)  # after the move: they stay put whatever the camera does
        ctx.progress(0.0, f"camera: {move.label}")
        with FrameEncoder(out, profile, ctx.cancel, planar=True, keyframes=keyframes, encoders=ctx.encoders) as encoder:
            for i in range(frames):
                zoom, cx, cy = path[min(i, len(path) - 1)]
                s = k / zoom
                # Inverse map (frame pixel → source pixel), pixel centres aligned.
                tx = cx * src_w - (width / 2.0) * s + 0.5 * s - 0.5
                ty = cy * src_h - (height / 2.0) * s + 0.5 * s - 0.5
                luma = np.array([[s, 0.0, tx], [0.0, s, ty]])
                # The same move on the half-size chroma planes (chroma sample u sits at luma 2u + 0.5).
                chroma = np.array([[s, 0.0, (0.5 * s + tx - 0.5) / 2], [0.0, s, (0.5 * s + ty - 0.5) / 2]])
                y, u, v = encoder.planar_frame()  # warped straight into the encoder's buffer: no copies
                cv2.warpAffine(planes[0], luma, (width, height), dst=y, flags=flags, borderMode=cv2.BORDER_REFLECT)
                for plane, out_plane in ((planes[1], u), (planes[2], v)):
                    cv2.warpAffine(plane, chroma, (width // 2, height // 2), dst=out_plane, flags=flags,
                                   borderMode=cv2.BORDER_REFLECT)  # fmt: skip
                drawn.blend(i, y, u, v)
                encoder.write_planar_frame()
                ctx.progress((i + 1) / frames)
        return StepOutput(
            out, {"profile": profile.id, "frames": frames, "duration": frames / profile.fps, "camera": move.label}
        )
