"""State shared by the compose converters: the project, the manifests made so far, name tables and
findings, plus the value casts compose needs (interpolated numbers and booleans arrive as strings;
the compose-spec schema allows both). Used by ``compose_objects``, ``compose_service`` and
``compose_import``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import API_VERSION
from reconciler.importing.compose_loading import ComposeProject
from reconciler.importing.findings import Finding
from reconciler.importing.names import NameTable

__all__ = ["Context", "as_bool", "as_float", "as_int"]


def as_int(value: Any) -> Any:
    """An integer, or a string of one (compose-go casts interpolated values); anything else is
    returned as it is, so that the kind refuses it and the import reports it: never a silent null
    (``replicas: two`` once became ``replicas: null`` with exit 0)."""
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    return value


def as_float(value: Any) -> Any:
    """compose-go casts ``max_failure_ratio: "0.5"`` (an interpolated value) to a float; the manifest
    field is strict (``types.Number``) and takes no string. Anything else is returned as it is, for the
    kind to refuse and the import to report."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def as_bool(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


@dataclass
class Context:
    project: ComposeProject
    stack: str | None  # --stack: metadata.namespace, and Swarm names `<stack>_<name>`
    out: Path | None  # the output folder (None: stdout)
    documents: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    copies: list[tuple[Path, str]] = field(default_factory=list)  # (source file, path below out)
    tables: dict[str, NameTable] = field(default_factory=dict)
    # compose key -> what a Service refers to it by (manifest name, or an external object's name)
    networks: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    origins: dict[int, tuple[str | int, ...]] = field(default_factory=dict)  # id(document) -> compose path

    def lost(self, path: Iterable[str | int], subject: str, key: str, reason: str) -> None:
        self.findings.append(Finding(self.project.where(tuple(path)), subject, key, reason))

    def ignored(self, path: Iterable[str | int], subject: str, key: str, reason: str) -> None:
        self.findings.append(Finding(self.project.where(tuple(path)), subject, key, reason, "ignored"))

    def note(self, path: Iterable[str | int], subject: str, key: str, reason: str) -> None:
        self.findings.append(Finding(self.project.where(tuple(path)), subject, key, reason, "note"))

    def claim(self, kind: str, source: str, path: tuple[str | int, ...], subject: str) -> str | None:
        """The manifest name for compose name ``source``; a finding when it is empty or collides."""
        table = self.tables.setdefault(kind, NameTable(kind))
        name = table.claim(source)
        if name is None:
            other = next((c for c in table.collisions if c[0] == source), None)
            reason = (
                f"its manifest name {other[2]!r} is also that of {kind.lower()} {other[1]!r} "
                f"(names are lowercased, other characters made '-'): rename one"
                if other
                else "has no letter or digit to make a manifest name of"
            )
            self.lost(path, subject, "name", reason)
        elif self.stack is not None and name != source:
            self.lost(
                path,
                subject,
                "name",
                f"docker stack deploy names it {self.stack}_{source}; the manifest {name!r} is "
                f"{self.stack}_{name} in Swarm (manifest names have no '_' or capitals): a take-over "
                "makes a new object; rename it in the compose file first to keep it",
            )
        return name

    def add(self, kind: str, name: str, spec: dict[str, Any], origin: tuple[str | int, ...] = ()) -> dict[str, Any]:
        """A manifest; an external object keeps its own Swarm name, so it gets no namespace."""
        metadata: dict[str, Any] = {"name": name}
        if self.stack is not None and not spec.get("external"):
            metadata["namespace"] = self.stack
        document = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
        self.documents.append(document)
        self.origins[id(document)] = origin
        return document

    def add_traefik(self, document: dict[str, Any], subject: str, path: tuple[str | int, ...]) -> None:
        """A Route or Middleware from labels; one of the same kind and name made from another
        service's labels must be the same (Traefik's providers share one namespace per kind)."""
        kind, name = document["kind"], document["metadata"]["name"]
        same = next((d for d in self.documents if d["kind"] == kind and d["metadata"]["name"] == name), None)
        if same is None:
            self.add(kind, name, document["spec"], path)
        elif same["spec"] != document["spec"]:
            self.lost(path, subject, f"{kind} {name}", "defined differently by the labels of another service")

    def leftovers(self, path: tuple[str | int, ...], subject: str, data: dict[str, Any], used: set[str]) -> None:
        """Every key of ``data`` not in ``used`` is reported as not expressible."""
        for key in data:
            if key not in used and not str(key).startswith("x-"):
                self.lost(
                    (*path, key), subject, ".".join(str(p) for p in (*path[2:], key)), "no manifest field says this"
                )
