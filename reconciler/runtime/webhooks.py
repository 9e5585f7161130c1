"""A push notification (``POST /hooks/git``) → a Git sync trigger, if it proves the secret and is new.

Proofs accepted: GitHub's ``X-Hub-Signature-256`` (``sha256=`` and the hex HMAC-SHA256 of the raw
body, ``verify_signature``), Gitea's and Forgejo's ``X-Gitea-Signature``/``X-Forgejo-Signature`` (the
bare hex HMAC-SHA256, ``verify_hex_signature``) and GitLab's ``X-Gitlab-Token`` (the secret itself,
compared in constant time, ``verify_token``). ``DeliveryLog`` remembers recent deliveries, by their
ID (``X-GitHub-Delivery``, ``X-Gitlab-Event-UUID``, ``X-Gitea-Delivery``, ``X-Forgejo-Delivery``)
and, when a secret is set, by the body they proved, so a replayed one is refused.
``read_webhook_secret`` finds the secret (``--webhook-secret-file``, else ``$RECONCILER_WEBHOOK_SECRET``);
``GitWebhook`` is the callback ``reconciler.runtime.http_server.ControllerHTTP`` calls with each
request's body and headers: 401 without a valid proof, 409 for a delivery seen before, else it
triggers the poller (which only wakes the sync thread) and answers 202. The manager
(``reconciler.runtime.manager``) builds it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

__all__ = [
    "DELIVERY_HEADERS",
    "HEX_SIGNATURE_HEADERS",
    "REMEMBERED_DELIVERIES",
    "SECRET_ENV",
    "SIGNATURE_HEADER",
    "TOKEN_HEADER",
    "DeliveryLog",
    "GitWebhook",
    "read_webhook_secret",
    "verify_hex_signature",
    "verify_signature",
    "verify_token",
]

# The name the refusal line has always had (it was logged by ``reconciler run``): collectors may filter on it.
log = logging.getLogger("reconciler.run")

SECRET_ENV = "RECONCILER_WEBHOOK_SECRET"
"""The environment variable holding the secret when no secret file is given."""
SIGNATURE_HEADER = "X-Hub-Signature-256"
"""GitHub's (and Gitea's, for compatibility): ``sha256=<hex HMAC-SHA256 of the body>``."""
HEX_SIGNATURE_HEADERS = ("X-Gitea-Signature", "X-Forgejo-Signature")
"""Gitea's and Forgejo's: the hex HMAC-SHA256 of the body, without a scheme."""
TOKEN_HEADER = "X-Gitlab-Token"
"""GitLab's: the secret token itself (GitLab signs nothing)."""
DELIVERY_HEADERS = ("X-GitHub-Delivery", "X-Gitlab-Event-UUID", "X-Gitea-Delivery", "X-Forgejo-Delivery")
"""Each host's unique ID of one delivery (a redelivery keeps it)."""
REMEMBERED_DELIVERIES = 4096
"""How many recent deliveries ``GitWebhook`` remembers: far more than arrive between two pushes."""


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (GitHub's ``X-Hub-Signature-256``) signs the raw ``body`` with ``secret``.

    The header is ``sha256=<hex HMAC-SHA256 of the body>``. A missing or malformed header, or an
    empty secret (anyone can compute an HMAC with an empty key), is rejected. The digests are
    compared in constant time.
    """
    if header is None:
        return False
    scheme, sep, hex_digest = header.strip().partition("=")
    if not sep or scheme.strip().lower() != "sha256":
        return False
    return verify_hex_signature(secret, body, hex_digest)


def verify_hex_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (Gitea's ``X-Gitea-Signature``, Forgejo's ``X-Forgejo-Signature``) is the
    hex HMAC-SHA256 of the raw ``body`` with ``secret``; an empty secret verifies nothing. Constant time."""
    if not secret or header is None:
        return False
    hex_digest = header.strip()
    if len(hex_digest) != 64:
        return False
    try:
        given = bytes.fromhex(hex_digest)
    except ValueError:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


def verify_token(secret: bytes, header: str | None) -> bool:
    """Whether ``header`` (GitLab's ``X-Gitlab-Token``) is ``secret``; an empty secret verifies
    nothing. Both are hashed first, so the comparison takes the same time whatever their lengths."""
    if not secret or header is None:
        return False
    given = hashlib.sha256(header.encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(hashlib.sha256(secret).digest(), given)


class DeliveryLog:
    """The last ``capacity`` deliveries, as digests of their keys (bounded memory whatever the IDs);
    thread-safe. ``first_time(keys)`` records them and says whether none was seen before."""

    def __init__(self, capacity: int = REMEMBERED_DELIVERIES) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, keys: Iterable[str]) -> bool:
        digests = [hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest() for key in keys]
        with self._lock:
            if any(d in self._seen for d in digests):
                return False
            for digest in digests:
                self._seen[digest] = None
                if len(self._seen) > self.capacity:
                    self._seen.popitem(last=False)  # the oldest goes
            return True


def read_webhook_secret(path: Path | None, environ: Mapping[str, str] = os.environ) -> bytes | None:
    """The secret webhooks must be signed with; None: webhooks are not verified.

    From ``path`` when given (surrounding whitespace stripped; an empty file gives ``b""``, with which
    no signature verifies), else from ``$RECONCILER_WEBHOOK_SECRET`` when it is set and not empty.
    Raises ``OSError`` when ``path`` cannot be read.
    """
    if path is not None:
        return path.read_bytes().strip()
    value = environ.get(SECRET_ENV)
    return value.encode() if value else None


class GitWebhook:
    """``(body, headers) -> (status, text)`` for ``POST /hooks/git``: verify, refuse a replay, then
    ``trigger()``.

    With a ``secret``, one valid proof (GitHub's, Gitea's or Forgejo's signature, or GitLab's token)
    is required, else 401; a delivery whose ID, or whose proven body, is among the last
    ``remember`` accepted ones is refused with 409 (a signature covers the body, not the ID header, so
    the body is remembered too). With ``secret`` None every request triggers a sync (the sync only
    fetches the configured ref, so an unsigned call can do no more than cause an early poll); only
    delivery IDs are remembered then.
    """

    def __init__(
        self, secret: bytes | None, trigger: Callable[[], None], *, remember: int = REMEMBERED_DELIVERIES
    ) -> None:
        self.secret = secret
        self.trigger = trigger
        self.deliveries = DeliveryLog(remember)

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        if self.secret is not None and not _proven(self.secret, body, headers):
            log.warning("webhook refused: bad or missing signature")
            return 401, "bad signature\n"
        keys = [f"{name.lower()}:{headers[name]}" for name in DELIVERY_HEADERS if headers.get(name)]
        if self.secret is not None:
            keys.append("body:" + hashlib.sha256(body).hexdigest())
        if not self.deliveries.first_time(keys):
            log.warning("webhook refused: a delivery seen before (replayed?)")
            return 409, "delivery already seen\n"
        self.trigger()
        return 202, "sync triggered\n"


def _proven(secret: bytes, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether any of the hosts' proofs in ``headers`` shows knowledge of ``secret``."""
    return (
        verify_signature(secret, body, headers.get(SIGNATURE_HEADER))
        or any(verify_hex_signature(secret, body, headers.get(name)) for name in HEX_SIGNATURE_HEADERS)
        or verify_token(secret, headers.get(TOKEN_HEADER))
    )
