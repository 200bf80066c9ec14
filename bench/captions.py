"""Captions (issue 13): how far caption times land from the voice's own word times, and what burn-in costs.

1. Timing. Piper 1.8 reports how many audio samples each phoneme took, but only from a model patched in memory
   with the `onnx` package (not a Reelsmith dependency; see bench/caption_timing.py). Each bundled example's
   narration is spoken as the Piper provider speaks it; the words the captions use (`words_from_voice_meta` over
   the provider's meta and audio, exactly as the captioned step and the files do) are compared with the
   phoneme-timed words: word start and end error, and each cue's start against its first word's true start
   (mean and max, ms). Only narrations whose spoken words match the text word for word have a truth.
2. Burn-in cost. Each example is rendered offline without burned-in captions in a fresh REELSMITH_HOME, then
   again with them: the second render reuses every step but the captioned segments and the join, so their
   time is what burn-in adds. Printed per minute of video and as a ratio to the render without captions.

    pip install --target /tmp/onnx onnx==1.23.2 && PYTHONPATH=/tmp/onnx python bench/captions.py
    python bench/captions.py --skip-timing --scale 2      # burn-in cost only, at half size
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline.captions.cues import scene_cues  # noqa: E402
from pipeline.captions.timing import split_words, words_from_voice_meta  # noqa: E402
from pipeline.media.segment import NARRATION_LEAD, NARRATION_TAIL  # noqa: E402
from pipeline.storyboard import Storyboard, load_storyboard  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "assets" / "examples").glob("*.yaml"))


def _speak(voice, text: str):
    """`text` spoken as the Piper provider speaks it: (samples, meta, true word times) or None without a truth."""
    from caption_timing import _spoken_words

    from pipeline.providers.piper import SENTENCE_PAUSE, piper_sentences

    rate = voice.config.sample_rate
    pieces, spans, texts, truth, cursor = [], [], [], [], 0
    for sentence in piper_sentences(voice, text):
        (chunk,) = voice.synthesize(sentence, include_alignments=True)
        audio = chunk.audio_int16_array.reshape(-1)
        if pieces:
            pieces.append(np.zeros(round(SENTENCE_PAUSE * rate), np.int16))
            cursor += len(pieces[-1])
        said = [(a / rate, b / rate) for a, b in _spoken_words(chunk, cursor)]
        if len(said) != len(split_words(sentence)):
            return None
        truth += said
        spans.append([round(cursor / rate, 3), round((cursor + len(audio)) / rate, 3)])
        texts.append(sentence)
        pieces.append(audio)
        cursor += len(audio)
    samples = np.concatenate(pieces)
    meta = {"duration": len(samples) / rate, "sample_rate": rate, "sentences": spans, "sentence_texts": texts}
    return samples, meta, truth


def timing_errors(runs: int) -> None:
    try:
        from caption_timing import _aligned_voice
    except ImportError:
        print("timing: skipped (needs bench/caption_timing.py)")
        return
    try:
        import onnx  # noqa: F401
    except ImportError:
        print("timing: skipped, needs the onnx package: pip install --target /tmp/onnx onnx==1.23.2, then "
              "PYTHONPATH=/tmp/onnx")  # fmt: skip
        return
    voice = _aligned_voice()
    words_ms, cue_ms, scored, skipped = [], [], 0, 0
    for _ in range(runs):
        for path in EXAMPLES:
            for scene in load_storyboard(path).scenes:
                text = " ".join(scene.audio_script.split())
                spoken = _speak(voice, text) if text else None
                if spoken is None:
                    skipped += bool(text)
                    continue
                samples, meta, truth = spoken
                ours = words_from_voice_meta(text, meta, samples, meta["sample_rate"])
                words_ms += [(abs(w.start - a) * 1000, abs(w.end - b) * 1000) for w, (a, b) in zip(ours, truth)]
                end = NARRATION_LEAD + meta["duration"] + NARRATION_TAIL
                first = 0
                for cue in scene_cues(ours, 0.0, max(end, scene.duration)):
                    cue_ms.append(abs(cue.start - (truth[first][0] + NARRATION_LEAD)) * 1000)
                    first += len(cue.words)
                scored += 1
    w, c = np.array(words_ms), np.array(cue_ms)
    print(f"timing: {scored} narrations scored, {skipped} without a truth (the voice's words differ from the text's)")
    print(f"  words ({len(w)}): start mean {w[:, 0].mean():.0f} ms, max {w[:, 0].max():.0f} ms; "
          f"end mean {w[:, 1].mean():.0f} ms, max {w[:, 1].max():.0f} ms")
    print(f"  cue starts ({len(c)}): mean {c.mean():.0f} ms, max {c.max():.0f} ms (goal: within 100 ms)")


def _render(sb: Storyboard, out: Path) -> tuple[float, float, float]:
    """(wall seconds, seconds of captioned steps, seconds of the join) of one render."""
    from pipeline.events import StepFinished
    from pipeline.runner import render

    seconds = {"captioned": 0.0, "join": 0.0}

    def on_event(event) -> None:
        if isinstance(event, StepFinished) and event.step in seconds:
            seconds[event.step] += event.seconds

    started = time.perf_counter()
    render(sb, out, on_event=on_event)
    return time.perf_counter() - started, seconds["captioned"], seconds["join"]


def burn_in_cost(scale: int, names: list[str]) -> None:
    if scale != 1:
        Storyboard.size = property(lambda sb: (int(sb.resolution.split("x")[0]) // scale,  # type: ignore[method-assign]
                                               int(sb.resolution.split("x")[1]) // scale))  # fmt: skip
    total_video = total_base = total_burn = 0.0
    for path in EXAMPLES:
        if names and path.stem not in names:
            continue
        board = load_storyboard(path)
        plain = board.model_copy(update={"captions": board.captions.model_copy(update={"burn_in": False})})
        with tempfile.TemporaryDirectory(prefix="reelsmith-captions-bench-") as home:
            os.environ["REELSMITH_HOME"] = home
            base, _, _ = _render(plain, Path(home) / "plain.mp4")
            again, burn, join = _render(board, Path(home) / "captioned.mp4")  # only captioned steps and the join run
            from pipeline.media.ffmpeg import probe

            minutes = probe(Path(home) / "captioned.mp4").duration / 60
        total_video, total_base, total_burn = total_video + minutes, total_base + base, total_burn + again
        w, h = board.size
        print(f"  {path.stem:18s} {w}x{h} {minutes * 60:5.1f} s of video: render without captions {base:6.1f} s; "
              f"adding burn-in {again:5.1f} s wall = {again / minutes:5.1f} s per minute of video, {again / base:.2f}x "
              f"the render without (captioned steps {burn:.1f} s summed over scenes, join {join:.1f} s)")  # fmt: skip
    if total_video:
        print(f"burn-in: {total_burn / total_video:.1f} s per minute of video, {total_burn / total_base:.2f}x the "
              f"wall time of the renders without captions ({total_burn:.1f} s / {total_base:.1f} s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="times each narration is spoken (synthesis is random)")
    parser.add_argument("--scale", type=int, default=1, help="render at 1/SCALE of each example's size")
    parser.add_argument("--examples", nargs="*", default=[], help="example names (default: all)")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--skip-burn-in", action="store_true")
    args = parser.parse_args()
    if not args.skip_timing:
        timing_errors(args.runs)
    if not args.skip_burn_in:
        burn_in_cost(args.scale, args.examples)


if __name__ == "__main__":
    main()
