"""The manifest models are built on first use (``defer_build`` in ``manifests.types.Spec``, issue 18):
a folder pays only for the validators of the kinds it holds, at start-up and in memory, and what
validation says is the same as with models built at import (the validate tests and the schema test,
``crds/`` unchanged, run on deferred models)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

API = "reconciler.swarm/v1alpha1"


def built_after_loading(folder: Path) -> dict[str, bool]:
    code = (
        "from reconciler.manifests.loading import load_manifests\n"
        "from reconciler.manifests.registry import KINDS\n"
        f"load_manifests({str(folder)!r})\n"
        "import json\n"
        "print(json.dumps(sorted(kind for kind, model in KINDS.items() if model.__pydantic_complete__)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return dict.fromkeys(json.loads(done.stdout), True)


def test_a_folder_builds_the_validators_of_its_kinds_only(tmp_path: Path) -> None:
    (tmp_path / "net.yaml").write_text(
        yaml.safe_dump({"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}})
    )
    assert built_after_loading(tmp_path) == {"Network": True}


def test_every_kind_is_deferred_at_import() -> None:
    code = (
        "from reconciler.manifests.registry import KINDS\n"
        "print(sum(model.__pydantic_complete__ for model in KINDS.values()), len(KINDS))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    built, kinds = map(int, done.stdout.split())
    assert (built, kinds) == (0, 8)


def validation_errors(document: dict[str, object], *, build_first: bool) -> list[dict[str, object]]:
    """The errors of validating ``document`` in a new process, its model built at first use or before."""
    code = (
        "import json, sys\n"
        "from pydantic import ValidationError\n"
        "from reconciler.manifests.registry import KINDS\n"
        "document = json.loads(sys.argv[1])\n"
        "model = KINDS[document['kind']]\n"
        f"if {build_first!r}:\n    model.model_rebuild(force=True)\n"
        "try:\n    model.model_validate(document)\n"
        "except ValidationError as exc:\n    print(exc.json(include_url=False))\n"
    )
    argv = [sys.executable, "-c", code, json.dumps(document)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    errors: list[dict[str, object]] = json.loads(done.stdout)
    return errors


def test_a_deferred_model_says_what_an_eager_one_says() -> None:
    wrong = {
        "apiVersion": API,
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"image": "nginx", "replicas": True, "color": "red", "ports": [{"target": "80"}]},
    }
    deferred = validation_errors(wrong, build_first=False)
    assert deferred == validation_errors(wrong, build_first=True)
    assert {str(e["loc"][-1]) for e in deferred} >= {"replicas", "color"}  # type: ignore[index]
