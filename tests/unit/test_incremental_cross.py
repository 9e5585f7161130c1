"""Incremental cross checks (``manifests.incremental_checks``) find exactly what the whole-set
``cross_checks.check_set`` finds, on every revision of random edit sequences: manifests of every kind
the checks read added, changed, removed, renamed to another file and duplicated, references broken
and mended, dependency and middleware-chain cycles made and broken, a route host and path claimed
twice, a route's network changed, ports published in both modes by several services, VRRP router ids
and addresses clashing, a VRRP password's content changed, a derived name taken, a document that
fails its own fields. Each revision is loaded through the controller's caches (the parse cache hands
back unchanged files' objects, as in the controller); the checker runs ``check_set`` on the same input
and both lists must be equal in the order a ``ManifestError`` lists them (sorted). The whole load
must also equal a fresh load's."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests.cross_checks import check_set
from reconciler.manifests.errors import ManifestError, ManifestProblem
from reconciler.manifests.incremental_checks import CrossChecks
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import LoadedManifest
from reconciler.manifests.parse_cache import ParseCache

API = "reconciler.swarm/v1alpha1"
NAMES = ("alpha", "beta", "gamma")
SPACES = (None, "wp")
KINDS = ("Service", "Route", "Middleware", "Network", "Config", "Secret", "VirtualIP", "Volume")
EDITED = ("Service", "Service", "Route", "Route", "Route", "VirtualIP", "VirtualIP", *KINDS)  # the claimants more often
FILES = ("a", "b", "c", "d", "e", "f", "g", "h", "base-Service", "base-Network")

names = st.sampled_from(NAMES)
maybe = st.one_of(st.none(), names)


class Compared(CrossChecks):
    """The incremental checker, with the whole-set check run on the same input every revision."""

    def __init__(self) -> None:
        super().__init__()
        self.revisions = 0

    def check(
        self, loaded: list[LoadedManifest], contents: Mapping[str, bytes], broken: set[str] | None = None
    ) -> list[ManifestProblem]:
        found = super().check(loaded, contents, broken)
        assert found == sorted(check_set(loaded, dict(contents), broken)), f"revision {self.revisions}"
        self.revisions += 1
        return found


def _spec(kind: str, name: str, draw: Any) -> dict[str, Any]:
    if kind == "Service":
        spec: dict[str, Any] = {"image": "x:1", "replicas": draw(st.integers(0, 2))}
        if (net := draw(maybe)) is not None:
            spec["networks"] = [net] + ([draw(names)] if draw(st.booleans()) else [])
        if (conf := draw(maybe)) is not None:
            spec["configs"] = [{"name": conf}]
        if (dep := draw(maybe)) is not None:
            spec["dependsOn"] = [f"Service/{dep}"]  # cycles too: the checks refuse them
        if draw(st.booleans()):
            mode = draw(st.sampled_from(["ingress", "host"]))
            spec["ports"] = [{"target": 80, "published": draw(st.sampled_from([80, 81])), "mode": mode}]
        if draw(st.integers(0, 4)) == 0:
            spec["hostname"] = draw(st.sampled_from(["{{.Task.Slot}}", "{{.Task.Nmae}}"]))
        return spec
    if kind == "Route":
        spec = {"service": draw(names), "port": 80, "hosts": [f"{draw(names)}.test"]}
        if draw(st.booleans()):
            spec["pathPrefix"] = draw(st.sampled_from(["/x", "/y"]))
        if (mw := draw(maybe)) is not None:
            spec["middlewares"] = [mw]
        if (net := draw(maybe)) is not None:
            spec["network"] = net
        return spec
    if kind == "Middleware":
        if draw(st.booleans()):
            return {"type": "chain", "options": {"middlewares": [draw(names)]}}  # cycles too
        return {"type": "headers", "options": {"stsSeconds": 1}}
    if kind == "Network":
        return {"attachable": draw(st.booleans())}
    if kind == "Config":
        return {"data": draw(names)}
    if kind == "Secret":
        return {"file": f"files/{draw(names)}.txt"}
    if kind == "VirtualIP":
        spec = {
            "addresses": [f"10.0.0.{draw(st.integers(1, 3))}/24"],
            "interface": "eth0",
            "routerId": draw(st.integers(1, 2)),
            "priorities": {"node1": 150, "node2": 100},
        }
        if (secret := draw(maybe)) is not None:
            spec["password"] = {"secret": secret}
        return spec
    return {"driver": "local", "labels": {"l": draw(st.sampled_from(["x", "{{.Service.Nmae}}"]))}}


def _base(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "Network": {},
        "Config": {"data": name},
        "Secret": {"file": f"files/{name}.txt"},
        "Middleware": {"type": "headers", "options": {"stsSeconds": 1}},
        "Service": {"image": "x:1", "networks": ["alpha", "beta"] if name == "beta" else []},
    }[kind]
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _manifest(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(EDITED))
    name = draw(names)
    if kind == "Service" and draw(st.integers(0, 5)) == 0:
        name = f"vip-{name}"  # the keepalived service of VirtualIP `name`
    namespace = draw(st.sampled_from(SPACES))
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    doc = {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": _spec(kind, name, draw)}
    if draw(st.integers(0, 12)) == 0:
        doc["spec"]["unknownField"] = 1  # fails its own fields: broken, its references salvaged
    return doc


@st.composite
def edits(draw: Any) -> list[tuple[str, str, Any]]:
    """One revision's edits: write a file of 1-2 documents, remove or rename one, change a content file."""
    out: list[tuple[str, str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        file = f"{draw(st.sampled_from(FILES))}.yaml"
        action = draw(st.sampled_from(["put", "put", "put", "remove", "rename", "content"]))
        if action == "put":
            out.append(("put", file, [_manifest(draw) for _ in range(draw(st.integers(1, 2)))]))
        elif action == "rename":
            out.append(("rename", file, f"{draw(st.sampled_from(FILES))}.yaml"))
        elif action == "remove":
            out.append(("remove", file, None))
        else:
            out.append(("content", f"files/{draw(names)}.txt", draw(st.sampled_from(["pw\n", "bad pass\n", "x"]))))
    return out


def _apply(folder: Path, revision: list[tuple[str, str, Any]]) -> None:
    for action, file, content in revision:
        path = folder / file
        if action == "put":
            path.write_text(yaml.safe_dump_all(content))
        elif action == "remove":
            path.unlink(missing_ok=True)
        elif action == "rename":
            if path.exists():
                path.replace(folder / content)
        else:
            path.write_text(content)


def _outcome(folder: Path, parse: ParseCache | None, checks: CrossChecks | None) -> Any:
    try:
        manifests = load_manifests(folder, parse, checks)
    except ManifestError as exc:
        return ("refused", [str(p) for p in exc.problems])
    return ("ok", [m.resource.key for m in manifests.items])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits(), min_size=1, max_size=30))
def test_incremental_cross_checks_equal_the_whole_set_over_random_edits(revisions: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "files").mkdir()
        for name in NAMES:
            (folder / "files" / f"{name}.txt").write_text("pw\n")
        for kind in ("Network", "Config", "Secret", "Middleware", "Service"):  # most references resolve at first
            (folder / f"base-{kind}.yaml").write_text(yaml.safe_dump_all([_base(kind, name) for name in NAMES]))
        parse, checks = ParseCache(), Compared()
        for step, revision in enumerate(revisions):
            _apply(folder, revision)
            assert _outcome(folder, parse, checks) == _outcome(folder, None, None), f"revision {step}: {revision}"
        assert checks.revisions == len(revisions)
