"""The sound's finish as a render step: the scenes' mixes, a music bed ducked under the narration, one loudness.

    mix:0 … mix:n ──► finish (48 kHz stereo WAV of the final mix) ──► soundtrack (AAC/Opus, unchanged) ──► join
                        └─ keeps its stems beside it: narration + music as mixed (one 4-channel WAV in the store)

`finish` is render-wide. It concatenates the scenes' mixes (PCM of exact length, in its inputs' order: the
narration timeline), mixes the storyboard's music under it, ducked while someone speaks, and brings the whole to
`output.loudness_lufs` (true peak ≤ −1 dBTP) with pipeline.media.music.finish_sound. Loudness applies with
`music.track: none` too, so every video lands at the same level. Its output is the mix, a stereo WAV like a scene's
mix (meta `frames`), so the sound track step encodes it exactly as it encoded the mixes. The narration and music
stems, with the same loudness gain, are stored under a key derived from the finish's (`stems_key`) for editors:
`write_stems` cuts narration.wav, music.wav and mix.wav from the two.

The key holds the mixes' hashes, the track's identity (none, the bundled bed's key, or the uploaded / named
file's sha256: pipeline.music_track), the three levels and the versions of this code: editing one scene's
narration re-runs that scene's voice and mix, then this step, the encode and the join, never a picture.

The kind is registered in pipeline/kinds/finish.py (it wraps "mix": it stands in for every scene's mix at once, so
the sound track takes it alone). With transitions, the scenes' mixes overlap: the finish lays them out with each
overlap crossfaded (its params and key carry `overlaps`), and the sound track after it adds none.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from pipeline.errors import MediaError
from pipeline.media.budget import EncoderBudget, holding_budget
from pipeline.media.ffmpeg import read_wav, write_wav
from pipeline.media.music import MUSIC_VERSION, RATE, TRUE_PEAK_DB, FinishedSound, finish_sound
from pipeline.media.profile import EncodeProfile
from pipeline.media.segment import samples_for_frames
from pipeline.music_track import MusicTrack, load_track, resolve_track, track_identity
from pipeline.providers.base import StepContext, StepOutput
from pipeline.store import Asset, Store, step_key

FINISH_VERSION = "1"
KEPT_STEMS = ("narration", "music")  # the stereo pairs of the stems' WAV, in channel order


# -- keys ----------------------------------------------------------------------------------------------------


def finish_params(storyboard: Any, profile: EncodeProfile) -> dict[str, Any]:
    """The finish step's settings, from the storyboard's `music` and `output.loudness_lufs`."""
    from pipeline.transition_plan import plan_boundaries

    music = storyboard.music
    overlaps = tuple(b.frames for b in plan_boundaries(storyboard, profile.fps))
    return {"profile": profile, "track": music.track, "volume_db": music.volume_db, "duck_db": music.duck_db,
            "loudness_lufs": storyboard.output.loudness_lufs,
            **({"overlaps": overlaps} if any(overlaps) else {})}  # fmt: skip


def finish_key(profile: EncodeProfile, mix_sha256s: Sequence[str], music: str, volume_db: float, duck_db: float,
               loudness_lufs: float, overlaps: Sequence[int] | None = None) -> str:  # fmt: skip
    overlapped = {"overlaps": list(overlaps)} if overlaps else {}  # only with transitions: cut-only keys unchanged
    return step_key("finish", version=FINISH_VERSION, music_version=MUSIC_VERSION, rate=profile.audio_rate,
                    mixes=list(mix_sha256s), music=music, volume_db=float(volume_db), duck_db=float(duck_db),
                    loudness_lufs=float(loudness_lufs), true_peak=TRUE_PEAK_DB, **overlapped)  # fmt: skip


def finish_key_from_inputs(step: Any, outputs: Mapping[str, Asset], music: str | None = None) -> str:
    """The key once the mixes exist. `music`: the track's identity when already resolved (else worked out from
    the track; a path's file is hashed, so resolve the track for its owner first)."""
    p = step.params
    identity = music if music is not None else track_identity(p["track"])
    return finish_key(p["profile"], [outputs[i].sha256 for i in step.inputs], identity, p["volume_db"],
                      p["duck_db"], p["loudness_lufs"], p.get("overlaps"))  # fmt: skip


# -- executors -----------------------------------------------------------------------------------------------


def stems_key(finish_key: str) -> str:
    """Where the stems of the finished sound under `finish_key` are kept."""
    return step_key("finish-stems", finish=finish_key)


async def execute_finish(run: Any, step: Any, inputs: Mapping[str, Asset]) -> Asset:
    """The finished sound of the whole video (cached by its key), its stems kept beside it."""
    p = step.params
    track = resolve_track(p["track"], run.owner, run.store, run.owned_images)  # refuses what the owner may not play
    mixes = [inputs[i] for i in step.inputs]
    key = finish_key_from_inputs(step, inputs, track.identity)

    def produce(ctx: StepContext) -> StepOutput:
        return make_finished_sound(mixes, track, p, ctx, run.store, stems_key(key))

    return await run.cached_step(step, key, produce)


def make_finished_sound(mixes: list[Asset], track: MusicTrack, params: Mapping[str, Any], ctx: StepContext,
                        store: Store, stems_at: str) -> StepOutput:  # fmt: skip
    """The mix as the step's output; the narration and music stems stored under `stems_at`."""
    ctx.progress(0.05, "mixing the music under the narration")
    samples = sum(samples_for_frames(m.meta["frames"], params["profile"]) for m in mixes)
    # Its float arrays are held in the memory budget, so a long video's mix waits for room beside the encoders.
    with holding_budget(ctx.encoders, EncoderBudget.sound_cost_mb(samples), ctx.cancel):
        narration = _concatenated([m.path for m in mixes], params["profile"], params.get("overlaps"))
        bed = load_track(track, store)  # a bundled bed: from the store after the first render that played it
        sound = finish_sound(narration, bed, volume_db=params["volume_db"], duck_db=params["duck_db"],
                             loudness_lufs=params["loudness_lufs"], cancel=ctx.cancel)  # fmt: skip
        del narration
        if not sound.reached_target:
            ctx.warn(_missed_target(sound, params["loudness_lufs"]))
        ctx.progress(0.9, "writing the finished sound and its stems")
        stems = ctx.workdir / "stems.wav"
        write_wav(stems, np.concatenate([sound.narration, sound.music], axis=1), sound.rate)
        store.put(stems_at, stems, {"stems": list(KEPT_STEMS), "samples": sound.samples})
        out = ctx.workdir / "finished.wav"
        write_wav(out, sound.mix, sound.rate)
    frames = sum(m.meta["frames"] for m in mixes) - sum(params.get("overlaps") or ())
    return StepOutput(out, {"frames": frames, **_sound_facts(sound, track)})


def _concatenated(mixes: list[Path], profile: EncodeProfile, overlaps: Sequence[int] | None = None) -> np.ndarray:
    """The scenes' PCM sample for sample (the narration timeline), each transition's overlap crossfaded."""
    if not mixes:
        raise MediaError("the finished sound needs at least one scene")
    if profile.audio_rate != RATE or profile.audio_channels != 2:
        raise MediaError(f"the finished sound is 48 kHz stereo; this profile's sound is {profile.audio_rate} Hz, "
                         f"{profile.audio_channels} channels")  # fmt: skip
    if overlaps and any(overlaps):
        from pipeline.media.transitions import overlapped_pcm

        return overlapped_pcm(mixes, overlaps, profile)
    parts = []
    for path in mixes:
        pcm, rate = read_wav(path)
        if rate != RATE or pcm.shape[1] != 2:
            raise MediaError(f"{path.name} is {rate} Hz, {pcm.shape[1]} channels; expected 48 kHz stereo")
        parts.append(pcm)
    return np.concatenate(parts)


def _missed_target(sound: FinishedSound, target: float) -> str:
    """Why the finished sound is not at the loudness target: silence, or too little sound to lift undistorted."""
    if not math.isfinite(sound.before.integrated) or sound.before.integrated <= -69.9:
        return "output.loudness_lufs: the video is silent, so it stays silent (no narration and no music)"
    return (f"output.loudness_lufs: the finished sound measures {sound.after.integrated:.1f} LUFS, not {target:g}: "
            "too little sound (a word or two) to lift that far under the -1 dBTP peak ceiling without distorting it")


def _finite(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


def _sound_facts(sound: FinishedSound, track: MusicTrack) -> dict[str, Any]:
    return {"duration": sound.samples / sound.rate, "samples": sound.samples, "rate": sound.rate,
            "music": track.identity, "loudness_before": _finite(sound.before.integrated),
            "loudness_lufs": _finite(sound.after.integrated), "true_peak_dbtp": _finite(sound.after.true_peak),
            "gain_db": _finite(sound.gain_db), "limited_db": _finite(sound.limited_db),
            "reached_target": sound.reached_target, "speech_intervals": len(sound.speech)}  # fmt: skip


# -- stems for editors ---------------------------------------------------------------------------------------


def write_stems(finished: Asset, store: Store, folder: Path) -> dict[str, Path]:
    """narration.wav, music.wav and mix.wav (48 kHz 16-bit stereo, each exactly the video's length) in `folder`,
    from a render's finished sound (RenderResult.finished_sound) and the stems kept beside it."""
    stems = store.get(stems_key(finished.key))
    if stems is None:
        # Only a person deleting store files (or damage) gets here: the store never drops a file by itself.
        raise MediaError("the stems of this render are no longer stored; change a music setting and render again "
                         "to make them")  # fmt: skip
    kept, rate = read_wav(stems.path)
    mix, mix_rate = read_wav(finished.path)
    if kept.shape != (len(mix), 2 * len(KEPT_STEMS)) or rate != mix_rate:
        raise MediaError("the stored stems do not match the finished sound; render again")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"mix": folder / "mix.wav"}
    write_wav(paths["mix"], mix, rate)
    for i, name in enumerate(KEPT_STEMS):
        paths[name] = folder / f"{name}.wav"
        write_wav(paths[name], kept[:, 2 * i : 2 * i + 2], rate)
    return paths


def stems_zip(finished: Asset, store: Store, out: Path) -> Path:
    """The three stems in one zip (stored, not deflated: PCM hardly compresses and the zip is made on demand)."""
    folder = out.parent / f"{out.stem}-stems"
    paths = write_stems(finished, store, folder)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for name in ("narration", "music", "mix"):
            z.write(paths[name], arcname=paths[name].name)
            paths[name].unlink()
    folder.rmdir()
    return out
