"""Edits keep the person's own storyboard text (issue 15, item 2): comments, key order, quoting and untouched keys
stay byte for byte; only the changed keys are written; an invalid edit changes nothing; the scene table cannot
shift a column."""

from __future__ import annotations

import difflib
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import scenes
from pipeline.errors import InputError
from pipeline.storyboard import parse_storyboard
from pipeline.yaml_edit import InsertScene, MoveScene, RemoveScene, SetSceneFields, SetSettings, edit_storyboard

PIN = "sha256:" + "ab" * 32

# Hand-ordered (scenes before the title), commented, quoted, a flow mapping with the person's own spacing, a
# block scalar, blank lines: everything a re-dump used to lose.
COMMENTED = f"""# Night harbour: a short for the festival
scenes:
  # opening: keep it slow
  - image_prompt: An old lighthouse on a cliff  # the hero shot
    seed: 7   # the one I liked
    # (tried 8 and 9, too dark)
    duration: 6

  # the storm
  - image_prompt: 'A stormy ocean at night'
    image: {PIN}  # approved on Monday
    audio_script: "One winter night, a storm swallowed the sea."
    duration: 5
  # last one
  - image_prompt: Sunrise over the harbour
    audio_script: |
      By morning the storm had passed.
      The boat was home.
title: "Night harbour"   # working title
voice:
  provider: piper
  # joe reads slowly, which suits it
  voice_id: joe
image: {{provider: draft,  steps: 20}}   # draft until the budget is in
# end of storyboard
"""


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added) from `old` to `new`: everything else is byte-identical."""
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def comments(text: str) -> list[str]:
    return sorted(m.group() for m in re.finditer(r"#.*", text))


def edit(build, text: str = COMMENTED) -> str:
    return scenes.edit(text, build).text


def test_the_fixture_is_a_valid_storyboard():
    assert [s.duration for s in parse_storyboard(COMMENTED).scenes] == [6, 5, 5]


def test_approving_adds_one_line():
    pin = "sha256:" + "cd" * 32
    assert changed_lines(COMMENTED, edit(lambda sb: scenes.scene_update(sb, 1, image=pin))) == (
        [], [f"    image: {pin}"])  # fmt: skip


def test_a_new_seed_changes_the_seed_and_drops_the_pin_only():
    text = edit(lambda sb: scenes.scene_update(sb, 2, seed=42))
    assert changed_lines(COMMENTED, text) == ([f"    image: {PIN}  # approved on Monday"],
                                              ["    # approved on Monday", "    seed: 42"])  # fmt: skip
    again = edit(lambda sb: scenes.scene_update(sb, 1, seed=8))
    assert changed_lines(COMMENTED, again) == (["    seed: 7   # the one I liked"], ["    seed: 8   # the one I liked"])


def test_a_table_cell_changes_that_value_only():
    rows = scenes.scene_table(parse_storyboard(COMMENTED))
    rows[1][4] = 7.0  # Gradio's number cells arrive as floats
    text = edit(lambda sb: scenes.table_changes(sb, rows, scenes.TABLE_HEADERS))
    assert changed_lines(COMMENTED, text) == (["    duration: 5"], ["    duration: 7"])
    rows[0][2] = "Forty years of light."
    text = edit(lambda sb: scenes.table_changes(sb, rows))
    assert changed_lines(COMMENTED, text) == (
        ["    duration: 5"], ["    audio_script: Forty years of light.", "    duration: 7"])  # fmt: skip
    assert text.index("Forty years") < text.index("# the storm"), "the new key is written inside its own scene"


def test_clearing_a_cell_removes_the_key_instead_of_writing_null():
    rows = scenes.scene_table(parse_storyboard(COMMENTED))
    rows[0][5] = ""
    text = edit(lambda sb: scenes.table_changes(sb, rows))
    assert changed_lines(COMMENTED, text) == (["    seed: 7   # the one I liked"], ["    # the one I liked"])
    assert "null" not in text


def test_adding_removing_and_moving_scenes_keep_every_other_line():
    added = edit(lambda sb: scenes.new_scene(1, image_prompt="A boat in the rain"))
    assert changed_lines(COMMENTED, added) == ([], ["  - image_prompt: A boat in the rain"])
    assert added.index("A boat in the rain") < added.index("# the storm") < added.index("A stormy ocean")

    removed = edit(lambda sb: RemoveScene(2))
    assert changed_lines(COMMENTED, removed) == (
        ["", "  # the storm", "  - image_prompt: 'A stormy ocean at night'", f"    image: {PIN}  # approved on Monday",
         '    audio_script: "One winter night, a storm swallowed the sea."', "    duration: 5"], [])  # fmt: skip

    moved = edit(lambda sb: MoveScene(3, -1))
    assert sorted(moved.splitlines()) == sorted(COMMENTED.splitlines()), "a move only reorders lines"
    assert moved.index("# last one") < moved.index("Sunrise") < moved.index("# the storm") < moved.index("stormy")
    assert moved.endswith("# end of storyboard\n")
    assert [s.image_prompt for s in parse_storyboard(moved).scenes] == [
        "An old lighthouse on a cliff", "Sunrise over the harbour", "A stormy ocean at night"]  # fmt: skip


def test_a_settings_control_writes_its_own_key_only():
    storyboard = parse_storyboard(COMMENTED)
    values = scenes.settings_of(storyboard)
    values[scenes.SETTING_FIELDS.index("voice.stability")] = 0.8
    text = edit(lambda sb: scenes.settings_changes(sb, values))
    assert changed_lines(COMMENTED, text) == ([], ["  stability: 0.8"])
    values = scenes.settings_of(storyboard)
    values[scenes.SETTING_FIELDS.index("image.steps")] = 30.0  # a slider's value
    text = edit(lambda sb: scenes.settings_changes(sb, values))
    # The changed line is the dumper's (one space after the comma); every other line is the person's.
    assert changed_lines(COMMENTED, text) == (["image: {provider: draft,  steps: 20}   # draft until the budget is in"],
                                              ["image: {provider: draft, steps: 30}    # draft until the budget is in"])
    unchanged = scenes.settings_of(storyboard)
    assert edit(lambda sb: scenes.settings_changes(sb, unchanged)) == COMMENTED, "nothing changed, nothing written"


def test_new_sections_are_written_whole_and_short():
    threshold = "video.content_moderation.public_figure_threshold"
    text = edit(lambda sb: SetSettings({"output.watermark": True, threshold: "low"}))
    assert changed_lines(COMMENTED, text) == ([], ["output:", "  watermark: true", "video:", "  content_moderation:",
                                                   "    public_figure_threshold: low"])  # fmt: skip
    assert text.endswith("# end of storyboard\n")


def test_text_that_yaml_1_1_reads_as_something_else_is_quoted():
    text = edit(lambda sb: SetSettings({"title": "yes"}), "title: x\nscenes:\n  - image_prompt: 'on'\n")
    assert parse_storyboard(text).title == "yes"
    text = edit(lambda sb: SetSceneFields(1, {"audio_script": "off", "voice_id": "123"}), text)
    assert parse_storyboard(text).scenes[0].audio_script == "off" and parse_storyboard(text).scenes[0].voice_id == "123"


def test_an_invalid_edit_is_refused_and_changes_nothing():
    with pytest.raises(InputError, match=r"^Scene 2, duration \(scenes\[1\]\.duration\): 99 is above the maximum"):
        scenes.edit(COMMENTED, lambda sb: scenes.scene_update(sb, 2, duration=99))
    with pytest.raises(InputError, match="a storyboard needs at least one scene"):
        scenes.edit("scenes:\n  - image_prompt: a\n", lambda sb: RemoveScene(1))
    with pytest.raises(InputError, match=r"scene: 4 is not a scene of this storyboard \(1–3\)"):
        scenes.edit(COMMENTED, lambda sb: MoveScene(4, 1))


def test_windows_line_endings_stay():
    text = COMMENTED.replace("\n", "\r\n")
    edited = scenes.edit(text, lambda sb: scenes.scene_update(sb, 2, duration=7)).text
    assert edited == text.replace("    duration: 5\r\n", "    duration: 7\r\n")


def test_json_stays_json():
    data = json.loads(json.dumps(parse_storyboard(COMMENTED).model_dump(mode="json", exclude_none=True)))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    edited = scenes.edit(text, lambda sb: scenes.scene_update(sb, 2, duration=7)).text
    assert changed_lines(text, edited) == (['      "duration": 5,'], ['      "duration": 7,'])
    assert json.loads(edited)["scenes"][1]["duration"] == 7
    compact = json.dumps(data)
    edited = scenes.edit(compact, lambda sb: SetSettings({"title": "Harbour"})).text
    assert json.loads(edited)["title"] == "Harbour" and "\n" not in edited and list(json.loads(edited)) == list(data)


# ---------------------------------------------------------------------------------------------------------------
# Any edit, any order: no comment is ever lost

_TEXT = st.sampled_from(["A calm sea", "yes", "", "Über den Wolken", "12", "a: b", "# not a comment"])
_SCENE_FIELD = st.sampled_from(["image_prompt", "video_prompt", "audio_script", "voice_id", "duration", "seed",
                                "image"])  # fmt: skip
_SETTING = st.sampled_from(["title", "voice.voice_id", "voice.stability", "image.steps", "image.model", "image.seed",
                            "output.quality", "video.provider"])  # fmt: skip


def _field_value(field: str) -> st.SearchStrategy:
    values = {"duration": st.integers(2, 10), "seed": st.integers(0, 2**32 - 1), "image": st.just(PIN),
              "image_prompt": _TEXT.filter(bool)}  # fmt: skip
    return st.one_of(st.none(), values.get(field, _TEXT))


def _setting_value(dotted: str) -> st.SearchStrategy:
    values = {"voice.stability": st.floats(0, 1).map(lambda v: round(v, 2)), "image.steps": st.integers(1, 50),
              "image.seed": st.integers(0, 99), "output.quality": st.sampled_from(["low", "high"]),
              "video.provider": st.just("motion"), "title": _TEXT.filter(bool)}  # fmt: skip
    return st.one_of(st.none(), values.get(dotted, _TEXT))


_CHANGES = st.one_of(
    st.tuples(st.integers(1, 3), _SCENE_FIELD).flatmap(
        lambda at: _field_value(at[1]).map(lambda value: SetSceneFields(at[0], {at[1]: value}))),
    _SETTING.flatmap(lambda d: _setting_value(d).map(lambda v: SetSettings({d: v}))),
    st.builds(MoveScene, st.integers(1, 3), st.sampled_from([-2, -1, 1, 2])),
    st.builds(lambda after, prompt: InsertScene(after, {"image_prompt": prompt}), st.sampled_from([None, 0, 1, 3]),
              _TEXT.filter(bool)),  # fmt: skip
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_CHANGES, min_size=1, max_size=4))
def test_edits_never_lose_a_comment(changes):
    text = COMMENTED
    for change in changes:
        try:
            text = edit_storyboard(text, change).text
        except InputError:
            continue  # refused as a whole (an image prompt made blank...): the text is as it was
        parse_storyboard(text)
    for comment in comments(COMMENTED):
        assert comment in text, f"{comment!r} lost after {changes}"
    assert "null" not in text


# ---------------------------------------------------------------------------------------------------------------
# The studio's scene table: it cannot shift a column, and a refused cell goes back to the storyboard's value


def _frame(rows, headers=scenes.TABLE_HEADERS):
    import pandas as pd

    return pd.DataFrame(rows, columns=headers)


def test_the_tables_columns_are_fixed():
    import app

    assert app.scenes_table.column_count == (len(scenes.TABLE_HEADERS), "fixed"), "no column added or deleted"
    assert app.scenes_table.static_columns == [scenes.TABLE_HEADERS.index("approved image")]


def test_a_table_with_a_column_deleted_or_added_changes_nothing():
    import gradio as gr

    import app

    rows = scenes.scene_table(parse_storyboard(COMMENTED))
    shown = scenes.scene_table(parse_storyboard(COMMENTED))
    # "Delete column" on the motion prompt: every later value would land one field to the left.
    deleted = _frame([r[:1] + r[2:] for r in rows], scenes.TABLE_HEADERS[:1] + scenes.TABLE_HEADERS[2:])
    with pytest.warns(UserWarning, match="its columns changed"):
        assert app.text_from_table(COMMENTED, deleted) == (gr.skip(), shown)
    added = _frame([r + ["x"] for r in rows], scenes.TABLE_HEADERS + ["Header 8"])
    with pytest.warns(UserWarning, match="its columns changed"):
        assert app.text_from_table(COMMENTED, added) == (gr.skip(), shown)
    # A program sending bare rows: a short or long row is refused, not shifted.
    with pytest.warns(UserWarning, match=r"Scene 2 \(scenes\[1\]\): the table row has 6 cells, expected 7"):
        assert app.text_from_table(COMMENTED, [rows[0], rows[1][:6], rows[2]]) == (gr.skip(), shown)
    with pytest.warns(UserWarning, match="the table row has 8 cells"):
        assert app.text_from_table(COMMENTED, [rows[0] + [1], rows[1], rows[2]]) == (gr.skip(), shown)


def test_a_bad_cell_is_refused_and_the_table_shows_the_storyboards_value_again():
    import gradio as gr

    import app

    rows = scenes.scene_table(parse_storyboard(COMMENTED))
    rows[0][4] = 99
    with pytest.warns(UserWarning, match=r"Scene 1, duration \(scenes\[0\]\.duration\): 99 is above the maximum of 10"):
        text, table = app.text_from_table(COMMENTED, _frame(rows))
    assert text == gr.skip() and table[0][4] == 6, "the table reverts to the storyboard's 6 seconds"
    rows[0][4] = 8.0
    text, table = app.text_from_table(COMMENTED, _frame(rows))
    assert changed_lines(COMMENTED, text) == (["    duration: 6"], ["    duration: 8"]) and table == gr.skip()


# ---------------------------------------------------------------------------------------------------------------
# The CLI's scene commands


def test_cli_scene_approve_keeps_the_files_comments_and_says_what_it_changed(tmp_path, test_providers, capsys):
    from pipeline.cli import main

    board = tmp_path / "board.yaml"
    original = COMMENTED.replace("provider: draft", "provider: test-image").replace(
        "provider: piper", "provider: test-voice") + "video: {provider: test-video}\n"  # fmt: skip
    board.write_text(original, encoding="utf-8")
    assert main(["scene", "image", str(board), "--scene", "1"]) == 0
    capsys.readouterr()
    assert main(["scene", "approve", str(board), "--scene", "1"]) == 0
    pin = parse_storyboard(board.read_text()).scenes[0].image
    assert capsys.readouterr().out == f"updated {board}: scene 1 image approved ({pin})\n"
    assert changed_lines(original, board.read_text()) == ([], [f"    image: {pin}"])
    assert [p.name for p in tmp_path.glob("*board*")] == ["board.yaml"], "no temporary file left behind"

    assert main(["scene", "reroll", str(board), "--scene", "1"]) == 0
    seed = parse_storyboard(board.read_text()).scenes[0].seed
    assert capsys.readouterr().out.startswith(f"updated {board}: scene 1 new seed {seed}")
    removed, added = changed_lines(original, board.read_text())
    assert removed == ["    seed: 7   # the one I liked"]
    assert re.fullmatch(rf"    seed: {seed} +# the one I liked", *added), "the comment stays on its line"


def test_cli_scene_edits_keep_json_json(tmp_path, test_providers, capsys):
    from pipeline.cli import main

    board = tmp_path / "board.json"
    data = {"title": "J", "image": {"provider": "test-image"}, "scenes": [{"image_prompt": "A kite", "duration": 2}]}
    board.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    assert main(["scene", "reroll", str(board), "--scene", "1"]) == 0
    edited = json.loads(board.read_text())
    assert list(edited["scenes"][0]) == ["image_prompt", "duration", "seed"] and edited["title"] == "J"
    assert board.read_text().startswith('{\n    "title": "J",')


def test_a_yaml_storyboard_too_large_to_edit_in_place_is_refused_at_once():
    """A round-trip edit costs ~10 µs a character in pure Python: a 2 MB storyboard (within the reading limits)
    would hold a core for tens of seconds per click on a shared host."""
    import time

    from pipeline.errors import InputError
    from pipeline.yaml_edit import MAX_YAML_EDIT_BYTES, SetSettings, edit_storyboard

    padding = "# " + "x" * 98 + "\n"
    text = "title: Big\n" + padding * (MAX_YAML_EDIT_BYTES // len(padding) + 1) + "scenes:\n  - {image_prompt: a}\n"
    started = time.process_time()
    with pytest.raises(InputError, match="too large to edit in place"):
        edit_storyboard(text, SetSettings({"title": "Bigger"}))
    assert time.process_time() - started < 1.0
    small = "title: Big\n" + padding * 10 + "scenes:\n  - {image_prompt: a}\n"
    assert "title: Bigger" in edit_storyboard(small, SetSettings({"title": "Bigger"})).text
