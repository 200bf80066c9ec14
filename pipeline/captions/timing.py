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


def _weight(word: str) -> float:
    """A word's share of its sentence's speaking time: its width in characters plus the space after it."""
    return sum(2.0 if unicodedata.east_asian_width(c) in "WF" else 1.0 for c in word) + 1.0


def words_from_sentences(sentence_texts: Sequence[str], spans: Sequence[Sequence[float]]) -> list[WordTiming]:
    """Words timed from per-sentence [start, end] spans (Piper's meta "sentences").

    Inside a sentence each word gets a share of the time proportional to its length in characters. This is an
    honest approximation: it cannot know that "strength" takes longer to say than "idea", nor where a comma's
    pause falls, but no word is ever placed outside its own sentence (so never in the silence between
    sentences). Measured against real per-character timing the error is reported in bench/captions.py.
    """
    if len(sentence_texts) != len(spans):
        raise ValueError(f"{len(sentence_texts)} sentence texts for {len(spans)} sentence spans")
    words: list[WordTiming] = []
    for text, (start, end) in zip(sentence_texts, spans):
        pieces = split_words(text)
        if not pieces:
            continue
        total = sum(_weight(w) for w, _ in pieces)
        cursor = float(start)
        for index, (word, space) in enumerate(pieces):
            share = (float(end) - float(start)) * _weight(word) / total
            # the trailing space's share is the gap after the word, not part of it
            word_end = cursor + share * (_weight(word) - 1.0) / _weight(word)
            if index == 0 and words:
                space = not (is_unspaced(words[-1].text[-1]) or _is_fullwidth(words[-1].text[-1])) or not is_unspaced(word[0])
            words.append(WordTiming(word, round(cursor, 3), round(word_end, 3), space))
            cursor += share
    return words


def words_from_voice_meta(text: str, meta: dict[str, Any]) -> list[WordTiming]:
    """Words of a narration timed from its voice step's meta: ElevenLabs' "alignment" when present, else Piper's
    "sentences" (with "sentence_texts", or the text split by `split_sentences` for older cached narrations), else
    the whole narration spread over its "duration"."""
    if meta.get("alignment"):
        return words_from_alignment(meta["alignment"])
    spans = meta.get("sentences") or []
    texts = meta.get("sentence_texts") or split_sentences(text)
    if spans and len(texts) == len(spans):
        return words_from_sentences(texts, spans)
    duration = float(meta.get("duration") or 0.0)
    whole = " ".join(text.split())
    return words_from_sentences([whole], [[0.0, duration]]) if whole and duration > 0 else []
