"""Caption word timing for the Piper voice, against the voice's own phoneme durations (issue 13).

Piper 1.8 can report how many audio samples each phoneme took, but only from a model patched in memory with
the `onnx` package (`piper-tts[alignment]`, not a Reelsmith dependency). This script patches the bundled voice
that way, speaks every bundled example's narration as the Piper provider does (sentence by sentence, 0.28 s
apart), groups phonemes into spoken words, and measures how far each way of timing words lands from them:

- `share`: character share inside each sentence span (what meta "sentences" alone allows);
- `share + audio`: the same after narrowing each sentence to its voiced part and pinning the pauses heard in
  it between words (`words_from_sentences` with the PCM);
- `spoken words, 1 gap in 4 merged`: `words_from_spoken_words` when the voice's words and the text's words
  disagree (espeak says "was a" as one word): a quarter of the gaps are removed at random to stress it.

Only sentences whose spoken words match the text word for word can be scored (the others have no truth).
Synthesis is random (Piper samples noise), so each narration is spoken `--runs` times.

    pip install onnx==1.23.2   # then
    python bench/caption_timing.py --runs 5
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.captions import timing  # noqa: E402
from pipeline.providers.piper import SENTENCE_PAUSE, _joe_model_path, piper_sentences  # noqa: E402

PUNCTUATION = set(",.;:!?…—")


def _aligned_voice():
    try:
        import onnx
    except ImportError:
        sys.exit("needs the onnx package: pip install onnx==1.23.2")
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output

    path = _joe_model_path()
    model = onnx.load(str(path))
    add_alignment_output(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=options,
                                           providers=["CPUExecutionProvider"])  # fmt: skip
    config = PiperConfig.from_dict(json.loads(Path(f"{path}.json").read_text(encoding="utf-8")))
    return PiperVoice(session=session, config=config)


def _spoken_words(chunk, offset: int) -> list[list[int]]:
    """[start, end] sample of each word the voice spoke (phonemes between word spaces; punctuation is pause)."""
    words, current, t = [], None, offset
    for phoneme in chunk.phoneme_alignments:
        if phoneme.phoneme in (" ", "^", "$") or phoneme.phoneme in PUNCTUATION:
            if current:
                words.append(current)
            current = None
        else:
            current = [t, t + phoneme.num_samples] if current is None else [current[0], t + phoneme.num_samples]
        t += phoneme.num_samples
    return words + ([current] if current else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    voice = _aligned_voice()
    rate = voice.config.sample_rate
    narrations = [" ".join(scene["audio_script"].split())
                  for path in sorted(glob.glob(str(Path(__file__).parent.parent / "assets/examples/*.yaml")))
                  for scene in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["scenes"]
                  if scene.get("audio_script")]  # fmt: skip
    rng = random.Random(7)
    errors: dict[str, list[tuple[float, float]]] = {"share": [], "share + audio": [],
                                                    "spoken words, 1 gap in 4 merged": []}  # fmt: skip
    scored = skipped = 0
    for _ in range(args.runs):
        for text in narrations:
            pieces, spans, texts, truth, spoken, cursor = [], [], [], [], [], 0
            for sentence in piper_sentences(voice, text):
                (chunk,) = voice.synthesize(sentence, include_alignments=True)
                audio = chunk.audio_int16_array.reshape(-1)
                if pieces:
                    pieces.append(np.zeros(round(SENTENCE_PAUSE * rate), np.int16))
                    cursor += len(pieces[-1])
                said = [[a / rate, b / rate] for a, b in _spoken_words(chunk, cursor)]
                if len(said) != len(timing.split_words(sentence)):
                    break
                truth += said
                merged = [said[0]]
                for word in said[1:]:
                    merged[-1:] = [[merged[-1][0], word[1]]] if rng.random() < 0.25 else [merged[-1], word]
                spoken.append(merged)
                spans.append([cursor / rate, (cursor + len(audio)) / rate])
                texts.append(sentence)
                pieces.append(audio)
                cursor += len(audio)
            else:
                scored += 1
                samples = np.concatenate(pieces)
                estimates = {
                    "share": timing.words_from_sentences(texts, spans),
                    "share + audio": timing.words_from_sentences(texts, spans, samples, rate),
                    "spoken words, 1 gap in 4 merged": timing.words_from_spoken_words(texts, spoken),
                }
                for name, words in estimates.items():
                    errors[name] += [(abs(w.start - a), abs(w.end - b)) for w, (a, b) in zip(words, truth)]
                continue
            skipped += 1
    print(f"{scored} narrations scored, {skipped} skipped (the voice's words differ from the text's)")
    for name, pairs in errors.items():
        ms = np.array(pairs) * 1000
        print(f"{name:32s} {len(ms):4d} words  start mean {ms[:, 0].mean():4.0f} ms  p90 "
              f"{np.percentile(ms[:, 0], 90):4.0f}  max {ms[:, 0].max():4.0f}  |  end mean {ms[:, 1].mean():4.0f}  "
              f"max {ms[:, 1].max():4.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
