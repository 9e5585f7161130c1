"""A push notification (``POST /hooks/git``) → a Git sync trigger, if it is signed with the secret.

``verify_signature`` checks GitHub's ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body);
``read_webhook_secret`` finds the secret (``--webhook-secret-file``, else ``$RECONCILER_WEBHOOK_SECRET``);
``GitWebhook`` is the callback ``reconciler.runtime.http_server.ControllerHTTP`` calls with each
request's body and headers: 401 for a bad or missing signature, else it triggers the poller (which
only wakes the sync thread) and answers 202. The manager (``reconciler.runtime.manager``) builds it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["SECRET_ENV", "SIGNATURE_HEADER", "GitWebhook", "read_webhook_secret", "verify_signature"]

# The name the refusal line has always had (it was logged by ``reconciler run``): collectors may filter on it.
log = logging.getLogger("reconciler.run")

SECRET_ENV = "RECONCILER_WEBHOOK_SECRET"
"""The environment variable holding the secret when no secret file is given."""
SIGNATURE_HEADER = "X-Hub-Signature-256"


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (GitHub's ``X-Hub-Signature-256``) signs the raw ``body`` with ``secret``.

    The header is ``sha256=<hex HMAC-SHA256 of the body>``. A missing or malformed header, or an
    empty secret (anyone can compute an HMAC with an empty key), is rejected. The digests are
    compared in constant time.
    """
    if not secret or header is None:
        return False
    scheme, sep, hex_digest = header.strip().partition("=")
    if not sep or scheme.strip().lower() != "sha256":
        return False
    hex_digest = hex_digest.strip()
    if len(hex_digest) != 64:
        return False
    try:
        given = bytes.fromhex(hex_digest)
    except ValueError:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


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
    """``(body, headers) -> (status, text)`` for ``POST /hooks/git``: verify, then ``trigger()``.

    With ``secret`` None every request triggers a sync (the sync itself only fetches the configured
    ref, so an unsigned call can do no more than cause an early poll).
    """

    def __init__(self, secret: bytes | None, trigger: Callable[[], None]) -> None:
        self.secret = secret
        self.trigger = trigger

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        if self.secret is not None and not verify_signature(self.secret, body, headers.get(SIGNATURE_HEADER)):
            log.warning("webhook refused: bad or missing signature")
            return 401, "bad signature\n"
        self.trigger()
        return 202, "sync triggered\n"
