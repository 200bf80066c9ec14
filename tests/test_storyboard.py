"""Storyboard validation: one clear message per problem, naming the path, what was wrong and what is allowed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.storyboard import (
    Storyboard,
    load_storyboard,
    parse_storyboard,
    storyboard_schema,
    validate_storyboard,
)

EXAMPLES = sorted((Path(__file__).parent.parent / "assets" / "examples").glob("*.yaml"))


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_storyboard(text)
    return [str(p) for p in info.value.problems]


def test_the_examples_are_valid():
    assert len(EXAMPLES) >= 4
    for path in EXAMPLES:
        sb = load_storyboard(path)
        assert sb.scenes


def test_defaults_are_the_offline_providers():
    sb = parse_storyboard("scenes:\n  - image_prompt: a cat\n")
    assert (sb.image.provider, sb.video.provider, sb.voice.provider) == ("draft", "motion", "piper")
    assert sb.resolution == "1280x720" and sb.style == "photorealistic"
    assert sb.scenes[0].duration == 5


def test_duration_above_maximum_names_path_value_limit_and_line():
    text = """title: t
scenes:
  - image_prompt: a
  - image_prompt: b
  - image_prompt: c
    duration: 14
"""
    assert problems(text) == ["Scene 3, duration (scenes[2].duration): 14 is above the maximum of 10 seconds (line 6)"]


def test_duration_below_minimum_and_not_a_number():
    text = "scenes:\n  - image_prompt: a\n    duration: 1\n  - image_prompt: b\n    duration: five\n"
    assert problems(text) == [
        "Scene 1, duration (scenes[0].duration): 1 is below the minimum of 2 seconds (line 3)",
        "Scene 2, duration (scenes[1].duration): 'five' is not a whole number of seconds (line 5)",
    ]


def test_unknown_key_suggests_the_closest_field():
    text = "scenes:\n  - image_prompt: a\n    durration: 5\n"
    assert problems(text) == ["Scene 1, durration (scenes[0].durration): unknown field; did you mean 'duration'? (line 3)"]


def test_unknown_top_level_key_suggests_the_closest_field():
    assert problems("titel: x\nscenes:\n  - image_prompt: a\n") == [
        "titel: unknown field; did you mean 'title'? (line 1)"
    ]


def test_unknown_key_with_no_close_match_lists_the_allowed_fields():
    (msg,) = problems("scenes:\n  - image_prompt: a\nzzz: 1\n")
    assert msg.startswith("zzz: unknown field; allowed fields: title, style, resolution")


def test_bad_choice_lists_what_is_allowed():
    assert problems("resolution: 4k\nstyle: noir\nscenes:\n  - image_prompt: a\n") == [
        "resolution: '4k' is not allowed; choose one of: 1280x720, 1920x1080, 720x1280, 640x360, 360x640 (line 1)",
        "style: 'noir' is not allowed; choose one of: photorealistic, artistic, anime, 3d (line 2)",
    ]


def test_every_problem_is_reported_at_once():
    text = "scenes:\n  - duration: 30\n  - image_prompt: ok\n    seed: -1\n"
    assert problems(text) == [
        "Scene 1, image prompt (scenes[0].image_prompt): is required (line 2)",
        "Scene 1, duration (scenes[0].duration): 30 is above the maximum of 10 seconds (line 2)",
        "Scene 2, seed (scenes[1].seed): -1 is below the minimum of 0 (line 4)",
    ]


def test_missing_and_empty_scenes():
    assert problems("title: x\n") == ["scenes: is required"]
    assert problems("title: x\nscenes: []\n") == ["scenes: needs at least 1 scene (line 2)"]
    (msg,) = problems("scenes:\n" + "  - image_prompt: a\n" * 51)
    assert msg.startswith("scenes: has 51 scenes; the maximum is 50")


def test_blank_prompt_and_wrong_types():
    text = "scenes:\n  - image_prompt: '   '\n    audio_script: [1, 2]\noutput: mp4\n"
    assert problems(text) == [
        "Scene 1, image prompt (scenes[0].image_prompt): must not be blank (line 2)",
        "Scene 1, narration (scenes[0].audio_script): expected text, got a list (line 3)",
        "output: expected a mapping of fields, got text (line 4)",
    ]


def test_unknown_provider_names_the_known_ones():
    (msg,) = problems("image:\n  provider: drafty\nscenes:\n  - image_prompt: a\n")
    assert msg == "image.provider: 'drafty' is not a known image provider; did you mean 'draft'? (known: bfl, draft, hf) (line 2)"


def test_malformed_yaml_reports_the_line():
    (msg,) = problems("title: x\nscenes:\n  - image_prompt: a\n   duration: [5\n")
    assert "malformed YAML" in msg and "(line 4)" in msg


def test_malformed_json_reports_the_line():
    (msg,) = problems('{\n  "title": "x",\n  "scenes": [,]\n}')
    assert msg.startswith("malformed JSON") and msg.endswith("(line 3)")


def test_json_input_and_json_error_lines():
    text = json.dumps({"scenes": [{"image_prompt": "a", "duration": 11}]}, indent=2)
    assert problems(text) == ["Scene 1, duration (scenes[0].duration): 11 is above the maximum of 10 seconds (line 5)"]
    sb = parse_storyboard(json.dumps({"title": "j", "scenes": [{"image_prompt": "a"}]}))
    assert sb.title == "j"


def test_not_a_mapping_and_empty():
    assert problems("- a\n- b\n") == ["a storyboard is a mapping of fields (title, scenes, ...), not a list"]
    assert problems("") == ["the storyboard is empty: it needs at least `scenes:` with one scene"]


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="storyboard file not found"):
        load_storyboard(tmp_path / "nope.yaml")


def test_scene_fields_override_project_defaults():
    sb = parse_storyboard(
        "voice: {voice_id: joe}\nimage: {seed: 7}\nscenes:\n"
        "  - image_prompt: a\n  - image_prompt: b\n    voice_id: other\n    seed: 3\n"
    )
    assert (sb.scene_voice_id(0), sb.scene_voice_id(1)) == ("joe", "other")
    assert (sb.scene_seed(0), sb.scene_seed(1)) == (7, 3)


def test_derived_seed_follows_the_prompt_not_the_position():
    a = parse_storyboard("scenes:\n  - image_prompt: one\n  - image_prompt: two\n")
    b = parse_storyboard("scenes:\n  - image_prompt: two\n  - image_prompt: one\n")
    assert a.scene_seed(0) == b.scene_seed(1) and a.scene_seed(1) == b.scene_seed(0)
    assert a.scene_seed(0) != a.scene_seed(1)


def test_provider_override_resets_the_model():
    sb = parse_storyboard("image: {provider: draft, model: draft-v1}\nscenes:\n  - image_prompt: a\n")
    assert sb.with_providers(image="draft").image.model == "draft-v1"
    with pytest.raises(InputError, match="image.provider: 'bogus' is not a known image provider"):
        sb.with_providers(image="bogus")


def test_round_trip_through_yaml():
    sb = load_storyboard(EXAMPLES[0])
    assert parse_storyboard(sb.to_yaml()) == sb


def test_schema_describes_the_fields():
    schema = storyboard_schema()
    assert schema["required"] == ["scenes"]
    scene = schema["$defs"]["Scene"]["properties"]
    assert scene["duration"]["minimum"] == 2 and scene["duration"]["maximum"] == 10
    assert set(schema["properties"]["style"]["enum"]) == {"photorealistic", "artistic", "anime", "3d"}


def test_validate_accepts_a_dict():
    assert validate_storyboard({"scenes": [{"image_prompt": "x"}]}).scenes[0].image_prompt == "x"


# ---------------------------------------------------------------------------------------------------------------
# Hostile input (issue 12): refused before Python objects are built, quickly, with short messages


def alias_bomb(field: str, levels: int = 9) -> str:
    """A ~360-byte "billion laughs": 9 levels of 9 aliases, 9**9 strings once expanded."""
    names = "abcdefghi"
    parts = ["&a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    parts += [f"&{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]" for i in range(1, levels)]
    return f"{field}: [{', '.join(parts)}]\nscenes:\n  - image_prompt: a\n"


@pytest.mark.parametrize("field", ["resolution", "style", "scenes[0].duration", "scenes[0].seed", "image.guidance",
                                   "output.watermark"])  # fmt: skip
def test_an_alias_bomb_is_refused_by_name_and_line_without_expanding(field):
    *parents, name = field.replace("scenes[0]", "scenes").split(".")
    text = alias_bomb(name)
    if parents == ["scenes"]:
        text = f"scenes:\n  - image_prompt: a\n    {alias_bomb(name).splitlines()[0]}\n"
    elif parents:
        text = f"{parents[0]}:\n  {alias_bomb(name).splitlines()[0]}\nscenes:\n  - image_prompt: a\n"
    assert len(text) < 420
    (msg,) = problems(text)
    assert "YAML aliases (*a) are not supported in storyboards" in msg and "(line " in msg
    assert len(msg) < 200


def test_twenty_thousand_unknown_keys_are_refused_quickly_and_reported_briefly():
    text = "scenes:\n  - image_prompt: a\n" + "".join(f"k{i}: 1\n" for i in range(20_000))
    started = time.monotonic()
    (msg,) = problems(text)
    assert time.monotonic() - started < 1
    assert msg.startswith("more than 5000 keys and list items")


def test_line_lookup_is_linear_for_many_problems():
    # Under the entry limit through a program's dict: placing 20 000 problems on lines once took 46 s.
    text = "scenes:\n  - image_prompt: a\n" + "".join(f"k{i}: 1\n" for i in range(20_000))
    data = {"scenes": [{"image_prompt": "a"}], **{f"k{i}": 1 for i in range(20_000)}}
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        validate_storyboard(data, source_text=text)
    assert time.monotonic() - started < 2  # a loaded 2-core CI box; ~0.3 s when quiet
    assert len(info.value.problems) == 50 and info.value.more == 19_950
    assert str(info.value.problems[0]) == "k0: unknown field; allowed fields: title, style, resolution, image, video, " \
                                          "voice, output, transition, captions, music, scenes (line 3)"  # fmt: skip
    assert str(info.value).endswith("…and 19950 more problems")


@pytest.mark.parametrize("text, expected", [
    ("scenes:\n  - image_prompt: a\n    seed: !!int abc\n", "Scene 1, seed (scenes[0].seed): 'abc' cannot be read as !!int (line 3)"),
    ("scenes:\n  - image_prompt: a\n    seed: !!bool abc\n", "Scene 1, seed (scenes[0].seed): 'abc' cannot be read as !!bool (line 3)"),
    ("scenes:\n  - image_prompt: a\n    seed: 0x_\n", "Scene 1, seed (scenes[0].seed): '0x_' cannot be read as !!int (line 3)"),
    ("scenes:\n  - image_prompt: !!python/object/apply:os.system [ls]\n",
     "Scene 1, image prompt (scenes[0].image_prompt): the YAML tag !!python/object/apply:os.system is not supported in storyboards; remove it "
     "(line 2)"),
    ("scenes:\n  - image_prompt: a\n    seed: " + "1" * 4301 + "\n",
     "Scene 1, seed (scenes[0].seed): a number 4301 characters long ('" + "1" * 40 + "…'); numbers here are at most 30 (line 3)"),
    ("scenes: " + "[" * 500 + "]" * 500 + "\n", "nested deeper than 32 levels; a storyboard needs 4 (line 1)"),
    ('{"scenes": ' + "[" * 500 + "]" * 500 + "}", "nested deeper than 32 levels; a storyboard needs 4 (line 1)"),
    ('{"scenes": [{"image_prompt": "a", "seed": ' + "1" * 4301 + "}]}",
     "a number 4301 characters long ('" + "1" * 40 + "…'); numbers here are at most 30 (line 1)"),
    ("scenes: []\n---\nscenes: []\n", "a storyboard is one YAML document; remove the second `---` (line 2)"),
])  # fmt: skip
def test_what_yaml_and_json_cannot_build_is_a_problem_naming_the_line(text, expected):
    (msg,) = problems(text)
    assert msg.endswith(expected)


def test_dates_and_yaml_oddities_stay_text():
    sb = parse_storyboard("title: 2001-13-45\nscenes:\n  - image_prompt: 2001-12-14\n    video_prompt: =\n")
    assert (sb.title, sb.scenes[0].image_prompt, sb.scenes[0].video_prompt) == ("2001-13-45", "2001-12-14", "=")


def test_a_storyboard_over_two_megabytes_is_refused_before_parsing(tmp_path):
    text = "title: " + "x" * 2_000_001 + "\nscenes:\n  - image_prompt: a\n"
    (msg,) = problems(text)
    assert msg.startswith("the storyboard is larger than 2 MB")
    big = tmp_path / "big.yaml"
    big.write_text(text)
    with pytest.raises(InputError, match="larger than 2 MB"):
        load_storyboard(big)
    with pytest.raises(InputError, match="larger than 2 MB"):
        load_storyboard("/dev/zero")  # endless: read no further than the limit


@pytest.mark.parametrize("text", [
    "style: " + "x" * 100_000 + "\nscenes:\n  - image_prompt: a\n",
    "image: {provider: " + "x" * 100_000 + "}\nscenes:\n  - image_prompt: a\n",
    "scenes:\n  - image_prompt: a\n    duration: " + "x" * 100_000 + "\n",
    "scenes:\n  - image_prompt: a\n    " + "k" * 100_000 + ": 1\n",
    "output: {watermark: " + "y" * 100_000 + "}\nscenes:\n  - image_prompt: a\n",
])  # fmt: skip
def test_no_message_echoes_more_than_a_short_preview_of_a_value(text):
    (msg,) = problems(text)
    assert len(msg) < 300 and "x" * 41 not in msg and "k" * 41 not in msg and "y" * 41 not in msg


def test_control_characters_in_text_are_refused_by_field():
    (msg,) = problems('title: "a\\0b"\nscenes:\n  - image_prompt: a\n')
    assert msg == "title: contains the control character U+0000 at position 2; remove it (line 1)"
    sb = parse_storyboard('scenes:\n  - image_prompt: "two\\nlines\\tand a tab"\n')
    assert sb.scenes[0].image_prompt == "two\nlines\tand a tab"


def test_invisible_only_narration_and_prompt_are_problems_before_any_paid_step():
    text = 'scenes:\n  - image_prompt: "\\u200b\\u200d"\n    audio_script: "\\u200b \\ufeff\\u2060"\n'
    assert problems(text) == [
        "Scene 1, image prompt (scenes[0].image_prompt): has no visible text, only invisible characters (such as zero-width spaces) (line 2)",
        "Scene 1, narration (scenes[0].audio_script): has no speakable text, only invisible characters (such as zero-width spaces) (line 3)",
    ]
    # Whitespace alone is still "no narration", and real text with a joiner in it is fine.
    sb = parse_storyboard('scenes:\n  - image_prompt: "👩\\u200d🚀"\n    audio_script: "  "\n')
    assert sb.scenes[0].audio_script == "  "


def test_fifty_scenes_at_their_longest_in_emoji_fit_the_limits():
    scene = {"image_prompt": "🎬" * 2000, "video_prompt": "🎬" * 1000, "audio_script": "🎬" * 5000}
    text = json.dumps({"title": "🎬" * 200, "scenes": [scene] * 50}, ensure_ascii=False)
    assert len(parse_storyboard(text).scenes) == 50
    assert len(parse_storyboard(Storyboard.model_validate_json(text).to_yaml()).scenes) == 50
