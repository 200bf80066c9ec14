"""Small pictures of finished videos for the history: one JPEG per render, kept under its owner's own folder.

    thumbnails/<owner folder>/<render id>.jpg     (the folder: a one-way hash of the owner id, never the id itself)

A thumbnail is cut once, when the render is recorded (pipeline/projects.py), or later, the first time the history
lists a render that has none (renders recorded before thumbnails existed, or whose thumbnail was deleted). Two
owners who rendered the very same video each get their own file: a thumbnail path comes only from the owner's own
history rows, and no file is shared between owners.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from pipeline.errors import MediaError

WIDTH = 320  # pixels: sharp in a history card of ~200 CSS px on a 1.5x screen, ~10 kB as JPEG
log = logging.getLogger(__name__)


def owner_folder(home: Path, owner: str) -> Path:
    """Where `owner`'s thumbnails live (not created)."""
    return home / "thumbnails" / hashlib.sha256(b"reelsmith-thumbnails\0" + owner.encode()).hexdigest()[:32]


def thumbnail_path(home: Path, owner: str, render_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in render_id)[:80] or "render"
    return owner_folder(home, owner) / f"{safe}.jpg"


def cut_thumbnail(video: Path, out: Path, duration: float | None = None) -> Path | None:
    """A WIDTH-wide JPEG of a frame a third of the way into `video` (its first frame when that fails); None when
    the video cannot be read. Never raises: a missing thumbnail must not fail a render or the history."""
    from pipeline.media.ffmpeg import run_ffmpeg

    if not video.exists():
        return None
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = out.with_suffix(".part.jpg")
    for at in (round((duration or 3.0) / 3, 2), 0.0):
        try:
            run_ffmpeg(["-ss", str(at), "-i", str(video), "-frames:v", "1", "-vf", f"scale={WIDTH}:-2",
                        "-q:v", "4", str(partial)], what="thumbnail")  # fmt: skip
        except MediaError as exc:
            log.warning("no thumbnail for %s at %s s: %s", video.name, at, exc)
            continue
        if partial.exists() and partial.stat().st_size > 0:
            partial.replace(out)  # whole or absent: a reader never sees half a JPEG
            return out
    partial.unlink(missing_ok=True)
    return None


def placeholder(home: Path) -> Path:
    """The card picture of a project that has no video yet (the same file for everyone: it shows nothing of
    anyone's), drawn once."""
    path = home / "thumbnails" / "not-rendered.png"
    if not path.exists():
        from PIL import Image, ImageDraw

        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        picture = Image.new("RGB", (WIDTH, WIDTH * 9 // 16), (72, 76, 86))
        ImageDraw.Draw(picture).text((WIDTH // 2, WIDTH * 9 // 32), "not rendered yet", fill=(225, 228, 235),
                                     anchor="mm", font_size=22)  # fmt: skip
        partial = path.with_suffix(".part.png")
        picture.save(partial)
        partial.replace(path)
    return path
