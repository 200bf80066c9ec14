"""The prompt pre-flight: requests this studio refuses before any provider is called, for every provider.

The list is `assets/blocklist.txt` (maintained with the code) plus, when the host sets `REELSMITH_BLOCKLIST`, the
file it names, in the same format: one term or regular expression per line, `#` starts a comment. Text is
compared after NFKC normalisation (full-width and other look-alike forms become plain letters), case folding,
removal of zero-width characters and collapsing of whitespace, and terms match whole words only, so "kite" never
matches inside a longer word. A refusal names the scene, the field and the matched words, nothing more of the text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pipeline.audit import prompt_sha256
from pipeline.errors import InputError, Problem

BUILTIN = Path(__file__).parent.parent / "assets" / "blocklist.txt"
# Characters that render as nothing, used to split a word so a plain substring check misses it.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e"
                                    "\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\ufeff"))  # fmt: skip
_LEADING_FLAGS = re.compile(r"^(?:\(\?([aiLmsux]+)\))?(.*)$", re.S)
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(|\(\?P<")
# The storyboard fields checked, and the step each one feeds.
FIELDS = (("image_prompt", "image"), ("video_prompt", "video"), ("audio_script", "voice"))


def normalise(text: str) -> str:
    """What a term is matched against: NFKC, zero-width characters gone, case-folded, whitespace runs as one space."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()
    return " ".join(text.split())


@dataclass(frozen=True)
class RefusedPrompt(Problem):
    """A Problem raised by the blocklist, with what the audit log records of it (never the text itself)."""

    scene: int = 0
    step: str = ""
    prompt_sha256: str = ""


class Blocklist:
    """Compiled terms; `match(text)` is the first matched words (normalised), or None."""

    def __init__(self, patterns: list[re.Pattern[str]]):
        self.patterns = patterns

    @classmethod
    def load(cls, extra: Path | None = None) -> "Blocklist":
        """The built-in list plus the host's file `extra` (EngineSettings.blocklist, from REELSMITH_BLOCKLIST),
        read now; files are parsed once per change."""
        files = [BUILTIN]
        if extra is not None:
            files.append(Path(extra).expanduser())
        patterns: list[re.Pattern[str]] = []
        for path in files:
            try:
                stat = path.stat()
            except OSError as exc:
                raise InputError([Problem("REELSMITH_BLOCKLIST", f"the blocklist file cannot be read "
                                          f"({exc.strerror}): fix the setting on the server")]) from None  # fmt: skip
            patterns.extend(_compiled(str(path), stat.st_mtime_ns, stat.st_size))
        return cls(patterns)

    def match(self, text: str) -> str | None:
        normal = normalise(text)
        for pattern in self.patterns:
            if found := pattern.search(normal):
                return found.group(0)[:60]
        return None

    def refusals(self, scenes: list) -> list[RefusedPrompt]:
        """One problem per refused field of every scene (`scenes`: the storyboard's scene specs)."""
        problems: list[RefusedPrompt] = []
        for i, scene in enumerate(scenes):
            for field, step in FIELDS:
                text = getattr(scene, field, "") or ""
                if text and (term := self.match(text)):
                    problems.append(RefusedPrompt(f"scenes[{i}].{field}", f"refused: '{term}' is not allowed on "
                                                  "this studio", scene=i, step=step,
                                                  prompt_sha256=prompt_sha256(text) or ""))  # fmt: skip
        return problems


@functools.lru_cache(maxsize=8)
def _compiled(path: str, mtime_ns: int, size: int) -> tuple[re.Pattern[str], ...]:
    """A file's terms, each matched on word boundaries (cached by the file's identity, so an edit is picked up).

    Terms are joined into one alternation: one pass over the text instead of one per term (a maximal storyboard,
    50 scenes of 8,000 characters, takes ~30 ms instead of ~110 ms). A term that refers to its own groups (a
    backreference, a conditional) would point at another term's groups once joined, so it stays on its own."""
    joined, alone = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        # Patterns are not case-folded (that would turn \S into \s): they match case-insensitively instead.
        term = unicodedata.normalize("NFKC", line).strip() if not line.lstrip().startswith("#") else ""
        if not term:
            continue
        # A leading global flag such as (?s) becomes a scoped one, (?s:…), so the term can sit inside the others.
        flags, rest = _LEADING_FLAGS.match(term).groups()  # type: ignore[union-attr]
        body = f"(?{flags}:{rest})" if flags else term
        try:
            re.compile(body)
        except re.error:
            body = re.escape(term)  # documented: a line that is not a valid regular expression is plain text
        (alone if _GROUP_REFERENCE.search(body) else joined).append(body)
    groups = ([f"(?:{'|'.join(f'(?:{b})' for b in joined)})"] if joined else []) + alone
    return tuple(re.compile(rf"(?<!\w)(?:{g})(?!\w)", re.IGNORECASE) for g in groups)
