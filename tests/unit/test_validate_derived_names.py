"""Swarm names derived from manifest names are valid and unique by construction, or refused by
``validate`` with file:line: configs/secrets/volumes ``<name>-<hash8>``, a VirtualIP's ``vip-<name>``
service and config; and the names Swarm and ``docker stack deploy`` give existing objects
(``proxy_public``) are accepted where a manifest refers to one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.hashing import short_hash
from reconciler.core.swarm_names import (
    CONFIG_NAME,
    DNS_NAME,
    MAX_NAME,
    fitted_name,
    hashed_name,
    vip_service_name,
)
from reconciler.manifests.kinds.config import Config
from reconciler.manifests.loading import load_manifests
from reconciler.render.objects import config_name
from tests.unit.validation_helpers import HEAD, check, only_problem, run, vip, write

LONG_A = "a" * 62 + "1"  # 63 characters, the longest manifest name
LONG_B = "a" * 62 + "2"  # differs from LONG_A only in its last character
DASHED = "a" * 53 + "-" + "b" * 9  # a cut at 54 characters would end in '-'


def _valid_swarm_name(name: str) -> bool:
    return len(name) <= MAX_NAME and bool(DNS_NAME.fullmatch(name)) and bool(CONFIG_NAME.fullmatch(name))


class TestHashedNames:
    def test_a_name_that_fits_keeps_the_content_hash_alone(self) -> None:
        assert hashed_name("web", b"x") == f"web-{short_hash(b'x')}"  # unchanged for names up to 54

    def test_names_that_differ_only_near_the_end_stay_distinct(self) -> None:
        a, b = hashed_name(LONG_A, b"same"), hashed_name(LONG_B, b"same")
        assert a != b
        assert _valid_swarm_name(a) and _valid_swarm_name(b)

    def test_a_cut_never_ends_in_a_dash(self) -> None:
        name = hashed_name(DASHED, b"x")
        assert "--" not in name and _valid_swarm_name(name)

    @pytest.mark.parametrize("length", range(50, 64))
    def test_every_length_gives_a_valid_name(self, length: int) -> None:
        assert _valid_swarm_name(hashed_name("a" * (length - 1) + "b", b"content"))


class TestVirtualIPNames:
    def test_a_short_name_is_vip_and_the_name(self) -> None:
        assert vip_service_name("cluster-ip") == "vip-cluster-ip"

    def test_long_names_that_differ_only_near_the_end_stay_distinct(self) -> None:
        a, b = vip_service_name(LONG_A), vip_service_name(LONG_B)
        assert a != b and _valid_swarm_name(a) and _valid_swarm_name(b)

    def test_a_cut_never_ends_in_a_dash(self) -> None:
        name = vip_service_name("a" * 50 + "-" + "b" * 12)  # "vip-" + 50 + "-": the cut lands on the dash
        assert _valid_swarm_name(name) and not name.split("-")[-2].endswith("-")

    def test_fitted_name_keeps_a_name_that_fits(self) -> None:
        assert fitted_name("x" * 63) == "x" * 63


class TestThroughValidate:
    def test_two_configs_differing_only_at_the_end_get_two_swarm_names(self, tmp_path: Path) -> None:
        for name in (LONG_A, LONG_B):
            write(tmp_path, f"{name}.yaml", f"{HEAD}kind: Config\nmetadata:\n  name: {name}\nspec:\n  data: same\n")
        manifests = load_manifests(tmp_path)
        names = {config_name(c, manifests.contents[c.key]) for c in manifests.of_kind(Config)}
        assert len(names) == 2 and all(_valid_swarm_name(n) for n in names)

    def test_a_service_named_like_a_virtual_ips_service_is_refused(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f"{HEAD}kind: Service\nmetadata:\n  name: vip-edge\nspec:\n  image: nginx:1.27\n")
        f = write(tmp_path, "b.yaml", vip("edge", 51, "10.0.0.1/24"))
        check(
            only_problem(run(tmp_path)),
            f,
            4,
            3,
            "VirtualIP/edge",
            "metadata.name",
            "its keepalived service is named 'vip-edge', the Swarm name of Service/vip-edge",
        )


STACK_NETWORK = f"{HEAD}kind: Network\nmetadata:\n  name: proxy_public\nspec:\n  external: true\n"


class TestNamesOfExistingObjects:
    def test_a_stack_network_can_be_declared_external_and_used(self, tmp_path: Path) -> None:
        write(tmp_path, "net.yaml", STACK_NETWORK)
        write(
            tmp_path,
            "app.yaml",
            f"{HEAD}kind: Service\nmetadata:\n  name: web\nspec:\n  image: nginx:1.27\n  networks: [proxy_public]\n"
            f"---\n{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: web\n  port: 80\n"
            "  hosts: [a.example.org]\n  network: proxy_public\n",
        )
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr

    def test_a_route_to_a_stack_service(self, tmp_path: Path) -> None:
        write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: wp_wordpress\n  port: 80\n"
            "  hosts: [a.example.org]\n",
        )
        assert run(tmp_path).exit_code == 0

    def test_a_route_to_a_name_swarm_cannot_have(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: wp.wordpress\n  port: 80\n"
            "  hosts: [a.example.org]\n",
        )
        check(only_problem(run(tmp_path)), f, 6, 3, "Route/web", "spec.service", "is not a Swarm service or network")

    def test_a_stack_config_name_can_be_external(self, tmp_path: Path) -> None:
        write(tmp_path, "c.yaml", f"{HEAD}kind: Config\nmetadata:\n  name: app_site.conf\nspec:\n  external: true\n")
        write(
            tmp_path,
            "s.yaml",
            f"{HEAD}kind: Service\nmetadata:\n  name: web\nspec:\n  image: nginx:1.27\n"
            "  configs: [{name: app_site.conf, target: /etc/site.conf}]\n",
        )
        assert run(tmp_path).exit_code == 0

    @pytest.mark.parametrize("kind", ["Network", "Config"])
    def test_a_managed_object_keeps_the_manifest_name_rule(self, tmp_path: Path, kind: str) -> None:
        spec = "spec:\n  data: x\n" if kind == "Config" else ""
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: {kind}\nmetadata:\n  name: proxy_public\n{spec}")
        check(
            only_problem(run(tmp_path)),
            f,
            4,
            3,
            f"{kind}/proxy_public",
            "metadata.name",
            "only an object with `external: true` may have a Swarm name",
        )

    @pytest.mark.parametrize("name", ["host", "bridge", "none", "default"])
    def test_a_predefined_network_cannot_be_created(self, tmp_path: Path, name: str) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: {name}\n")
        check(only_problem(run(tmp_path)), f, 4, 3, f"Network/{name}", "metadata.name", "predefines")


class TestRouteNetwork:
    def test_a_route_to_a_service_on_two_networks_must_name_one(self, tmp_path: Path) -> None:
        nets = "".join(f"{HEAD}kind: Network\nmetadata:\n  name: {n}\n---\n" for n in ("front", "back"))
        f = write(
            tmp_path,
            "a.yaml",
            nets + f"{HEAD}kind: Service\nmetadata:\n  name: web\nspec:\n  image: nginx:1.27\n"
            "  networks: [front, back]\n"
            f"---\n{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: web\n  port: 80\n"
            "  hosts: [a.example.org]\n",
        )
        check(
            only_problem(run(tmp_path)),
            f,
            24,
            3,
            "Route/web",
            "spec.service",
            "Service/web is on 2 networks (front, back): set `network`",
        )
