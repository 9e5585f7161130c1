"""Swarm's service templates (``{{.Service.Name}}``, ``{{.Task.Slot}}``, ...) checked offline.

Swarm expands a container's hostname, environment values and mount sources (and the labels and
driver options of a volume mount) as Go ``text/template`` with ``missingkey=error`` on each node
(swarmkit ``template/expand.go`` ``ExpandContainerSpec``, ``template/template.go``). The context has
exactly these fields (``template/context.go`` ``Context``): ``.Service.ID``, ``.Service.Name``,
``.Service.Labels``, ``.Node.ID``, ``.Node.Hostname``, ``.Node.Platform.OS``,
``.Node.Platform.Architecture``, ``.Task.ID``, ``.Task.Name``, ``.Task.Slot``; the functions are
Go's built-ins and ``join``. At create time the manager expands the spec once against a dummy task
whose service has no labels (``manager/controlapi/service.go`` ``validateContainerSpec``), so a
misspelt field, an unknown function, an unbalanced block or ``.Service.Labels.<key>`` (use
``index .Service.Labels "key"``) is refused by the engine; this module refuses them first, with a
"did you mean".

A hostname longer than 63 characters makes every task fail (``sethostname: invalid argument``)
while the service looks created. IDs are 25 characters (swarmkit ``identity/randomid.go``
``maxRandomIDLength``), a task's name is ``<service>.<slot>.<task id>`` (``api/naming/naming.go``)
and a global service's slot is its node's ID, so the longest expansion of a hostname made of text
and fields is known, except the node's hostname and platform, which count as empty (the check
refuses only what is too long whatever the node). Used by ``cross_checks``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

__all__ = ["MAX_HOSTNAME", "TemplateFacts", "hostname_problem", "template_problem"]

MAX_HOSTNAME = 63
ID_LENGTH = 25
_UNKNOWN = -1  # a value whose length the manifests do not determine

# The template context: a field's children, or None for a string, or "map" for Service.Labels.
_CONTEXT: dict[str, object] = {
    "Service": {"ID": None, "Name": None, "Labels": "map"},
    "Node": {"ID": None, "Hostname": None, "Platform": {"OS": None, "Architecture": None}},
    "Task": {"ID": None, "Name": None, "Slot": None},
}
_FUNCTIONS = frozenset(
    {"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println"}
    | {"urlquery", "eq", "ne", "lt", "le", "gt", "ge", "join"}
)
_OPENERS = frozenset({"if", "range", "with", "define", "block"})
_KEYWORDS = frozenset({"else", "end", "template", "break", "continue", "nil", "true", "false"}) | _OPENERS
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'|/\*.*?\*/|\$[A-Za-z0-9_]*|\.?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|\.|\S',
    re.DOTALL,
)


@dataclass(frozen=True)
class TemplateFacts:
    """What the manifests say about the service whose fields are expanded."""

    service_name: str
    slot_length: int  # digits of the largest replica number, or 25 (a node ID) for a global service


def _field_problem(chain: str) -> str | None:
    parts = chain.lstrip(".").split(".")
    node: object = _CONTEXT
    walked = ""
    for index, part in enumerate(parts):
        if node == "map":
            labels = ".".join(parts[:index])
            return (
                f"{{{{.{labels}.{part}}}}}: the engine checks templates against a service without labels "
                f'and refuses this; write {{{{index .{labels} "{part}"}}}}'
            )
        if not isinstance(node, dict) or part not in node:
            known = sorted(node) if isinstance(node, dict) else []
            close = difflib.get_close_matches(part, known, n=1, cutoff=0.5)
            hint = f": did you mean {walked}.{close[0]}?" if close else ""
            where = f"{walked} has" if walked else "Swarm templates have"
            fields = ", ".join(f"{walked}.{k}" for k in known) if known else "no fields"
            return f"{where} no field {part!r}{hint} (fields: {fields})"
        node = node[part]
        walked += f".{part}"
    return None


def template_problem(text: str) -> str | None:
    """Why Swarm would refuse ``text`` as a template, or None."""
    depth = 0
    if "{{" not in text:
        return None
    rest = _ACTION.sub("", text)
    if "{{" in rest:
        return "an action opened with '{{' is not closed with '}}'"
    for match in _ACTION.finditer(text):
        body = match.group(1).removeprefix("-").removesuffix("-")
        words = _TOKEN.findall(body)
        if words and words[0].startswith("/*"):
            continue
        if words and words[0] in _OPENERS:
            depth += 1
        elif words and words[0] == "end":
            depth -= 1
            if depth < 0:
                return "{{end}} without an {{if}}, {{range}} or {{with}} to close"
        for word in words:
            if word.startswith(".") and len(word) > 1:
                problem = _field_problem(word)
                if problem is not None:
                    return problem
            elif (word[0].isalpha() or word[0] == "_") and word not in _FUNCTIONS and word not in _KEYWORDS:
                close = difflib.get_close_matches(word, sorted(_FUNCTIONS), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]}?)" if close else ""
                return f"function {word!r} is not defined in Swarm templates{hint}"
    if depth > 0:
        return "an {{if}}, {{range}} or {{with}} is not closed with {{end}}"
    return None


def _length(chain: str, facts: TemplateFacts) -> int:
    name = len(facts.service_name)
    lengths = {
        "Service.ID": ID_LENGTH,
        "Service.Name": name,
        "Node.ID": ID_LENGTH,
        "Task.ID": ID_LENGTH,
        "Task.Slot": facts.slot_length,
        "Task.Name": name + 1 + facts.slot_length + 1 + ID_LENGTH,
    }
    return lengths.get(chain.lstrip("."), _UNKNOWN)


def hostname_problem(text: str, facts: TemplateFacts) -> str | None:
    """Why ``text`` cannot be a task's hostname: a template Swarm refuses, or an expansion longer
    than ``MAX_HOSTNAME`` whatever the node."""
    problem = template_problem(text)
    if problem is not None:
        return problem
    total, unknown = len(_ACTION.sub("", text)), False
    for match in _ACTION.finditer(text):
        words = _TOKEN.findall(match.group(1).removeprefix("-").removesuffix("-"))
        if len(words) != 1 or not words[0].startswith("."):
            return None  # functions or blocks: the length is not known here
        length = _length(words[0], facts)
        unknown = unknown or length == _UNKNOWN
        total += max(length, 0)
    if total <= MAX_HOSTNAME:
        return None
    shown = f"at least {total}" if unknown else str(total)
    return (
        f"expands to {shown} characters (IDs have 25, a task name is <service>.<slot>.<task id>): "
        f"every task would fail to start, a hostname has at most {MAX_HOSTNAME}"
    )
