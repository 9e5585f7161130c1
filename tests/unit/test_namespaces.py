"""Stack namespaces (issue 15): ``metadata.namespace: wp`` names the objects as ``docker stack deploy``
does for stack ``wp`` (``wp_<name>``, ``com.docker.stack.namespace=wp``, ``com.docker.stack.image``,
the service's short name as a network alias), keys become ``Kind/wp/name``, and references resolve in
the referrer's namespace first, then un-namespaced, then by Swarm name (``manifests.namespaces``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import KIND, NAME, STACK_IMAGE, STACK_NAMESPACE, ownership_labels
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.history import rendered_for
from reconciler.state.desired import compile_desired
from reconciler.state.observed import ObservedObject

API = "reconciler.swarm/v1alpha1"


def doc(kind: str, name: str, spec: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": spec}


def load(tmp_path: Path, *documents: dict[str, Any]) -> Any:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    (tmp_path / "pw").write_text("hunter2\n")
    return load_manifests(tmp_path)


def stack(namespace: str, image: str = "app:1") -> list[dict[str, Any]]:
    return [
        doc("Network", "web-servers", {"external": True}),
        doc("Network", "back", {}, namespace),
        doc("Volume", "data", {"driver": "local"}, namespace),
        doc("Config", "conf", {"data": "x=1\n"}, namespace),
        doc("Secret", "pw", {"file": "pw"}, namespace),
        doc(
            "Service",
            "db",
            {
                "image": image,
                "networks": ["back", "web-servers"],
                "mounts": [{"volume": "data", "target": "/data"}],
                "configs": [{"name": "conf", "target": "/conf"}],
                "secrets": [{"name": "pw"}],
            },
            namespace,
        ),
        doc("Service", "web", {"image": image, "networks": ["back"], "dependsOn": ["Service/db"]}, namespace),
        doc("Middleware", "auth", {"type": "basicAuth", "options": {"users": ["u:$apr1$x$y"]}}, namespace),
        doc(
            "Route",
            "site",
            {"service": "web", "port": 80, "hosts": [f"{namespace}.test"], "middlewares": ["auth"], "network": "back"},
            namespace,
        ),
    ]


def test_names_and_labels_are_those_docker_stack_deploy_gives(tmp_path: Path) -> None:
    manifests = load(tmp_path, *stack("wp"))
    desired = compile_desired(manifests, "lab")
    by_key = {o.key: o for o in desired.objects}
    db = by_key[ResourceKey.parse("Service/wp/db")]
    assert db.swarm_name == "wp_db"
    assert db.spec["Labels"][STACK_NAMESPACE] == "wp" and db.spec["Labels"][STACK_IMAGE] == "app:1"
    container = db.spec["TaskTemplate"]["ContainerSpec"]
    assert container["Labels"] == {STACK_NAMESPACE: "wp"}  # docker-cli AddStackLabel on containers too
    # docker-cli convertServiceNetworks: the short name is an alias on every network; external keep their name.
    assert db.spec["TaskTemplate"]["Networks"] == [
        {"Target": "wp_back", "Aliases": ["db"]},
        {"Target": "web-servers", "Aliases": ["db"]},
    ]
    [mount] = container["Mounts"]
    assert mount["Source"] == "wp_data"  # no options hash: the stack's own volume
    # docker-cli convert/volume.go: the stack label and the driver given, none of the reconciler's labels
    assert mount["VolumeOptions"] == {
        "Labels": {STACK_NAMESPACE: "wp"},
        "DriverConfig": {"Name": "local", "Options": {}},
    }
    assert container["Configs"][0]["ConfigName"].startswith("wp_conf-")
    assert container["Secrets"][0]["SecretName"].startswith("wp_pw-")
    network = by_key[ResourceKey.parse("Network/wp/back")]
    assert network.swarm_name == "wp_back" and network.spec["Labels"][STACK_NAMESPACE] == "wp"
    assert desired.external == {ResourceKey.parse("Network/web-servers"): "web-servers"}
    web = by_key[ResourceKey.parse("Service/wp/web")]
    assert ResourceKey.parse("Service/wp/db") in web.depends_on
    labels = web.spec["Labels"]
    assert labels["traefik.http.routers.wp_site.rule"] == "Host(`wp.test`)"
    assert labels["traefik.http.routers.wp_site.middlewares"] == "wp_auth"
    assert labels["traefik.swarm.network"] == "wp_back"
    assert labels["traefik.http.middlewares.wp_auth.basicAuth.users"] == "u:$apr1$x$y"


def test_two_namespaces_hold_the_same_names_without_sharing_anything(tmp_path: Path) -> None:
    documents = stack("wp") + stack("blog")[1:]  # one external network, declared once
    desired = compile_desired(load(tmp_path, *documents), "lab")
    names = {o.key: o.swarm_name for o in desired.objects}
    assert names[ResourceKey.parse("Service/wp/db")] == "wp_db"
    assert names[ResourceKey.parse("Service/blog/db")] == "blog_db"
    blog_web = next(o for o in desired.objects if o.key == "Service/blog/web")
    assert "traefik.http.routers.blog_site.rule" in blog_web.spec["Labels"]
    assert not any("wp_" in key for key in blog_web.spec["Labels"])
    assert blog_web.spec["TaskTemplate"]["Networks"][0]["Target"] == "blog_back"


def test_un_namespaced_objects_and_other_namespaces_by_swarm_name(tmp_path: Path) -> None:
    manifests = load(
        tmp_path,
        doc("Network", "shared", {}),
        doc("Network", "back", {}, "blog"),
        doc("Middleware", "gzip", {"type": "compress"}),
        doc("Service", "api", {"image": "a:1", "networks": ["shared", "blog_back"]}, "wp"),
        doc(
            "Route",
            "api",
            {"service": "api", "port": 80, "hosts": ["api.test"], "middlewares": ["gzip"], "network": "shared"},
            "wp",
        ),
        doc("Route", "from-outside", {"service": "wp_api", "port": 80, "hosts": ["x.test"], "network": "shared"}),
    )
    desired = compile_desired(manifests, "lab")
    api = next(o for o in desired.objects if o.key == "Service/wp/api")
    assert [n["Target"] for n in api.spec["TaskTemplate"]["Networks"]] == ["shared", "blog_back"]
    assert ResourceKey.parse("Network/blog/back") in api.depends_on
    labels = api.spec["Labels"]
    assert labels["traefik.http.routers.wp_api.middlewares"] == "gzip"
    assert labels["traefik.http.routers.from-outside.rule"] == "Host(`x.test`)"  # found by its Swarm name
    assert labels["traefik.swarm.network"] == "shared"
    assert desired.route_labels == {}


def test_a_reference_that_finds_nothing_names_the_namespace(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, doc("Service", "db", {"image": "a:1", "networks": ["nowhere"]}, "wp"))
    [problem] = caught.value.problems
    assert problem.subject == "Service/wp/db" and problem.field_path == "spec.networks[0]"
    assert "Network/nowhere is not declared in the manifests (in namespace 'wp' or without one)" in problem.message


def test_explicit_namespace_in_depends_on(tmp_path: Path) -> None:
    manifests = load(
        tmp_path,
        doc("Service", "db", {"image": "a:1"}, "blog"),
        doc("Service", "db", {"image": "a:1"}, "wp"),
        doc("Service", "web", {"image": "a:1", "dependsOn": ["Service/blog/db"]}, "wp"),
    )
    web = next(o for o in compile_desired(manifests).objects if o.key == "Service/wp/web")
    assert web.depends_on == (ResourceKey.parse("Service/blog/db"),)


def test_duplicates_are_per_namespace(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, doc("Service", "db", {"image": "a:1"}, "wp"), doc("Service", "db", {"image": "b:1"}, "wp"))
    assert [p.message.split(":")[0] for p in caught.value.problems] == ["duplicate Service/wp/db"]


@pytest.mark.parametrize(
    ("document", "field", "fragment"),
    [
        (doc("Service", "a" * 40, {"image": "a:1"}, "b" * 30), "metadata.name", "Swarm allows 63 for a Service"),
        (doc("Service", "db", {"image": "a:1"}, "Wp"), "metadata.namespace", "does not match the pattern"),
        (doc("Service", "db", {"image": "a:1"}, "wp_"), "metadata.namespace", "does not match the pattern"),
        (
            doc("VirtualIP", "vip", {"addresses": ["10.0.0.5/24"], "interface": "eth0", "routerId": 5}, "wp"),
            "metadata.namespace",
            "not to a stack",
        ),
        (
            doc("Service", "db", {"image": "a:1", "labels": {STACK_NAMESPACE: "wp"}}),
            "spec.labels.com.docker.stack.namespace",
            "set metadata.namespace instead",
        ),
    ],
)
def test_bad_namespaces_are_refused_at_their_field(
    tmp_path: Path, document: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, document)
    assert any(p.field_path == field and fragment in p.message for p in caught.value.problems), [
        str(p) for p in caught.value.problems
    ]


def test_keys_and_observed_objects_carry_the_namespace() -> None:
    key = ResourceKey.of("Service", "db", "wp")
    assert (key, key.kind, key.namespace, key.name) == ("Service/wp/db", "Service", "wp", "db")
    plain = ResourceKey.parse("Service/db")
    assert (plain.namespace, plain.name) == (None, "db")
    vip_config = ResourceKey.parse("VirtualIP/edge/config")  # a VirtualIP's config, never a namespace
    assert (vip_config.namespace, vip_config.name) == (None, "edge/config")
    labels = ownership_labels("Service", "db", "lab", "wp")
    assert labels[STACK_NAMESPACE] == "wp" and labels[KIND] == "Service" and labels[NAME] == "db"
    live = ObservedObject("service", "wp_db", "id1", 1, {"Spec": {"Name": "wp_db", "Labels": labels}})
    assert live.key == key


def test_the_dashboard_shows_a_namespaced_routes_labels(tmp_path: Path) -> None:
    desired = compile_desired(load(tmp_path, *stack("wp"), *stack("blog")[1:]), "lab")
    rendered = rendered_for(desired, "Route/wp/site")
    assert rendered is not None
    assert rendered["labels"]["traefik.http.routers.wp_site.rule"] == "Host(`wp.test`)"
    assert not any("blog_" in key for key in rendered["labels"])
