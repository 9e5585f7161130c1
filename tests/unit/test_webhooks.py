"""The Git webhook: ``verify_signature`` (GitHub's X-Hub-Signature-256), where the secret comes from,
and ``GitWebhook``'s answers (401 without triggering, 202 after triggering). No git, no sockets."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

import pytest

from reconciler.runtime.http_handler import RequestHeaders
from reconciler.runtime.webhooks import SECRET_ENV, GitWebhook, read_webhook_secret, verify_signature

# --- verify_signature ----------------------------------------------------------------------------

SECRET = b"webhook-secret"
BODY = b'{"ref": "refs/heads/main", "after": "abc"}'
GOOD = "sha256=" + hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()


def test_verify_signature_accepts_the_right_signature() -> None:
    assert verify_signature(SECRET, BODY, GOOD)
    assert verify_signature(SECRET, BODY, GOOD.upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256",
        GOOD[len("sha256=") :],  # no scheme
        "sha1=" + hmac.new(SECRET, BODY, hashlib.sha1).hexdigest(),
        "sha256=" + "zz" * 32,  # not hex
        GOOD[:-2],  # truncated
        GOOD + "00",  # too long
        "sha256=" + hmac.new(b"another-secret", BODY, hashlib.sha256).hexdigest(),
        "sha256=" + hmac.new(SECRET, BODY + b" ", hashlib.sha256).hexdigest(),  # another body
        "sha256=" + "0" * 64,
    ],
)
def test_verify_signature_rejects(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header)


def test_verify_signature_rejects_an_empty_secret() -> None:
    assert not verify_signature(b"", BODY, "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest())


# --- where the secret comes from -----------------------------------------------------------------


def test_the_secret_file_wins_over_the_environment_and_is_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"  s3cret\n")
    assert read_webhook_secret(secret, {SECRET_ENV: "from-env"}) == b"s3cret"


def test_without_a_file_the_environment_gives_the_secret() -> None:
    assert read_webhook_secret(None, {SECRET_ENV: "from-env"}) == b"from-env"
    assert read_webhook_secret(None, {SECRET_ENV: ""}) is None
    assert read_webhook_secret(None, {}) is None


def test_the_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "ambient")
    assert read_webhook_secret(None) == b"ambient"
    monkeypatch.delenv(SECRET_ENV)
    assert read_webhook_secret(None) is None
    assert SECRET_ENV not in os.environ


def test_an_empty_secret_file_gives_an_empty_secret_that_verifies_nothing(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("\n")
    assert read_webhook_secret(secret) == b""
    hook = GitWebhook(b"", trigger=lambda: None)
    signed = "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest()
    assert hook(BODY, RequestHeaders([("X-Hub-Signature-256", signed)]))[0] == 401


def test_an_unreadable_secret_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        read_webhook_secret(tmp_path / "missing")
    with pytest.raises(OSError):
        read_webhook_secret(tmp_path)  # a folder


# --- GitWebhook ----------------------------------------------------------------------------------


class Trigger:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_a_signed_call_triggers_a_sync_and_answers_202() -> None:
    trigger = Trigger()
    hook = GitWebhook(SECRET, trigger)
    # Header names are matched without regard to case, as the HTTP handler hands them over.
    assert hook(BODY, RequestHeaders([("x-hub-signature-256", GOOD)])) == (202, "sync triggered\n")
    assert trigger.calls == 1


@pytest.mark.parametrize("headers", [[], [("X-Hub-Signature-256", "sha256=" + "0" * 64)]])
def test_a_bad_or_missing_signature_is_a_401_with_a_log_line_and_triggers_nothing(
    headers: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    trigger = Trigger()
    hook = GitWebhook(SECRET, trigger)
    with caplog.at_level(logging.WARNING, logger="reconciler.run"):
        assert hook(BODY, RequestHeaders(headers)) == (401, "bad signature\n")
    assert trigger.calls == 0
    assert [r.getMessage() for r in caplog.records] == ["webhook refused: bad or missing signature"]


def test_without_a_secret_every_call_triggers_a_sync() -> None:
    trigger = Trigger()
    hook = GitWebhook(None, trigger)
    assert hook(b"anything", RequestHeaders([])) == (202, "sync triggered\n")
    assert trigger.calls == 1
