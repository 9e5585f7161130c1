"""``reconciler validate`` on checks across manifests: duplicate names, references to objects that are not
declared, dependency cycles, and claims two manifests may not share (a route's host and path, a VRRP
router id, a virtual address, the network of the routes to one service).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from tests.unit.validation_helpers import (
    HEAD,
    KIND_LIST,
    SERVICE_WEB,
    check,
    only_problem,
    problem_lines,
    run,
    vip,
    write,
)


class TestDuplicates:
    def test_same_name_of_one_kind_in_two_files_points_to_the_first(self, tmp_path: Path) -> None:
        doc = f"{HEAD}kind: Network\nmetadata:\n  name: web\n"
        first = write(tmp_path, "a.yaml", doc)
        second = write(tmp_path, "b.yaml", "# the same network again\n" + doc)
        assert only_problem(run(tmp_path)) == (
            f"{second}:5:3: Network/web: metadata.name: duplicate Network/web: first defined at {first}:1:1"
        )

    def test_same_name_of_different_kinds_is_fine(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: web\n---\n{SERVICE_WEB}")
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "2 manifests valid (1 Network, 1 Service).\n"


class TestReferences:
    def test_service_mounts_an_undeclared_volume(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  mounts:\n    - volume: data\n      target: /data\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:8:7: Service/web: spec.mounts[0].volume: Volume/data is not declared in the manifests"
        )

    def test_route_to_an_undeclared_middleware(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: web\n  port: 80\n"
            "  hosts: [a.example.org]\n  middlewares: [hsts]\n",
        )
        assert only_problem(run(tmp_path)) == (
            f"{f}:9:17: Route/web: spec.middlewares[0]: Middleware/hsts is not declared in the manifests"
        )

    def test_service_uses_undeclared_config_secret_and_network(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            SERVICE_WEB + "  configs:\n    - name: cfg\n  secrets:\n    - name: sec\n  networks: [net]\n",
        )
        assert problem_lines(run(tmp_path)) == [
            f"{f}:8:7: Service/web: spec.configs[0].name: Config/cfg is not declared in the manifests",
            f"{f}:10:7: Service/web: spec.secrets[0].name: Secret/sec is not declared in the manifests",
            f"{f}:11:14: Service/web: spec.networks[0]: Network/net is not declared in the manifests",
        ]

    def test_depends_on_undeclared_object_and_unknown_kind(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  dependsOn: [Service/db, Gadget/x]\n")
        assert problem_lines(run(tmp_path)) == [
            f"{f}:7:15: Service/web: spec.dependsOn[0]: Service/db is not declared in the manifests",
            f"{f}:7:27: Service/web: spec.dependsOn[1]: unknown kind 'Gadget': expected one of {KIND_LIST}",
        ]

    def test_reference_to_a_broken_manifest_is_not_reported_twice(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            SERVICE_WEB
            + "  networks: [net]\n---\n"
            + f"{HEAD}kind: Network\nmetadata:\n  name: net\nspec:\n  bogus: 1\n",
        )
        # only the broken Network is reported, not the Service's (valid) reference to it
        assert only_problem(run(tmp_path)) == f"{f}:14:3: Network/net: spec.bogus: unknown field"

    def test_a_document_with_field_errors_still_has_its_references_checked(self, tmp_path: Path) -> None:
        """All errors at once: a newcomer saw `not declared` only after fixing `replica`. The rest of
        the document (without the fields in error) is checked against the set in the same run."""
        f = write(
            tmp_path,
            "a.yaml",
            SERVICE_WEB + "  replica: 2\n  networks: [nope, {name: back, alias: [x]}]\n  dependsOn: [Service/db]\n",
        )
        lines = problem_lines(run(tmp_path))
        assert len(lines) == 5, lines
        check(lines[0], f, 7, 3, "Service/web", "spec.replica", "unknown field: did you mean `replicas`?")
        check(lines[1], f, 8, 14, "Service/web", "spec.networks[0]", "Network/nope is not declared in the manifests")
        check(lines[2], f, 8, 21, "Service/web", "spec.networks[1].name", "Network/back is not declared")
        check(lines[3], f, 8, 33, "Service/web", "spec.networks[1].alias", "did you mean `aliases`?")
        check(lines[4], f, 9, 15, "Service/web", "spec.dependsOn[0]", "Service/db is not declared in the manifests")

    def test_a_field_in_error_is_not_also_reported_as_a_reference(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  replica: 2\n  networks: [{name: [back]}]\n")
        lines = problem_lines(run(tmp_path))
        assert [line.split(": ")[2] for line in lines] == ["spec.replica", "spec.networks[0].name"], lines
        assert not [line for line in lines if "not declared" in line]
        assert f in lines[0]


class TestCrossChecks:
    def test_depends_on_cycle(self, tmp_path: Path) -> None:
        svc = (
            f"{HEAD}kind: Service\nmetadata:\n  name: {{name}}\nspec:\n  image: nginx\n  dependsOn: [Service/{{dep}}]\n"
        )
        f = write(tmp_path, "a.yaml", svc.format(name="a", dep="b") + "---\n" + svc.format(name="b", dep="a"))
        assert only_problem(run(tmp_path)) == (
            f"{f}:15:3: Service/b: spec.dependsOn: dependency cycle: Service/a -> Service/b -> Service/a"
        )

    def test_depends_on_itself(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  dependsOn: [Service/web]\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:7:3: Service/web: spec.dependsOn: dependency cycle: Service/web -> Service/web"
        )

    def test_two_routes_claim_the_same_host_and_path(self, tmp_path: Path) -> None:
        route = (
            f"{HEAD}kind: Route\nmetadata:\n  name: {{name}}\nspec:\n  service: web\n  port: 80\n"
            "  hosts: [a.example.org, {host}]\n  pathPrefix: /api\n"
        )
        first = write(tmp_path, "a.yaml", route.format(name="one", host="b.example.org"))
        second = write(tmp_path, "b.yaml", route.format(name="two", host="c.example.org"))
        assert only_problem(run(tmp_path)) == (
            f"{second}:8:11: Route/two: spec.hosts[0]: a.example.org/api is already claimed by Route/one ({first}:1:1)"
        )

    def test_same_host_with_another_path_is_fine(self, tmp_path: Path) -> None:
        route = (
            f"{HEAD}kind: Route\nmetadata:\n  name: {{name}}\nspec:\n  service: web\n  port: 80\n"
            "  hosts: [a.example.org]\n  pathPrefix: {path}\n"
        )
        write(
            tmp_path, "a.yaml", route.format(name="one", path="/api") + "---\n" + route.format(name="two", path="/app")
        )
        assert run(tmp_path).exit_code == 0

    def test_vrrp_router_id_clash_on_one_interface(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", vip("one", 51, "10.0.0.1/24") + "---\n" + vip("two", 51, "10.0.0.2/24"))
        assert only_problem(run(tmp_path)) == (
            f"{f}:17:3: VirtualIP/two: spec.routerId: VRRP router id 51 on eth0 is already used by VirtualIP/one"
        )

    def test_same_router_id_on_another_interface_is_fine(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", vip("one", 51, "10.0.0.1/24") + "---\n" + vip("two", 51, "10.0.0.2/24", "eth1"))
        assert run(tmp_path).exit_code == 0

    def test_one_address_held_by_two_virtual_ips(self, tmp_path: Path) -> None:
        # same IP, another prefix length: still the same address
        f = write(tmp_path, "a.yaml", vip("one", 51, "10.0.0.1/24") + "---\n" + vip("two", 52, "10.0.0.1/16"))
        assert only_problem(run(tmp_path)) == (
            f"{f}:15:15: VirtualIP/two: spec.addresses[0]: 10.0.0.1 is also held by VirtualIP/one"
        )

    def test_vrrp_password_longer_than_8_characters(self, tmp_path: Path) -> None:
        write(tmp_path, "pw", "123456789\n")
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Secret\nmetadata:\n  name: pw\nspec:\n  file: pw\n---\n"
            + vip("v", 5, "10.0.0.1/24")
            + "  password:\n    secret: pw\n",
        )
        check(
            only_problem(run(tmp_path)),
            f,
            17,
            5,
            "VirtualIP/v",
            "spec.password.secret",
            "the VRRP password must be 1-8 ",
        )


def test_routes_to_one_service_must_agree_on_the_network(tmp_path: Path) -> None:
    docs = """\
apiVersion: reconciler.swarm/v1alpha1
kind: Route
metadata: {name: a}
spec: {service: web, port: 80, hosts: [a.test], network: front}
---
apiVersion: reconciler.swarm/v1alpha1
kind: Route
metadata: {name: b}
spec: {service: web, port: 80, hosts: [b.test], network: back}
---
apiVersion: reconciler.swarm/v1alpha1
kind: Network
metadata: {name: front}
spec: {external: true}
---
apiVersion: reconciler.swarm/v1alpha1
kind: Network
metadata: {name: back}
spec: {external: true}
"""
    (tmp_path / "routes.yaml").write_text(docs)
    with pytest.raises(ManifestError) as caught:
        load_manifests(tmp_path)
    [problem] = caught.value.problems
    assert str(problem) == (
        f"{tmp_path}/routes.yaml:9:49: Route/b: spec.network: Route/a reaches service 'web' on network 'front': "
        "routes to one service must use one network"
    )
