"""A Service's task-level settings beside the container: the logging driver, generic resources
(GPUs and the like) and tmpfs mount options, as ``docker stack deploy`` passes Compose's
``logging``, ``deploy.resources.reservations.generic_resources`` and a tmpfs volume's ``tmpfs``.

``ServiceSpec`` inherits ``TaskFields`` (``logging``); ``service`` uses ``GenericResource`` in its
reservations and ``TmpfsOptions`` in its mounts. ``reconciler.render.service_spec`` compiles them into
``TaskTemplate.LogDriver``, ``Resources.Reservations.GenericResources`` and a mount's
``TmpfsOptions`` (docker/cli cli/compose/convert/service.go, convert/volume.go). The Engine stores
each as sent and checks nothing at create time (seen on Engine 28): the checks here are the ones a
task meets when it starts, each citing its source.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from reconciler.manifests.types import Flag, MemorySize, SafeText, Spec, WholeNumber, nested_error, shown

__all__ = [
    "GenericResource",
    "GenericResourceEntry",
    "Logging",
    "TaskFields",
    "TmpfsEntry",
    "TmpfsOptions",
    "octal_mode",
]

_OCTAL = re.compile(r"[0-7]{1,4}")
_DRIVER = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_.-]+)?$")
_OPTION_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_RESOURCE_KIND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
# go-units FromHumanSize, which json-file and local read max-size with: a number and k/m/g (+b).
_HUMAN_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?\s?([kKmMgGtTpP]([iI])?[bB]?|[bB])?$")

# moby daemon/logger/jsonfilelog/jsonfilelog.go and daemon/logger/local/config.go ValidateLogOpt:
# the option keys each of the two file drivers accepts (any other fails the task at start).
_FILE_DRIVER_OPTIONS = {
    "json-file": frozenset({"max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"}),
    "local": frozenset({"max-file", "max-size", "compress"}),
}


def octal_mode(example: str) -> Callable[[object], object]:
    """A before-validator for a file mode, which is octal to humans: it accepts "1777", "0o1777" and
    "01777" as well as plain integers; an error names ``example`` as the form to write."""

    def parse(value: object) -> object:
        if isinstance(value, str) and value.strip(" "):
            # int() would accept a trailing newline, underscores and a sign: only octal digits pass.
            text = value.strip(" ").lower().removeprefix("0o")
            if not _OCTAL.fullmatch(text):
                raise ValueError(f"{shown(value)} is not an octal file mode such as {example}")
            return int(text, 8)
        return value

    return parse


class TmpfsOptions(Spec):
    """A tmpfs mount's size and mode (Compose's ``tmpfs: {size, mode}`` on a tmpfs volume)."""

    size: MemorySize | None = Field(default=None, description="The tmpfs size limit, e.g. 64M (default: half the RAM).")
    mode: Annotated[WholeNumber, BeforeValidator(octal_mode("1777")), Field(ge=0, le=0o7777)] | None = Field(
        default=None, description='The mount point\'s mode: an octal string such as "1777", or an integer.'
    )


# `tmpfs: true` or `tmpfs: {size, mode}`, the branch chosen by the value's shape (one error, not two).
TmpfsEntry = Annotated[
    Annotated[Flag, Tag("flag")] | Annotated[TmpfsOptions, Tag("options")],
    Discriminator(lambda v: "options" if isinstance(v, dict | TmpfsOptions) else "flag"),
]


def _options_text(value: object) -> object:
    """Compose writes option values as numbers too (``max-file: 3``): the Engine takes strings."""
    if isinstance(value, dict):
        return {k: str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, int | float) else v
                for k, v in value.items()}  # fmt: skip
    return value


class Logging(Spec):
    """``TaskTemplate.LogDriver``: Compose's ``logging: {driver, options}``."""

    driver: Annotated[str, Field(pattern=_DRIVER.pattern, max_length=255)] = Field(
        description="A log driver (json-file, local, syslog, journald, gelf, fluentd, ...) or a plugin such as loki:latest."
    )
    options: Annotated[dict[str, SafeText], BeforeValidator(_options_text)] = Field(
        default_factory=dict, description="The driver's options, e.g. {max-size: 10m, max-file: 3}."
    )

    @field_validator("options")
    @classmethod
    def _keys(cls, options: dict[str, str]) -> dict[str, str]:
        for key in options:
            if not _OPTION_KEY.fullmatch(key):
                raise nested_error((key,), f"{shown(key)} is not a log option name")
        return options

    @model_validator(mode="after")
    def _file_driver_options(self) -> Logging:
        known = _FILE_DRIVER_OPTIONS.get(self.driver)
        if known is None:
            return self
        for key, value in self.options.items():
            if key not in known:
                raise nested_error(
                    ("options", key), f"{self.driver} has no option {shown(key)}: use {', '.join(sorted(known))}"
                )
            if key == "max-size" and not _HUMAN_SIZE.fullmatch(value):
                raise nested_error(("options", key), f"{shown(value)} is not a size such as 10m or 1g")
            if key == "max-file" and not (value.isdigit() and int(value) >= 1):
                raise nested_error(("options", key), f"{shown(value)} is not a number of files (1 or more)")
            if key == "compress" and value not in {"true", "false"}:
                raise nested_error(("options", key), f"{shown(value)} is not true or false")
        if int(self.options.get("max-file", "1")) > 1 and "max-size" not in self.options:
            # jsonfilelog.New / local: "max-file cannot be greater than 1 when max-size is not set"
            raise nested_error(("options", "max-file"), "max-file above 1 needs max-size: set both, e.g. max-size: 10m")
        return self


def _compose_resource(value: object) -> object:
    """Compose's ``{discrete_resource_spec: {kind, value}}`` is ``{kind, value}`` here."""
    if isinstance(value, dict) and len(value) == 1:
        [(key, inner)] = value.items()
        if key in {"discrete_resource_spec", "discreteResourceSpec"}:
            return inner
    return value


def _count(value: object) -> object:
    """Compose's ``value: "2"`` (a string in docker/cli's GenericResource) is the number 2."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, str):
        # swarmkit api/genericresource/validate.go ValidateTask: tasks hold discrete resources only
        # (the check's error is dropped at create, and the scheduler then never places the task).
        raise ValueError(
            f"{shown(value)} names one resource: a task can only reserve a number of a kind, e.g. value: 1"
        )
    return value


class GenericResource(Spec):
    """A number of a resource kind the nodes advertise (``node-generic-resources`` in daemon.json),
    e.g. ``{kind: gpu, value: 2}``: ``Resources.Reservations.GenericResources[].DiscreteResourceSpec``."""

    kind: Annotated[str, Field(pattern=_RESOURCE_KIND.pattern, max_length=128)]
    value: Annotated[WholeNumber, BeforeValidator(_count), Field(ge=1)]


GenericResourceEntry = Annotated[GenericResource, BeforeValidator(_compose_resource)]


class TaskFields(Spec):
    """The task-level fields of ``ServiceSpec`` (a base class: the fields sit in ``spec``)."""

    logging: Logging | None = Field(
        default=None, description="The log driver and its options (default: the daemon's, usually json-file)."
    )
