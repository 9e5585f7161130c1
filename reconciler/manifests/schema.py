"""The manifest models to JSON Schemas: one file per kind plus ``manifest.json`` for any kind.

These are the files in ``crds/``; ``reconciler schema --out crds/`` writes them and a test fails
when the committed copies are stale. Editors' YAML language servers can validate manifests with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from reconciler import API_VERSION
from reconciler.manifests.registry import KINDS, Manifest

__all__ = ["SCHEMA_BASE_ID", "schema_documents", "write_schemas"]

SCHEMA_BASE_ID = "https://swarm-reconciler.invalid/crds/"  # no live host: ids only name the files
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name to schema document, in a stable order."""
    docs: dict[str, dict[str, Any]] = {}
    for kind, model in KINDS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        docs[f"{kind.lower()}.json"] = {
            "$schema": _DRAFT,
            "$id": f"{SCHEMA_BASE_ID}{kind.lower()}.json",
            **schema,
            "title": f"{kind} ({API_VERSION})",
        }
    union = TypeAdapter(Manifest).json_schema(by_alias=True, mode="validation")
    docs["manifest.json"] = {
        "$schema": _DRAFT,
        "$id": f"{SCHEMA_BASE_ID}manifest.json",
        "title": f"Any swarm-reconciler manifest ({API_VERSION})",
        **union,
    }
    return docs


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in schema_documents().items():
        path = folder / name
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
