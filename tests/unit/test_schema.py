"""crds/ holds the JSON schemas generated from the models; a stale copy fails here."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.manifests.registry import KINDS
from reconciler.manifests.schema import schema_documents, write_schemas

CRDS = Path(__file__).resolve().parents[2] / "crds"


def test_crds_are_up_to_date(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    fresh = {p.name: p.read_text() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_text() for p in CRDS.iterdir() if p.suffix == ".json"}
    assert fresh == committed, "crds/ is stale: run `reconciler schema --out crds/` and commit"


def test_one_schema_per_kind_plus_the_union() -> None:
    docs = schema_documents()
    assert set(docs) == {f"{kind.lower()}.json" for kind in KINDS} | {"manifest.json"}
    for kind in KINDS:
        doc = docs[f"{kind.lower()}.json"]
        assert doc["properties"]["kind"]["const"] == kind
        assert set(doc["required"]) >= {"apiVersion", "kind", "metadata"}
        assert doc["additionalProperties"] is False
    assert {entry["$ref"].rsplit("/", 1)[-1] for entry in docs["manifest.json"]["oneOf"]} == set(KINDS)


def test_schemas_use_the_yaml_field_names() -> None:
    service = json.dumps(schema_documents()["service.json"])
    assert '"dependsOn"' in service and '"depends_on"' not in service
    assert '"apiVersion"' in service
