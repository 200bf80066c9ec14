"""Word timing from the voice step's own data: no speech recogniser, only what the voice told us.

A narration is cut into *words*: runs of non-space characters, except that Chinese and Japanese text (written
without spaces) is cut into single characters, each keeping the punctuation that follows it. Every word knows
whether a space came before it, so joining the words gives the narration's text back (whitespace normalised).

Times are seconds from the start of the narration's own audio; `pipeline.captions.cues` shifts them to the
final video.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Sequence

# A sentence ends at . ! ? … (or their full-width forms) and any closing quotes or brackets; group 1 is the
# whitespace after it. The same rule the ElevenLabs provider splits long narrations by.
SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*(\s+)")
SENTENCE_MARKS = frozenset(".!?…。！？")  # the marks SENTENCE_END ends a sentence at
# Full-width sentence ends need no space after them: 你好。我很好。 is two sentences.
_CJK_SENTENCE_END = re.compile(r"[。！？][\"'”’」』)\]]*(\s*)")


@dataclass(frozen=True)
class WordTiming:
    """One word of the narration, `start`/`end` in seconds; `space_before` is False inside unspaced scripts."""

    text: str
    start: float
    end: float
    space_before: bool = True

    def shifted(self, offset: float) -> "WordTiming":
        return replace(self, start=self.start + offset, end=self.end + offset)


def is_unspaced(ch: str) -> bool:
    """Whether `ch` belongs to a script written without spaces between words (Han, kana), so a line may break
    after it. Korean (Hangul) is written with spaces and is not included."""
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= code <= 0x3FFFF  # supplementary ideographs
        or 0x31F0 <= code <= 0x31FF  # katakana extensions
    )


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _is_fullwidth(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def word_spans(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, space_before) character spans of the words of `text`, in order.

    A word is a run of non-space characters; inside such a run, each Han/kana character starts a new word, and
    punctuation stays with the word before it (opening punctuation with the word after it).
    """
    spans: list[tuple[int, int, bool]] = []
    for match in re.finditer(r"\S+", text):
        space_before = match.start() > 0
        start = match.start()
        run = match.group()
        cut = start
        cjk = False  # whether the word so far ends in an unspaced character (and its punctuation)
        for i, ch in enumerate(run):
            pos = start + i
            category = unicodedata.category(ch)
            if pos != cut:
                # only opening punctuation so far: it belongs with what follows
                opening = all(unicodedata.category(c) in ("Ps", "Pi") for c in text[cut:pos])
                closing = category.startswith("P") and category not in ("Ps", "Pi")
                if not opening and (is_unspaced(ch) or cjk and not closing or category in ("Ps", "Pi") and cjk):
                    spans.append((cut, pos, space_before if cut == start else False))
                    cut = pos
            if is_unspaced(ch):
                cjk = True
            elif not category.startswith("P"):
                cjk = False
        spans.append((cut, match.end(), space_before if cut == start else False))
    return spans


def split_words(text: str) -> list[tuple[str, bool]]:
    """(word, space_before) for each word of `text` (see `word_spans`)."""
    return [(text[a:b], space) for a, b, space in word_spans(text)]


def join_words(words: Sequence[WordTiming] | Sequence[tuple[str, bool]]) -> str:
    """The text of `words`, a space before each that had one (never before the first)."""
    parts: list[str] = []
    for i, word in enumerate(words):
        text, space = (word.text, word.space_before) if isinstance(word, WordTiming) else word
        parts.append((" " if space and i else "") + text)
    return "".join(parts)


def split_sentences(text: str) -> list[str]:
    """`text` (whitespace normalised) cut after each sentence end; the Piper provider synthesises and times the
    narration sentence by sentence along these same cuts."""
    text = " ".join(text.split())
    sentences, start = [], 0
    for match in sorted([*SENTENCE_END.finditer(text), *_CJK_SENTENCE_END.finditer(text)], key=lambda m: m.end()):
        if match.start() < start or match.end() <= start:
            continue
        piece = text[start : match.start(1)].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def words_from_alignment(alignment: dict[str, list[Any]]) -> list[WordTiming]:
    """Words timed by ElevenLabs' character alignment (`characters`, `character_start_times_seconds`,
    `character_end_times_seconds`): each word from its first character's start to its last character's end."""
    chars = alignment["characters"]
    starts = alignment["character_start_times_seconds"]
    ends = alignment["character_end_times_seconds"]
    if not (len(chars) == len(starts) == len(ends)):
        raise ValueError(f"alignment lists differ in length: {len(chars)}, {len(starts)}, {len(ends)}")
    # A "character" of the alignment is normally one code point; join and keep an index per code point.
    owner: list[int] = []
    for i, ch in enumerate(chars):
        owner.extend([i] * len(ch))
    text = "".join(chars)
    words = []
    for a, b, space in word_spans(text):
        first, last = owner[a], owner[b - 1]
        words.append(WordTiming(text[a:b], float(starts[first]), float(max(ends[last], starts[first])), space))
    return words


# A clause mark's pause, in characters' worth of speaking time (measured on the Piper voice: ~0.15 s).
_CLAUSE_PAUSE = {",": 2.0, ";": 3.0, ":": 3.0, "，": 2.0, "、": 1.0, "；": 3.0, "：": 3.0, "،": 2.0, "؛": 3.0}


def _chars(word: str) -> float:
    return sum(2.0 if _is_fullwidth(c) else 1.0 for c in word)


def _weight(word: str) -> float:
    """A word's share of its sentence's speaking time: its width in characters, the space after it, and the
    pause after a clause mark."""
    return _chars(word) + 1.0 + _CLAUSE_PAUSE.get(word.rstrip("\"'”’)»")[-1:], 0.0)


def voiced_frames(samples, rate: int, floor_db: float = -45.0):
    """Per 10 ms of `samples` (the narration's PCM, int16 or float in [-1, 1]): louder than `floor_db` dBFS?"""
    import numpy as np

    raw = np.asarray(samples).reshape(-1)
    audio = raw.astype(np.float32) / (32768.0 if raw.dtype.kind in "iu" else 1.0)
    hop = max(1, int(rate * FRAME))
    frames = len(audio) // hop
    level = 20 * np.log10(np.sqrt(np.mean(np.square(audio[: frames * hop].reshape(frames, hop)), axis=1)) + 1e-9)
    return level > floor_db


FRAME = 0.01  # seconds per frame of `voiced_frames`
MIN_SILENCE = 0.1  # a quiet stretch at least this long inside a sentence is a pause (a stop consonant is shorter)


def _silences(voiced, start: float, end: float) -> list[tuple[float, float]]:
    """Quiet stretches of at least MIN_SILENCE strictly inside [start, end] (seconds)."""
    a, b = int(start / FRAME), min(len(voiced), int(end / FRAME))
    found, run = [], None
    for i in range(a, b):
        if not voiced[i]:
            run = i if run is None else run
        elif run is not None:
            if run > a and (i - run) * FRAME >= MIN_SILENCE:
                found.append((run * FRAME, i * FRAME))
            run = None
    return found


def _voiced_bounds(voiced, start: float, end: float) -> tuple[float, float]:
    """[start, end] without the silence at its ends (unchanged if it has no voiced frame)."""
    a, b = int(start / FRAME), min(len(voiced), -(-int(end * 1000) // int(FRAME * 1000)))
    inside = [i for i in range(a, b) if voiced[i]]
    if not inside:
        return start, end
    return max(start, inside[0] * FRAME), min(end, (inside[-1] + 1) * FRAME)


def _spread(pieces: Sequence[tuple[str, bool]], start: float, end: float, closed: bool = False) -> list[WordTiming]:
    """`pieces` (word, space_before) timed over [start, end] by character share. `closed`: speech fills the
    stretch to `end` (its bounds were measured on the audio), so the last word ends there; otherwise the last
    word leaves its space's share as silence too (a voice's sentence audio ends with a little silence)."""
    last = pieces[-1][0]
    weights = [_weight(w) for w, _ in pieces[:-1]] + [(_chars(last) or 1.0) if closed else _weight(last)]
    total = sum(weights)
    words, cursor = [], float(start)
    for (word, space), weight in zip(pieces, weights):
        share = (float(end) - float(start)) * weight / total
        # the share of the space (and clause pause) after the word is silence, not the word
        spoken = share * (_chars(word) or 1.0) / weight
        words.append(WordTiming(word, round(cursor, 3), round(cursor + spoken, 3), space))
        cursor += share
    return words


_PAUSE_MARKS = set(_CLAUSE_PAUSE) | SENTENCE_MARKS


def _pin_and_spread(
    pieces: Sequence[tuple[str, bool]], start: float, end: float, pauses: Sequence[tuple[float, float]]
) -> list[WordTiming]:
    """Words of one stretch of speech [start, end] with known `pauses` (gaps between spoken words, in order of
    how sure we are of them). Each pause is pinned to the free gap between two text words that character
    share puts nearest to it (a gap after a comma counts as twice as near), keeping reading order; the words
    of each stretch between pinned pauses are then spread by character share."""
    if len(pieces) == 1:
        return _spread(pieces, start, end, closed=True)
    weights = [_weight(w) for w, _ in pieces]
    total = sum(weights)
    predicted, acc = [], 0.0  # where character share puts each gap between words (after its pause weight)
    for word, w in zip(pieces[:-1], weights[:-1]):
        acc += w
        predicted.append(start + (end - start) * (acc - (w - _chars(word[0])) / 2) / total)
    clause = [w.rstrip("\"'”’)»」』")[-1:] in _PAUSE_MARKS for w, _ in pieces[:-1]]
    pinned: dict[int, tuple[float, float]] = {}
    for pause in pauses:
        centre = (pause[0] + pause[1]) / 2
        free = [i for i in range(len(predicted)) if i not in pinned and all(
            (i < j) == (centre < (pinned[j][0] + pinned[j][1]) / 2) for j in pinned)]  # fmt: skip
        if free:
            pinned[min(free, key=lambda i: abs(predicted[i] - centre) / (2 if clause[i] else 1))] = pause
    words, first, cursor = [], 0, start
    for gap in sorted(pinned):
        words += _spread(pieces[first : gap + 1], cursor, pinned[gap][0], closed=True)
        first, cursor = gap + 1, pinned[gap][1]
    return words + _spread(pieces[first:], cursor, end, closed=True)


def _sentence_in_speech(pieces: Sequence[tuple[str, bool]], start: float, end: float, voiced) -> list[WordTiming]:
    """One sentence's words timed against its audio: the span narrowed to its voiced part, and the pauses
    heard inside it (longest first) pinned between words (`_pin_and_spread`), so no word lies in a pause."""
    start, end = _voiced_bounds(voiced, start, end)
    pauses = sorted(_silences(voiced, start, end), key=lambda s: s[0] - s[1])
    return _pin_and_spread(pieces, start, end, pauses)


def words_from_spoken_words(
    sentence_texts: Sequence[str], spoken: Sequence[Sequence[Sequence[float]]]
) -> list[WordTiming]:
    """Words timed from the [start, end] of each word the voice actually spoke, per sentence — what Piper's
    phoneme durations give (phonemes grouped at its word spaces) when the model exposes them.

    When a sentence has as many spoken words as text words, each gets its spoken time exactly. The voice's
    phonemizer does not always agree with the text on what a word is ("was a" spoken as one, "1999" as
    three), so otherwise the gaps between spoken words (longest first) are pinned between text words as pauses
    are (`_pin_and_spread`)."""
    if len(sentence_texts) != len(spoken):
        raise ValueError(f"{len(sentence_texts)} sentence texts for {len(spoken)} sentences of spoken words")
    words: list[WordTiming] = []
    for text, said in zip(sentence_texts, spoken):
        pieces = _continue(words, split_words(text))
        if not pieces or not said:
            continue
        if len(said) == len(pieces):
            words += [WordTiming(w, round(float(a), 3), round(float(b), 3), space)
                      for (w, space), (a, b) in zip(pieces, said)]  # fmt: skip
            continue
        gaps = [(float(said[i][1]), float(said[i + 1][0])) for i in range(len(said) - 1)]
        gaps.sort(key=lambda g: g[0] - g[1])
        words += _pin_and_spread(pieces, float(said[0][0]), float(said[-1][1]), gaps)
    return words


def _continue(words: Sequence[WordTiming], pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """`pieces` of a sentence that follows `words`: its first word is spaced unless both sides are unspaced."""
    if words and pieces:
        prev = words[-1].text[-1]
        spaced = not (is_unspaced(prev) or _is_fullwidth(prev)) or not is_unspaced(pieces[0][0][0])
        pieces[0] = (pieces[0][0], spaced)
    return pieces


def words_from_sentences(
    sentence_texts: Sequence[str], spans: Sequence[Sequence[float]], samples=None, rate: int | None = None
) -> list[WordTiming]:
    """Words timed from per-sentence [start, end] spans (Piper's meta "sentences").

    Inside a sentence each word gets a share of the time proportional to its length in characters (plus a
    clause mark's pause). This is an honest approximation: it cannot know that "strength" takes longer to say
    than "idea", but no word is ever placed outside its own sentence (so never in the silence between
    sentences). Given the narration's PCM (`samples` at `rate`), each sentence is first narrowed to its voiced
    part and the pauses heard inside it are pinned to the gaps between its words, commas first
    (`_sentence_in_speech`), so no word is placed in a pause either.
    """
    if len(sentence_texts) != len(spans):
        raise ValueError(f"{len(sentence_texts)} sentence texts for {len(spans)} sentence spans")
    voiced = voiced_frames(samples, rate) if samples is not None and rate else None
    words: list[WordTiming] = []
    for text, (start, end) in zip(sentence_texts, spans):
        pieces = _continue(words, split_words(text))
        if not pieces:
            continue
        if voiced is None:
            words += _spread(pieces, start, end)
        else:
            words += _sentence_in_speech(pieces, float(start), float(end), voiced)
    return words


def words_from_voice_meta(text: str, meta: dict[str, Any], samples=None, rate: int | None = None) -> list[WordTiming]:
    """Words of a narration timed from its voice step's meta: ElevenLabs' "alignment" when present, else Piper's
    "sentences" (with "sentence_texts", or the text split by `split_sentences` for older cached narrations), else
    the whole narration spread over its "duration". Given the narration's PCM (`samples` at `rate`), words are
    also kept out of the silences heard in it (see `words_from_sentences`)."""
    if meta.get("alignment"):
        return words_from_alignment(meta["alignment"])
    spans = meta.get("sentences") or []
    texts = meta.get("sentence_texts") or split_sentences(text)
    if not (spans and len(texts) == len(spans)):
        duration = float(meta.get("duration") or 0.0)
        texts, spans = [" ".join(text.split())], [[0.0, duration]]
        if not texts[0] or duration <= 0:
            return []
    return words_from_sentences(texts, spans, samples, rate)
