"""Stack namespaces on both backends: manifests with ``metadata.namespace`` make the objects ``docker
stack deploy`` would make for that stack (``<ns>_<name>``, ``com.docker.stack.namespace``), converge
and stay in sync; two namespaces hold manifests of the same names side by side; pruning one
namespace's manifests removes that namespace's objects only."""

from __future__ import annotations

from typing import Any

import docker

from reconciler.core.labels import STACK_NAMESPACE
from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm


def stack(cs: ContractSwarm, namespace: str) -> list[dict[str, Any]]:
    def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        metadata = {"name": name, "namespace": namespace}
        return {"apiVersion": "reconciler.swarm/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}

    (cs.folder / f"{namespace}.conf").write_text(f"stack={namespace}\n")
    return [
        doc("Network", "back", {"attachable": True}),
        doc("Config", "conf", {"file": f"{namespace}.conf"}),
        doc("Secret", "pw", {"file": f"{namespace}.conf"}),
        doc("Volume", "data", {}),
        doc(
            "Service",
            "db",
            cs.sleeper(
                networks=["back"],
                configs=[{"name": "conf", "target": "/conf"}],
                secrets=[{"name": "pw"}],
                mounts=[{"volume": "data", "target": "/data"}],
            ),
        ),
    ]


def test_a_namespaced_stack_converges_under_stack_names(cs: ContractSwarm) -> None:
    wp, blog = f"{cs.prefix}a", f"{cs.prefix}b"
    cs.write(*stack(cs, wp), *stack(cs, blog))
    cs.converge()
    for namespace in (wp, blog):
        service = cs.service(f"{namespace}_db")
        assert service is not None, namespace
        assert service["Spec"]["Labels"][STACK_NAMESPACE] == namespace
        network = cs.network(f"{namespace}_back")
        assert network is not None and network["Labels"][STACK_NAMESPACE] == namespace
        container = service["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert container["Configs"][0]["ConfigName"].startswith(f"{namespace}_conf-")
        assert container["Secrets"][0]["SecretName"].startswith(f"{namespace}_pw-")
        [attachment] = service["Spec"]["TaskTemplate"]["Networks"]
        assert attachment["Target"] == network["Id"] and attachment["Aliases"] == ["db"]
        [mount] = container["Mounts"]
        assert mount["Source"] == f"{namespace}_data"
        assert mount["VolumeOptions"]["Labels"] == {STACK_NAMESPACE: namespace}
    # The volumes the tasks made carry the stack label, none of ours: still the namespace's own.
    assert cs.plan().in_sync

    # The blog namespace's manifests go: with --prune exactly its objects are removed.
    cs.write(*stack(cs, wp))
    plan = cs.plan(prune=True)
    deleted = sorted(c.key for c in plan.changes if c.action is Action.DELETE)
    assert deleted == [f"Config/{blog}/conf", f"Network/{blog}/back", f"Secret/{blog}/pw", f"Service/{blog}/db"]
    cs.converge(prune=True)
    assert cs.service(f"{blog}_db") is None and cs.service(f"{wp}_db") is not None
    assert cs.plan().in_sync
    if cs.client is not None:  # the lab: the volumes the tasks made (the fixture removes <prefix>-* ones)
        cs.write(cs.doc("Service", "placeholder", cs.sleeper(replicas=0)))
        cs.converge(prune=True)
        for namespace in (wp, blog):
            cs.eventually(lambda name=f"{namespace}_data": _removed(cs, name))


def _removed(cs: ContractSwarm, name: str) -> bool:
    assert cs.client is not None
    try:
        cs.client.api.remove_volume(name)
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError:
        return False
    return True


def test_a_namespaced_volume_with_options_and_no_driver_is_mounted_with_no_driver_name(cs: ContractSwarm) -> None:
    """compose's ``driver_opts`` without ``driver``: docker stack deploy mounts the options with no
    driver name (docker-cli ``convert/volume.go``), the engine's default driver making the volume; the
    manifest states it so (``driverOptions`` alone), and the engine stores it as sent: in sync."""
    namespace = f"{cs.prefix}v"
    options = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}  # the local driver mounts it, no NFS needed

    def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        metadata = {"name": name, "namespace": namespace}
        return {"apiVersion": "reconciler.swarm/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}

    cs.write(
        doc("Volume", "data", {"driverOptions": options}),
        doc("Service", "db", cs.sleeper(mounts=[{"volume": "data", "target": "/data"}])),
    )
    cs.converge()
    service = cs.service(f"{namespace}_db")
    assert service is not None
    [mount] = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]
    assert mount["Source"] == f"{namespace}_data"
    assert mount["VolumeOptions"] == {"Labels": {STACK_NAMESPACE: namespace}, "DriverConfig": {"Options": options}}
    assert cs.plan().in_sync
    if cs.client is not None:  # the volume the task made: the engine's default driver, with the options
        volume = cs.eventually(lambda: _volume(cs, f"{namespace}_data"), timeout=60)
        assert volume is not None and volume["Driver"] == "local" and volume["Options"] == options
        cs.write(cs.doc("Service", "placeholder", cs.sleeper(replicas=0)))
        cs.converge(prune=True)
        cs.eventually(lambda: _removed(cs, f"{namespace}_data"))


def _volume(cs: ContractSwarm, name: str) -> dict[str, Any] | None:
    assert cs.client is not None
    try:
        found: dict[str, Any] = cs.client.api.inspect_volume(name)
    except docker.errors.NotFound:
        return None
    return found
