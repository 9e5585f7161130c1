"""The names the reconciler gives Swarm objects, valid and unique by construction.

Swarm's own rules (swarmkit ``manager/controlapi/common.go``):

- services and networks (``validateAnnotations``): ``isValidDNSName``,
  ``^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$``, at most 63 characters ("DNS labels are limited to 63
  characters");
- configs and secrets (``validateConfigOrSecretAnnotations``): ``isValidConfigOrSecretName``,
  ``^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$``, at most 64 characters.

Manifest names are 1-63 of ``[a-z0-9-]``, starting and ending alphanumeric, unique per kind. A name
derived from one (``<name>-<hash8>`` for configs, secrets and volumes, ``vip-<name>`` for a
VirtualIP's service) is kept whole when it fits in ``MAX_NAME`` (63, the smaller of the two limits).
When it does not, the readable part is cut so that it never ends in ``-`` and the hash, kept whole,
is taken over the *full* name as well, so two names that differ only in the part cut away still
derive different Swarm names. Used by the renderers and by the manifest checks that refuse the
collisions left (a ``Service`` named like a VirtualIP's service).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from reconciler.core.hashing import short_hash, stable_json

__all__ = [
    "CONFIG_NAME",
    "DNS_NAME",
    "HASH_LENGTH",
    "MAX_CONFIG_NAME",
    "MAX_NAME",
    "VIP_PREFIX",
    "fitted_name",
    "hashed_name",
    "keyed_digest",
    "keyed_name",
    "scoped",
    "vip_config_base",
    "vip_service_name",
]

DNS_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")  # controlapi/common.go isValidDNSName
CONFIG_NAME = re.compile(r"^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$")  # isValidConfigOrSecretName
MAX_NAME = 63  # services and networks; configs and secrets allow 64, derived names keep to 63
MAX_CONFIG_NAME = 64
HASH_LENGTH = 8
VIP_PREFIX = "vip-"


def _cut(name: str, room: int) -> str:
    """The first ``room`` characters of ``name``, without trailing ``-`` (Swarm wants the last
    character alphanumeric)."""
    return name[:room].rstrip("-_.")


def hashed_name(name: str, content: bytes | str | Any) -> str:
    """``<name>-<hash8 of content>``, at most ``MAX_NAME`` characters.

    A name too long for that keeps its first characters (never ending in ``-``) and the hash covers
    the full name too, so names that differ only in what was cut away stay distinct.
    """
    digest = short_hash(content, HASH_LENGTH)
    if len(name) + 1 + HASH_LENGTH <= MAX_NAME:
        return f"{name}-{digest}"
    digest = short_hash({"name": name, "content": short_hash(content, 64)}, HASH_LENGTH)
    return f"{_cut(name, MAX_NAME - 1 - HASH_LENGTH)}-{digest}"


def scoped(namespace: str | None, name: str) -> str:
    """The Swarm name of ``name`` in stack ``namespace``: ``<namespace>_<name>``, as docker-cli's
    ``cli/compose/convert`` ``Namespace.Scope`` makes it; ``name`` itself without a namespace. Never
    cut or hashed: ``docker stack`` finds its objects by this name, so a name that does not fit is
    refused by the manifest check instead."""
    return f"{namespace}_{name}" if namespace else name


def keyed_digest(key: bytes, content: Any, length: int = HASH_LENGTH) -> str:
    """HMAC-SHA256 of ``content`` (canonical JSON) under ``key``, as ``length`` hex digits: without the
    key, nobody can tell which content a digest stands for, nor test guesses of it."""
    return hmac.new(key, stable_json(content).encode(), hashlib.sha256).hexdigest()[:length]


def keyed_name(name: str, content: Any, key: bytes) -> str:
    """``<name>-<keyed hash8 of content>`` (a Secret's name, issue 14), fitted like ``hashed_name``:
    a name too long keeps its first characters and the digest covers the full name too."""
    if len(name) + 1 + HASH_LENGTH <= MAX_NAME:
        return f"{name}-{keyed_digest(key, content)}"
    digest = keyed_digest(key, {"name": name, "content": content})
    return f"{_cut(name, MAX_NAME - 1 - HASH_LENGTH)}-{digest}"


def fitted_name(name: str) -> str:
    """``name`` when it has at most ``MAX_NAME`` characters, else its first characters (never ending
    in ``-``) and ``-<hash8 of name>``."""
    if len(name) <= MAX_NAME:
        return name
    return f"{_cut(name, MAX_NAME - 1 - HASH_LENGTH)}-{short_hash(name, HASH_LENGTH)}"


def vip_service_name(vip_name: str) -> str:
    """The keepalived service of VirtualIP ``vip_name``: ``vip-<name>``, fitted to ``MAX_NAME``."""
    return fitted_name(f"{VIP_PREFIX}{vip_name}")


def vip_config_base(vip_name: str) -> str:
    """The readable part of the VirtualIP's config name; ``hashed_name`` adds the content hash."""
    return f"{VIP_PREFIX}{vip_name}"
