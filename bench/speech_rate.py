"""The bundled Piper voice's speaking rate: what the script → storyboard split (pipeline/script_storyboard.py)
plans scene lengths with, checked against the voice itself.

Speaks every bundled example's narration sentence by sentence, as the Piper provider does (each sentence on its
own; the provider adds SENTENCE_PAUSE between them, which the planner counts separately), and prints the rate
over all of them, a least-squares fit (seconds = a + characters / b), and the planner's ratio spoken / planned
(synthesis is random: Piper samples noise, so each sentence is spoken `--runs` times). Under 1 for every
sentence: each scene's speech fits the seconds planned for it.

    nice python bench/speech_rate.py --runs 3
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.captions.timing import split_sentences  # noqa: E402
from pipeline.providers.piper import _joe_model_path, _load_voice  # noqa: E402
from pipeline.script_storyboard import RATES  # noqa: E402


# Beyond the examples: numbers (said as words, and long) and very short sentences (mostly the voice's own silence).
EXTRA = ("The year was 1887.", "It cost 250 dollars.", "Then silence.", "Yes.", "He waited.",
         "On March 3, 1921, at 4 p.m., the bell rang.", "In 2024 there were 8000 ships.", "Room 12 was empty.")


def sentences() -> list[str]:
    found = list(EXTRA)
    for path in sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "assets/examples/*.yaml"))):
        for scene in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["scenes"]:
            found.extend(split_sentences(scene.get("audio_script") or ""))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    voice = _load_voice(_joe_model_path())
    sample_rate = voice.config.sample_rate
    chars, seconds, rates, pairs, texts = 0, 0.0, [], [], []
    start = time.perf_counter()
    for text in sentences():
        for _ in range(args.runs):
            samples = sum(len(chunk.audio_int16_array.reshape(-1)) for chunk in voice.synthesize(text))
            chars += len(text)
            seconds += samples / sample_rate
            rates.append(len(text) / (samples / sample_rate))
            pairs.append((len(text), samples / sample_rate))
            texts.append(text)
    took = time.perf_counter() - start
    print(f"{len(rates)} sentences spoken ({chars} characters, {seconds:.1f} s of speech in {took:.1f} s)")
    print(f"rate over all: {chars / seconds:.2f} chars/s; 10th percentile {np.percentile(rates, 10):.2f}; "
          f"slowest {min(rates):.2f}; fastest {max(rates):.2f}")
    x, y = np.array([c for c, _ in pairs], float), np.array([s for _, s in pairs])
    slope, intercept = np.polyfit(x, y, 1)
    print(f"fit: seconds = {intercept:.3f} + characters / {1 / slope:.2f}")
    rate = RATES["piper"]
    ratios = np.array([spoken / rate.sentence(text) for text, spoken in zip(texts, y)])
    print(f"planner {rate}: spoken / planned, mean {ratios.mean():.2f}, slowest {ratios.max():.2f} "
          f"(under 1: every sentence fits its plan)")


if __name__ == "__main__":
    main()
