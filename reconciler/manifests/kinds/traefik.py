"""``Route`` and ``Middleware``: Traefik v3 routing, rendered later into labels on the target service.

Every value that reaches a Traefik rule (hosts, path prefix) or a label key (names, option keys) is
restricted here to characters that need no quoting, so ``reconciler.render.traefik`` can build rules
by plain formatting without any chance of injection.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue, model_validator
from pydantic_core import PydanticCustomError

from reconciler.manifests.errors import NESTED_MORE, described, has_control
from reconciler.manifests.kinds.base import Reference, Resource
from reconciler.manifests.middleware_options import MIDDLEWARE_TYPES, middleware_type_problem, option_problems
from reconciler.manifests.object_names import SwarmObjectName
from reconciler.manifests.types import Flag, Spec, WholeNumber, empty_list, matching, nested_error, shown

__all__ = ["MIDDLEWARE_TYPES", "Middleware", "MiddlewareSpec", "Route", "RouteSpec", "RouteTls"]

_PATH_PREFIX = re.compile(r"^/([A-Za-z0-9._~%!$&*+,;=:@-]+/?)*$")
_TRAEFIK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_MIDDLEWARE_REF = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(@[a-z0-9]+)?$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_OPTION_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


PathPrefix = Annotated[
    str,
    matching(_PATH_PREFIX, "a URL path prefix such as /blog (no spaces, quotes, backticks or '//')"),
]
TraefikName = Annotated[str, matching(_TRAEFIK_NAME, "a Traefik name (letters, digits, '_' and '-')")]
MiddlewareRef = Annotated[
    str, matching(_MIDDLEWARE_REF, "a Middleware name, or name@provider for one defined elsewhere")
]


def _check_route_host(value: str) -> str:
    """A lowercase DNS name, or ``*.`` and one with at least two labels (``*.example.org``): the
    ``*`` stands for exactly one label, as in DNS and TLS wildcards."""
    rest = value.removeprefix("*.")
    labels = rest.split(".")
    if (
        len(value) > 253
        or not all(_HOST_LABEL.fullmatch(label) for label in labels)
        or (rest != value and len(labels) < 2)
    ):
        raise ValueError(
            f"{shown(value)} is not a valid lowercase DNS name (letters, digits, '-' and '.', no trailing "
            "dot; a wildcard is '*.' and a domain of two labels or more, e.g. *.example.org)"
        )
    return value


RouteHost = Annotated[
    str,
    AfterValidator(_check_route_host),
    Field(description="A lowercase DNS name such as app.example.org, or a wildcard such as *.example.org."),
]


class RouteTls(Spec):
    cert_resolver: TraefikName | None = Field(default=None, description="e.g. letsencrypt")
    options: TraefikName | None = Field(default=None, description="A Traefik TLS options name.")


class RouteSpec(Spec):
    service: SwarmObjectName = Field(
        description="A Service manifest, or any existing Swarm service (e.g. one from `docker stack deploy`)."
    )
    port: WholeNumber = Field(ge=1, le=65535, description="The container port Traefik sends traffic to.")
    hosts: list[RouteHost] = Field(
        default_factory=empty_list, description="*.example.org matches one label in front of example.org (HostRegexp)."
    )
    path_prefix: PathPrefix | None = None
    entry_points: list[TraefikName] = Field(default_factory=empty_list, description="Default: all of Traefik's.")
    tls: Flag | RouteTls = False
    middlewares: list[MiddlewareRef] = Field(default_factory=empty_list, description="Applied in this order.")
    priority: WholeNumber | None = Field(default=None, ge=1, le=2**31 - 1)
    network: SwarmObjectName | None = Field(
        default=None,
        description="The network Traefik reaches the service on; required when the service has more than one.",
    )
    catch_all: Flag = Field(default=False, description="Required (and only allowed) when `hosts` is empty.")

    @model_validator(mode="after")
    def _hosts(self) -> RouteSpec:
        if not self.hosts and not self.catch_all:
            raise ValueError("a route without hosts matches every request: set `catchAll: true` to mean it")
        if self.hosts and self.catch_all:
            raise ValueError("`catchAll: true` is only for a route without hosts")
        if len(set(self.hosts)) != len(self.hosts):
            raise ValueError("a host is listed twice")
        return self


class Route(Resource):
    KIND = "Route"
    kind: Literal["Route"]
    spec: RouteSpec

    def references(self) -> list[Reference]:
        refs = [
            Reference(kind="Middleware", name=m, field_path=("spec", "middlewares", i))
            for i, m in enumerate(self.spec.middlewares)
            if "@" not in m
        ]
        refs.append(Reference(kind="Service", name=self.spec.service, field_path=("spec", "service"), optional=True))
        if self.spec.network is not None:
            refs.append(Reference(kind="Network", name=self.spec.network, field_path=("spec", "network")))
        return refs


def _bad_options(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], str]]:
    """Every option that cannot become a label, as (path below ``options``, reason). Options become
    label keys (``a.b.c``) and values; lists are comma-joined by Traefik."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _OPTION_KEY.fullmatch(key):
                found.append(((*path, str(key)), f"{shown(key)} is not an option name (letters, digits, '_' and '-')"))
            else:
                found += _bad_options(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                found.append(
                    ((*path, index), f"lists may hold only plain values (strings or numbers), not {described(item)}")
                )
            elif "," in str(item):
                found.append(((*path, index), "list items may not contain ','"))
            else:
                found += _bad_options(item, (*path, index))
    elif value is None:
        found.append((path, "null is not a value: write a value or remove the option"))
    elif has_control(str(value)):
        found.append((path, "control characters (newline, tab, ...) are not allowed"))
    return found


def _raise_all(found: list[tuple[tuple[str | int, ...], str]], below: tuple[str | int, ...] = ()) -> None:
    """Raise one error for all of ``found``: the first as a ``nested_error``, the others carried
    in its context under ``NESTED_MORE`` (the loader reports each at its own place)."""
    if not found:
        return
    (path, reason), *more = found
    error = nested_error((*below, *path), reason)
    raise PydanticCustomError(
        error.type,
        error.message_template,
        {**(error.context or {}), NESTED_MORE: tuple(((*below, *p), r) for p, r in more)},
    )


def _known_type(value: object) -> object:
    problem = middleware_type_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class MiddlewareSpec(Spec):
    """Options are checked against Traefik v3's own (``middleware_options``); a ``chain`` names the
    middlewares it runs in ``options.middlewares``."""

    type: Annotated[Literal[MIDDLEWARE_TYPES], BeforeValidator(_known_type)]  # type: ignore[valid-type]
    options: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="The middleware's Traefik options, nested as in Traefik's docs; "
        "flattened into traefik.http.middlewares.<name>.<type>.<option> labels.",
    )

    @model_validator(mode="after")
    def _traefik_options(self) -> MiddlewareSpec:
        # Every problem of the options at once, each at the option itself: those that cannot become a
        # label, then those Traefik would refuse or ignore (an operator fixes them all in one go).
        unsafe = _bad_options(self.options)
        places = {path for path, _ in unsafe}
        unknown = [(path, reason) for path, reason in option_problems(self.type, self.options) if path not in places]
        _raise_all(unsafe + unknown, ("options",))
        for index, member in enumerate(self.chain_members()):
            if not _MIDDLEWARE_REF.fullmatch(member):
                raise nested_error(
                    ("options", "middlewares", index),
                    f"{shown(member)} is not a Middleware name, or name@provider for one defined elsewhere",
                )
        return self

    def chain_members(self) -> list[str]:
        """The middlewares a ``chain`` runs, in order (a list, or one comma-separated value)."""
        if self.type != "chain":
            return []
        members = self.options.get("middlewares", [])
        items = members if isinstance(members, list) else str(members).split(",")
        return [str(item).strip() for item in items]


class Middleware(Resource):
    KIND = "Middleware"
    kind: Literal["Middleware"]
    spec: MiddlewareSpec

    def references(self) -> list[Reference]:
        """A chain's members that are not ``name@provider`` must be Middleware manifests."""
        return [
            Reference(kind="Middleware", name=member, field_path=("spec", "options", "middlewares", index))
            for index, member in enumerate(self.spec.chain_members())
            if "@" not in member
        ]
