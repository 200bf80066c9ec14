"""House style, checked: no class over 250 lines and no function over 60 lines in pipeline/ and app.py.

A long function does several jobs a reader has to tell apart; split it into functions whose names say what each
does. Lines are counted from the `def`/`class` line to the last line of the body (decorators excluded), so a
nested function counts towards its enclosing one as well as on its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = [ROOT / "pipeline", ROOT / "app.py"]
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60

# The one exception, by folder: the draft painter's layer table, where each `paint_…` function draws one element
# of the picture as a run of drawing calls whose order is the picture (splitting one would only scatter it).
EXEMPT = {
    "pipeline/providers/draft/layers": "the draft painter's layer table",
}


def python_files() -> list[Path]:
    files: list[Path] = []
    for place in CHECKED:
        files.extend(sorted(place.rglob("*.py")) if place.is_dir() else [place])
    return files


def is_exempt(relative: str) -> bool:
    return any(relative == folder or relative.startswith(folder + "/") for folder in EXEMPT)


def too_long(source: str, filename: str) -> list[str]:
    """`file:line name is N lines (limit L)` for each class and function in `source` over its limit."""
    found: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                limit = MAX_CLASS_LINES if isinstance(child, ast.ClassDef) else MAX_FUNCTION_LINES
                length = child.end_lineno - child.lineno + 1
                if length > limit:
                    kind = "class" if isinstance(child, ast.ClassDef) else "function"
                    found.append(f"{filename}:{child.lineno} {kind} {name} is {length} lines (limit {limit})")
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source, filename), "")
    return found


def test_no_class_over_250_lines_and_no_function_over_60():
    offenders: list[str] = []
    for path in python_files():
        relative = path.relative_to(ROOT).as_posix()
        if not is_exempt(relative):
            offenders.extend(too_long(path.read_text(encoding="utf-8"), relative))
    assert not offenders, "split these into functions that each do one job:\n" + "\n".join(offenders)


def test_the_exemption_names_a_folder_that_exists():
    # A renamed or moved layer table must not leave a stale exemption that excuses nothing (or something new).
    for folder in EXEMPT:
        assert (ROOT / folder).is_dir(), f"{folder} in EXEMPT no longer exists"


def _function(lines: int, name: str = "f", indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 1))
    return f"{indent}def {name}():\n{body}"


def test_the_checker_counts_from_def_to_last_line_and_names_nested_and_methods():
    assert too_long(_function(60), "m.py") == []
    assert too_long(_function(61), "m.py") == ["m.py:1 function f is 61 lines (limit 60)"]
    method = "class C:\n" + _function(61, "long_method", indent="    ")
    assert too_long(method, "m.py") == ["m.py:2 function C.long_method is 61 lines (limit 60)"]
    outer = "def outer():\n" + _function(61, "inner", indent="    ") + "    return inner\n"
    assert too_long(outer, "m.py") == [
        "m.py:1 function outer is 63 lines (limit 60)",
        "m.py:2 function outer.inner is 61 lines (limit 60)",
    ]
    big_class = "class Big:\n" + "".join(_function(50, f"m{i}", indent="    ") for i in range(5)) + "    y = 1\n"
    assert too_long(big_class, "m.py") == ["m.py:1 class Big is 252 lines (limit 250)"]


def test_only_the_layer_table_is_exempt():
    assert is_exempt("pipeline/providers/draft/layers/city.py")
    assert not is_exempt("pipeline/providers/draft/frame.py")
    assert not is_exempt("pipeline/providers/draft/layers_extra.py")
    assert not is_exempt("app.py")
