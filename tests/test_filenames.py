"""Output names from titles: safe on any file system (issue 12: a 200-character CJK title failed after rendering)."""

from __future__ import annotations

import pytest

from pipeline.filenames import MAX_STEM_BYTES, safe_stem


@pytest.mark.parametrize("title, stem", [
    ("The Lighthouse Keeper", "The Lighthouse Keeper"),
    ("../../etc/passwd", "etc-passwd"),
    ("..", "video"),
    ("", "video"),
    ("  .hidden. ", "hidden"),
    ('a/b\\c:d*e?f"g<h>i|j', "a-b-c-d-e-f-g-h-i-j"),
    ("x\x00y\x1fz", "x-y-z"),
    ("\u200b\u200d\ufeff", "video"),
    ("CON", "video-CON"),
    ("nul.txt", "video-nul.txt"),
    ("e\u0301te\u0301", "\u00e9t\u00e9"),  # NFC: one code point per accented letter, as macOS and Linux agree on
])  # fmt: skip
def test_safe_stem(title, stem):
    assert safe_stem(title) == stem


@pytest.mark.parametrize("title", ["漢" * 200, "🎬" * 200, "a" * 99 + "🎬" * 3, "é" * 200])
def test_long_titles_are_cut_on_a_character_boundary_under_the_byte_limit(title, tmp_path):
    stem = safe_stem(title)
    assert 0 < len(stem.encode("utf-8")) <= MAX_STEM_BYTES
    assert title.startswith(stem)
    (tmp_path / f"{stem}.manifest.json").write_text("{}")  # the longest name written beside a video


def test_the_fallback_names_what_the_file_is():
    assert safe_stem("///", fallback="storyboard") == "storyboard"
