"""A pydantic error on a manifest to the message a person reads: plain words, no internal class
names, and a "did you mean" for an unknown field.

Every pydantic error type a manifest can raise is worded here with what to write instead (a
newcomer found raw "Input should be a valid list" in validate): a value of the wrong type reads
"expected a list ([a, b] or one `- item` per line), not a string ('x')" (``expectation``; the
alternatives of a union are merged into one such line by ``join_messages``), a choice lists the
values allowed, a bound names the bound, an IP field gives an example; a scalar of another YAML
type where a number or a flag goes (the fields are strict: ``types.WholeNumber``) gets the value to
write ("not a string ('80'): write it without quotes, 80"). Pydantic's error types:
pydantic-core's ``ErrorType`` (python/pydantic_core/core_schema.py).

An unknown field is compared (``difflib``) with the fields the model accepts at that place; on a
Service, the keys of a Compose file (``volumes``, ``environment``, ``deploy: {replicas: ...}``, ...)
are answered with the field that does the same here. A value of the wrong type where a group of
fields is expected reads "expected a mapping" rather than pydantic's "instance of PublishedPort".
Called by ``reconciler.manifests.loading`` for every validation error.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from reconciler.manifests.errors import described, shown

__all__ = ["COMPOSE_HINTS", "error_message", "expectation", "field_example", "join_messages"]

# Compose keys on a service (docs.docker.com/reference/compose-file/services/) that are spelt
# differently here, with what to write instead. `deploy` is answered per key (COMPOSE_DEPLOY).
COMPOSE_HINTS = {
    "volumes": "Compose's `volumes` is `mounts` here: - {volume: <Volume manifest>, target: /path}, "
    "- {bind: /host/path, target: /path} or - {tmpfs: true, target: /path}",
    "environment": "Compose's `environment` is `env` here, a mapping NAME: value",
    "entrypoint": "Compose's `entrypoint` is `command` here (and Compose's `command` is `args`)",
    "working_dir": "Compose's `working_dir` is `workdir` here",
    "restart": "Swarm restarts by `restartPolicy: {condition: any | on-failure | none}`",
    "container_name": "Swarm names the tasks itself; the service is named by metadata.name",
    "build": "the reconciler deploys images: build it elsewhere and name it in `image`",
    "links": "use `networks` (with `aliases`) instead of links",
    "expose": "nothing is needed to reach a port on an overlay network; publish one with `ports` or route to it with a Route",
    "network_mode": "Swarm services use overlay `networks`",
    "dns_search": "Compose's `dns_search` is `dns: {search: [...]}` here",
    "dns_opt": "Compose's `dns_opt` is `dns: {options: [...]}` here",
    "tmpfs": "a tmpfs is a mount here: `mounts: - {tmpfs: true, target: /path}`",
}
COMPOSE_DEPLOY = {
    "replicas": "replicas",
    "mode": "mode",
    "placement": "placement",
    "resources": "resources",
    "update_config": "updateConfig",
    "rollback_config": "rollbackConfig",
    "restart_policy": "restartPolicy",
    "labels": "labels",
}
_CLASS_ERRORS = frozenset({"model_type", "model_attributes_type", "dataclass_type", "dataclass_exact_type"})


# What a type error expected, said with how to write it in YAML.
_LIST = "a list ([a, b] or one `- item` per line)"
_EXPECTED = {
    "string_type": "a string",
    "dict_type": "a mapping (key: value lines or {key: value})",
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    **dict.fromkeys(_CLASS_ERRORS, "a mapping of fields"),
}
# The ipaddress types: what the field holds, with an example.
_IP_KINDS = {
    "address": "an IP address such as 10.0.0.1 or fd00::1",
    "network": "a network such as 10.20.0.0/16",
    "interface": "an address with its prefix length such as 10.0.0.5/24",
}


def _ip_kind(kind: str) -> str | None:
    if kind.startswith(("ip_v4_", "ip_v6_", "ip_any_")):
        return _IP_KINDS.get(kind.rsplit("_", 1)[1])
    return None


def expectation(error: Any) -> tuple[str, object] | None:
    """For a type error, (what was expected, the value given); None for any other error."""
    kind, value = error["type"], error.get("input")
    if kind in _EXPECTED:
        return _EXPECTED[kind], value
    if _ip_kind(kind) is not None and not isinstance(value, str):
        return "a string", value
    return None


# YAML 1.1 words for a boolean that arrive as strings when quoted; "1"/"0" as Go's strconv.ParseBool.
_TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "n", "off", "0"})


def _number_in(text: str) -> int | float | None:
    """The number a quoted value spells (" 80" → 80, "0.5" → 0.5), or None."""
    try:
        return int(text) if text.strip().lstrip("+-").isdigit() else float(text)
    except ValueError:
        return None


def _scalar_fix(expected: list[str], value: object) -> str:
    """What to write instead of a scalar of another YAML type where a number or a flag goes (the
    fields are strict, ``types.WholeNumber``/``Number``/``Flag``): ``replicas: 2.0`` → ``2``,
    ``port: "80"`` → ``80``, ``preempt: 1`` → ``true``; "" when there is nothing better to say."""
    numeric = "a whole number" in expected or "a number" in expected
    if numeric and isinstance(value, bool):
        return ": write a number such as 1"
    if numeric and isinstance(value, float) and value.is_integer():
        return f": write {int(value)}"
    if numeric and isinstance(value, float):
        return f": write a whole number such as {int(value)}"
    if numeric and isinstance(value, str):
        number = _number_in(value) if value.isascii() else None
        if number is not None and ("a number" in expected or isinstance(number, int)):
            return f": write it without quotes, {value.strip()}"
    if "true or false" in expected and isinstance(value, int | float | str) and not isinstance(value, bool):
        word = str(value).strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            flag = "true" if word in _TRUE_WORDS else "false"
            return f": write {flag}" + (" without quotes" if isinstance(value, str) else "")
        return ": write true or false" if not isinstance(value, str) else ""
    return ""


def join_messages(expected: list[str], value: object, others: list[str], example: object = None) -> str:
    """One message for a field from the type errors of its union's branches (``expected``, about
    ``value``) and its other messages: "expected a string or a number, not a list". A number where
    a string is expected is told to quote it, or, when the field's type has an example (a duration:
    ``30s``), to write one like it: quoting ``30`` would not make it a duration. A scalar of another
    type where a number or a flag goes is told the value to write (``_scalar_fix``)."""
    parts = list(dict.fromkeys(others))
    if expected:
        said = described(value)
        if "a whole number" in expected and isinstance(value, float) and not value.is_integer():
            said = f"a number with a fraction ({value})"
        text = f"expected {' or '.join(dict.fromkeys(expected))}, not {said}"
        fix = "" if example is not None and "a string" in expected else _scalar_fix(expected, value)
        if not fix and "a string" in expected and isinstance(value, int | float):
            plain = str(value).lower() if isinstance(value, bool) else str(value)
            fix = f": write it like '{example}'" if example is not None else f": write it in quotes, '{plain}'"
        text += fix
        parts.insert(0, text)
    return " or ".join(parts)


def _examples(annotation: Any) -> list[Any]:
    """The ``examples`` of a ``Field`` inside ``annotation`` (through Optional and Annotated)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        found = [example for item in metadata for example in (getattr(item, "examples", None) or [])]
        return found or _examples(inner)
    if origin in (Union, types.UnionType):
        return [example for arg in get_args(annotation) for example in _examples(arg)]
    return []


def field_example(model: type[BaseModel], loc: tuple[int | str, ...]) -> object:
    """An example value of the field at ``loc`` from its type's ``Field(examples=...)``, or None."""
    if not loc or not isinstance(loc[-1], str):
        return None
    for candidate in _models_at(model, loc[:-1]):
        for name, info in candidate.model_fields.items():
            if loc[-1] in (name, info.alias):
                found = list(info.examples or []) or _examples(info.annotation)
                return found[0] if found else None
    return None


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's annotation can hold, through Optional, unions, lists and dict values."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, set, frozenset):
        return [model for arg in get_args(annotation) for model in _models(arg)]
    if origin is dict:
        return _models(get_args(annotation)[1])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _models_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[type[BaseModel]]:
    """The models that validate the mapping at ``loc`` (list indexes, dict keys and union tags in
    ``loc`` leave the candidates as they are)."""
    current = [model]
    for part in loc:
        if not isinstance(part, str):
            continue
        found = [
            inner
            for candidate in current
            for name, info in candidate.model_fields.items()
            if part in (name, info.alias)
            for inner in _models(info.annotation)
        ]
        if found:
            current = found
    return current


def _value_at(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part, data)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
    return data


def _unknown_field(model: type[BaseModel], loc: tuple[int | str, ...], data: Any) -> str:
    key = str(loc[-1])
    candidates = _models_at(model, loc[:-1])
    names = sorted({name for candidate in candidates for name in _field_names(candidate)})
    on_service = any(candidate.__name__ == "ServiceSpec" for candidate in candidates)
    if on_service and key == "deploy":
        value = _value_at(data, loc)
        moves = [
            f"deploy.{sub} to spec.{COMPOSE_DEPLOY[sub]}"
            for sub in (value if isinstance(value, dict) else {})
            if sub in COMPOSE_DEPLOY
        ]
        fields = ", ".join(moves) if moves else ", ".join(f"`{v}`" for v in dict.fromkeys(COMPOSE_DEPLOY.values()))
        return f"unknown field: Compose's `deploy` settings are fields of spec here: move {fields}"
    if on_service and COMPOSE_HINTS.get(key):
        return f"unknown field: {COMPOSE_HINTS[key]}"
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if not close:
        lowered = {name.lower().replace("_", ""): name for name in names}
        match = lowered.get(key.lower().replace("_", "").replace("-", ""))
        close = [match] if match else []
    return f"unknown field: did you mean `{close[0]}`?" if close else "unknown field"


def error_message(error: Any, model: type[BaseModel], data: Any) -> str:
    """The message for one pydantic error on a document of ``model`` holding ``data``."""
    kind, text, ctx, value = error["type"], str(error["msg"]), error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        return _unknown_field(model, tuple(error["loc"]), data)
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        return f"{shown(value)} does not match the pattern {ctx['pattern']}"
    expected = expectation(error)
    if expected is not None:
        return join_messages([expected[0]], expected[1], [])
    ip_kind = _ip_kind(kind)
    if ip_kind is not None:
        return f"{shown(value)} is not {ip_kind}"
    if kind in ("literal_error", "enum"):
        said = shown(value) if isinstance(value, str | int | float) and value is not True else described(value)
        return f"{said} is not allowed here: write {ctx['expected']}"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        said, key = bounds[kind]
        return f"{shown(value)} is out of range: write a number {said} {ctx[key]}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        bound = ctx.get("min_length", ctx.get("max_length"))
        said = "at least" if kind.endswith("short") else "at most"
        unit = "character" if kind.startswith("string") else "item"
        plural = "" if bound == 1 else "s"
        count = len(value) if isinstance(value, str | list | tuple | dict) else "?"
        return f"holds {count} {unit}s: write {said} {bound} {unit}{plural}"
    for prefix in ("Value error, ", "Assertion failed, "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text
