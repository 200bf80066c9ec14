"""Edits of a storyboard's own text: only what changed is written.

Every edit of a storyboard (the studio's table, settings, scene buttons, approve / upload / new seed; the CLI's
`scene approve|upload|reroll`) is a typed change applied here to the person's text, not to a re-dumped model:
comments, key order, quoting, blank lines and untouched keys stay exactly as written, a cleared optional field
is removed (never written as `null`), and defaults are never expanded. YAML is edited round-trip with
ruamel.yaml; JSON stays JSON (its key order and indentation kept). The result is validated as a Storyboard
before it is returned: an edit that would make the storyboard invalid raises InputError and changes nothing.
"""

from __future__ import annotations

import difflib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence, Union

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString, LiteralScalarString, ScalarString
from ruamel.yaml.tokens import CommentToken

from pipeline.errors import InputError
from pipeline.storyboard import Storyboard, parse_storyboard

Format = Literal["yaml", "json"]


@dataclass(frozen=True)
class SetSceneFields:
    """Set some fields of scene `number` (from 1); a value of None removes the field (its default applies)."""

    number: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class InsertScene:
    """A new scene after scene `after` (0: first, None: at the end), with these fields (None values left out)."""

    after: int | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class RemoveScene:
    number: int


@dataclass(frozen=True)
class MoveScene:
    """Move scene `number` by `offset` places (−1 up, +1 down), clamped to the list; comments above it go along."""

    number: int
    offset: int


@dataclass(frozen=True)
class SetSettings:
    """Set project settings by dotted path (`voice.stability`); None removes the key."""

    values: dict[str, Any] = field(default_factory=dict)


StoryboardChange = Union[SetSceneFields, InsertScene, RemoveScene, MoveScene, SetSettings]


@dataclass(frozen=True)
class Edited:
    """The edited text, the storyboard it now says, and whether the text changed at all."""

    text: str
    storyboard: Storyboard
    changed: bool


MAX_YAML_EDIT_BYTES = 512 * 1024


def text_format(text: str) -> Format:
    """The format parse_storyboard reads `text` as: JSON when it starts with `{`."""
    return "json" if text.lstrip().startswith("{") else "yaml"


def edit_storyboard(text: str, changes: StoryboardChange | Sequence[StoryboardChange],
                    fmt: Format | None = None) -> Edited:  # fmt: skip
    """Apply `changes` to a storyboard's text, keeping everything else of it byte for byte.

    The text is validated first (parse_storyboard's limits refuse hostile text before the round-trip loader sees
    it) and the result after; either failing raises InputError, and the caller keeps the text it had.
    """
    fmt = fmt or text_format(text)
    parse_storyboard(text, fmt)
    if fmt == "yaml" and (size := len(text.encode("utf-8"))) > MAX_YAML_EDIT_BYTES:
        # ruamel's round-trip loader is pure Python (~10 µs a character): on a shared host one 2 MB storyboard per
        # click would hold a core for tens of seconds. The largest real storyboard (50 full scenes) is ~420 KB.
        raise InputError(f"storyboard: {size // 1024} KB is too large to edit in place (limit "
                         f"{MAX_YAML_EDIT_BYTES // 1024} KB); edit its text directly")  # fmt: skip
    if "\r\n" in text:  # a Windows file keeps its line endings (the dumpers write "\n")
        edited = edit_storyboard(text.replace("\r\n", "\n"), changes, fmt)
        crlf = edited.text.replace("\n", "\r\n")
        return Edited(crlf, edited.storyboard, crlf != text)
    document = _JsonDocument(text) if fmt == "json" else _YamlDocument(text)
    normalised = document.dump()  # before any change: how the dumper spells this text
    for change in [changes] if not isinstance(changes, Sequence) else changes:
        _apply(document.data, change, document.new_map)
    edited = _splice(text, normalised, document.dump())
    try:
        storyboard = parse_storyboard(edited, fmt)
    except InputError:
        if edited == document.dump():
            raise
        edited = document.dump()  # the splice met something unusual; the plain round trip is still faithful
        storyboard = parse_storyboard(edited, fmt)
    return Edited(edited, storyboard, edited != text)


# ---------------------------------------------------------------------------------------------------------------
# Changes, on plain data (dict/list for JSON, ruamel's commented ones for YAML)


def _apply(data: dict[str, Any], change: StoryboardChange, new_map: Any) -> None:
    scenes = data.get("scenes")
    if isinstance(change, SetSettings):
        for dotted, value in change.values.items():
            _set_path(data, dotted.split("."), value, new_map)
        return
    if isinstance(change, InsertScene):
        at = len(scenes) if change.after is None else 0 if change.after == 0 else _scene_index(scenes, change.after) + 1
        scene = new_map()
        for key, value in change.fields.items():
            if value is not None:
                scene[key] = _scalar(value)
        _insert_item(scenes, at, scene)
        return
    index = _scene_index(scenes, change.number)
    if isinstance(change, SetSceneFields):
        for key, value in change.fields.items():
            _set_key(scenes[index], key, value)
    elif isinstance(change, RemoveScene):
        if len(scenes) == 1:
            raise InputError("scenes: a storyboard needs at least one scene")
        _remove_item(scenes, index)
    elif isinstance(change, MoveScene):
        target = max(0, min(len(scenes) - 1, index + change.offset))
        _move_item(scenes, index, target)
    else:  # pragma: no cover - the Union above is the whole list
        raise TypeError(f"not a storyboard change: {change!r}")


def _scene_index(scenes: list[Any], number: int) -> int:
    """1-based scene number (what a person sees) → index, with a clear message when out of range."""
    if not 1 <= number <= len(scenes):
        raise InputError(f"scene: {number} is not a scene of this storyboard (1–{len(scenes)})")
    return number - 1


def _set_path(data: dict[str, Any], parts: list[str], value: Any, new_map: Any) -> None:
    *parents, last = parts
    target = data
    trail: list[tuple[dict[str, Any], str]] = []
    for depth, part in enumerate(parents):
        if not isinstance(target.get(part), dict):
            if value is None:
                return  # removing a key whose section is not written: nothing to do
            section = leaf = new_map()  # the missing sections, built whole and then added at once
            for inner in parents[depth + 1 :]:
                leaf[inner] = leaf = new_map()
            leaf[last] = _scalar(value)
            _set_key(target, part, section)
            return
        trail.append((target, part))
        target = target[part]
    unplaced = _set_key(target, last, value)
    # A section emptied by the removal goes too (`image: {}` says nothing); comment lines that had nowhere to go
    # in it go to its parent.
    for parent, part in reversed(trail):
        if parent[part]:
            break
        unplaced = _drop_key(parent, part, unplaced)


def _set_key(mapping: dict[str, Any], key: str, value: Any) -> str:
    """Set (in place, where it stands), add (at the end) or, for None, remove one key of a mapping. Returns the
    comment lines a removal left with nowhere to go (it emptied the mapping)."""
    if value is None:
        return _drop_key(mapping, key) if key in mapping else ""
    if key in mapping:
        old = mapping[key]
        if old == value and type(old) is type(value) or (_same_number(old, value)):
            return ""  # unchanged: keep its spelling (`0x10`, `5.0`, quotes)
        mapping[key] = _scalar(value, like=old)
        return ""
    _append_key(mapping, key, _scalar(value))
    return ""


def _same_number(old: Any, new: Any) -> bool:
    numbers = (int, float)
    return (isinstance(old, numbers) and isinstance(new, numbers) and not isinstance(old, bool)
            and not isinstance(new, bool) and old == new)  # fmt: skip


# PyYAML (which reads storyboards) follows YAML 1.1, where `yes`, `on`, `1_000` and `12:30` are not text; ruamel
# follows 1.2 and would write them bare. Text that 1.1 would read as something else is quoted.
_PYYAML_RESOLVER = pyyaml.resolver.Resolver()


def _scalar(value: Any, like: Any = None) -> Any:
    if not isinstance(value, str):
        return value
    if isinstance(like, ScalarString):
        return type(like)(value)  # the person's quoting (or block) style for this field
    tag = _PYYAML_RESOLVER.resolve(pyyaml.ScalarNode, value, (True, False))
    return DoubleQuotedScalarString(value) if tag != "tag:yaml.org,2002:str" else value


# ---------------------------------------------------------------------------------------------------------------
# Comments: ruamel keeps the comment lines after an entry on that entry (its "post" comment). When an entry is
# added, removed or moved, those lines are moved so that they stay where the person put them.


def _post_token(node: Any, key: Any) -> CommentToken | None:
    if not isinstance(node, (CommentedMap, CommentedSeq)):
        return None
    entry = node.ca.items.get(key)
    slot = 2 if isinstance(node, CommentedMap) else 0
    return entry[slot] if entry else None


def _set_post_token(node: Any, key: Any, value: str) -> None:
    """Set the text after an entry: its end-of-line part ("\\n" when none) and the comment lines that follow."""
    slot = 2 if isinstance(node, CommentedMap) else 0
    entry = node.ca.items.setdefault(key, [None, None, None, None])
    token = entry[slot]
    if value in ("", "\n"):
        entry[slot] = None
    elif token is not None:
        token.value = value
    else:
        entry[slot] = _token(value)
    if not any(entry):
        del node.ca.items[key]


def _tail_holder(node: Any) -> tuple[Any, Any] | None:
    """The entry a collection's trailing comment lines hang on: its last entry, or that entry's own last one."""
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        key = next(reversed(node)) if isinstance(node, CommentedMap) else len(node) - 1
        child = node[key]
        if isinstance(child, (CommentedMap, CommentedSeq)) and len(child) and _post_token(node, key) is None:
            node = child
            continue
        return node, key
    return None


def _split_post(node: Any, key: Any) -> tuple[str, str]:
    """(end-of-line part, following lines) of the text after an entry. A block scalar (`|`, `>`) ends with its
    own line break, so everything after it is following lines."""
    token = _post_token(node, key)
    block = isinstance(node[key], (LiteralScalarString, FoldedScalarString))
    if token is None:
        return ("" if block else "\n"), ""
    if block:
        return "", token.value
    eol, _, rest = token.value.partition("\n")
    return eol + "\n", rest


def _take_tail(node: Any) -> str:
    """Detach and return the comment lines after a collection (or an entry holding one)."""
    holder = _tail_holder(node)
    if holder is None:
        return ""
    eol, rest = _split_post(*holder)
    if rest:
        _set_post_token(*holder, eol)
    return rest


def _give_tail(node: Any, rest: str) -> None:
    if not rest:
        return
    holder = _tail_holder(node)
    if holder is None:
        return
    eol, mine = _split_post(*holder)
    _set_post_token(*holder, eol + mine + rest)


def _append_key(mapping: dict[str, Any], key: str, value: Any) -> None:
    # The comment lines after the last entry (often a blank line and a comment above the next scene) stay after
    # the mapping, below the new key.
    rest = _take_tail(mapping) if isinstance(mapping, CommentedMap) else ""
    mapping[key] = value
    _give_tail(mapping, rest)


def _drop_key(mapping: dict[str, Any], key: str, carried: str = "") -> str:
    """Remove a key, keeping the comment lines after it (and `carried` ones from inside its value) in place;
    returns them when the mapping is left empty, for its parent to place."""
    if not isinstance(mapping, CommentedMap):
        del mapping[key]
        return ""
    keys = list(mapping)
    at = keys.index(key)
    # The comment lines after the removed key stay, and so does its own end-of-line comment, on a line of its
    # own where the key was: a person's notes are theirs to delete.
    eol, rest = _split_post(mapping, key) if _post_token(mapping, key) else ("", _take_tail(mapping[key]))
    if eol.strip():
        rest = " " * _column(mapping, key) + eol.strip() + "\n" + rest
    # Comment lines between a removed section's key and its first entry are kept the same way.
    above = (mapping.ca.items.get(key) or [None] * 4)[3] or []
    rest = "".join(" " * t.start_mark.column + t.value for t in above if t is not None) + carried + rest
    if key in mapping.ca.items:
        del mapping.ca.items[key]
    del mapping[key]
    if not rest:
        return ""
    if at > 0:
        previous = keys[at - 1]
        value = mapping[previous]
        if isinstance(value, (CommentedMap, CommentedSeq)) and len(value) and _post_token(mapping, previous) is None:
            _give_tail(value, rest)
        else:
            eol, mine = _split_post(mapping, previous)
            _set_post_token(mapping, previous, eol + mine + rest)
    elif len(mapping):
        entry = mapping.ca.items.setdefault(keys[1], [None, None, None, None])
        entry[1] = [_token(rest), *(entry[1] or [])]
    else:
        return rest
    return ""


def _column(mapping: CommentedMap, key: str) -> int:
    try:
        return int(mapping.lc.key(key)[1])
    except (KeyError, TypeError, AttributeError):  # a key added by this edit has no position
        return 0


def _insert_item(items: list[Any], at: int, item: Any) -> None:
    if not isinstance(items, CommentedSeq):
        items.insert(at, item)
        return
    leads, tail = _detach_leads(items)
    items.insert(at, item)
    leads.insert(at, "")
    _attach_leads(items, leads, tail)


def _remove_item(items: list[Any], index: int) -> None:
    if not isinstance(items, CommentedSeq):
        del items[index]
        return
    leads, tail = _detach_leads(items)
    del items[index]
    del leads[index]  # the comment lines just above a scene are about it: they go with it
    _attach_leads(items, leads, tail)


def _move_item(items: list[Any], index: int, target: int) -> None:
    if not isinstance(items, CommentedSeq):
        items.insert(target, items.pop(index))
        return
    leads, tail = _detach_leads(items)
    items.insert(target, items.pop(index))
    leads.insert(target, leads.pop(index))
    _attach_leads(items, leads, tail)


def _detach_leads(items: CommentedSeq) -> tuple[list[str], str]:
    """The comment lines just above each item (the first item's stay above the list) and those after the last.

    ruamel hangs each on the item before it; detached here, they follow their own item when items move.
    """
    gaps = [_take_tail(item) for item in items]
    for index in range(len(items)):  # comments on a scalar item's own line
        eol, rest = _split_post(items, index)
        if rest:
            _set_post_token(items, index, eol)
            gaps[index] = rest + gaps[index]
    return [""] + gaps[:-1], gaps[-1] if gaps else ""


def _attach_leads(items: CommentedSeq, leads: list[str], tail: str) -> None:
    if leads and leads[0]:
        # A scene with comment lines above it moved to the top: they join the lines above the list.
        if items.ca.comment and isinstance(items.ca.comment[1], list):
            items.ca.comment[1].append(_token(leads[0]))  # the list the emitter reads (shared with the key's)
        else:
            items.ca.comment = [None, [_token(leads[0])]]
    for index, rest in enumerate(leads[1:] + [tail]):
        item = items[index]
        if isinstance(item, (CommentedMap, CommentedSeq)) and len(item) and _post_token(items, index) is None:
            _give_tail(item, rest)
        elif rest:
            eol, mine = _split_post(items, index)
            _set_post_token(items, index, eol + mine + rest)


def _token(value: str) -> CommentToken:
    # The value carries its own indentation; the emitter asks every comment for a start column.
    return CommentToken(value, CommentMark(0), None)


# ---------------------------------------------------------------------------------------------------------------
# Documents: load, dump the same way the text was written


class _YamlDocument:
    def __init__(self, text: str):
        self.yaml = YAML(typ="rt")
        self.yaml.preserve_quotes = True
        self.yaml.width = 1_000_000  # never re-wrap a long prompt
        self.yaml.allow_unicode = True
        mapping, sequence, offset = _yaml_indents(text)
        self.yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        self.yaml.explicit_start = text.lstrip().startswith("---")
        self.data = self.yaml.load(text)

    def new_map(self) -> CommentedMap:
        return CommentedMap()

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()


_BLOCK_KEY = re.compile(r"^( *)(?:- +)?[^\s#-][^#]*:\s*(?:#.*)?$")


def _yaml_indents(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the text writes them; ruamel's guess mixes the first two."""
    mapping = sequence = offset = None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in zip(lines, lines[1:]):
        opened = _BLOCK_KEY.match(line)
        if not opened:
            continue
        parent = len(opened.group(1)) + (len(line) - len(line.lstrip(" -")) - len(opened.group(1)))
        inner = len(following) - len(following.lstrip(" "))
        if inner <= parent and not following.lstrip().startswith("- "):
            continue
        if following.lstrip().startswith("- ") and offset is None:
            offset = max(0, inner - parent)
            dash = following.lstrip()[1:]
            sequence = offset + 1 + len(dash) - len(dash.lstrip(" "))
        elif not following.lstrip().startswith("- ") and mapping is None:
            mapping = inner - parent
        if mapping is not None and offset is not None:
            break
    mapping = mapping or 2
    if offset is None:
        offset, sequence = 2, mapping + 2
    return mapping, max(sequence or 2, offset + 2), offset


class _JsonDocument:
    def __init__(self, text: str):
        self.data = json.loads(text)
        indented = re.search(r"[\[{]\s*\n([ \t]+)\S", text)
        self.indent: int | str | None = None
        if indented:
            self.indent = indented.group(1) if "\t" in indented.group(1) else len(indented.group(1))
        self.newline = "\n" if text.endswith("\n") else ""

    def new_map(self) -> dict[str, Any]:
        return {}

    def dump(self) -> str:
        return json.dumps(self.data, indent=self.indent, ensure_ascii=False) + self.newline


def _splice(original: str, normalised: str, edited: str) -> str:
    """`edited`, but with every line the edit did not touch taken from `original`.

    `normalised` is the original loaded and dumped again unchanged: where the dumper spells something its own
    way (spaces in a flow mapping, an unusual indent), the lines the edit did not change keep the person's
    spelling. Only the lines of the edit's own hunks (widened to where the two texts agree) are the dumper's.
    """
    if normalised == original:
        return edited
    o, b, m = (s.splitlines(keepends=True) for s in (original, normalised, edited))
    in_original: dict[int, int] = {}  # normalised line → original line, where certain
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, b, o, autojunk=False).get_opcodes():
        in_original[i1], in_original[i2] = j1, j2
        if tag == "equal":
            in_original.update((i1 + k, j1 + k) for k in range(i2 - i1))
    changed = [op[1:] for op in difflib.SequenceMatcher(None, b, m, autojunk=False).get_opcodes() if op[0] != "equal"]
    out = list(o)
    spans: list[tuple[int, int, int, int]] = []  # normalised [start, end) → edited [start, end), in order
    n = 0
    while n < len(changed):
        i1, i2, j1, j2 = changed[n]
        start, end = i1, i2
        while start not in in_original:  # widen to where normalised and original agree
            start -= 1
        while end not in in_original or (n + 1 < len(changed) and changed[n + 1][0] <= end):
            if n + 1 < len(changed) and changed[n + 1][0] <= end:
                n += 1
                end = max(end, changed[n][1])
                i2, j2 = changed[n][1], changed[n][3]
            else:
                end += 1
        spans.append((start, end, j1 - (i1 - start), j2 + (end - i2)))
        n += 1
    for start, end, m_start, m_end in reversed(spans):
        out[in_original[start] : in_original[end]] = m[m_start:m_end]
    return "".join(out)
