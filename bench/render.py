"""Offline render speed, memory and picture quality against the goals of issue 17.

1. 6 scenes × 5 s at 720p, every scene narrated, captions burned in, the bundled music bed on, cold cache,
   process start included: wall time / video length (goal <= 0.2 on two cores).
2. 20 scenes at 1080p, the same features: wall / length (goal <= 0.4) and the peak memory (PSS) of the whole
   process tree (goal <= 400 MB).
3. Picture quality: scene 1's camera move encoded in the default quality and near-losslessly (crf 1) from the
   same frames; SSIM of the first against the second (goal >= 0.98), and the sizes of that clip and of the
   6-scene video against today's (goal <= 1.5×).

Usage: python bench/render.py [--skip-1080p] [--runs N]   (run it quiet; on a shared machine compare ratios)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, run_measured  # noqa: E402

GOAL_RATIO_720P = 0.2
GOAL_RATIO_1080P = 0.4
GOAL_PSS_MB = 400.0
GOAL_SSIM = 0.98
GOAL_SIZE = 1.5
# Today's sizes at the default quality, measured by this bench at commit 01e72b4 (before issue 17's work): the
# 6-scene 720p video with captions and music (3.62-3.65 MB over three runs), and scene 1's clip (slow push-in,
# 120 frames at 720p).
TODAY_VIDEO_BYTES = 3_640_000
TODAY_CLIP_BYTES = 584_952

PROMPTS = [
    ("A cinematic mountain range at sunset, golden light", "slow push in"),
    ("A cyberpunk street at night with neon signs and rain", "pan right"),
    ("Ocean waves crashing on a rocky beach at dawn", "tilt down"),
    ("A lone traveller walks through a misty pine forest", "slow pan left"),
    ("An old lighthouse on a cliff under a starry sky", "zoom out"),
    ("A desert with dunes under a blazing sun", "fast zoom in"),
]
NARRATIONS = [
    "The light changes slowly here, and nobody is in a hurry to see it go.",
    "In this city the rain never stops. It just changes colour.",
    "Listen. The sea has been saying the same thing for a million years.",
    "He walked for hours, and the forest walked with him.",
    "For forty years, the keeper kept the light burning on the edge of the world.",
    "By noon the dunes had moved again, and the old road was gone.",
]


def storyboard(scenes: int, resolution: str) -> dict:
    return {
        "title": f"bench {scenes} scenes {resolution}",
        "resolution": resolution,
        "captions": {"burn_in": True},
        "music": {"track": "bundled:calm"},
        "scenes": [
            {"image_prompt": f"{PROMPTS[i % 6][0]} (shot {i + 1})", "video_prompt": PROMPTS[i % 6][1],
             "audio_script": f"{NARRATIONS[i % 6]} Shot {i + 1}.", "duration": 5}  # fmt: skip
            for i in range(scenes)
        ],
    }


@dataclasses.dataclass
class Rendered:
    wall: float
    peak_mb: float
    length: float
    out: Path
    home: Path
    manifest: dict


def render(scenes: int, resolution: str, work: Path, tag: str = "") -> Rendered:
    home = work / f"home-{scenes}-{resolution}{tag}"
    sb = work / f"sb-{scenes}-{resolution}.json"
    sb.write_text(json.dumps(storyboard(scenes, resolution)))
    out = work / f"out-{scenes}-{resolution}{tag}.mp4"
    env = {**os.environ, "REELSMITH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    wall, peak, code = run_measured([sys.executable, "-m", "pipeline", "render", str(sb), "-o", str(out)], env)
    if code != 0:
        raise SystemExit(f"render failed with exit code {code}")
    manifest = json.loads(out.with_name(out.stem + ".manifest.json").read_text())
    return Rendered(wall, peak, manifest["output"]["duration"], out, home, manifest)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def clip_quality(done: Rendered, work: Path) -> tuple[float, int]:
    """SSIM of scene 1's clip in the default quality against a near-lossless encode (crf 1) of the same frames,
    and the default clip's size in bytes. Both clips are made by the motion provider from the render's picture."""
    from pipeline.cancel import CancelToken
    from pipeline.media.ffmpeg import ffmpeg_exe
    from pipeline.plan import encode_profile
    from pipeline.providers.base import StepContext, VideoRequest
    from pipeline.providers.motion import MotionVideoProvider
    from pipeline.storyboard import Storyboard

    sb = Storyboard.model_validate(done.manifest["storyboard"])
    profile = encode_profile(sb)
    image = next(done.home.rglob(done.manifest["scenes"][0]["steps"]["image"]["sha256"] + ".*"))
    clips = []
    for name, delivery in (("default", profile), ("near-lossless", dataclasses.replace(profile, crf=1))):
        folder = work / f"clip-{name}"
        folder.mkdir()
        request = VideoRequest(image, "bench", sb.scenes[0].video_prompt, 5, profile.width, profile.height, 0, None,
                               "", delivery)  # fmt: skip
        clips.append(MotionVideoProvider().generate(request, StepContext(folder, CancelToken())).path)
    report = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(clips[0]), "-i", str(clips[1]),
                             "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"], capture_output=True, text=True)  # fmt: skip
    found = re.search(r"All:([0-9.]+)", report.stderr)
    if found is None:
        raise SystemExit(f"ffmpeg measured no SSIM: {report.stderr[-500:]}")
    return float(found.group(1)), clips[0].stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-1080p", action="store_true")
    parser.add_argument("--runs", type=int, default=1, help="720p renders (the goal must hold for each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for run in range(args.runs):
            done = render(6, "1280x720", work, tag=f"-{run}")
            ratio = done.wall / done.length
            print(f"render 6 scenes 720p (captions, music): {done.length:.2f} s of video in {done.wall:.2f} s wall "
                  f"-> ratio {ratio:.3f} (goal <= {GOAL_RATIO_720P}: {verdict(ratio <= GOAL_RATIO_720P)}); "
                  f"peak PSS {done.peak_mb:.0f} MB")  # fmt: skip
        size = done.out.stat().st_size
        print(f"video size {size} bytes = {size / TODAY_VIDEO_BYTES:.2f}× today's "
              f"(goal <= {GOAL_SIZE}×: {verdict(size <= GOAL_SIZE * TODAY_VIDEO_BYTES)})")  # fmt: skip
        ssim, clip_bytes = clip_quality(done, work)
        print(f"scene 1 clip: SSIM {ssim:.4f} against near-lossless (goal >= {GOAL_SSIM}: "
              f"{verdict(ssim >= GOAL_SSIM)}); {clip_bytes} bytes = {clip_bytes / TODAY_CLIP_BYTES:.2f}× today's "
              f"(goal <= {GOAL_SIZE}×: {verdict(clip_bytes <= GOAL_SIZE * TODAY_CLIP_BYTES)})")  # fmt: skip
        if not args.skip_1080p:
            done = render(20, "1920x1080", work)
            ratio = done.wall / done.length
            print(f"render 20 scenes 1080p: {done.length:.2f} s of video in {done.wall:.2f} s wall -> ratio "
                  f"{ratio:.3f} (goal <= {GOAL_RATIO_1080P}: {verdict(ratio <= GOAL_RATIO_1080P)}); peak PSS of the "
                  f"process tree {done.peak_mb:.0f} MB (goal <= {GOAL_PSS_MB:.0f}: "
                  f"{verdict(done.peak_mb <= GOAL_PSS_MB)})")  # fmt: skip


if __name__ == "__main__":
    main()
