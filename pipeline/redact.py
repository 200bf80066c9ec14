"""What may leave the server in a message: no server path (a store, session or temp folder tells a client where
the server keeps things and, for a session folder, once told who the session was)."""

from __future__ import annotations

import re

# An absolute path of two or more parts ("/a/b", "/home/x/media/ab/f.png"), not the "//" of a URL nor a relative
# "image/video" in prose; its last part (a file name) is kept, so the message still says which file.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/\\-])/(?:[^\s'\"`()<>:,;/]+/)+([^\s'\"`()<>:,;/]*)")


def without_paths(message: str) -> str:
    """`message` with every absolute path reduced to its file name ("…" for a folder)."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "…", message)
