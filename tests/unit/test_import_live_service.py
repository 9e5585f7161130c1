"""``importing.live_service``: a live ServiceSpec to a Service manifest's spec, offline. What the kind
cannot say is left over by its Engine path; the units come back in the manifest's spelling."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from reconciler.core.labels import STACK_NAMESPACE
from reconciler.importing.live_objects import volume_document
from reconciler.importing.live_service import duration, memory, service_body
from reconciler.importing.live_swarm import LiveImportError, import_live
from reconciler.manifests.kinds.service import ServiceSpec
from reconciler.state.snapshot import Snapshot

DIGEST = "sha256:" + "a" * 64


def body(container: dict[str, Any] | None = None, labels: dict[str, str] | None = None, **spec: Any) -> Any:
    task = {"ContainerSpec": {"Image": "nginx:1.27", **(container or {})}, **spec.pop("TaskTemplate", {})}
    return service_body({"Name": "web", "Labels": labels or {}, "TaskTemplate": task, **spec}, {})


@pytest.mark.parametrize(
    ("nanos", "text"),
    [(30 * 10**9, "30s"), (90 * 10**9, "90s"), (120 * 10**9, "2m"), (3600 * 10**9, "1h"), (5 * 10**8, "500ms"),
     (1500, "1500ns"), (2000, "2us")],
)  # fmt: skip
def test_durations_come_back_in_the_shortest_exact_unit(nanos: int, text: str) -> None:
    assert duration(nanos) == text


def test_memory_uses_a_binary_unit_only_when_it_divides() -> None:
    assert (memory(64 * 1024**2), memory(3 * 1024**3), memory(1000)) == ("64Mi", "3Gi", 1000)


@pytest.mark.parametrize(
    ("labels", "image", "expected"),
    [
        ({"com.docker.stack.image": "nginx:1.27"}, f"nginx:1.27@{DIGEST}", "nginx:1.27"),  # docker stack deploy
        ({"reconciler.swarm/image": "nginx:1.27"}, f"nginx:1.27@{DIGEST}", "nginx:1.27"),  # the reconciler
        ({}, f"nginx:1.27@{DIGEST}", f"nginx:1.27@{DIGEST}"),  # docker service create: the pin is all there is
        ({"com.docker.stack.image": "nginx:1.26"}, f"nginx:1.27@{DIGEST}", f"nginx:1.27@{DIGEST}"),  # updated since
    ],
)
def test_the_image_asked_for_is_read_from_the_label_that_holds_it(
    labels: dict[str, str], image: str, expected: str
) -> None:
    assert body({"Image": image}, labels).spec["image"] == expected


def test_what_the_kind_cannot_say_is_left_over_by_engine_path() -> None:
    imported = body(
        {"Env": ["A=1", "PASS"], "Healthcheck": {"Test": ["CMD", "true"], "StartInterval": 10**9},
         "Hosts": ["10.0.0.5 db.local", "10.0.0.6 a b"], "Isolation": "default", "Init": False,
         "Mounts": [{"Type": "bind", "Source": "/a", "Target": "/a", "BindOptions": {"Propagation": "rshared"}},
                    {"Type": "volume", "Source": "v", "Target": "/v", "VolumeOptions": {"NoCopy": True}},
                    {"Type": "volume", "Target": "/anonymous"}]},
        TaskTemplate={"Placement": {"Preferences": [{"Spread": {}}]}, "ForceUpdate": 0},
        Mode={"ReplicatedJob": {"MaxConcurrent": 1}},
        EndpointSpec={"Mode": "vip", "Ports": [{"Name": "http", "TargetPort": 80, "Protocol": "tcp"}]},
    )  # fmt: skip
    assert sorted(imported.left) == [
        "EndpointSpec.Ports[80].Name",
        "TaskTemplate.ContainerSpec.Env",
        "TaskTemplate.ContainerSpec.Healthcheck.StartInterval",
        "TaskTemplate.ContainerSpec.Hosts",
        "TaskTemplate.ContainerSpec.Mounts[/a].BindOptions.Propagation",
        "TaskTemplate.ContainerSpec.Mounts[/v].VolumeOptions.NoCopy",
        "TaskTemplate.Placement.Preferences",
    ]
    assert imported.spec["env"] == {"A": "1"}
    # a replicated job is stated, with the engine's defaults (stored-form quirk job-defaults)
    assert (imported.spec["mode"], imported.spec["maxConcurrent"], imported.spec["totalCompletions"]) == (
        "replicated-job",
        1,
        1,
    )
    assert body({}, Mode={"GlobalJob": {}}).spec["mode"] == "global-job"
    assert imported.spec["extraHosts"] == ["db.local:10.0.0.5"]


def test_a_network_alias_the_kind_refuses_is_left_over_and_the_others_kept() -> None:
    # docker stack deploy passes compose's aliases as written and Swarm takes any string: a DNS name
    # ('odd.internal', 'web_app') is kept, a space or a control character is not.
    networks = [{"Target": "n1", "Aliases": ["odd", "odd.internal", "web_app", "a b", "x\x1b[2J", "-x"]}]
    imported = service_body({"Name": "odd", "TaskTemplate": {"ContainerSpec": {"Image": "x"}, "Networks": networks}},
                            {"n1": "s_odd"})  # fmt: skip
    assert imported.spec["networks"] == [{"name": "s_odd", "aliases": ["odd", "odd.internal", "web_app"]}]
    assert imported.left == [f"TaskTemplate.Networks[s_odd].Aliases[{a}]" for a in ("a b", "x\x1b[2J", "-x")]
    ServiceSpec.model_validate(imported.spec)


def test_an_anonymous_volume_mount_is_stated() -> None:
    mounts = [{"Type": "volume", "Target": "/data"}, {"Type": "volume", "Target": "/cache"}]
    imported = body({"Mounts": mounts})
    assert imported.spec["mounts"] == [{"anonymous": True, "target": "/data"}, {"anonymous": True, "target": "/cache"}]
    assert imported.left == [] and imported.volumes == []
    ServiceSpec.model_validate(imported.spec)


def test_every_mapped_field_validates_as_a_service_spec() -> None:
    second = 10**9
    imported = body(
        {"Command": ["/bin/app"], "Args": ["-v"], "User": "1000:1000", "Dir": "/srv", "Hostname": "{{.Node.Hostname}}",
         "Labels": {"tier": "front"}, "CapabilityAdd": ["CAP_NET_ADMIN"], "StopGracePeriod": 2 * second,
         "Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": 2}], "Sysctls": {"net.core.somaxconn": "512"},
         "StopSignal": "SIGQUIT", "ReadOnly": True, "DNSConfig": {"Nameservers": ["10.0.0.2"]}, "Groups": ["2000"],
         "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024**2, "Mode": 0o1777}},
                    {"Type": "volume", "Source": "wp_data", "Target": "/d", "ReadOnly": True}],
         "Configs": [{"ConfigName": "c", "File": {"Name": "/c", "UID": "0", "GID": "0", "Mode": 0o444}}],
         "Secrets": [{"SecretName": "s", "File": {"Name": "app/s", "UID": "33", "GID": "0", "Mode": 0o400}}]},
        TaskTemplate={"Resources": {"Limits": {"NanoCPUs": 333_333_333, "Pids": 100},
                                    "Reservations": {"MemoryBytes": 5 * 1024**2, "GenericResources": [
                                        {"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}}]}},
                      "LogDriver": {"Name": "json-file", "Options": {"max-size": "10m", "max-file": "3"}},
                      "RestartPolicy": {"Condition": "on-failure", "Delay": 5 * second, "MaxAttempts": 3},
                      "Placement": {"Constraints": ["node.role==manager"],
                                    "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
                                    "Platforms": [{"Architecture": "amd64", "OS": "linux"}, {"OS": "windows"}]},
                      "Networks": [{"Target": "net1", "Aliases": ["a"]}]},
        Mode={"Global": {}},
        UpdateConfig={"Parallelism": 0, "FailureAction": "rollback", "Monitor": 5 * second, "Order": "start-first"},
        EndpointSpec={"Mode": "dnsrr", "Ports": [{"TargetPort": 53, "PublishedPort": 53, "Protocol": "udp",
                                                   "PublishMode": "host"}]},
    )  # fmt: skip
    assert imported.left == []
    spec = ServiceSpec.model_validate(imported.spec)
    assert spec.resources is not None and spec.resources.limits is not None
    assert spec.resources.limits.cpus == 0.333333333 and spec.resources.limits.pids == 100
    assert imported.spec["resources"]["reservations"]["genericResources"] == [{"kind": "gpu", "value": 2}]
    assert imported.spec["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
    assert imported.spec["secrets"] == [{"name": "s", "target": "app/s", "uid": "33", "mode": "0400"}]
    assert imported.spec["updateConfig"] == {"parallelism": 0, "failureAction": "rollback", "order": "start-first"}
    assert imported.spec["restartPolicy"] == {"condition": "on-failure", "maxAttempts": 3}
    assert imported.networks == ["net1"] and imported.volumes[0]["Source"] == "wp_data"
    assert imported.spec["placement"]["platforms"] == [{"architecture": "amd64", "os": "linux"}, {"os": "windows"}]


def test_an_nfs_mount_is_recognised_only_when_nfs_writes_it_back_exactly() -> None:
    def mount(o: str, name: str = "local") -> dict[str, Any]:
        options = {"type": "nfs", "o": o, "device": ":/srv/www"}
        return {"Source": "www", "VolumeOptions": {"DriverConfig": {"Name": name, "Options": options}}}

    assert volume_document(mount("addr=nas,nfsvers=4.1,soft"))["spec"]["nfs"] == {
        "server": "nas", "path": "/srv/www", "version": "4.1", "options": ["soft"]
    }  # fmt: skip
    for odd in (
        mount("addr=nas,soft,nfsvers=4.1"),
        mount("addr=nas,nfsvers=4.1", name="other"),
        mount("addr=NAS,nfsvers=4"),
    ):
        spec = volume_document(odd)["spec"]
        assert "nfs" not in spec and spec["driverOptions"]["type"] == "nfs", spec


def _service(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec = {"Name": name, "Labels": labels or {}, "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1.27"}}}
    return {"ID": name, "Version": {"Index": 1}, "Spec": spec}


def test_scope_a_stack_gets_its_namespace_managed_and_unnameable_services_are_said() -> None:
    snapshot = Snapshot(services=[
        _service("wp_db", {STACK_NAMESPACE: "wp"}), _service("other"), _service("Bad_Name"),
        _service("mine", {"reconciler.swarm/managed-by": "reconciler"}),
    ])  # fmt: skip
    stack = import_live(snapshot, stack="wp")
    assert [d["metadata"] for d in stack.documents] == [{"name": "db", "namespace": "wp"}]
    everything = import_live(snapshot)
    assert sorted(d["metadata"]["name"] for d in everything.documents) == ["db", "other"]
    assert any("Bad_Name" in f.subject and "no manifest name" in f.message for f in everything.findings)
    assert any("mine" in note and "managed by" in note for note in everything.notes)
    with pytest.raises(LiveImportError, match="no service named nope"):
        import_live(snapshot, services=["nope"])
    with pytest.raises(LiveImportError, match=r"com\.docker\.stack\.namespace=x"):
        import_live(snapshot, stack="x")


def test_a_referenced_object_that_a_reconciler_manages_is_external_with_a_note() -> None:
    service = _service("web")
    service["Spec"]["TaskTemplate"]["Networks"] = [{"Target": "n1"}]
    network = {"Id": "n1", "Name": "backend", "Labels": {"reconciler.swarm/managed-by": "prod"}}
    imported = import_live(Snapshot(services=[service], networks=[network]))
    assert {"kind": "Network", "name": "backend", "external": True} in [
        {"kind": d["kind"], "name": d["metadata"]["name"], "external": d["spec"].get("external")}
        for d in imported.documents
    ]
    assert imported.notes == [
        "network backend: managed by reconciler instance 'prod'; written as external here (its manifest is that instance's)"
    ]


def test_a_left_over_field_is_listed_once_with_what_the_adoption_does_to_it() -> None:
    from reconciler.importing.live_check import _merged
    from reconciler.importing.live_swarm import Finding

    left = [
        Finding(
            "service a", "TaskTemplate.ContainerSpec.Mounts[/h].BindOptions.Propagation", "no manifest field", True
        ),
        Finding("service a", "TaskTemplate.ContainerSpec.TTY", "no manifest field", True),
        Finding("service b", "TaskTemplate.LogDriver", "no manifest field", True),
    ]
    effects = [
        Finding("service a", "ContainerSpec.Mounts[0].BindOptions", "the adoption changes it (its tasks restart)"),
        Finding("service a", "Labels.x", "the adoption changes it"),
    ]
    merged = [str(f) for f in _merged(left, effects)]
    assert merged == [
        "service a: TaskTemplate.ContainerSpec.Mounts[/h].BindOptions.Propagation: no manifest field; "
        "the adoption changes it (its tasks restart)",
        "service a: TaskTemplate.ContainerSpec.TTY: no manifest field; the adoption drops it (its section is sent "
        "anew for the changes listed)",
        "service b: TaskTemplate.LogDriver: no manifest field; the adoption keeps it (its section is sent as the "
        "engine has it); a later change to the section drops it",
        "service a: Labels.x: the adoption changes it",
    ]


def test_a_value_one_side_lacks_is_shown_as_none_and_a_long_one_is_cut() -> None:
    from reconciler.importing.live_check import _shown
    from reconciler.state.diffing import MISSING

    assert (_shown(MISSING), _shown(None), _shown("x" * 200)) == ("(none)", "None", repr("x" * 200)[:117] + "...")


def test_a_value_the_kind_refuses_is_left_out_and_named_the_rest_kept() -> None:
    service = _service("web")
    container = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    container.update({"Env": ["1BAD=x", "GOOD=y"], "User": "dom\\user", "Args": ["run"]})
    imported = import_live(Snapshot(services=[service]))
    [document] = imported.documents
    assert document["spec"]["env"] == {"GOOD": "y"} and "user" not in document["spec"]
    assert document["spec"]["args"] == ["run"]
    fields = sorted(f.field for f in imported.findings)
    assert fields == ["spec.env.1BAD", "spec.user"], imported.findings
    assert all("left out: the Service kind refuses the live value" in f.message for f in imported.findings)


def test_a_service_whose_image_or_stack_name_the_kind_refuses_is_not_imported_and_said() -> None:
    odd_image = _service("web")
    odd_image["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "Registry/App:1"  # Swarm takes it
    odd_stack = _service("My_db", {STACK_NAMESPACE: "My"})  # a stack name with capitals
    imported = import_live(Snapshot(services=[odd_image, odd_stack]))
    assert imported.documents == []
    said = {f.subject: f.message for f in imported.findings if "not imported" in f.message}
    assert set(said) == {"service web", "service My_db"}, imported.findings


def _config(name: str, data: bytes, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode()
    return {
        "ID": name,
        "Version": {"Index": 1},
        "Spec": {"Name": name, "Labels": labels or {}, "Data": encoded, **spec},
    }


def test_a_stack_config_comes_with_its_content_when_a_manifest_can_hold_it() -> None:
    stack = {STACK_NAMESPACE: "wp"}
    configs = [
        _config("wp_site", b"a=1\n", stack),
        _config("wp_tpl", b"{{.Node.ID}}", stack, Templating={"Name": "golang"}),
        _config("wp_blob", b"\x00\xff", stack),  # binary: no manifest form
        _config("wp_nginx.conf", b"x", stack),  # no manifest name
        _config("wp_owned", b"x", {**stack, "team": "web"}),  # labels of its own
        _config("plain", b"x"),  # no stack
    ]
    refs = [{"ConfigName": c["Spec"]["Name"], "File": {"Name": f"/{c['Spec']['Name']}", "UID": "0", "GID": "0",
                                                       "Mode": 0o444}} for c in configs]  # fmt: skip
    service = _service("wp_web", stack)
    service["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"] = refs
    imported = import_live(Snapshot(services=[service], configs=configs), stack="wp")
    kept = {(d["metadata"].get("namespace"), d["metadata"]["name"]): d["spec"] for d in imported.documents
            if d["kind"] == "Config"}  # fmt: skip
    assert kept == {
        ("wp", "site"): {"data": "a=1\n"},
        ("wp", "tpl"): {"data": "{{.Node.ID}}", "template": "golang"},
        (None, "wp_blob"): {"external": True},
        (None, "wp_nginx.conf"): {"external": True},
        (None, "wp_owned"): {"external": True},
        (None, "plain"): {"external": True},
    }
    [web] = [d for d in imported.documents if d["kind"] == "Service"]
    assert web["spec"]["configs"][:2] == [{"name": "site", "target": "/wp_site"}, {"name": "tpl", "target": "/wp_tpl"}]
