"""Cues a person can read, from one scene's timed words and the scene's place in the final video.

Rules (issue 13, and the usual broadcast subtitle guidance):
- at most `max_lines` lines of about `max_chars` columns (42 for landscape, 32 for vertical video); a
  full-width (CJK) character counts two columns, combining marks none;
- cues and lines break at phrase boundaries: after a sentence, then after a clause's punctuation or a pause in
  the speech, then before a conjunction or preposition; a line of one word is avoided where another split fits;
- each cue stays on screen at least `min_duration` seconds, lengthened into the silence after it (or before it),
  never into the next cue and never past its scene; cues are ordered and never overlap.

Text is kept in logical (reading) order for every script; right-to-left display is the renderer's job.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from pipeline.captions.timing import SENTENCE_MARKS, WordTiming, join_words
from pipeline.media.segment import NARRATION_LEAD

LANDSCAPE_CHARS = 42
VERTICAL_CHARS = 32
MIN_DURATION = 0.8
# A silence this long between two words (seconds) is a natural place to change cue; this long, a must.
PAUSE = 0.35
LONG_PAUSE = 1.0

_CLAUSE_ENDS = set(",;:—–、，；：،؛")
_CLOSERS = set("\"'”’)]」』»")
# Words a line may start with (break before them): conjunctions and prepositions of English and a few other
# Latin-script languages. Anything else is still broken correctly, only with fewer phrase hints.
CONNECTORS = frozenset(
    """and but or nor so yet for because although though while when where whereas if unless until since as
    than that which who whom whose after before of in on at to from with without into onto over under about
    above below across through between among against toward towards during by like near
    et mais ou donc car dans sur avec pour sans sous und oder aber mit für ohne y o pero con sin para en""".split()
)  # fmt: skip


@dataclass(frozen=True)
class Cue:
    """A caption on screen from `start` to `end` (seconds in the final video): its `lines` of text in reading
    order and its `words` with their own times (for karaoke)."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[WordTiming, ...]

    @property
    def text(self) -> str:
        return join_words(self.words)

    def word_lines(self) -> list[tuple[WordTiming, ...]]:
        """The cue's words grouped by line (the lines are made of whole words)."""
        groups, start = [], 0
        for line in self.lines:
            end = start + 1
            while end < len(self.words) and join_words(self.words[start:end]) != line:
                end += 1
            groups.append(self.words[start:end])
            start = end
        return groups


def line_chars(width: int, height: int) -> int:
    """Columns per caption line for a frame: 32 for vertical video, 42 otherwise."""
    return VERTICAL_CHARS if height > width else LANDSCAPE_CHARS


def char_width(ch: str) -> int:
    """Columns a character takes: 2 for full-width (CJK), 0 for combining marks and format characters."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def text_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def _width(words: Sequence[WordTiming]) -> int:
    return sum(text_width(w.text) + (1 if w.space_before and i else 0) for i, w in enumerate(words))


def _ends_with(word: str, marks: set[str] | frozenset[str]) -> bool:
    stripped = word.rstrip("".join(_CLOSERS))
    return bool(stripped) and stripped[-1] in marks


def break_score(words: Sequence[WordTiming], k: int) -> float:
    """How good a place the gap before words[k] is for a break: 3 after a sentence, 2 after a clause mark,
    1 before a connector word, plus 1.5 for a pause in the speech."""
    before, after = words[k - 1], words[k]
    score = 0.0
    if _ends_with(before.text, SENTENCE_MARKS):
        score = 3.0
    elif _ends_with(before.text, _CLAUSE_ENDS):
        score = 2.0
    elif after.text.lower().strip("\"'“‘(") in CONNECTORS:
        score = 1.0
    if after.start - before.end >= PAUSE:
        score += 1.5
    return score


def _line_count(words: Sequence[WordTiming], max_chars: int) -> int:
    """Lines that greedy filling needs (a word wider than a line gets a line of its own)."""
    lines, width = 1, 0
    for word in words:
        w = text_width(word.text)
        add = w + (1 if word.space_before and width else 0)
        if width and width + add > max_chars:
            lines, width = lines + 1, w
        else:
            width += add
    return lines


def split_lines(words: Sequence[WordTiming], max_chars: int, max_lines: int) -> list[tuple[WordTiming, ...]]:
    """`words` as at most `max_lines` lines: one line when it fits; otherwise the split that best balances the
    lines, prefers phrase boundaries and avoids a one-word line. Falls back to greedy filling."""
    words = tuple(words)
    n = len(words)
    if n == 0:
        return []
    if _width(words) <= max_chars or n == 1:
        return [words]

    @lru_cache(maxsize=None)
    def best(i: int, lines_left: int) -> tuple[float, tuple[int, ...]] | None:
        rest = words[i:]
        if _width(rest) <= max_chars:
            cost = 1.0 if len(rest) == 1 and i > 0 and n > 2 else 0.0  # a one-word last line
            return cost, ()
        if lines_left == 1:
            return None
        options = []
        for k in range(i + 1, n):
            line = words[i:k]
            if _width(line) > max_chars:
                break
            tail = best(k, lines_left - 1)
            if tail is None:
                continue
            slack = (max_chars - _width(line)) / max_chars
            orphan = 1.0 if len(line) == 1 and n > 2 else 0.0
            options.append((tail[0] + slack**2 + orphan - 0.15 * break_score(words, k), (k, *tail[1])))
        return min(options) if options else None

    found = best(0, max_lines)
    if found is None:  # some word is wider than a line: fill greedily
        lines: list[list[WordTiming]] = [[]]
        for word in words:
            if lines[-1] and _width([*lines[-1], word]) > max_chars:
                lines.append([])
            lines[-1].append(word)
        return [tuple(line) for line in lines]
    cuts = (0, *found[1], n)
    balanced = [words[a:b] for a, b in zip(cuts, cuts[1:])]
    return balanced


def group_words(words: Sequence[WordTiming], max_chars: int, max_lines: int) -> list[tuple[WordTiming, ...]]:
    """`words` cut into consecutive groups, each of which fits in `max_lines` lines; cuts go where
    `break_score` is highest among those leaving the group at least half full (a sentence end or a long pause
    always wins), and a last group of a single word is avoided."""
    groups, i, n = [], 0, len(words)
    capacity = max_chars * max_lines
    while i < n:
        j = i + 1  # words[i:j] is the largest group that fits
        while j < n and words[j].start - words[j - 1].end < LONG_PAUSE and \
                _line_count(words[i : j + 1], max_chars) <= max_lines:  # fmt: skip
            j += 1
        if j == n:
            groups.append(tuple(words[i:]))
            break

        def rank(k: int) -> float:
            score = break_score(words, k)
            fill = _width(words[i:k]) / capacity
            value = 2 * score + fill
            if score < 3 and fill < 0.5:
                value -= 3
            if n - k == 1 and score < 3:
                value -= 1.5
            return value

        k = max(range(i + 1, j + 1), key=lambda k: (rank(k), k))
        groups.append(tuple(words[i:k]))
        i = k
    return groups


def scene_cues(
    words: Sequence[WordTiming],
    scene_start: float,
    scene_end: float,
    *,
    lead: float = NARRATION_LEAD,
    max_chars: int = LANDSCAPE_CHARS,
    max_lines: int = 2,
    min_duration: float = MIN_DURATION,
) -> list[Cue]:
    """The cues of one scene.

    `words` are timed from the start of the scene's narration audio; the narration starts `lead` seconds into
    the scene, and the scene runs from `scene_start` to `scene_end` in the final video. Returned cues are in
    video time, ordered, non-overlapping and inside the scene.
    """
    if scene_end <= scene_start:
        raise ValueError(f"scene ends ({scene_end}) before it starts ({scene_start})")
    offset = scene_start + lead
    timed = [
        w.shifted(offset) if w.start + offset < scene_end else WordTiming(w.text, scene_end, scene_end, w.space_before)
        for w in words
        if w.text
    ]
    timed = [WordTiming(w.text, w.start, min(max(w.end, w.start), scene_end), w.space_before) for w in timed]
    groups = group_words(timed, max_chars, max_lines)
    cues: list[Cue] = []
    for index, group in enumerate(groups):
        floor = cues[-1].end if cues else scene_start
        ceiling = groups[index + 1][0].start if index + 1 < len(groups) else scene_end
        start = max(group[0].start, floor)
        end = min(max(group[-1].end, start), ceiling)
        if end - start < min_duration:  # hold it into the silence after, then before
            end = max(end, min(start + min_duration, ceiling))
        if end - start < min_duration:
            start = max(floor, end - min_duration)
        lines = tuple(join_words(line) for line in split_lines(group, max_chars, max_lines))
        cues.append(Cue(round(start, 3), round(end, 3), lines, group))
    return cues


def video_cues(
    scene_words: Sequence[Sequence[WordTiming] | None],
    frames: Sequence[int],
    fps: int = 24,
    *,
    lead: float = NARRATION_LEAD,
    max_chars: int = LANDSCAPE_CHARS,
    max_lines: int = 2,
    min_duration: float = MIN_DURATION,
) -> list[Cue]:
    """The cues of a whole video: each scene's words (None or empty for a scene without narration) placed by
    the scenes' frame counts, as the segments are joined end to end."""
    if len(scene_words) != len(frames):
        raise ValueError(f"{len(scene_words)} scenes of words for {len(frames)} scene lengths")
    starts = scene_starts(frames, fps)
    cues: list[Cue] = []
    for words, start, count in zip(scene_words, starts, frames):
        if words:
            cues += scene_cues(words, start, start + count / fps, lead=lead, max_chars=max_chars,
                               max_lines=max_lines, min_duration=min_duration)  # fmt: skip
    return cues


def scene_starts(frames: Sequence[int], fps: int = 24) -> list[float]:
    """Where each scene begins in the final video (seconds), from each scene segment's frame count."""
    starts, total = [], 0
    for count in frames:
        starts.append(total / fps)
        total += count
    return starts
