"""The prompt pre-flight: clearly disallowed requests refused before any provider call, ordinary ones never."""

from __future__ import annotations

import pytest

from pipeline.blocklist import Blocklist, normalise
from pipeline.errors import InputError
from pipeline.plan import plan_render
from pipeline.runner import iter_scene_step, render
from pipeline.storyboard import validate_storyboard
from tests.fakes import storyboard_dict

ORDINARY = [
    "a child flying a kite at the beach",
    "kids playing football in the rain",
    "a naked mole rat in its burrow",
    "rolling hills of the Sussex countryside",
    "a sad song in a minor key",
    "a toddler's first steps, home video style",
    "Children's choir singing at Christmas",
    "a nude-coloured dress on a mannequin",
]


def test_ordinary_prompts_pass():
    blocklist = Blocklist.load()
    assert [p for p in ORDINARY if blocklist.match(p)] == []


@pytest.mark.parametrize("text", [
    "child porn",
    "CHILD   PORN",  # case and runs of spaces
    "chi\u200bld p\u200dorn",  # zero-width space and joiner inside the words
    "ch\u00adild porn",  # soft hyphen
    "\uff43\uff48\uff49\uff4c\uff44 porn",  # full-width letters (NFKC)
    "a nude\u2060 child on a bed",
    "jailbait selfie",
])  # fmt: skip
def test_obfuscated_terms_are_still_caught(text):
    assert Blocklist.load().match(text)


def test_terms_match_whole_words_only():
    blocklist = Blocklist.load()
    assert blocklist.match("the csam report") == "csam"
    assert blocklist.match("ecsamples of folk art") is None


def test_normalise_is_what_terms_are_matched_against():
    assert normalise("  ＣＨＩ\u200bLD\n\tPorn ") == "child porn"


def test_a_refused_scene_is_named_and_no_provider_is_called(test_providers, tmp_path):
    data = storyboard_dict(scenes=3)
    data["scenes"][1]["video_prompt"] = "slow pan over a naked child"
    data["scenes"][2]["audio_script"] = "Some words, then child\u200b porn, then more words that must not be echoed."
    with pytest.raises(InputError) as refused:
        render(validate_storyboard(data), tmp_path / "out.mp4")
    assert [str(p) for p in refused.value.problems] == [
        "Scene 2, motion prompt (scenes[1].video_prompt): refused: 'naked child' is not allowed on this studio",
        "Scene 3, narration (scenes[2].audio_script): refused: 'child porn' is not allowed on this studio",
    ]
    assert "must not be echoed" not in str(refused.value) and "slow pan" not in str(refused.value)
    assert test_providers.calls == [], "refused before any provider call"

    # Step by step too: a scene's single step goes through the same pre-flight.
    job = iter_scene_step(validate_storyboard(data), 0, "image")
    list(job)
    assert isinstance(job.error, InputError) and test_providers.calls == []


def test_the_host_extends_the_list_with_REELSMITH_BLOCKLIST(tmp_path):
    from pipeline.services import Services

    sb = validate_storyboard(storyboard_dict(scenes=1) | {"image": {"provider": "draft"},
                                                           "video": {"provider": "motion"},
                                                           "voice": {"provider": "piper"}})  # fmt: skip
    sb.scenes[0].image_prompt = "Purple  Elephants dancing"
    plan_render(sb)  # not on the built-in list
    extra = tmp_path / "host-blocklist.txt"
    extra.write_text("# the host's own terms\npurple\\s+elephants?\n\n(not a valid regex\n", encoding="utf-8")
    # The host names it in the environment; the edges read it into the engine's settings.
    settings = Services.from_env({"REELSMITH_HOME": str(tmp_path), "REELSMITH_BLOCKLIST": str(extra)}).settings
    assert settings.blocklist == extra
    with pytest.raises(InputError, match=r"Scene 1, image prompt \(scenes\[0\]\.image_prompt\): refused: 'purple elephants'"):
        plan_render(sb, blocklist=settings.blocklist)
    sb.scenes[0].image_prompt = "a sign saying (not a valid regex"
    with pytest.raises(InputError, match=r"refused: '\(not a valid regex'"):
        plan_render(sb, blocklist=extra)  # a line that is not a regular expression is matched as plain text
    # The built-in list still applies.
    sb.scenes[0].image_prompt = "lolicon drawing"
    with pytest.raises(InputError, match="refused: 'lolicon'"):
        plan_render(sb, blocklist=extra)

    with pytest.raises(InputError, match="REELSMITH_BLOCKLIST: the blocklist file cannot be read"):
        plan_render(sb, blocklist=tmp_path / "missing.txt")


def test_a_host_term_that_cannot_join_the_others_still_matches(tmp_path):
    extra = tmp_path / "host-blocklist.txt"
    # A leading inline flag, and a backreference that would point at the first term's group if the two were joined.
    extra.write_text("(?s)orange\\s+(tigers?)\n(blue) whale \\1\n", encoding="utf-8")
    blocklist = Blocklist.load(extra)
    assert (blocklist.match("An ORANGE tiger"), blocklist.match("a blue whale blue"), blocklist.match("blue whale")) == (
        "orange tiger", "blue whale blue", None)  # fmt: skip


def test_the_cli_refuses_with_exit_2_naming_the_scene_and_audits_it(test_providers, tmp_path, capsys):
    import yaml

    from pipeline.audit import AuditLog
    from pipeline.cli import main

    data = storyboard_dict(scenes=2)
    data["scenes"][1]["image_prompt"] = "jailbait photo shoot on a long private beach"
    board = tmp_path / "board.yaml"
    board.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["render", str(board), "-o", str(tmp_path / "out.mp4")]) == 2
    err = capsys.readouterr().err
    assert "Scene 2, image prompt (scenes[1].image_prompt): refused: 'jailbait' is not allowed on this studio" in err
    assert "private beach" not in err and test_providers.calls == []
    assert [(r["scene"], r["step"], r["outcome"]) for r in AuditLog().rows()] == [(1, "image", "refused")]
