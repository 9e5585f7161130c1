"""Secret names under the instance's key (issue 14) and stack configs and secrets kept under their
``docker stack deploy`` names (issue 15), on both backends: a name does not reveal a hash of the
value; the same value gets the same name in every pass and every replica; secrets named the old way
(a plain hash) and a stack's own configs and secrets are kept while their content is the manifest's,
so taking them over restarts no task; a changed content rotates as before."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

from reconciler.core.hashing import short_hash
from reconciler.core.labels import APPLIED_HASH, CONTENT_MARK, KIND, MANAGED_BY, NAME, REQUESTED_IMAGE
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import reconcile_once
from reconciler.state.content_names import name_key_config
from reconciler.state.plan import Action, Notice
from reconciler.swarm.fake import FakeSwarm
from tests.contract.conftest import ContractSwarm
from tests.manifest_folder import running_task_ids

API = "reconciler.swarm/v1alpha1"


def app(cs: ContractSwarm, value: str, namespace: str | None = None, replicas: int = 1) -> list[dict[str, Any]]:
    def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
        return {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": spec}

    (cs.folder / "pw.txt").write_text(value)
    (cs.folder / "conf.txt").write_text(f"conf {value}")
    pw, conf, web = (n if namespace else cs.name(n) for n in ("pw", "conf", "web"))
    return [
        doc("Config", conf, {"file": "conf.txt"}),
        doc("Secret", pw, {"file": "pw.txt"}),
        doc(
            "Service",
            web,
            cs.sleeper(replicas=replicas, configs=[{"name": conf, "target": "/conf"}], secrets=[{"name": pw}]),
        ),
    ]


def live_refs(cs: ContractSwarm, service: str) -> tuple[str, str]:
    live = cs.service(service)
    assert live is not None, service
    container = live["Spec"]["TaskTemplate"]["ContainerSpec"]
    return container["Configs"][0]["ConfigName"], container["Secrets"][0]["SecretName"]


def tasks(cs: ContractSwarm, service: str, running: int = 1) -> set[str]:
    """Running task IDs of the service of that Swarm name, once ``running`` run."""
    if isinstance(cs.port, FakeSwarm):
        return cs.port.task_ids(service)
    assert cs.client is not None
    return running_task_ids(cs.client, service, running)


def test_a_secret_name_does_not_reveal_a_hash_of_its_value(cs: ContractSwarm) -> None:
    cs.write(*app(cs, "hunter2\n"))
    cs.converge()
    _, secret = live_refs(cs, cs.name("web"))
    digest = secret.rsplit("-", 1)[1]
    plain = cs.desired().get(cs.key("Secret", "pw"))  # the name before keying: a plain hash
    assert plain is not None and secret != plain.swarm_name
    assert digest not in (short_hash(b"hunter2\n"), short_hash(short_hash(b"hunter2\n", 64)))
    key_config = [c for c in cs.port.snapshot().configs if c["Spec"]["Name"] == name_key_config(cs.instance)]
    assert len(key_config) == 1 and len(base64.b64decode(key_config[0]["Spec"]["Data"])) == 32
    assert key_config[0]["Spec"]["Labels"][KIND] == "NameKey"


def test_the_same_value_has_the_same_name_in_every_pass_and_replica(cs: ContractSwarm) -> None:
    cs.write(*app(cs, "same\n"))
    cs.converge()
    _, secret = live_refs(cs, cs.name("web"))
    for _ in range(2):  # each plan draws a fresh random key, used only when the swarm holds none
        assert cs.change(cs.plan(), "Secret", "pw").swarm_name == secret
    replica = ContractSwarm(cs.backend, cs.port, cs.folder, cs.instance, cs.prefix, cs.image)
    assert replica.plan().in_sync
    # Pruning never touches the key, nor lists it: it is the instance's own, like the lease.
    plan = cs.plan(prune=True)
    assert not [c for c in plan.changes if c.swarm_name == name_key_config(cs.instance)]
    cs.write(cs.doc("Service", "other", cs.sleeper(replicas=0)))
    cs.converge(prune=True)
    assert any(c["Spec"]["Name"] == name_key_config(cs.instance) for c in cs.port.snapshot().configs)


def test_secrets_named_the_old_way_are_kept_and_nothing_restarts(cs: ContractSwarm) -> None:
    cs.write(*app(cs, "old\n"))
    old = cs.desired()
    # What a reconciler before keyed names did: plain-hash names, no key in the swarm.
    result = reconcile_once(cs.port, replace(old, names_resolved=True), PlanOptions(), dependency_timeout=30)
    assert result.converged
    _, unkeyed = live_refs(cs, cs.name("web"))
    plain = old.get(cs.key("Secret", "pw"))
    assert plain is not None and unkeyed == plain.swarm_name
    before = tasks(cs, cs.name("web"))

    plan = cs.plan()
    assert [(c.kind, c.action) for c in plan.changes if c.changes_something] == [("NameKey", Action.CREATE)]
    assert cs.change(plan, "Secret", "pw").swarm_name == unkeyed
    cs.converge()
    assert live_refs(cs, cs.name("web"))[1] == unkeyed
    assert tasks(cs, cs.name("web")) == before
    assert cs.plan().in_sync

    # A new value: a keyed name, the service moves to it, the old one goes once nothing can roll back to it.
    cs.write(*app(cs, "new\n"))
    cs.converge()
    _, keyed = live_refs(cs, cs.name("web"))
    assert keyed != unkeyed and keyed.startswith(cs.name("pw") + "-")
    assert cs.names("secret", "pw") == {unkeyed, keyed}  # kept for Swarm's rollback
    cs.write(*app(cs, "new\n"), cs.doc("Service", "web2", cs.sleeper(replicas=0)))
    cs.hand_edit_service("web", lambda spec: spec["Labels"].update({"touch": "1"}))
    cs.converge()
    cs.converge()
    assert cs.names("secret", "pw") == {keyed}


def stack_deploy(cs: ContractSwarm, namespace: str, value: str) -> None:
    """Objects as ``docker stack deploy`` makes them for stack ``namespace`` (names without a hash,
    the stack label, no reconciler labels), made from the manifests' own rendering."""
    cs.write(*app(cs, value, namespace))
    desired = cs.desired()
    stack = {"com.docker.stack.namespace": namespace}

    def bare(labels: dict[str, str]) -> dict[str, str]:
        ours = (MANAGED_BY, KIND, NAME, APPLIED_HASH, REQUESTED_IMAGE)
        return {k: v for k, v in labels.items() if k not in ours} | stack

    ids = {}
    for kind, create in (("config", cs.port.create_config), ("secret", cs.port.create_secret)):
        [item] = [o for o in desired.objects if o.swarm_kind == kind]
        name = f"{namespace}_{'conf' if kind == 'config' else 'pw'}"
        ids[kind] = (create({**item.spec, "Name": name, "Labels": bare(item.spec["Labels"])}), name)
    [service] = [o for o in desired.objects if o.swarm_kind == "service"]
    spec = {**service.spec, "Labels": bare(service.spec["Labels"])}
    container = spec["TaskTemplate"]["ContainerSpec"]
    container["Configs"] = [{**container["Configs"][0], "ConfigName": ids["config"][1], "ConfigID": ids["config"][0]}]
    container["Secrets"] = [{**container["Secrets"][0], "SecretName": ids["secret"][1], "SecretID": ids["secret"][0]}]
    cs.port.create_service(spec)


def test_a_stacks_config_and_secret_are_taken_over_under_their_names_without_a_restart(cs: ContractSwarm) -> None:
    namespace = f"{cs.prefix}s"
    stack_deploy(cs, namespace, "v1\n")
    web = f"{namespace}_web"
    before = tasks(cs, web)
    assert len(before) == 1

    plan = cs.plan(adopt=True)
    config = next(c for c in plan.changes if c.key == f"Config/{namespace}/conf")
    secret = next(c for c in plan.changes if c.key == f"Secret/{namespace}/pw")
    service = next(c for c in plan.changes if c.key == f"Service/{namespace}/web")
    assert (config.swarm_name, config.action, config.notices) == (f"{namespace}_conf", Action.UPDATE, ())
    assert (secret.swarm_name, secret.action) == (f"{namespace}_pw", Action.UPDATE)
    assert secret.notices == (Notice.TRUSTED_SECRET,)  # a secret's value cannot be read back
    assert service.action is Action.UPDATE and all(d.field.startswith("Labels.") for d in service.diff)
    cs.converge(adopt=True)
    assert live_refs(cs, web) == (f"{namespace}_conf", f"{namespace}_pw")
    assert tasks(cs, web) == before
    [live_secret] = [s for s in cs.port.snapshot().secrets if s["Spec"]["Name"] == f"{namespace}_pw"]
    assert CONTENT_MARK in live_secret["Spec"]["Labels"]
    assert cs.plan().in_sync  # and without --adopt: the content label says it still holds the file

    # Changed content: the usual hashed (keyed) names and rotation take over.
    cs.write(*app(cs, "v2\n", namespace))
    cs.converge()
    config_name, secret_name = live_refs(cs, web)
    assert config_name.startswith(f"{namespace}_conf-") and secret_name.startswith(f"{namespace}_pw-")
    assert cs.plan().in_sync


def test_a_stack_secret_whose_value_differs_is_refused_by_the_engine(cs: ContractSwarm) -> None:
    namespace = f"{cs.prefix}d"
    stack_deploy(cs, namespace, "live value\n")
    web = f"{namespace}_web"
    before = tasks(cs, web)
    cs.write(*app(cs, "manifest value\n", namespace))
    # The config's content is readable: it differs, so it gets its hashed name. The secret's is not:
    # adopted on trust, and the engine refuses the labels update that carries another value.
    plan = cs.plan(adopt=True)
    secret = next(c for c in plan.changes if c.key == f"Secret/{namespace}/pw")
    config = next(c for c in plan.changes if c.key == f"Config/{namespace}/conf")
    assert secret.notices == (Notice.TRUSTED_SECRET,) and config.action is Action.CREATE
    result = cs.reconcile(adopt=True)
    assert not result.converged
    failed = next(o for o in result.applied.outcomes if o.change.key == f"Secret/{namespace}/pw")
    assert "only updates to Labels are allowed" in failed.message
    assert tasks(cs, web) == before  # the service waits for its secret: nothing restarted
