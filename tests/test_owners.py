"""Owner tokens, per-session ids and owned images (pipeline.owners), without the studio."""

from __future__ import annotations

import os
import stat

import pytest

from pipeline.owners import (
    STUDIO_PREFIX,
    OwnedImages,
    SessionIds,
    issue_owner,
    owner_or_new,
    server_secret,
    verify_owner,
)


def test_server_secret_is_created_once_private_and_stable(isolated_home):
    secret = server_secret()
    path = isolated_home / "server.secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert server_secret() == secret and len(secret) >= 32


def test_a_damaged_secret_is_refused_not_used(isolated_home):
    server_secret()
    (isolated_home / "server.secret").write_text("")
    with pytest.raises(RuntimeError, match="damaged"):
        server_secret()


def test_an_issued_token_verifies_to_its_studio_owner():
    secret = b"s" * 64
    owner, token = issue_owner(secret)
    assert owner.startswith(STUDIO_PREFIX) and token.startswith(owner + ".")
    assert verify_owner(token, secret) == owner
    assert owner_or_new(token, secret) == (owner, token)
    assert issue_owner(secret)[0] != owner, "every owner id is new and random"


def test_a_tampered_token_or_another_secret_is_refused():
    secret = b"s" * 64
    owner, token = issue_owner(secret)
    signature = token.split(".")[1]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert verify_owner(f"{owner}.{flipped}", secret) is None
    assert verify_owner(f"{STUDIO_PREFIX}someone-else.{signature}", secret) is None
    assert verify_owner(token, b"t" * 64) is None


@pytest.mark.parametrize("token", [None, "", "cli", "cli.", "web-", f"{STUDIO_PREFIX}x", "a.b.c", 42, ["web-x", "0"],
                                   "x" * 500])  # fmt: skip
def test_a_malformed_token_is_refused(token):
    assert verify_owner(token, b"s" * 64) is None


def test_a_signed_non_studio_id_is_refused():
    """Even a correct signature over "cli" (the command line's owner) never makes a studio owner."""
    import hashlib
    import hmac

    secret = b"s" * 64
    forged = "cli." + hmac.new(secret, b"cli", hashlib.sha256).hexdigest()
    assert verify_owner(forged, secret) is None


def test_a_forged_token_gets_a_fresh_owner():
    secret = b"s" * 64
    owner, token = owner_or_new("cli", secret)
    assert owner.startswith(STUDIO_PREFIX) and verify_owner(token, secret) == owner


def test_session_ids_are_random_stable_per_session_and_bounded():
    ids = SessionIds("api-", limit=2)
    first = ids.get("hash-a")
    assert first.startswith("api-") and "hash-a" not in first
    assert ids.get("hash-a") == first
    assert ids.get("hash-b") != first
    ids.get("hash-c")  # past the limit: the least recently used ("hash-a") is forgotten
    assert ids.get("hash-a") != first


def test_owned_images_are_per_owner(isolated_home):
    owned = OwnedImages()
    owned.record("web-a", "ab" * 32, "generated")
    owned.record("web-a", "ab" * 32, "approved")  # a second record keeps the first
    assert owned.owns("web-a", "ab" * 32)
    assert not owned.owns("web-b", "ab" * 32)
    assert not owned.owns("web-a", "cd" * 32)
    assert (isolated_home / "owners.sqlite3").exists()


@pytest.mark.parametrize("message, public", [
    ("[Errno 2] No such file or directory: '/srv/home/media/ab/abcd.png'", "[Errno 2] No such file or directory: 'abcd.png'"),
    ("cannot write /tmp/reelsmith-sessions/Zx9_a/out.mp4 (disk full)", "cannot write out.mp4 (disk full)"),
    ("folder /var/lib/reelsmith/ is read-only", "folder … is read-only"),
    ("runway: 429 from https://api.dev.runwayml.com/v1/tasks: slow down", "runway: 429 from https://api.dev.runwayml.com/v1/tasks: slow down"),
    ("Scene 1, image (scenes[0].image): approve image/video/voice first", "Scene 1, image (scenes[0].image): approve image/video/voice first"),
])  # fmt: skip
def test_messages_leave_without_server_paths(message, public):
    from pipeline.redact import without_paths

    assert without_paths(message) == public


def test_concurrent_first_starts_agree_on_one_secret(isolated_home, monkeypatch):
    """Two first starts at once (say the studio's workers): neither reads a half-written secret."""
    import secrets
    import time
    from concurrent.futures import ThreadPoolExecutor

    token_hex = secrets.token_hex

    def slow_token_hex(n):  # widen the window between creating the file and writing the secret into it
        time.sleep(0.05)
        return token_hex(n)

    monkeypatch.setattr(secrets, "token_hex", slow_token_hex)
    with ThreadPoolExecutor(8) as pool:
        found = set(pool.map(lambda _: server_secret(), range(32)))
    assert len(found) == 1
    assert [p.name for p in isolated_home.iterdir() if p.name.startswith(".server.secret")] == []
