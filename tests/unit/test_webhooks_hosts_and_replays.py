"""``GitWebhook`` beside GitHub's signature: GitLab's ``X-Gitlab-Token`` (compared in constant time),
Gitea's and Forgejo's hex HMAC-SHA256 signatures; and no replays: a delivery whose ID
(``X-GitHub-Delivery``, ``X-Gitlab-Event-UUID``, ``X-Gitea-Delivery``) or, with a secret, whose signed
body was accepted before is refused with 409, within a bounded memory of recent deliveries. The last
test goes through the real HTTP server on 127.0.0.1.

Issue 14: only GitHub's signature was accepted, and any captured delivery could be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from reconciler.runtime.http_handler import RequestHeaders
from reconciler.runtime.http_server import ControllerHTTP
from reconciler.runtime.metrics import Metrics
from reconciler.runtime.webhooks import GitWebhook, verify_hex_signature, verify_token

SECRET = b"webhook-secret"


def body(n: int) -> bytes:
    return b'{"ref": "refs/heads/main", "after": "%d"}' % n


def hex_hmac(data: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


class Trigger:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def call(hook: GitWebhook, data: bytes, **headers: str) -> int:
    return hook(data, RequestHeaders([(k.replace("_", "-"), v) for k, v in headers.items()]))[0]


# --- the other hosts' proofs ---------------------------------------------------------------------


def test_gitlab_token_is_accepted_and_compared_whole() -> None:
    trigger = Trigger()
    hook = GitWebhook(SECRET, trigger)
    assert call(hook, body(1), X_Gitlab_Token="webhook-secret") == 202
    for wrong in ("webhook-secreT", "webhook-secret ", "webhook", "", "webhook-secret" * 10):
        assert call(hook, body(2), X_Gitlab_Token=wrong) == 401, wrong
    assert trigger.calls == 1
    assert verify_token(SECRET, "webhook-secret") and not verify_token(b"", "")


@pytest.mark.parametrize("header", ["X-Gitea-Signature", "X-Forgejo-Signature"])
def test_gitea_and_forgejo_signatures_are_accepted(header: str) -> None:
    trigger = Trigger()
    hook = GitWebhook(SECRET, trigger)
    name = header.replace("-", "_")
    assert call(hook, body(1), **{name: hex_hmac(body(1))}) == 202
    assert call(hook, body(2), **{name: hex_hmac(body(1))}) == 401  # another body's
    assert call(hook, body(3), **{name: "sha256=" + hex_hmac(body(3))}) == 401  # GitHub's form, wrong header
    assert call(hook, body(4), **{name: hex_hmac(body(4), b"other")}) == 401
    assert trigger.calls == 1
    assert not verify_hex_signature(b"", body(5), hex_hmac(body(5), b""))  # an empty secret proves nothing


# --- replays -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_header", "proof"),
    [
        ("X_GitHub_Delivery", lambda data: {"X_Hub_Signature_256": "sha256=" + hex_hmac(data)}),
        ("X_Gitlab_Event_UUID", lambda data: {"X_Gitlab_Token": SECRET.decode()}),
        ("X_Gitea_Delivery", lambda data: {"X_Gitea_Signature": hex_hmac(data)}),
    ],
)
def test_a_delivery_id_seen_before_is_refused_with_409(
    id_header: str, proof: Callable[[bytes], dict[str, str]]
) -> None:
    trigger = Trigger()
    hook = GitWebhook(SECRET, trigger)
    assert call(hook, body(1), **{id_header: "d-1"}, **proof(body(1))) == 202
    assert call(hook, body(2), **{id_header: "d-1"}, **proof(body(2))) == 409
    assert call(hook, body(3), **{id_header: "d-2"}, **proof(body(3))) == 202
    assert trigger.calls == 2


def test_a_signed_body_replayed_without_or_with_another_id_is_refused() -> None:
    """The signature covers the body, not the ID header: the body itself is remembered."""
    hook = GitWebhook(SECRET, Trigger())
    signature = "sha256=" + hex_hmac(body(1))
    assert call(hook, body(1), X_GitHub_Delivery="a", X_Hub_Signature_256=signature) == 202
    assert call(hook, body(1), X_Hub_Signature_256=signature) == 409
    assert call(hook, body(1), X_GitHub_Delivery="b", X_Hub_Signature_256=signature) == 409


def test_the_memory_of_deliveries_is_bounded() -> None:
    trigger = Trigger()
    hook = GitWebhook(SECRET, trigger, remember=4)
    for n in range(10):
        assert call(hook, body(n), X_Gitlab_Event_UUID=f"u-{n}", X_Gitlab_Token="webhook-secret") == 202
        assert len(hook.deliveries) <= 4
    # the oldest were forgotten: a replay of the first is no longer recognised (the bound's price)
    assert call(hook, body(0), X_Gitlab_Event_UUID="u-0", X_Gitlab_Token="webhook-secret") == 202
    assert call(hook, body(9), X_Gitlab_Event_UUID="u-9", X_Gitlab_Token="webhook-secret") == 409


def test_refused_requests_are_not_remembered() -> None:
    """Only accepted deliveries fill the memory: a client without the secret cannot pre-empt an ID."""
    hook = GitWebhook(SECRET, Trigger())
    for n in range(20):
        assert call(hook, body(1), X_GitHub_Delivery=f"d-{n}", X_Hub_Signature_256="sha256=" + "0" * 64) == 401
    assert len(hook.deliveries) == 0
    assert call(hook, body(1), X_GitHub_Delivery="d-0", X_Hub_Signature_256="sha256=" + hex_hmac(body(1))) == 202


def test_without_a_secret_ids_are_remembered_but_bodies_are_not() -> None:
    trigger = Trigger()
    hook = GitWebhook(None, trigger)
    assert call(hook, b"") == 202
    assert call(hook, b"") == 202  # `curl -X POST /hooks/git` twice: both trigger a sync
    assert call(hook, b"", X_Gitea_Delivery="g-1") == 202
    assert call(hook, b"", X_Gitea_Delivery="g-1") == 409
    assert trigger.calls == 3


def test_a_replay_through_the_http_server_is_a_409() -> None:
    trigger = Trigger()
    http = ControllerHTTP(
        "127.0.0.1:0", Metrics(), status=dict, ready=lambda: True, healthy=lambda: True,
        webhook=GitWebhook(SECRET, trigger),
    )  # fmt: skip

    def post() -> int:
        data = body(7)
        headers = {"X-Gitea-Signature": hex_hmac(data), "X-Gitea-Delivery": "abc", "Content-Type": "application/json"}
        request = urllib.request.Request(f"http://127.0.0.1:{http.port}/hooks/git", data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return error.code

    with http:
        assert post() == 202
        assert post() == 409
    assert trigger.calls == 1
