"""Imported documents to YAML: one multi-document stream per file, block style, keys in the order
they were built (the kind modules' camelCase names), so the output reads like a hand-written manifest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["dump_documents", "write_files"]


def dump_documents(documents: Sequence[Mapping[str, Any]]) -> str:
    return yaml.safe_dump_all(
        [dict(d) for d in documents], sort_keys=False, default_flow_style=False, allow_unicode=True, width=120
    )


def write_files(folder: Path, files: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Path]:
    """Write each file under ``folder`` (made if missing); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, documents in files.items():
        path = folder / name
        path.write_text(dump_documents(documents), encoding="utf-8")
        written.append(path)
    return written
