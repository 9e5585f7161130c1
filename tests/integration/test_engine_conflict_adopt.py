"""Unmanaged objects with a manifest's name are conflicts: never touched unless adopted (``--adopt`` or
the ``reconciler.swarm/adopt`` annotation); an object another instance manages is never adopted."""

from __future__ import annotations

import json
from typing import Any

import docker
import pytest
from click.testing import CliRunner

from reconciler.cli.app import cli
from reconciler.core.labels import APPLIED_HASH, KIND, MANAGED_BY, NAME, NAME_KEY_KIND
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once
from reconciler.state.content_names import name_key_config
from reconciler.state.desired import ADOPT_ANNOTATION
from tests.integration.conftest import Workspace

FOREIGN = {"owner": "ops"}  # the labels a person gave the object by hand


def plan_of(ws: Workspace, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """``diff -o json``: the exit code and the changes by key."""
    out = ws.cli("-o", "json", "diff", *args, str(ws.folder))
    assert out.exit_code in (0, 1), out.stderr
    return out.exit_code, {c["key"]: c for c in json.loads(out.stdout)["changes"]}


def apply_json(ws: Workspace, *args: str) -> tuple[int, dict[str, Any]]:
    out = ws.cli("-o", "json", "apply", "--yes", *args, str(ws.folder))
    assert out.exit_code in (0, 1), (out.stdout, out.stderr)
    return out.exit_code, json.loads(out.stdout)


def outcomes(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["key"]: o for o in result["outcomes"]}


def changes_of(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # When nothing in the plan would change anything (only conflicts), apply stops after planning and
    # its JSON has the plan without "outcomes".
    return {c["key"]: c for c in result["changes"]}


def unmanaged_service(ws: Workspace, busybox: str, base: str) -> dict[str, Any]:
    created = ws.client.api.create_service(
        docker.types.TaskTemplate(docker.types.ContainerSpec(busybox, ["sleep", "3600"])),
        name=ws.name(base),
        mode=docker.types.ServiceMode("replicated", replicas=0),
        labels=dict(FOREIGN),
    )
    found: dict[str, Any] = ws.client.api.inspect_service(created["ID"])
    return found


def service_doc(ws: Workspace, busybox: str, base: str, **metadata: Any) -> dict[str, Any]:
    return ws.doc("Service", base, {"image": busybox, "args": ["sleep", "3600"], "replicas": 0}, **metadata)


def other_instance_apply(ws: Workspace, folder: str, instance: str) -> None:
    argv = ["--docker-host", ws.lab.base_url, "--instance", instance, "apply", "--yes", folder]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)


# ------------------------------------------------------------------------------------------- conflicts


def test_an_unmanaged_service_is_a_conflict_and_apply_leaves_it_alone(ws: Workspace, busybox: str) -> None:
    before = unmanaged_service(ws, busybox, "web")
    ws.write(service_doc(ws, busybox, "web"))
    code, changes = plan_of(ws)
    change = changes[f"Service/{ws.name('web')}"]
    assert code == 1
    assert change["action"] == "conflict"
    assert "not managed by the reconciler" in change["reason"] and "--adopt" in change["reason"]

    code, result = apply_json(ws)
    assert code == 1 and result["in_sync"] is False
    assert changes_of(result)[f"Service/{ws.name('web')}"]["action"] == "conflict"
    after = ws.service("web")
    assert after["Version"]["Index"] == before["Version"]["Index"]
    assert after["Spec"]["Labels"] == FOREIGN
    text = ws.cli("apply", "--yes", str(ws.folder))
    assert text.exit_code == 1 and "conflict" in text.stdout


def test_an_unmanaged_network_is_a_conflict_and_apply_leaves_it_alone(ws: Workspace) -> None:
    net_id = ws.client.api.create_network(ws.name("net"), driver="overlay", labels=dict(FOREIGN))["Id"]
    ws.write(ws.doc("Network", "net", {"attachable": True}))
    code, changes = plan_of(ws)
    change = changes[f"Network/{ws.name('net')}"]
    assert code == 1 and change["action"] == "conflict"
    assert f"a network named {ws.name('net')!r} exists and is not managed" in change["reason"]

    code, result = apply_json(ws)
    assert code == 1 and changes_of(result)[f"Network/{ws.name('net')}"]["action"] == "conflict"
    live = ws.client.api.inspect_network(ws.name("net"))
    assert live["Id"] == net_id and live["Labels"] == FOREIGN and live["Attachable"] is False


def unmanaged_blob(ws: Workspace, kind: str) -> tuple[str, str]:
    """A Config or Secret manifest, and an unmanaged Swarm object under the content-hashed name it would
    get (read from the desired state): ``(swarm name, id)``."""
    (ws.folder / "blob.txt").write_text("a = 1\n")
    ws.write(ws.doc(kind, "blob", {"file": "blob.txt"}))
    # A secret's name is keyed by the instance's name key (state.content_names): make the key first.
    labels = {MANAGED_BY: ws.instance, KIND: NAME_KEY_KIND}  # read only when labelled as this instance's
    ws.client.api.create_config(name_key_config(ws.instance), bytes(32), labels=labels)
    [change] = [c for c in plan_once(ws.swarm(), ws.desired(), PlanOptions())[1].changes if c.kind == kind]
    swarm_name = change.swarm_name
    assert swarm_name.startswith(ws.name("blob") + "-") and swarm_name != ws.name("blob")
    create = ws.client.api.create_config if kind == "Config" else ws.client.api.create_secret
    return swarm_name, create(swarm_name, b"a = 1\n", labels=dict(FOREIGN))["ID"]


def blob_labels(ws: Workspace, kind: str, swarm_name: str) -> list[dict[str, str]]:
    listing = ws.client.api.configs() if kind == "Config" else ws.client.api.secrets()
    return [item["Spec"].get("Labels") or {} for item in listing if item["Spec"]["Name"] == swarm_name]


@pytest.mark.parametrize("kind", ["Config", "Secret"])
def test_an_unmanaged_config_or_secret_with_the_hashed_name_is_a_conflict(ws: Workspace, kind: str) -> None:
    swarm_name, _ = unmanaged_blob(ws, kind)
    code, changes = plan_of(ws)
    change = changes[f"{kind}/{ws.name('blob')}"]
    assert code == 1 and change["action"] == "conflict" and change["swarm_name"] == swarm_name
    assert f"a {kind.lower()} named {swarm_name!r} exists and is not managed by the reconciler" in change["reason"]
    code, _ = apply_json(ws)
    assert code == 1
    assert blob_labels(ws, kind, swarm_name) == [FOREIGN]


# -------------------------------------------------------------------------------------------- adoption


def test_adopt_takes_over_an_unmanaged_service(ws: Workspace, busybox: str) -> None:
    before = unmanaged_service(ws, busybox, "web")
    ws.write(service_doc(ws, busybox, "web"))
    code, changes = plan_of(ws, "--adopt")
    change = changes[f"Service/{ws.name('web')}"]
    assert code == 1 and change["action"] == "update" and change["reason"].startswith("adopted")

    code, result = apply_json(ws, "--adopt")
    assert code == 0, result
    assert outcomes(result)[f"Service/{ws.name('web')}"]["status"] == "done"
    after = ws.service("web")
    assert after["ID"] == before["ID"]  # updated in place, not recreated
    labels = after["Spec"]["Labels"]
    assert labels[MANAGED_BY] == ws.instance
    assert labels[KIND] == "Service" and labels[NAME] == ws.name("web") and APPLIED_HASH in labels
    assert "owner" not in labels  # the manifest is the whole truth once adopted
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_the_adopt_annotation_adopts_without_the_flag(ws: Workspace, busybox: str) -> None:
    unmanaged_service(ws, busybox, "web")
    unmanaged_service(ws, busybox, "api")
    ws.write(
        service_doc(ws, busybox, "web", annotations={ADOPT_ANNOTATION: "true"}),
        service_doc(ws, busybox, "api"),  # no annotation: stays a conflict
    )
    _, changes = plan_of(ws)
    assert changes[f"Service/{ws.name('web')}"]["action"] == "update"
    assert changes[f"Service/{ws.name('api')}"]["action"] == "conflict"
    code, result = apply_json(ws)
    assert code == 1  # the conflict still fails the run...
    done = outcomes(result)
    assert done[f"Service/{ws.name('web')}"]["status"] == "done"  # ...but does not stop the adoption
    assert done[f"Service/{ws.name('api')}"]["status"] == "conflict"
    assert ws.service("web")["Spec"]["Labels"][MANAGED_BY] == ws.instance
    assert ws.service("api")["Spec"]["Labels"] == FOREIGN


def test_adopt_takes_over_an_unmanaged_network(ws: Workspace) -> None:
    ws.client.api.create_network(ws.name("net"), driver="overlay", labels=dict(FOREIGN))
    ws.write(ws.doc("Network", "net", {}))
    code, result = apply_json(ws, "--adopt")
    assert code == 0, result["outcomes"]
    assert ws.client.api.inspect_network(ws.name("net"))["Labels"][MANAGED_BY] == ws.instance
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


@pytest.mark.parametrize("kind", ["Config", "Secret"])
def test_adopt_takes_over_an_unmanaged_config_or_secret(ws: Workspace, kind: str) -> None:
    swarm_name, _ = unmanaged_blob(ws, kind)
    code, result = apply_json(ws, "--adopt")
    assert code == 0, result["outcomes"]
    labels = blob_labels(ws, kind, swarm_name)
    assert len(labels) == 1 and labels[0][MANAGED_BY] == ws.instance
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_an_object_of_another_instance_is_never_adopted(ws: Workspace, busybox: str) -> None:
    other = f"{ws.instance}-other"
    ws.write(ws.doc("Network", "net", {}), service_doc(ws, busybox, "web"))
    other_instance_apply(ws, str(ws.folder), other)
    before = ws.service("web")
    assert before["Spec"]["Labels"][MANAGED_BY] == other

    for flags in ((), ("--adopt",)):
        code, changes = plan_of(ws, *flags)
        assert code == 1
        for key in (f"Network/{ws.name('net')}", f"Service/{ws.name('web')}"):
            assert changes[key]["action"] == "conflict", (flags, changes[key])
            assert f"managed by instance {other!r}" in changes[key]["reason"]
            assert "--adopt" not in changes[key]["reason"]  # no hint that adoption would help
    ws.write(ws.doc("Network", "net", {}), service_doc(ws, busybox, "web", annotations={ADOPT_ANNOTATION: "true"}))
    code, result = apply_json(ws, "--adopt")
    assert code == 1
    assert {c["action"] for c in result["changes"]} == {"conflict"}
    after = ws.service("web")
    assert after["Version"]["Index"] == before["Version"]["Index"]
    assert after["Spec"]["Labels"][MANAGED_BY] == other
    assert ws.client.api.inspect_network(ws.name("net"))["Labels"][MANAGED_BY] == other


# ------------------------------------------------------------------------------- node-local networks


def test_apply_leaves_a_local_network_of_the_same_name_alone(ws: Workspace) -> None:
    local_id = ws.client.api.create_network(ws.name("net"), driver="bridge", labels=dict(FOREIGN))["Id"]
    ws.write(ws.doc("Network", "net", {}))
    out = ws.cli("-o", "json", "apply", "--yes", str(ws.folder))
    assert out.exit_code == 1
    change = changes_of(json.loads(out.stdout))[f"Network/{ws.name('net')}"]
    assert change["action"] == "conflict" and "not managed" in change["reason"]
    live = ws.client.api.inspect_network(local_id)
    assert live["Scope"] == "local" and live["Labels"] == FOREIGN


def test_a_local_network_of_the_same_name_is_planned_as_a_conflict(ws: Workspace) -> None:
    ws.client.api.create_network(ws.name("net"), driver="bridge", labels=dict(FOREIGN))
    ws.write(ws.doc("Network", "net", {}))
    _, changes = plan_of(ws)
    assert changes[f"Network/{ws.name('net')}"]["action"] == "conflict"
