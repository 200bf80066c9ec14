"""Which music a render may play: the storyboard's `music.track`, resolved for the render's owner.

    none | bundled:<mood> | sha256:<hex> (music the owner uploaded in the studio) | a file path (command line only)

A path is opened by the server. On a public Space a stranger could write `track: /etc/passwd` or
`track: <REELSMITH_HOME>/server.secret` and get those bytes back, decoded as sound, in the mix and the stems (or
learn from the error whether a file exists). So only the command line's owner ("cli": whoever runs it can read
those files anyway) may name a path. Studio and API owners upload the file instead: it is decoded here (audio
demuxers only, no playlists that could reach other files or the network), stored by content hash and recorded as
theirs, and a render resolves `sha256:<hex>` only for its owner, as a pinned image is resolved (pipeline/owners.py).
A refusal never names the path or says whether anything is there.
"""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import InputError
from pipeline.media.beds import BED_RATE, MOODS, bed_key, bundled_bed
from pipeline.media.ffmpeg import ffmpeg_exe, read_wav, write_wav
from pipeline.media.music import RATE, MusicBed, load_music, music_source, to_float
from pipeline.owners import CLI_OWNER, OwnedImages
from pipeline.services import Services, services_for_call
from pipeline.store import Store, file_sha256, step_key
from pipeline.storyboard import Storyboard

UPLOAD_VERSION = "1"
# An uploaded bed longer than this is cut here (it loops with a crossfade like any bed): 5 min of 48 kHz stereo is
# 58 MB as int16, and the whole bed is held in memory while it is fitted.
MAX_UPLOAD_SECONDS = 300
# Demuxers an upload may be read with: audio files only. Not hls/concat/ffconcat, which read other files or URLs.
AUDIO_DEMUXERS = "wav,w64,mp3,flac,ogg,mov,mp4,m4a,matroska,webm,aac,aiff"
UPLOAD_SUFFIX = ".wav"


@dataclass(frozen=True)
class MusicTrack:
    """A track this render may play: `identity` enters the finish step's key (it changes when the sound does);
    `path` is the file to decode (None for none and for a bundled bed)."""

    track: str
    identity: str
    path: Path | None = None


def is_path(track: str) -> bool:
    return track not in ("", "none") and not track.startswith(("bundled:", "sha256:"))


def track_identity(track: str) -> str:
    """The key material of a track: its name for none and a bundled bed (with the bed's version), the content
    hash of an upload or a file. Reads a path's file: call `resolve_track` first wherever the owner is not the CLI."""
    if track in ("", "none"):
        return "none"
    if track.startswith("bundled:"):
        return bed_key(track.removeprefix("bundled:"))
    if track.startswith("sha256:"):
        return f"upload-{track.removeprefix('sha256:')}"
    path = Path(track)
    if not path.is_file():
        raise InputError("music.track: no music file at that path")
    return f"file-{file_sha256(path)}"


def resolve_track(track: str, owner: str, store: Store, owned: OwnedImages) -> MusicTrack:
    """The track `owner` asked for, or an InputError naming music.track when they may not play it."""
    if track in ("", "none") or track.startswith("bundled:"):
        return MusicTrack(track, track_identity(track))
    if track.startswith("sha256:"):
        sha256 = track.removeprefix("sha256:")
        path = store.find(sha256) if owned.owns(owner, sha256) else None
        if path is None or path.suffix != UPLOAD_SUFFIX:
            # The same words whether it was never uploaded, is someone else's or was cleaned away.
            raise InputError("music.track: that uploaded music is not in your uploads; upload the file again")
        return MusicTrack(track, track_identity(track), path)
    if owner != CLI_OWNER:
        raise InputError("music.track: a file path is read only on the command line; in the studio, upload the "
                         "music file (it becomes sha256:…), or choose none or a bundled bed")  # fmt: skip
    return MusicTrack(track, track_identity(track), Path(track))


def load_track(track: MusicTrack, store: Store | None = None) -> MusicBed | None:
    """The bed to mix: decoded (a file) or a bundled mood's (from `store` when it holds it, else synthesised and
    then stored there); None for no music."""
    mood = track.track.removeprefix("bundled:")
    if track.path is None and track.track.startswith("bundled:") and mood in MOODS and store is not None:
        return MusicBed(to_float(stored_bed(mood, store)), looped=True, key=bed_key(mood))
    if track.path is None:
        return music_source(track.track)
    return MusicBed(load_music(track.path), looped=False, key=track.identity)


def stored_bed(mood: str, store: Store) -> np.ndarray:
    """A bundled bed's int16 PCM, kept in the store under its bed key (its bytes change only with that key): a
    process that renders once (every command-line render) reads 5 MB instead of synthesising it (~1.5 s of CPU)."""
    key = step_key("bed", bed=bed_key(mood))
    found = store.get(key)
    if found is not None:
        try:
            pcm, rate = read_wav(found.path)
            if rate == BED_RATE and pcm.ndim == 2 and pcm.shape[1] == 2 and len(pcm):
                return pcm
        except (OSError, EOFError, wave.Error):
            pass  # unreadable: made again below
    pcm = bundled_bed(mood)
    folder = store.workdir("bed")
    try:
        write_wav(folder / "bed.wav", pcm, BED_RATE)
        store.put(key, folder / "bed.wav", {"mood": mood})
    finally:
        store.remove_workdir(folder)
    return pcm


def upload_music(path: str | Path, owner: str, store: Store) -> str:
    """Keep a person's own music for their renders: decoded to 48 kHz stereo WAV (at most MAX_UPLOAD_SECONDS),
    stored by content and recorded as `owner`'s. Returns the storyboard's `music.track` value, 'sha256:<hex>'."""
    pcm = _decode_upload(Path(path))
    work = store.workdir("music-upload")
    try:
        out = work / f"music{UPLOAD_SUFFIX}"
        write_wav(out, pcm, RATE)
        asset = store.put(step_key("music-upload", version=UPLOAD_VERSION, rate=RATE), out, {"uploaded": True})
    finally:
        store.remove_workdir(work)
    OwnedImages(store.home).record(owner, asset.sha256, "uploaded")
    return f"sha256:{asset.sha256}"


def uploaded_music(storyboard: Storyboard, path: str | Path, *, owner: str, store: Store | None = None,
                   services: Services | None = None) -> Any:  # fmt: skip
    """The edit that makes `owner`'s own music file (kept, see `upload_music`) the storyboard's music track: only
    `music.track` is written into the person's text (pipeline/yaml_edit.py)."""
    from pipeline.yaml_edit import SetSettings

    return SetSettings({"music.track": upload_music(path, owner, services_for_call(services, store=store).store)})


def _decode_upload(path: Path) -> np.ndarray:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
           "-format_whitelist", AUDIO_DEMUXERS, "-protocol_whitelist", "file",
           "-i", str(path), "-vn", "-t", str(MAX_UPLOAD_SECONDS),
           "-f", "s16le", "-acodec", "pcm_s16le", "-ar", str(RATE), "-ac", "2", "-"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True)
    pcm = np.frombuffer(proc.stdout, dtype=np.int16).reshape(-1, 2) if proc.returncode == 0 else None
    if pcm is None:
        raise InputError("music.track: the uploaded file is not music ffmpeg can read (WAV, MP3, FLAC, Ogg, M4A, "
                         "WebM)")  # fmt: skip
    if len(pcm) < RATE // 10:
        raise InputError("music.track: the uploaded file has no usable sound (under 0.1 s of audio)")
    if not np.any(pcm):
        raise InputError("music.track: the uploaded file is silent")
    return pcm
