"""Incremental compiling (``state.compile_cache``) gives exactly what a whole-set compile from scratch
gives, over random edits of a manifest folder: every kind added, changed and removed, references
renamed (in and out of a namespace), a Config's file content changed, a Route moved to another
service, middlewares and chains changed. Each revision is loaded and compiled twice, once with the
controller's caches (parse and compile) and once fresh; the desired state, its hashes and the
cross-check problems must be equal."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.parse_cache import ParseCache
from reconciler.state.compile_cache import CompileCache
from reconciler.state.desired import DesiredObject, compile_desired

API = "reconciler.swarm/v1alpha1"
NAMES = ("alpha", "beta", "gamma")
SPACES = (None, "wp")
KINDS = ("Service", "Route", "Middleware", "Network", "Volume", "Config", "Secret")

names = st.sampled_from(NAMES)
maybe = st.one_of(st.none(), names)


def _manifest(kind: str, name: str, namespace: str | None, draw: Any) -> dict[str, Any]:
    spec: dict[str, Any]
    if kind == "Service":
        spec = {"image": f"x:{draw(st.integers(1, 2))}", "replicas": draw(st.integers(0, 2))}
        if (net := draw(maybe)) is not None:
            spec["networks"] = [net]
        if (vol := draw(maybe)) is not None:
            spec["mounts"] = [{"volume": vol, "target": "/data"}]
        if (conf := draw(maybe)) is not None:
            spec["configs"] = [{"name": conf}]
        if (secret := draw(maybe)) is not None:
            spec["secrets"] = [{"name": secret}]
        if (dep := draw(maybe)) is not None and dep < name:  # no cycles: those are refused
            spec["dependsOn"] = [f"Service/{dep}"]
    elif kind == "Route":
        spec = {
            "service": draw(names),
            "port": draw(st.sampled_from([80, 8080])),
            "hosts": [f"{name}.{namespace or 'top'}.test"],
        }
        if (mw := draw(maybe)) is not None:
            spec["middlewares"] = [mw]
        if draw(st.integers(0, 3)) == 0:
            spec["network"] = draw(names)
    elif kind == "Middleware":
        if name == "gamma" and draw(st.booleans()):  # a chain of the others: no cycles
            spec = {"type": "chain", "options": {"middlewares": [draw(st.sampled_from(NAMES[:2]))]}}
        else:
            spec = {"type": "headers", "options": {"stsSeconds": draw(st.integers(1, 3))}}
    elif kind == "Network":
        spec = {"attachable": draw(st.booleans())}
    elif kind == "Volume":
        spec = {"driver": "local", "driverOptions": {"o": draw(st.sampled_from(["x", "y"]))}}
    elif kind == "Config":
        spec = {"file": f"files/{draw(names)}.txt"} if draw(st.booleans()) else {"data": draw(names)}
    else:
        spec = {"file": f"files/{draw(names)}.txt"}
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": spec}


@st.composite
def edits(draw: Any) -> list[tuple[str, str, Any]]:
    """Edits as (action, file, content): write a manifest, remove one, or change a content file."""
    out: list[tuple[str, str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        kind, name, namespace = draw(st.sampled_from(KINDS)), draw(names), draw(st.sampled_from(SPACES))
        file = f"{kind}-{name}-{namespace}.yaml"
        action = draw(st.sampled_from(["put", "put", "put", "put", "remove", "content"]))
        if action == "put":
            out.append(("put", file, _manifest(kind, name, namespace, draw)))
        elif action == "remove":
            out.append(("remove", file, None))
        else:
            out.append(("content", f"files/{name}.txt", draw(st.sampled_from(["one", "two", "three"]))))
    return out


def _base(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "Service": {"image": "x:1"},
        "Route": {"service": name, "port": 80, "hosts": [f"{name}.base.test"]},
        "Middleware": {"type": "headers", "options": {"stsSeconds": 1}},
        "Network": {},
        "Volume": {},
        "Config": {"data": name},
        "Secret": {"file": f"files/{name}.txt"},
    }[kind]
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _apply(folder: Path, revision: list[tuple[str, str, Any]]) -> None:
    for action, file, content in revision:
        path = folder / file
        if action == "put":
            path.write_text(yaml.safe_dump(content))
        elif action == "remove":
            path.unlink(missing_ok=True)
        else:
            path.write_text(f"{content}\n")


def _outcome(folder: Path, parse: ParseCache | None, compiled: CompileCache[DesiredObject] | None) -> Any:
    try:
        manifests = load_manifests(folder, parse)
    except ManifestError as exc:
        return ("refused", [str(p) for p in exc.problems])
    desired = compile_desired(manifests, "test", compiled)
    return ("ok", desired, [(o.key, o.hash) for o in desired.objects], sorted(map(str, manifests.warnings)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits(), min_size=1, max_size=25))
def test_incremental_compile_equals_a_whole_compile_over_random_edits(revisions: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "files").mkdir()
        for name in NAMES:
            (folder / "files" / f"{name}.txt").write_text(f"{name}\n")
        for kind in KINDS:  # a first revision with every name declared, so most references resolve
            for name in NAMES:
                (folder / f"{kind}-{name}-None.yaml").write_text(yaml.safe_dump(_base(kind, name)))
        parse, compiled = ParseCache(), CompileCache[DesiredObject]()
        for step, revision in enumerate([[], *revisions]):
            _apply(folder, revision)
            incremental, whole = _outcome(folder, parse, compiled), _outcome(folder, None, None)
            assert incremental == whole, f"revision {step}: {revision}"
            if incremental[0] == "ok":
                assert len(compiled) <= len(incremental[1].objects)  # one revision's entries


def _service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Service", "metadata": {"name": name}, "spec": {"image": "x:1", **spec}}


def test_only_what_an_edit_reaches_is_compiled_again(tmp_path: Path) -> None:
    config = {"apiVersion": API, "kind": "Config", "metadata": {"name": "conf"}, "spec": {"file": "conf.txt"}}
    (tmp_path / "conf.txt").write_text("one\n")
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "uses.yaml").write_text(yaml.safe_dump(_service("uses", configs=[{"name": "conf"}])))
    for i in range(3):
        (tmp_path / f"s{i}.yaml").write_text(yaml.safe_dump(_service(f"s{i}")))
    parse, compiled = ParseCache(), CompileCache[DesiredObject]()
    first = compile_desired(load_manifests(tmp_path, parse), "test", compiled)
    assert (compiled.hits, compiled.misses) == (0, 5)
    (tmp_path / "conf.txt").write_text("two\n")  # the config and the service that mounts it
    second = compile_desired(load_manifests(tmp_path, parse), "test", compiled)
    assert (compiled.hits, compiled.misses) == (3, 7)
    assert first.get("Service/uses") != second.get("Service/uses")
    assert first.get("Service/s0") is second.get("Service/s0")
    assert len(compiled) == 5
