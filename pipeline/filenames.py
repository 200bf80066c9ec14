"""File names made from what a person typed (a storyboard's title), safe on any file system.

A title is free text: up to 200 characters of CJK or emoji is ~800 UTF-8 bytes, past the 255-byte limit of ext4,
APFS and NTFS, and it may hold `/`, `:` or `?` (not allowed on Windows), control characters, or be `..`.
"""

from __future__ import annotations

import re
import unicodedata

# Bytes of a name's stem: well under the common 255-byte limit, leaving room for a suffix such as
# ".manifest.json" and a "-2" beside it.
MAX_STEM_BYTES = 100
# Reserved on Windows (and `/` everywhere), plus every control character.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f-\x9f]')
# Names Windows refuses whatever the suffix.
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_stem(title: str, fallback: str = "video") -> str:
    """A file-name stem for `title`: NFC, no separators, reserved or control characters (each run becomes "-"),
    no leading or trailing dots and spaces, at most MAX_STEM_BYTES of UTF-8 cut on a character boundary;
    `fallback` when nothing is left."""
    text = unicodedata.normalize("NFC", title or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # zero-width and direction marks
    stem = _UNSAFE.sub("-", text)
    stem = re.sub(r"\s+", " ", stem)
    stem = re.sub(r"-{2,}", "-", stem).strip(" .-")
    encoded = stem.encode("utf-8")
    if len(encoded) > MAX_STEM_BYTES:
        stem = encoded[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip(" .-")
    if not stem or stem.split(".")[0].upper() in _WINDOWS_DEVICES:
        return fallback if not stem else f"{fallback}-{stem}"
    return stem
