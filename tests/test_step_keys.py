"""Every step's content key, pinned: the bundled examples (and paid, pinned, watermarked and other-format variants)
key every step exactly as they did before the plan became a graph, so no user's cache is invalidated.

`tests/step_keys.json` was written from the runner as it was before the refactor (the real `Render.run`, with
only its one cached-step call, then `Render._step`, now the executor's `run`, replaced by a recorder that hands
back fake outputs: today a StepExecutor handed to the render). Regenerate it only for a
deliberate key change: REELSMITH_WRITE_STEP_KEYS=1 python -m pytest tests/test_step_keys.py
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.credentials import Credentials
from pipeline.local_steps import LocalStepRunner
from pipeline.plan import plan_render
from pipeline.runner import Render
from pipeline.services import Services
from pipeline.steps import APPROVED, key_for, plan_steps
from pipeline.store import Asset
from pipeline.storyboard import Storyboard, load_storyboard

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
GOLDEN = Path(__file__).resolve().parent / "step_keys.json"
# Not real keys: only their fingerprints enter a paid step's key.
KEYS = {"BFL_API_KEY": "bfl-test-key", "RUNWAYML_API_SECRET": "runway-test-key",
        "ELEVENLABS_API_KEY": "eleven-test-key", "HF_TOKEN": "hf-test-token"}  # fmt: skip
PINNED_PNG = b"\x89PNG\r\n\x1a\n pinned picture for the key test"


def _variant(sb: Storyboard, change: dict[str, Any]) -> Storyboard:
    data = sb.model_dump(mode="json")
    for section, values in change.items():
        if section == "scenes":
            for i, scene in values.items():
                data["scenes"][i].update(scene)
        else:
            data[section].update(values)
    return Storyboard.model_validate(data)


def _as_before_music_and_transitions(sb: Storyboard) -> Storyboard:
    """An example as it was bundled before it had a music bed and transitions (issue 14), so the pinned keys of
    every other step kind stay the ones users' caches hold."""
    data = sb.model_dump(mode="json")
    data.pop("music"), data.pop("transition")
    for scene in data["scenes"]:
        scene.pop("transition")
    return Storyboard.model_validate(data)


def _pinned_sha256() -> str:
    return hashlib.sha256(PINNED_PNG).hexdigest()


def storyboards() -> dict[str, Storyboard]:
    """The bundled examples, and variants that reach every branch of every key (paid owners, a pinned image,
    the watermark, other formats and qualities, a scene without narration)."""
    out: dict[str, Storyboard] = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        out[path.stem] = _as_before_music_and_transitions(load_storyboard(path))
    story = out["short-story"]
    out["short-story+bed+transitions"] = load_storyboard(EXAMPLES / "short-story.yaml")  # as bundled today
    out["paid"] = _variant(story, {"image": {"provider": "bfl"}, "voice": {"provider": "elevenlabs"},
                                   "video": {"provider": "runway", "require_approval": False}})  # fmt: skip
    out["hf"] = _variant(story, {"image": {"provider": "hf"}})
    out["pinned"] = _variant(story, {"scenes": {1: {"image": f"sha256:{_pinned_sha256()}"}}})
    out["webm-watermark"] = _variant(story, {"output": {"format": "webm", "watermark": True, "quality": "high"}})
    out["mov-low-silent"] = _variant(story, {"output": {"format": "mov", "quality": "low"},
                                             "scenes": {0: {"audio_script": ""}}})  # fmt: skip
    for path in sorted(EXAMPLES.glob("*.yaml")):  # captions not burned in: the steps and keys of before captions
        out[f"{path.stem}+no-burn-in"] = _variant(out[path.stem], {"captions": {"burn_in": False}})
    return out


def _fake_asset(key: str, tmp: Path, scene: int | None) -> Asset:
    """A stand-in output: its hash follows from its key (as a real output's follows from its inputs)."""
    path = tmp / f"{key[:16]}.bin"
    path.write_bytes(key.encode())
    duration = 3.7 + (scene or 0)  # narration lengths that change the segment's frames
    # a_from, b_to: where a transition piece's frames start in the scene before and end in the scene after.
    meta = {"duration": duration, "frames": 120, "a_from": 108, "b_to": 12}
    return Asset(key, hashlib.sha256(key.encode()).hexdigest(), path, meta)


def runner_keys(storyboard: Storyboard, tmp: Path) -> dict[str, str]:
    """Every step key the real runner builds for `storyboard`, as "scene:step" → key (scene "-" is render-wide)."""
    keys: dict[str, str] = {}

    class Recorder(LocalStepRunner):
        """The local executor with its one per-step call replaced: records the key, hands back a fake output."""

        async def run(self, scene: int | None, step: str, provider: str, media: Any, key: str, produce: Any,
                      limit: str | None = None, cost: Any = None, prompt: str | None = None) -> Asset:  # fmt: skip
            keys[f"{'-' if scene is None else scene}:{step}"] = key
            return _fake_asset(key, tmp, scene)

    services = Services.for_home(tmp / "home", credentials=Credentials(KEYS))
    pinned = tmp / "pinned.png"
    pinned.write_bytes(PINNED_PNG)
    services.store.put("pinned-for-key-test", pinned, {})
    services.owned_images.record("cli", _pinned_sha256(), "uploaded")
    render = Render(storyboard, tmp / "out.mp4", lambda event: None, services=services, executor=Recorder)
    asyncio.run(render.run())
    return dict(sorted(keys.items()))


def test_runner_builds_the_same_step_keys_as_before(tmp_path):
    got = {name: runner_keys(sb, tmp_path) for name, sb in storyboards().items()}
    if os.environ.get("REELSMITH_WRITE_STEP_KEYS"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert got == want
    assert all(len(k) == 64 for keys in want.values() for k in keys.values())
    # Every step kind of a render is pinned, the pinned image's scene by its clip only.
    assert {k.split(":")[1] for k in want["paid"]} == {"image", "video", "voice", "segment", "mix", "soundtrack",
                                                      "join", "captioned", "finish"}  # fmt: skip
    assert "1:image" not in want["pinned"] and "0:image" in want["pinned"]


def graph_keys(storyboard: Storyboard, tmp: Path) -> dict[str, str]:
    """Every step key from the plan's steps alone (no runner): walked in order, each step's output faked from its
    key as the runner test does, so keys that wait for inputs see the same input hashes."""
    credentials = Credentials(KEYS)
    graph = plan_steps(plan_render(storyboard, credentials), credentials)
    keys: dict[str, str] = {}
    outputs: dict[str, Asset] = {}
    for step in graph:
        if step.provider == APPROVED:
            outputs[step.id] = Asset("", step.params["sha256"], tmp / "pinned.png", {})
            continue
        assert all(i in outputs for i in step.inputs), f"{step.id} comes before one of its inputs"
        key = key_for(step, {i: outputs[i] for i in step.inputs})
        keys[f"{'-' if step.scene is None else step.scene}:{step.kind}"] = key
        outputs[step.id] = _fake_asset(key, tmp, step.scene)
    return dict(sorted(keys.items()))


def test_the_plans_steps_key_every_step_as_before(tmp_path):
    want = json.loads(GOLDEN.read_text())
    for name, storyboard in storyboards().items():
        assert graph_keys(storyboard, tmp_path) == want[name], name


def test_burned_in_captions_change_only_the_pictures_of_narrated_scenes():
    """Offline (the bundled examples), burning captions in draws them into each narrated scene's camera move: its
    clip, and so its segment, get new keys, and so does the join; every other step keeps the key it has without
    captions, and there is no captioned step. A paid clip (Runway) stays as delivered: a captioned step per
    narrated scene burns the captions in."""
    want = json.loads(GOLDEN.read_text())
    for name in (p.stem for p in sorted(EXAMPLES.glob("*.yaml"))):
        burned, plain = want[name], want[f"{name}+no-burn-in"]
        assert not any(k.endswith(":captioned") for k in (*plain, *burned)), name
        narrated = {k.split(":")[0] for k in plain if k.endswith(":voice")}
        changed = {f"{i}:{kind}" for i in narrated for kind in ("video", "segment")} | {"-:join"}
        assert {k for k in burned if burned[k] != plain.get(k)} == changed, name
    paid = want["paid"]
    assert {k for k in paid if k.endswith(":captioned")} == {k.replace(":voice", ":captioned") for k in paid
                                                             if k.endswith(":voice")}  # fmt: skip


def test_captions_are_drawn_into_the_clip_only_when_nobody_is_paid_for_the_clip_or_the_narration():
    """The free camera move draws a scene's captions in its own encode; a paid clip stays as delivered, and a paid
    narration is not made by a "generate clip" click: both keep the separate captioned step."""
    credentials = Credentials(KEYS)
    story = storyboards()["short-story"]
    for change, drawn in (({}, True), ({"voice": {"provider": "elevenlabs"}}, False),
                          ({"video": {"provider": "runway", "require_approval": False}}, False)):  # fmt: skip
        graph = plan_steps(plan_render(_variant(story, change), credentials), credentials)
        assert ("captioned:0" not in graph) == drawn, change
        assert graph["video:0"].inputs == (("image:0", "voice:0") if drawn else ("image:0",)), change
        assert ("overlay" in graph["video:0"].params) == drawn, change


def test_a_key_that_waits_for_its_inputs_says_which(tmp_path):
    credentials = Credentials(KEYS)
    graph = plan_steps(plan_render(storyboards()["short-story"], credentials), credentials)
    # the narration (it decides the scene's length) first; the offline clip takes it to draw the captions in
    assert [s.kind for s in graph if s.scene == 0] == ["voice", "mix", "image", "video", "segment"]
    assert [s.id for s in graph if s.scene is None] == ["finish", "soundtrack", "join"]
    assert graph.scene_kinds == ("image", "video", "voice", "segment", "captioned", "mix")
    assert graph.render_kinds == ("finish", "soundtrack", "join") and graph.final == "join"
    assert graph["video:0"].key is None and graph["video:0"].inputs == ("image:0", "voice:0")
    assert graph["join"].inputs == ("segment:0", "segment:1", "segment:2", "soundtrack")
    paid = plan_steps(plan_render(storyboards()["paid"], credentials), credentials)
    assert paid["video:0"].inputs == ("image:0",) and paid["captioned:0"].inputs == ("segment:0", "voice:0")
    assert paid["join"].inputs == ("captioned:0", "captioned:1", "captioned:2", "soundtrack")
    assert graph["finish"].inputs == ("mix:0", "mix:1", "mix:2") and graph["soundtrack"].inputs == ("finish",)
    with pytest.raises(ValueError, match="image:0"):
        key_for(graph["video:0"], {})
