"""Hourly limits: the sliding window's arithmetic, the settings, a paid step refused in the runner, a render
refused in the studio."""

from __future__ import annotations

import pytest

from pipeline.audit import AuditLog
from pipeline.credentials import Credentials
from pipeline.errors import InputError, RateLimitExceeded
from pipeline.events import RenderFailed
from pipeline.providers.base import Price, Prices, registry
from pipeline.ratelimit import SlidingWindowLimit, StudioLimits
from pipeline.runner import iter_render, render
from pipeline.storyboard import validate_storyboard
from tests.fakes import FakeImageProvider, storyboard_dict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_says_when_to_try_again():
    clock = Clock()
    limit = SlidingWindowLimit("render", 3, clock=clock)
    for t in (1000, 1010, 1020):
        clock.now = t
        limit.take(session="s")
    clock.now = 1030
    with pytest.raises(RateLimitExceeded) as refused:
        limit.take(session="s")
    assert str(refused.value) == ("You started 3 renders in the last hour (limit 3 per hour); "
                                  "try again in 60 minutes.")  # fmt: skip
    assert refused.value.retry_after == pytest.approx(3570)
    clock.now = 4600  # the first start (t=1000) has left the window; a refusal was not counted
    limit.take(session="s")
    clock.now = 4601
    with pytest.raises(RateLimitExceeded, match="try again in 9 seconds"):
        limit.take(session="s")
    clock.now = 4600 + 12 * 60 - 1  # 1010 and 1020 gone as well
    limit.take(session="s")
    limit.take(session="s")


def test_sessions_are_counted_apart_and_a_shared_address_together():
    limit = SlidingWindowLimit("paid step", 2, clock=Clock())
    limit.take(session="a", client="addr-1")
    limit.take(session="a", client="addr-2")
    with pytest.raises(RateLimitExceeded, match="^You started 2 paid steps"):
        limit.take(session="a", client="addr-3")
    limit.take(session="b", client="addr-1")
    with pytest.raises(RateLimitExceeded, match="^Your network address started 2 paid steps"):
        limit.take(session="c", client="addr-1")
    limit.take(session="c", client="addr-4")  # the refusal above counted nothing for session c


def test_a_limit_of_zero_is_off():
    limit = SlidingWindowLimit("render", 0, clock=Clock())
    for _ in range(1000):
        limit.take(session="s", client="c")


@pytest.mark.parametrize("env, renders, paid", [
    ({}, 0, 0),  # a local install: off
    ({"SPACE_ID": "someone/reelsmith"}, 10, 60),  # a Hugging Face Space: on by default
    ({"SPACE_ID": "someone/reelsmith", "REELSMITH_RENDERS_PER_HOUR": "0"}, 0, 60),  # the host turns one off
    ({"REELSMITH_RENDERS_PER_HOUR": "3", "REELSMITH_PAID_STEPS_PER_HOUR": " 25 "}, 3, 25),
])  # fmt: skip
def test_settings_come_from_the_environment_when_the_limits_are_built(env, renders, paid):
    limits = StudioLimits.from_env(env)
    assert (limits.renders.per_hour, limits.paid_steps.per_hour) == (renders, paid)


def test_a_bad_setting_is_named():
    with pytest.raises(InputError, match="REELSMITH_PAID_STEPS_PER_HOUR: 'lots' is not a whole number"):
        StudioLimits.from_env({"REELSMITH_PAID_STEPS_PER_HOUR": "lots"})


class PaidImage(FakeImageProvider):
    """The fast fake image provider, billed like a paid one (key, price, ledger)."""

    name = "test-paid-image"
    paid = True
    offline = False
    local_cpu = False
    needs_key = True
    key_env_var = "BFL_API_KEY"
    prices = Prices("2026-11", {None: Price("image", 0.01, "a test price")})


@pytest.fixture
def paid_image(test_providers, monkeypatch):
    registry.register(PaidImage)
    yield test_providers
    registry.unregister("image", "test-paid-image")


def _paid_board(scenes: int, prompt: str = "scene"):
    data = storyboard_dict(scenes=scenes, image={"provider": "test-paid-image"})
    for i, scene in enumerate(data["scenes"]):
        scene["image_prompt"] = f"{prompt} {i}"
    return validate_storyboard(data)


def test_a_paid_step_past_the_limit_is_refused_before_the_call_and_audited(paid_image, tmp_path):
    limit = SlidingWindowLimit("paid step", 2, clock=Clock())
    credentials = Credentials({"BFL_API_KEY": "test-key"})
    quota = limit.bind(session="session-1", client="addr-1")
    with pytest.raises(RateLimitExceeded, match=r"^You started 2 paid steps in the last hour \(limit 2 per hour\)"):
        render(_paid_board(3), tmp_path / "a.mp4", credentials=credentials, paid_step_quota=quota)  # fmt: skip
    assert paid_image.count("image") == 2, "the third paid image was never asked for"
    images = [(r["outcome"], r["reason"]) for r in AuditLog().rows() if r["step"] == "image"]
    assert sorted(o for o, _ in images) == ["done", "done", "refused"]
    assert next(reason for o, reason in images if o == "refused").startswith("You started 2 paid steps")

    # Offline steps are never counted, and a render's end says why it stopped (the studio shows it as an error).
    job = iter_render(_paid_board(1, "other"), tmp_path / "b.mp4", credentials=credentials,
                      paid_step_quota=limit.bind(session="session-2", client="addr-1"))  # fmt: skip
    failed = [e for e in job if isinstance(e, RenderFailed)]
    assert [e.kind for e in failed] == ["limit"]
    assert failed[0].reason.startswith("Your network address started 2 paid steps in the last hour")
    assert paid_image.count("image") == 2 and paid_image.count("video") == 2


TINY = "title: tiny {n}\nresolution: 720x1280\nscenes:\n  - image_prompt: A small red boat number {n}\n    duration: 2\n"


@pytest.mark.slow
def test_the_studio_refuses_the_render_past_the_hourly_limit_with_the_retry_time(tmp_path):
    from gradio_client import Client

    from tests.studio import running_studio

    home = tmp_path / "home"
    with running_studio(home, env={"REELSMITH_RENDERS_PER_HOUR": "2"}) as url:
        client = Client(url, verbose=False)
        for n in (1, 2):
            client.predict(TINY.format(n=n), "draft", "motion", "piper", api_name="/render")
        refused = client.submit(TINY.format(n=3), "draft", "motion", "piper", api_name="/render")
        list(refused)
        with pytest.raises(Exception, match=r"You started 2 renders in the last hour \(limit 2 per hour\); "
                                            r"try again in (59|60) minutes\."):  # fmt: skip
            refused.result()
    rows = AuditLog(home / "audit.sqlite3").rows()
    assert [(r["kind"], r["outcome"]) for r in rows if r["kind"] == "render"] == [("render", "refused")]
    assert rows and None not in {r["client"] for r in rows}
    for path in home.glob("audit.sqlite3*"):
        assert b"127.0.0.1" not in path.read_bytes(), "only a keyed hash of the address is kept"


@pytest.mark.slow
def test_the_studio_shows_a_refused_paid_step_as_an_error(tmp_path):
    from gradio_client import Client

    from tests.studio import running_studio
    from tests.wire.bfl import SUBMIT, FakeBfl

    key = "canary-ratelimit-bfl-0b7e"
    bfl = FakeBfl(key).start()
    board = "title: paid steps\nimage:\n  provider: bfl\nscenes:\n  - image_prompt: A {what}\n    duration: 2\n"
    try:
        env = {"BFL_API_URL": bfl.url, "BFL_API_KEY": key, "REELSMITH_POLL_INTERVAL": "0.02",
               "REELSMITH_PAID_STEPS_PER_HOUR": "1"}  # fmt: skip
        with running_studio(tmp_path / "home", env=env) as url:
            client = Client(url, verbose=False)
            image, status, _ = client.predict(board.format(what="green door"), 1, False, api_name="/generate_image")
            assert "made by Flux (Black Forest Labs)" in status
            refused = client.submit(board.format(what="yellow door"), 1, False, api_name="/generate_image")
            list(refused)
            with pytest.raises(Exception, match=r"You started 1 paid step in the last hour \(limit 1 per hour\)"):
                refused.result()
        assert bfl.count("POST", SUBMIT) == 1, "the refused step never reached the provider"
    finally:
        bfl.stop()
    assert [r["outcome"] for r in AuditLog(tmp_path / "home" / "audit.sqlite3").rows()] == ["done", "refused"]


@pytest.mark.slow
def test_a_render_refused_for_its_budget_costs_no_render_slot(tmp_path):
    """The hourly render slot is taken once the render passed its checks: a person told to set a budget (or to fix
    their storyboard) still has their renders."""
    from gradio_client import Client

    from tests.studio import running_studio
    from tests.wire.bfl import FakeBfl

    bfl = FakeBfl("canary-slot-bfl-77a1").start()
    paid = "title: paid {n}\nimage: {{provider: bfl}}\nscenes:\n  - image_prompt: A blue kite {n}\n    duration: 2\n"
    try:
        env = {"REELSMITH_RENDERS_PER_HOUR": "1", "BFL_API_URL": bfl.url, "BFL_API_KEY": "canary-slot-bfl-77a1"}
        with running_studio(tmp_path / "home", env=env) as url:
            client = Client(url, verbose=False)
            for n in (1, 2):  # no budget: refused before anything is paid, and no slot taken
                job = client.submit(paid.format(n=n), "", "", "", api_name="/render")
                list(job)
                with pytest.raises(Exception, match=r"Set a budget of at least"):
                    job.result()
            client.predict(TINY.format(n=1), "draft", "motion", "piper", api_name="/render")  # the one slot
            refused = client.submit(TINY.format(n=2), "draft", "motion", "piper", api_name="/render")
            list(refused)
            with pytest.raises(Exception, match=r"You started 1 render in the last hour"):
                refused.result()
    finally:
        bfl.stop()
