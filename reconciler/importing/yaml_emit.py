"""Manifest documents (plain dicts, camelCase keys) to readable YAML, and to files in a folder.

Keys keep the order they were built in (``apiVersion``, ``kind``, ``metadata``, ``spec``, then the
spec's fields in the order the kind documents them); block style; no anchors or aliases;
multi-line strings as literal blocks; strings that YAML would read as another type (``"true"``,
``"80"``, ``"1.0"``) are quoted. Documents are ordered by kind as apply orders them (``KIND_ORDER``),
then by name. Used by ``import compose`` and ``import swarm``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from reconciler.importing.safe_write import write_inside

__all__ = ["KIND_ORDER", "dump_documents", "file_name", "sorted_documents", "write_documents"]

KIND_ORDER = ("Network", "Volume", "Config", "Secret", "Service", "Middleware", "Route", "VirtualIP")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _text)


def sorted_documents(documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(document: dict[str, Any]) -> tuple[int, str]:
        kind = document["kind"]
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), document["metadata"]["name"])

    return sorted(documents, key=key)


def dump_documents(documents: Iterable[dict[str, Any]]) -> str:
    """One YAML stream, documents separated by ``---``."""
    return yaml.dump_all(
        sorted_documents(documents), Dumper=_Dumper, sort_keys=False, default_flow_style=False, explicit_start=True,
        allow_unicode=True, width=120,
    )  # fmt: skip


def file_name(document: dict[str, Any]) -> str:
    """``<kind>-<name>.yaml`` (``service-wordpress.yaml``): one manifest per file, all in one folder, so
    a ``file:`` relative to the manifest is relative to the folder."""
    return f"{document['kind'].lower()}-{document['metadata']['name']}.yaml"


def write_documents(documents: Iterable[dict[str, Any]], folder: Path) -> list[Path]:
    """One file per document in ``folder``, never written through a symbolic link (``safe_write``)."""
    return [
        write_inside(folder, file_name(document), dump_documents([document]).encode())
        for document in sorted_documents(documents)
    ]
