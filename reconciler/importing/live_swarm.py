"""``reconciler import swarm``: a live swarm's snapshot to manifest documents that take it over as
it is, with what the kinds cannot express named.

Scope: every service, or those of ``--stack`` (the ``com.docker.stack.namespace`` label, docker-cli
``cli/compose/convert.LabelNamespace``), or the ``--service`` names; with what they refer to
(networks, volumes, configs, secrets, as ``live_objects`` makes them) and, with ``--stack``, the
stack's other networks, configs and secrets. A stack's objects get ``metadata.namespace`` and
their names without the ``<stack>_`` prefix, so they keep their Swarm names (``Resource.swarm_name``).

Not imported, each said in ``notes``: objects some reconciler instance manages already (their
manifests exist: the ``managed-by`` label, the leader lease, a VirtualIP's keepalived service), and
services whose name no manifest can carry. Traefik labels become ``Route`` and ``Middleware``
documents (``traefik_labels``). Whatever a service sets that the Service kind has no field for is a
``Finding``; ``live_check`` adds what an adoption would change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler import API_VERSION
from reconciler.core.labels import MANAGED_BY, STACK_NAMESPACE
from reconciler.core.swarm_names import scoped
from reconciler.importing.live_configs import stack_configs
from reconciler.importing.live_objects import external_document, volume_document
from reconciler.importing.live_service import service_body
from reconciler.importing.refused_values import MAX_REFUSALS, drop_refused
from reconciler.importing.safe_write import write_inside
from reconciler.importing.traefik_labels import import_traefik_labels
from reconciler.importing.yaml_emit import dump_documents, file_name, sorted_documents
from reconciler.manifests.errors import escape_control
from reconciler.manifests.registry import KINDS
from reconciler.manifests.types import NAME_PATTERN
from reconciler.state.snapshot import Snapshot

__all__ = ["Finding", "LiveImport", "LiveImportError", "import_live", "write_import"]

_NAME = re.compile(NAME_PATTERN)


class LiveImportError(Exception):
    """The import cannot be done as asked (an unknown ``--service``, an empty ``--stack``)."""


@dataclass(frozen=True)
class Finding:
    """Something of ``subject`` (``service wp_db``) that the manifests do not carry as it is live."""

    subject: str
    field: str
    message: str
    unexpressed: bool = False  # a live field the kind has no field for (``live_check`` says what adopting does)

    def __str__(self) -> str:
        # A live label key or value may hold terminal escapes (anyone who may deploy a service sets
        # them): shown escaped, as every problem of ``validate`` is.
        return escape_control(f"{self.subject}: {self.field}: {self.message}")


@dataclass
class LiveImport:
    documents: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _metadata(name: str, labels: dict[str, str]) -> dict[str, str] | None:
    """``{name, namespace}`` for a Swarm name, or None when no manifest can carry it."""
    namespace = labels.get(STACK_NAMESPACE)
    if namespace and name.startswith(namespace + "_") and _NAME.fullmatch(name[len(namespace) + 1 :]):
        return {"name": name[len(namespace) + 1 :], "namespace": namespace}
    return {"name": name} if _NAME.fullmatch(name) else None


def import_live(snapshot: Snapshot, stack: str | None = None, services: Sequence[str] = ()) -> LiveImport:
    result = LiveImport()
    network_names = {n["Id"]: n["Name"] for n in snapshot.networks}
    chosen = _choose(snapshot, stack, services, result)
    refs: dict[str, set[str]] = {"Network": set(), "Config": set(), "Secret": set()}
    volumes: dict[str, dict[str, Any]] = {}
    for live in chosen:
        spec = live["Spec"]
        name = spec["Name"]
        labels = dict(spec.get("Labels") or {})
        metadata = _metadata(name, labels)
        if metadata is None:
            result.findings.append(Finding(f"service {name}", "Name", "no manifest name can carry it (a manifest "
                                           "name is [a-z0-9-], or <stack>_<name> in a stack): not imported"))  # fmt: skip
            continue
        body = service_body(spec, network_names)
        subject = f"service {name}"
        for key, where in (("labels", "Labels"), ("containerLabels", "TaskTemplate.ContainerSpec.Labels")):
            held = body.spec.get(key, {})
            if held.pop(STACK_NAMESPACE, None) is not None and "namespace" not in metadata:
                # written from metadata.namespace only, which needs the name to be <stack>_<name>
                body.left.append(f"{where}.{STACK_NAMESPACE}")
            if not held:
                body.spec.pop(key, None)
        result.findings += [Finding(subject, path, "no manifest field for it", True) for path in body.left]
        document = {"apiVersion": API_VERSION, "kind": "Service", "metadata": metadata, "spec": _ordered(body.spec)}
        kept = _salvaged(document, subject, result)
        if kept is None:
            continue
        result.documents.append(kept)
        refs["Network"].update(body.networks)
        refs["Config"].update(body.configs)
        refs["Secret"].update(body.secrets)
        for mount in body.volumes:
            document = volume_document(mount)
            seen = volumes.setdefault(mount["Source"], document)
            if seen != document:
                result.findings.append(Finding(subject, f"TaskTemplate.ContainerSpec.Mounts[{mount.get('Target')}]",
                                               f"volume {mount['Source']} is mounted with other options by another "
                                               "service: the manifest keeps the first service's"))  # fmt: skip
        if body.traefik_labels:
            _routes(body.traefik_labels, name, metadata, body.networks, result)
    if stack is not None:
        _stack_objects(snapshot, stack, refs)
    managed = stack_configs(snapshot, refs["Config"], result.documents)  # the rest stay external
    refs["Config"] -= {scoped(d["metadata"]["namespace"], d["metadata"]["name"]) for d in managed}
    result.documents += managed
    for kind in ("Network", "Config", "Secret"):
        result.documents += [external_document(kind, name) for name in sorted(refs[kind])]
    result.documents += [volumes[name] for name in sorted(volumes)]
    result.notes += _managed_references(snapshot, refs)
    return result


def _managed_references(snapshot: Snapshot, refs: dict[str, set[str]]) -> list[str]:
    """Objects written as ``external: true`` that a reconciler instance manages: their manifests exist
    elsewhere, and that instance would prune them once its own manifests stop naming them."""
    labels_of = {
        "Network": {n["Name"]: n.get("Labels") or {} for n in snapshot.networks},
        "Config": {c["Spec"]["Name"]: c["Spec"].get("Labels") or {} for c in snapshot.configs},
        "Secret": {c["Spec"]["Name"]: c["Spec"].get("Labels") or {} for c in snapshot.secrets},
    }
    return [
        f"{kind.lower()} {name}: managed by reconciler instance {owner!r}; written as external here (its "
        "manifest is that instance's)"
        for kind, names in refs.items()
        for name in sorted(names)
        if (owner := labels_of[kind].get(name, {}).get(MANAGED_BY))
    ]


def _choose(snapshot: Snapshot, stack: str | None, names: Sequence[str], result: LiveImport) -> list[dict[str, Any]]:
    chosen = []
    found: set[str] = set()
    for live in sorted(snapshot.services, key=lambda s: s["Spec"]["Name"]):
        spec = live["Spec"]
        labels = spec.get("Labels") or {}
        name = spec["Name"]
        if stack is not None and labels.get(STACK_NAMESPACE) != stack:
            continue
        short = name[len(stack) + 1 :] if stack and name.startswith(stack + "_") else name
        if names and name not in names and short not in names:
            continue
        found.update({name, short})
        if labels.get(MANAGED_BY):
            result.notes.append(f"service {name}: managed by reconciler instance {labels[MANAGED_BY]!r} already "
                                "(its manifests exist): not imported")  # fmt: skip
            continue
        chosen.append(live)
    missing = [n for n in names if n not in found]
    if missing:
        where = f" in stack {stack!r}" if stack else ""
        raise LiveImportError(f"no service named {', '.join(missing)}{where}")
    if stack is not None and not found:
        raise LiveImportError(f"no service carries the label {STACK_NAMESPACE}={stack}: is the stack deployed?")
    return chosen


def _stack_objects(snapshot: Snapshot, stack: str, refs: dict[str, set[str]]) -> None:
    """The stack's networks, configs and secrets that no chosen service uses (unmanaged ones only)."""
    for network in snapshot.networks:
        labels = network.get("Labels") or {}
        if labels.get(STACK_NAMESPACE) == stack and not labels.get(MANAGED_BY):
            refs["Network"].add(network["Name"])
    for kind, items in (("Config", snapshot.configs), ("Secret", snapshot.secrets)):
        for item in items:
            labels = item["Spec"].get("Labels") or {}
            if labels.get(STACK_NAMESPACE) == stack and not labels.get(MANAGED_BY):
                refs[kind].add(item["Spec"]["Name"])


def _routes(labels: dict[str, str], service: str, metadata: dict[str, str], attached: list[str],
            result: LiveImport) -> None:  # fmt: skip
    """Routes and Middlewares from the service's Traefik labels, in the service's namespace (a Route
    names its service as the manifest does); a label they cannot say is a finding."""
    imported = import_traefik_labels(labels, metadata["name"], network=lambda n: n if n in attached else None)
    taken = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in result.documents}
    for document in [*imported.middlewares, *imported.routes]:
        if "namespace" in metadata:
            document["metadata"]["namespace"] = metadata["namespace"]
        key = (document["kind"], document["metadata"].get("namespace"), document["metadata"]["name"])
        if key in taken:
            result.findings.append(Finding(f"service {service}", f"Labels ({document['kind']} "
                                           f"{document['metadata']['name']})", "another service's labels made a "
                                           f"{document['kind']} of this name: this one is not imported"))  # fmt: skip
            continue
        taken.add(key)
        result.documents.append(document)
    result.findings += [Finding(f"service {service}", f"Labels.{p.label}", p.reason) for p in imported.problems]


def _salvaged(document: dict[str, Any], subject: str, result: LiveImport) -> dict[str, Any] | None:
    """The document without the values its kind refuses (Swarm takes more than a manifest may say: an
    alias with a dot, a user name with a backslash, an env name starting with a digit), each left out
    and named; the plan then lists what the adoption does without it. The path of a pydantic error is
    followed as far as the document has it (union tags such as ``attachment`` are not in it)."""
    model = KINDS[document["kind"]]
    for _ in range(MAX_REFUSALS):
        try:
            model.model_validate(document)
            return document
        except ValidationError as error:
            problem = error.errors()[0]
            dropped = drop_refused(document, problem["loc"])
            if dropped is None:  # e.g. the image itself refused
                where = ".".join(str(p) for p in problem["loc"])
                result.findings.append(Finding(subject, where, f"not imported: the {document['kind']} kind refuses "
                                               f"it ({problem['msg']})"))  # fmt: skip
                return None
            result.findings.append(Finding(subject, dropped, f"left out: the {document['kind']} kind "
                                           f"refuses the live value ({problem['msg']})"))  # fmt: skip
    return None


_ORDER = (
    "image",
    "command",
    "args",
    "env",
    "mode",
    "replicas",
    "maxConcurrent",
    "totalCompletions",
    "networks",
    "mounts",
    "configs",
    "secrets",
)


def _ordered(spec: dict[str, Any]) -> dict[str, Any]:
    """The manifest's usual field order: what runs first, then where, then how."""
    return {**{k: spec[k] for k in _ORDER if k in spec}, **spec}


def write_import(documents: list[dict[str, Any]], folder: Path) -> list[Path]:
    """One file per manifest (``yaml_emit``), a stack's in a folder of its own (``<folder>/<stack>/``)
    so that names repeated across stacks (every stack's ``db``) do not collide."""
    # The stack's folder is written through no symbolic link either (``safe_write``).
    return [
        write_inside(folder, f"{namespace}/{file_name(d)}" if namespace else file_name(d), dump_documents([d]).encode())
        for d in sorted_documents(documents)
        for namespace in [d["metadata"].get("namespace") or ""]
    ]
