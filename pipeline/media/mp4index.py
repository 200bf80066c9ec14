"""Where the keyframes of an MP4's video track are, and the timestamps ffmpeg reads them at, from the file's tables.

    index = read_video_index(Path("segment.mp4"))
    index.keyframes                  # frame numbers (0-based, in presentation order) that start a closed GOP
    index.dts_seconds(k)             # when ffmpeg's demuxer reads frame k's packet (what the concat's outpoint tests)

A transition's join cuts segments on keyframes by stream copy; it needs both numbers exactly, and reading them from
the sample tables (stss, stts, ctts, elst) costs a few kilobytes of reading instead of an ffprobe process per
segment (imageio-ffmpeg ships no ffprobe). Our segments are constant-frame-rate, closed-GOP H.264 from x264, so a
frame's presentation number equals its decode number for every keyframe.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from pipeline.errors import MediaError

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


@dataclass(frozen=True)
class VideoIndex:
    frames: int
    timescale: int
    keyframes: tuple[int, ...]  # 0-based frame numbers of the sync samples
    decode_ticks: tuple[int, ...]  # each frame's decode time in track ticks, as ffmpeg reads it (edit list applied)

    def dts_seconds(self, frame: int) -> float:
        return self.decode_ticks[frame] / self.timescale

    def keyframe_at_or_before(self, frame: int) -> int:
        return max(k for k in self.keyframes if k <= frame)

    def keyframe_at_or_after(self, frame: int) -> int | None:
        """The first keyframe at or after `frame`; None when there is none before the end."""
        return min((k for k in self.keyframes if k >= frame), default=None)


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in [start, end)."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", f.read(8))[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise MediaError("the MP4 file has a malformed box")
        yield kind, pos + header, pos + size
        pos += size


def _find_video_tables(f: BinaryIO, start: int, end: int, found: dict[bytes, bytes], trak: dict) -> None:
    for kind, body, stop in _boxes(f, start, end):
        if kind == b"trak":
            tables: dict[bytes, bytes] = {}
            _find_video_tables(f, body, stop, tables, trak)
            if tables.get(b"hdlr", b"")[8:12] == b"vide" and not found:
                found.update(tables)
        elif kind in _CONTAINERS:
            _find_video_tables(f, body, stop, found, trak)
        elif kind in (b"hdlr", b"mdhd", b"stts", b"ctts", b"stss", b"elst"):
            f.seek(body)
            found[kind] = f.read(stop - body)


def read_video_index(path: Path) -> VideoIndex:
    """The keyframes and decode times of the first video track of an MP4/MOV file (MediaError if unreadable)."""
    tables: dict[bytes, bytes] = {}
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            _find_video_tables(f, 0, f.tell(), tables, {})
    except (OSError, struct.error) as exc:
        raise MediaError(f"cannot read the frame index of {Path(path).name}: {exc}") from None
    if b"stts" not in tables or b"mdhd" not in tables:
        raise MediaError(f"{Path(path).name} has no video track index")
    return _index(tables)


def _entries(body: bytes, width: int) -> list[tuple[int, ...]]:
    count = struct.unpack(">I", body[4:8])[0]
    fmt = ">" + "I" * width
    return [struct.unpack_from(fmt, body, 8 + i * 4 * width) for i in range(count)]


def _index(tables: dict[bytes, bytes]) -> VideoIndex:
    mdhd = tables[b"mdhd"]
    timescale = struct.unpack_from(">I", mdhd, 20 if mdhd[0] == 1 else 12)[0]
    dts, t = [], 0
    for count, delta in _entries(tables[b"stts"], 2):
        for _ in range(count):
            dts.append(t)
            t += delta
    frames = len(dts)
    if b"stss" in tables:
        keyframes = tuple(n - 1 for (n,) in _entries(tables[b"stss"], 1))
    else:  # no sync table: every sample is a sync sample
        keyframes = tuple(range(frames))
    shift = 0
    if b"elst" in tables:
        elst = tables[b"elst"]
        version = elst[0]
        if struct.unpack(">I", elst[4:8])[0]:
            shift = struct.unpack_from(">q" if version == 1 else ">i", elst, 8 + (8 if version == 1 else 4))[0]
    return VideoIndex(frames, timescale, keyframes, tuple(d - max(shift, 0) for d in dts))
