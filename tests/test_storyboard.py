"""Storyboard validation: one clear message per problem, naming the path, what was wrong and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.storyboard import load_storyboard, parse_storyboard, storyboard_schema, validate_storyboard

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
    assert problems(text) == ["scenes[2].duration: 14 is above the maximum of 10 seconds (line 6)"]


def test_duration_below_minimum_and_not_a_number():
    text = "scenes:\n  - image_prompt: a\n    duration: 1\n  - image_prompt: b\n    duration: five\n"
    assert problems(text) == [
        "scenes[0].duration: 1 is below the minimum of 2 seconds (line 3)",
        "scenes[1].duration: 'five' is not a whole number of seconds (line 5)",
    ]


def test_unknown_key_suggests_the_closest_field():
    text = "scenes:\n  - image_prompt: a\n    durration: 5\n"
    assert problems(text) == ["scenes[0].durration: unknown field; did you mean 'duration'? (line 3)"]


def test_unknown_top_level_key_suggests_the_closest_field():
    assert problems("titel: x\nscenes:\n  - image_prompt: a\n") == [
        "titel: unknown field; did you mean 'title'? (line 1)"
    ]


def test_unknown_key_with_no_close_match_lists_the_allowed_fields():
    (msg,) = problems("scenes:\n  - image_prompt: a\nzzz: 1\n")
    assert msg.startswith("zzz: unknown field; allowed fields: title, style, resolution")


def test_bad_choice_lists_what_is_allowed():
    assert problems("resolution: 4k\nstyle: noir\nscenes:\n  - image_prompt: a\n") == [
        "resolution: '4k' is not allowed; choose one of: 1280x720, 1920x1080, 720x1280 (line 1)",
        "style: 'noir' is not allowed; choose one of: photorealistic, artistic, anime, 3d (line 2)",
    ]


def test_every_problem_is_reported_at_once():
    text = "scenes:\n  - duration: 30\n  - image_prompt: ok\n    seed: -1\n"
    assert problems(text) == [
        "scenes[0].image_prompt: is required (line 2)",
        "scenes[0].duration: 30 is above the maximum of 10 seconds (line 2)",
        "scenes[1].seed: -1 is below the minimum of 0 (line 4)",
    ]


def test_missing_and_empty_scenes():
    assert problems("title: x\n") == ["scenes: is required"]
    assert problems("title: x\nscenes: []\n") == ["scenes: needs at least 1 scene (line 2)"]
    (msg,) = problems("scenes:\n" + "  - image_prompt: a\n" * 51)
    assert msg.startswith("scenes: has 51 scenes; the maximum is 50")


def test_blank_prompt_and_wrong_types():
    text = "scenes:\n  - image_prompt: '   '\n    audio_script: [1, 2]\noutput: mp4\n"
    assert problems(text) == [
        "scenes[0].image_prompt: must not be blank (line 2)",
        "scenes[0].audio_script: expected text, got a list (line 3)",
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
    assert problems(text) == ["scenes[0].duration: 11 is above the maximum of 10 seconds (line 5)"]
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
