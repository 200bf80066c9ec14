"""The Python versions we promise are the ones our pinned dependencies install on (issue 15: the README said
3.10+ while the pinned numpy and onnxruntime need 3.11)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).parent.parent


def _our_minimum() -> Version:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    found = re.fullmatch(r">=\s*(\d+\.\d+)", spec.strip())
    assert found, f"requires-python should be a plain lower bound, got {spec!r}"
    return Version(found.group(1))


def _pinned() -> list[str]:
    names = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            names.append(line.split("==", 1)[0].strip())
    return names


def test_every_pinned_dependency_installs_on_our_lowest_python():
    lowest = _our_minimum()
    refused = []
    for name in _pinned():
        requires = metadata.metadata(name).get("Requires-Python")
        if requires and not SpecifierSet(requires).contains(lowest):
            refused.append(f"{name} needs Python {requires}")
    assert not refused, f"pyproject promises Python {lowest}+, but: {refused}"


def test_readme_and_space_state_the_same_python_as_pyproject():
    lowest = _our_minimum()
    readme = (ROOT / "README.md").read_text()
    stated = re.findall(r"Python (\d+\.\d+)\+", readme)
    assert stated, "the README should say which Python it needs"
    assert {Version(v) for v in stated} == {lowest}, stated
    space = re.search(r'^python_version: "(\d+\.\d+)"', readme, re.M)
    assert space and Version(space.group(1)) >= lowest
