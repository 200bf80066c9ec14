"""The README's Hugging Face Space front matter: parsed, then checked against the values Spaces accept."""

from __future__ import annotations

import re
from pathlib import Path

from huggingface_hub import SpaceCard

ROOT = Path(__file__).parent.parent
SPACE_COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
LICENSES = {"apache-2.0", "mit", "bsd-3-clause", "gpl-3.0", "agpl-3.0", "cc-by-4.0", "cc0-1.0", "other"}


def _front_matter_text() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with a --- front matter block"
    return match.group(1)


def test_front_matter_is_valid_for_a_gradio_space():
    card = SpaceCard.load(ROOT / "README.md").data
    pinned = re.search(r"^gradio==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned, "requirements.txt must pin gradio"
    assert card.sdk == "gradio"
    assert card.sdk_version == pinned.group(1)
    assert (ROOT / card.app_file).is_file() and card.app_file == "app.py"
    assert card.colorFrom in SPACE_COLORS and card.colorTo in SPACE_COLORS
    assert 0 < len(card.short_description) <= 60
    assert card.license in LICENSES
    assert card.title and card.emoji


def test_versions_are_quoted_strings_not_numbers():
    raw = _front_matter_text()
    assert re.search(r'^sdk_version: "[\d.]+"$', raw, re.M)
    assert re.search(r'^python_version: "[\d.]+"$', raw, re.M)


def test_readme_opens_with_the_run_and_test_commands():
    body = (ROOT / "README.md").read_text(encoding="utf-8").split("\n---\n", 1)[1]
    blocks = re.findall(r"```bash\n(.*?)\n```", body, re.S)
    assert blocks[0].endswith("pip install -r requirements.txt && python app.py")
    assert blocks[1] == "bash .ci/run"
