"""Shared building blocks of the manifest models: the strict base model, metadata, and the
constrained string types whose values end up inside Traefik rules, label keys or config files.

Every kind module imports from here. A type that reaches a rule or a config file is restricted to a
small character set by construction, so no quoting is ever needed downstream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from reconciler import LABEL_PREFIX
from reconciler.core.labels import STACK_NAMESPACE
from reconciler.manifests.errors import has_control, shown
from reconciler.manifests.units import parse_cpus, parse_duration, parse_memory

__all__ = [
    "NAMESPACE_PATTERN",
    "NAME_PATTERN",
    "NESTED_PATH",
    "Cpus",
    "Duration",
    "Flag",
    "Hostname",
    "LabelKey",
    "Labels",
    "MemorySize",
    "Metadata",
    "MetadataKey",
    "Name",
    "Namespace",
    "Number",
    "SafeText",
    "ServiceLabels",
    "Spec",
    "WholeNumber",
    "empty_list",
    "error_loc",
    "matching",
    "nested_error",
    "shown",
]

NESTED_PATH = "nested_path"  # context key of a `nested_error`


def nested_error(path: tuple[str | int, ...], reason: str) -> PydanticCustomError:
    """An error about a value *inside* the field being validated, ``path`` below it. Raise it from a
    field validator: the loader adds ``path`` to the error's location, so the problem points at
    that value (its line, column and dotted field) rather than at the whole field."""
    return PydanticCustomError("nested_value", "{reason}", {"reason": reason, NESTED_PATH: path})


def error_loc(error: Mapping[str, Any]) -> tuple[int | str, ...]:
    """A pydantic error's location (from ``ValidationError.errors()``), a ``nested_error``'s path
    below its field added: the place in the document the error is about."""
    nested = (error.get("ctx") or {}).get(NESTED_PATH)
    return (*error["loc"], *nested) if isinstance(nested, tuple) else tuple(error["loc"])


def empty_list() -> list[Any]:
    """The ``default_factory`` of a list field. Not ``list`` itself: pydantic reads a default factory's
    signature when it builds a model's validator (does it take the validated data?), and a builtin's
    is parsed from its text signature by the tokenizer, ~3 ms of the first load of a folder (issue 18)."""
    return []


class Spec(BaseModel):
    """Base of every manifest model: unknown fields are errors, values are immutable,
    YAML uses camelCase while Python uses snake_case. Validators are built on a model's first use
    (``defer_build``): a folder pays, in start-up time and memory, only for the kinds it holds; the
    errors and the JSON schema are the same (issue 18)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
        defer_build=True,
    )


# The scalar types of every numeric and boolean field. pydantic's lax mode would turn `replicas: true`
# into 1, `replicas: 2.0` into 2, `port: "80"` into 80 and `attachable: "yes"` or `preempt: 1` into
# True; Kubernetes (apimachinery's structural schema: "must be of type integer") and the Swarm API (Go's
# encoding/json: "cannot unmarshal bool into Go struct field ... of type uint64") refuse such values, so
# here a whole number is a YAML integer, a number an integer or a float, a flag true or false. A model-
# wide ConfigDict(strict=True) would also refuse "10.0.0.1" for an IP address: only these are strict.
# A field that deliberately takes a string too (a file mode "0440", a memory size "512M") converts it
# in a BeforeValidator and leaves the number to these.
WholeNumber = Annotated[int, Strict()]
Number = Annotated[float, Strict()]  # strict float still takes an int: `maxFailureRatio: 1`
Flag = Annotated[bool, Strict()]

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=NAME_PATTERN),
    Field(description="1-63 characters: lowercase letters, digits and '-', starting and ending alphanumeric."),
]

# A stack name as ``docker stack deploy`` uses it (``wp`` in ``wp_db``): ``_`` is allowed, since compose
# project names have it; a manifest name has none, so ``<namespace>_<name>`` splits one way only.
NAMESPACE_PATTERN = r"^[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"
Namespace = Annotated[
    str,
    StringConstraints(min_length=1, max_length=62, pattern=NAMESPACE_PATTERN),
    Field(
        description="A docker stack name: objects are named <namespace>_<name> and labelled "
        "com.docker.stack.namespace=<namespace>, as `docker stack deploy` does. "
        "Lowercase letters, digits, '-' and '_', starting and ending alphanumeric."
    ),
]

_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    """A validator that refuses values ``pattern`` does not match whole, saying what was expected.

    ``fullmatch``, never ``match``: a pattern ending in ``$`` also matches before a final newline, which
    then reached keepalived.conf and Traefik rules (issue 14)."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{shown(value)} is not {what}")
        return value

    return AfterValidator(check)


def _check_hostname(value: str) -> str:
    if len(value) > 253:
        raise ValueError("a hostname has at most 253 characters")
    labels = value.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{shown(value)} is not a valid lowercase DNS name (letters, digits, '-' and '.', no wildcard, no trailing dot)"
        )
    return value


Hostname = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253),
    AfterValidator(_check_hostname),
    Field(description="A lowercase DNS name such as app.example.org."),
]


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    Field(description="A Go-style duration: 500ms, 30s, 1m30s, 2h.", examples=["30s"]),
]


def _check_memory(value: str | int) -> str | int:
    parse_memory(value)
    return value


MemorySize = Annotated[
    str | WholeNumber,
    AfterValidator(_check_memory),
    Field(description="Bytes, or a size with a binary suffix: 512M, 512Mi, 1G.", examples=["512M"]),
]


def _check_cpus(value: str | float) -> str | float:
    parse_cpus(value)
    return value


Cpus = Annotated[
    str | Number,
    AfterValidator(_check_cpus),
    Field(description="A number of CPUs, e.g. 0.5 or 2.", examples=[0.5]),
]

_LABEL_KEY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$")


def _check_key_characters(value: str) -> str:
    if not _LABEL_KEY.fullmatch(value) or len(value) > 253:
        raise ValueError(f"{shown(value)} is not a valid label key (letters, digits, '.', '_', '/', '-', at most 253)")
    return value


def _check_label_key(value: str) -> str:
    _check_key_characters(value)
    if value.startswith(LABEL_PREFIX):
        raise ValueError(f"label keys starting with {LABEL_PREFIX!r} are reserved for the reconciler")
    if value == STACK_NAMESPACE:
        raise ValueError(f"{STACK_NAMESPACE} is written from the manifest's namespace: set metadata.namespace instead")
    return value


LabelKey = Annotated[str, AfterValidator(_check_label_key)]
# Keys of the manifest's own metadata: the same characters, and the reconciler's prefix is allowed
# (the annotation `reconciler.swarm/adopt` is one).
MetadataKey = Annotated[str, AfterValidator(_check_key_characters)]


def _check_safe_text(value: str) -> str:
    if has_control(value):
        raise ValueError("control characters (newline, tab, NUL, ...) are not allowed here")
    return value


SafeText = Annotated[str, AfterValidator(_check_safe_text)]
Labels = dict[LabelKey, SafeText]

# Traefik reads its configuration from these keys (its label parser ignores case). They are made
# from Route and Middleware manifests, whose checks (router and middleware names owned, hosts not
# claimed twice, catch-alls declared) a hand-written label would bypass (issue 14).
_TRAEFIK_PREFIX = "traefik."


def _check_service_label_key(value: str) -> str:
    _check_label_key(value)
    if value.lower().startswith(_TRAEFIK_PREFIX):
        raise ValueError(
            f"{shown(value)}: traefik.* labels are made from Route and Middleware manifests; "
            "write a Route (hosts, pathPrefix, tls, middlewares) or a Middleware instead"
        )
    return value


ServiceLabels = dict[Annotated[str, AfterValidator(_check_service_label_key)], SafeText]
"""Labels of a Swarm service or its containers: no ``reconciler.swarm/`` key, no ``traefik.`` key."""


class Metadata(Spec):
    """``metadata`` of every manifest. Labels and annotations are the manifest's own, not Docker's."""

    name: Name
    namespace: Namespace | None = Field(
        default=None,
        description="The stack the object belongs to (docker stack deploy's name): Swarm name "
        "<namespace>_<name>; references resolve in the same namespace first.",
    )
    labels: dict[MetadataKey, SafeText] = Field(default_factory=dict)
    annotations: dict[MetadataKey, SafeText] = Field(
        default_factory=dict,
        description='Free-form notes; `reconciler.swarm/adopt: "true"` takes over an unmanaged object.',
    )
