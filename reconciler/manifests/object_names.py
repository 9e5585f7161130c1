"""Names of Swarm objects that exist already (made by hand or by ``docker stack deploy``) and the
metadata of the kinds that may declare one (``external: true``).

``docker stack deploy`` names what it makes ``<stack>_<name>`` (``proxy_public``, ``wp_wordpress``),
which is outside the manifest name rule (``[a-z0-9-]``) but inside Swarm's own rules, quoted in
``reconciler.core.swarm_names``: services and networks match swarmkit's ``isValidDNSName`` (at
most 63 characters, ``_`` allowed, no ``.``), configs and secrets ``isValidConfigOrSecretName`` (at
most 64, ``_`` and ``.`` allowed). Fields that refer to an object of Swarm's (a Route's
``service`` and ``network``, a Service's ``networks``, ``configs`` and ``secrets``) take those
names; the kinds ``Network``, ``Config`` and ``Secret`` accept them as ``metadata.name`` only with
``external: true`` (``managed_name_problem``), since the reconciler makes the other ones itself.
Used by the kind modules.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from reconciler.core.swarm_names import CONFIG_NAME, DNS_NAME, MAX_CONFIG_NAME, MAX_NAME
from reconciler.manifests.types import NAME_PATTERN, Metadata, nested_error, shown

__all__ = [
    "ConfigObjectName",
    "ExternalConfigMetadata",
    "ExternalNetworkMetadata",
    "ExternalVolumeMetadata",
    "SwarmObjectName",
    "VolumeObjectName",
    "managed_name_problem",
]


def _full(pattern: re.Pattern[str], what: str) -> AfterValidator:
    """Like ``types.matching``, but the whole value must match (Python's ``$`` also matches before a
    final newline; Go's, which swarmkit uses, does not)."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{shown(value)} is not {what}")
        return value

    return AfterValidator(check)


SwarmObjectName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME),
    _full(DNS_NAME, "a Swarm service or network name (letters, digits, '-' and '_', e.g. proxy_public)"),
    Field(description="A manifest name, or an existing service's or network's name such as proxy_public."),
]
ConfigObjectName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CONFIG_NAME),
    _full(CONFIG_NAME, "a Swarm config or secret name (letters, digits, '-', '_' and '.', e.g. app_db.password)"),
    Field(description="A manifest name, or an existing config's or secret's name such as app_db.password."),
]


# moby volume/local/local.go validName (the local driver; at least two characters). No length limit
# there: 255 is the file name limit of the folder it becomes.
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
MAX_VOLUME_NAME = 255
VolumeObjectName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_VOLUME_NAME),
    _full(VOLUME_NAME, "a Docker volume name (letters, digits, '_', '.' and '-', e.g. wp_data)"),
    Field(description="A Volume manifest's name, e.g. data, or an external volume's Docker name such as wp_data."),
]

_MANAGED = re.compile(NAME_PATTERN)


def _metadata_name(wider: re.Pattern[str]) -> AfterValidator:
    """A manifest name, or Swarm's wider form (checked against ``external`` by the kind)."""

    def check(value: str) -> str:
        if _MANAGED.fullmatch(value) or wider.fullmatch(value):
            return value
        raise ValueError(f"{shown(value)} does not match the pattern {NAME_PATTERN}")

    return AfterValidator(check)


class ExternalNetworkMetadata(Metadata):
    """``metadata`` of a ``Network``: an external one may carry a stack's name (``proxy_public``)."""

    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_NAME),
        _metadata_name(DNS_NAME),
        Field(description="1-63 of [a-z0-9-]; an external network may have a stack's name such as proxy_public."),
    ]


class ExternalConfigMetadata(Metadata):
    """``metadata`` of a ``Config`` or ``Secret``: an external one may carry a stack's name."""

    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_CONFIG_NAME),
        _metadata_name(CONFIG_NAME),
        Field(description="1-63 of [a-z0-9-]; an external one may have a stack's name such as app_db.password."),
    ]


class ExternalVolumeMetadata(Metadata):
    """``metadata`` of a ``Volume``: an external one carries its Docker name (``wp_data``)."""

    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_VOLUME_NAME),
        _metadata_name(VOLUME_NAME),
        Field(description="1-63 of [a-z0-9-]; an external volume has its Docker name such as wp_data."),
    ]


def managed_name_problem(name: str, external: bool) -> None:
    """Raise (at ``metadata.name``) when an object the reconciler makes has a name outside the
    manifest rule: only an ``external`` one may use Swarm's wider names."""
    if not external and (len(name) > MAX_NAME or not _MANAGED.fullmatch(name)):
        raise nested_error(
            ("metadata", "name"),
            f"{shown(name)} does not match the pattern {NAME_PATTERN}: only an object with "
            "`external: true` may have a Swarm name with '_', '.' or capitals (as docker stack deploy makes them)",
        )
