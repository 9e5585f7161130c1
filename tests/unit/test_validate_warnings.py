"""Warnings: legal but almost surely wrong manifests print ``file:line:column: warning: ...`` and
``validate`` exits 0; ``validate --strict`` exits 1. A keepalived check weight that can never move
the address, unicast peers that leave a node unheard or name the floating address, a Route whose
target is no manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from reconciler.cli.context import Settings
from reconciler.cli.validate import validate
from tests.unit.validation_helpers import HEAD, SERVICE_WEB, run, runner, vip, write


def run_strict(path: Path) -> Result:
    settings = Settings(docker_host=None, instance="reconciler", output="text")
    return runner().invoke(validate, ["--strict", str(path)], obj=settings)


def warnings_of(result: Result) -> list[str]:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return [line for line in result.stderr.splitlines() if ": warning: " in line]


def checked_vip(priorities: str, weight: int, extra: str = "") -> str:
    return (
        vip("edge", 51, "10.0.0.1/24")
        + f"  priorities: {{{priorities}}}\n"
        + extra
        + f"  checks:\n    - name: web\n      type: tcp\n      port: 80\n      weight: {weight}\n"
    )  # the weight is on line 14, or 14 + the lines of `extra`


class TestCheckWeights:
    def test_a_weight_too_small_to_move_the_address(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", checked_vip("node1: 150, node2: 100", -20))
        [line] = warnings_of(run(tmp_path))
        assert line.startswith(f"{f}:14:7: warning: VirtualIP/edge: spec.checks[0].weight: ")
        assert "takes the holder's priority 150 to 130, still above the next priority 100" in line
        assert "at most -51" in line

    def test_the_default_priority_counts_as_the_next_one(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", checked_vip("node1: 150", -40))  # defaultPriority 100 < 110
        assert "still above the next priority 100" in warnings_of(run(tmp_path))[0]

    def test_a_positive_weight_too_small(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", checked_vip("node1: 150, node2: 100", 20))
        [line] = warnings_of(run(tmp_path))
        assert "takes the next priority 100 to 120, still below the holder's 150" in line

    @pytest.mark.parametrize("weight", [-60, 60, 0])
    def test_a_weight_that_moves_the_address_is_fine(self, tmp_path: Path, weight: int) -> None:
        write(tmp_path, "a.yaml", checked_vip("node1: 150, node2: 100", weight))
        result = run(tmp_path)
        assert warnings_of(result) == []
        assert result.stdout == "1 manifests valid (1 VirtualIP).\n"

    def test_without_preempt_no_weight_moves_the_address(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", checked_vip("node1: 150, node2: 100", -60, "  preempt: false\n"))
        [line] = warnings_of(run(tmp_path))
        assert "with `preempt: false` a backup never takes the address from a running master" in line


class TestUnicastPeers:
    def test_the_floating_address_as_a_peer(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", vip("edge", 51, "10.0.0.1/24") + "  unicastPeers: [10.0.0.2, 10.0.0.1]\n")
        [line] = warnings_of(run(tmp_path))
        assert line.startswith(f"{f}:9:28: warning: VirtualIP/edge: spec.unicastPeers[1]: 10.0.0.1 is a floating")

    def test_fewer_peers_than_nodes(self, tmp_path: Path) -> None:
        text = (
            vip("edge", 51, "10.0.0.1/24")
            + "  priorities: {a: 150, b: 100, c: 50}\n  unicastPeers: [10.0.0.2, 10.0.0.3]\n"
        )
        f = write(tmp_path, "a.yaml", text)
        [line] = warnings_of(run(tmp_path))
        assert line.startswith(f"{f}:10:3: warning: VirtualIP/edge: spec.unicastPeers: 2 unicast peers for the 3 nodes")

    def test_every_node_listed_is_fine(self, tmp_path: Path) -> None:
        text = vip("edge", 51, "10.0.0.1/24") + "  priorities: {a: 150, b: 100}\n  unicastPeers: [10.0.0.2, 10.0.0.3]\n"
        write(tmp_path, "a.yaml", text)
        assert warnings_of(run(tmp_path)) == []


ROUTE_TO_STACK = (
    f"{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: wp_web\n  port: 80\n  hosts: [a.example.org]\n"
)


class TestRouteTargets:
    def test_a_route_to_a_service_no_manifest_declares(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", ROUTE_TO_STACK)
        result = run(tmp_path)
        [line] = warnings_of(result)
        assert line.startswith(f"{f}:6:3: warning: Route/web: spec.service: no Service manifest is named 'wp_web'")
        assert result.stdout == "1 manifests valid (1 Route), 1 warning(s).\n"

    def test_a_route_to_a_service_manifest_is_fine(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", SERVICE_WEB + f"---\n{ROUTE_TO_STACK.replace('wp_web', 'web')}")
        assert warnings_of(run(tmp_path)) == []


class TestStrict:
    def test_strict_fails_on_a_warning(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", ROUTE_TO_STACK)
        result = run_strict(tmp_path)
        assert result.exit_code == 1
        assert ": warning: Route/web: spec.service: " in result.stderr
        assert result.stdout == "1 manifests invalid with --strict (1 Route), 1 warning(s).\n"

    def test_strict_passes_without_warnings(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", SERVICE_WEB)
        assert run_strict(tmp_path).exit_code == 0

    def test_json_lists_the_warnings(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", ROUTE_TO_STACK)
        result = run(tmp_path, output="json")
        assert result.exit_code == 0
        report = json.loads(result.stdout)
        assert report["valid"] is True
        [item] = report["warnings"]
        assert (item["file"], item["line"], item["column"], item["object"], item["field"]) == (
            f,
            6,
            3,
            "Route/web",
            "spec.service",
        )

    def test_the_examples_have_no_warnings(self) -> None:
        from tests.unit.validation_helpers import REPO

        assert run_strict(REPO / "examples").exit_code == 0
