"""SRT and WebVTT text for a list of cues: UTF-8, LF line ends, times rounded to the millisecond.

Our own writer rather than pysubs2: both formats are a dozen lines, and pysubs2 (measured, 1.8.1) converts
through its ASS model, which adds nothing here (tests use it as an independent reader instead).
Output is a pure function of the cues, so the same cues always give the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from pipeline.captions.cues import Cue


def _ms(seconds: float) -> int:
    return max(0, int(round(seconds * 1000)))


def _stamp(seconds: float, sep: str) -> str:
    ms = _ms(seconds)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _clean(line: str) -> str:
    # a blank line would end the cue early in both formats; "-->" would read as a timing line
    return " ".join(line.split()).replace("-->", "→")


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip: numbered blocks `HH:MM:SS,mmm --> HH:MM:SS,mmm` then the lines."""
    blocks = []
    for number, cue in enumerate(cues, 1):
        lines = "\n".join(_clean(line) for line in cue.lines)
        blocks.append(f"{number}\n{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}\n{lines}\n")
    return "\n".join(blocks)


def _vtt_escape(line: str) -> str:
    return _clean(line).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT: the `WEBVTT` header, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` blocks with &, < and > escaped."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        lines = "\n".join(_vtt_escape(line) for line in cue.lines)
        blocks.append(f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}\n{lines}\n")
    return "\n".join(blocks)


def write_captions(cues: Sequence[Cue], video: Path) -> tuple[Path, Path]:
    """`OUT.srt` and `OUT.vtt` beside `video` (OUT.mp4); returns their paths."""
    srt, vtt = video.with_suffix(".srt"), video.with_suffix(".vtt")
    srt.write_text(to_srt(cues), encoding="utf-8", newline="\n")
    vtt.write_text(to_vtt(cues), encoding="utf-8", newline="\n")
    return srt, vtt


def caption_files(manifest: Path) -> list[Path]:
    """The caption files a render's manifest names (output.captions), that exist beside it; none for a manifest
    that is missing or unreadable. Names only are taken from the manifest, never folders."""
    try:
        names = json.loads(manifest.read_text(encoding="utf-8"))["output"].get("captions") or []
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    files = [manifest.with_name(Path(str(name)).name) for name in names]
    return [f for f in files if f.is_file()]
