"""What the Docker Engine would refuse at create time (or start tasks that never run), refused by
``validate`` first with file:line:column: health-check durations under 1ms, empty or oversized
configs and secrets (and a 700 KB config, which the engine takes, accepted), resources under the
engine's minimums, placement constraints and spread preferences the scheduler cannot evaluate,
two config or secret references with one target.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.loading import load_manifests
from tests.unit.validation_helpers import HEAD, SERVICE_WEB, check, only_problem, run, vip, write


class TestDurations:
    @pytest.mark.parametrize("field", ["interval", "timeout", "startPeriod"])
    def test_a_health_check_duration_under_1ms(self, tmp_path: Path, field: str) -> None:
        text = SERVICE_WEB + f'  healthcheck:\n    test: [CMD, "true"]\n    {field}: 500us\n'
        f = write(tmp_path, "a.yaml", text)
        check(
            only_problem(run(tmp_path)),
            f,
            9,
            5,
            "Service/web",
            f"spec.healthcheck.{field}",
            "500us is less than 1ms: the engine takes 0 (its default) or at least 1ms",
        )

    @pytest.mark.parametrize("value", ["0", "1ms", "30s"])
    def test_zero_or_at_least_1ms(self, tmp_path: Path, value: str) -> None:
        write(tmp_path, "a.yaml", SERVICE_WEB + f'  healthcheck:\n    test: [CMD, "true"]\n    interval: {value!r}\n')
        assert run(tmp_path).exit_code == 0


def config(name: str, spec: str, kind: str = "Config") -> str:
    return f"{HEAD}kind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}"  # spec fields on line 6


class TestContentSizes:
    def test_a_700_kb_config_validates(self, tmp_path: Path) -> None:
        (tmp_path / "big.conf").write_bytes(b"x" * 700_000)
        write(tmp_path, "a.yaml", config("big", "  file: big.conf\n"))
        manifests = load_manifests(tmp_path)
        assert len(manifests.contents["Config/big"]) == 700_000

    def test_a_config_at_the_engines_limit_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "big.conf").write_bytes(b"x" * (1000 * 1024))
        f = write(tmp_path, "a.yaml", config("big", "  file: big.conf\n"))
        check(
            only_problem(run(tmp_path)),
            f,
            6,
            3,
            "Config/big",
            "spec.file",
            "big.conf: 1024000 bytes: the engine takes a config of at most 1023999 bytes",
        )

    def test_a_secret_over_500_kib_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "s").write_bytes(b"x" * (500 * 1024))
        f = write(tmp_path, "a.yaml", config("s", "  file: s\n", "Secret"))
        check(only_problem(run(tmp_path)), f, 6, 3, "Secret/s", "spec.file", "at most 511999 bytes")

    @pytest.mark.parametrize("kind", ["Config", "Secret"])
    def test_an_empty_file_is_refused(self, tmp_path: Path, kind: str) -> None:
        (tmp_path / "empty").write_bytes(b"")
        f = write(tmp_path, "a.yaml", config("e", "  file: empty\n", kind))
        check(only_problem(run(tmp_path)), f, 6, 3, f"{kind}/e", "spec.file", f"a {kind.lower()} may not be empty")

    def test_empty_inline_data_is_refused(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", config("e", '  data: ""\n'))
        check(only_problem(run(tmp_path)), f, 6, 3, "Config/e", "spec.data", "a config may not be empty")


class TestResources:
    @pytest.mark.parametrize(
        ("amounts", "field", "message"),
        [
            ("limits: {cpus: 0.0001}", "limits.cpus", "0.0001 CPUs is less than the engine's minimum of 0.001"),
            ("reservations: {memory: 1M}", "reservations.memory", "1M is less than the engine's minimum of 4MiB"),
            ("limits: {memory: 5M}", "limits.memory", "5M is less than 6MiB"),
            (
                "limits: {memory: 64M}\n    reservations: {memory: 128M}",
                "limits.memory",
                "the limit 64M is below the reservation 128M",
            ),
        ],
    )
    def test_below_the_engines_minimums(self, tmp_path: Path, amounts: str, field: str, message: str) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + f"  resources:\n    {amounts}\n")
        line = only_problem(run(tmp_path))
        assert line.startswith(f"{f}:"), line
        assert f"Service/web: spec.resources.{field}: {message}" in line

    def test_reasonable_resources_pass(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", SERVICE_WEB + "  resources:\n    limits: {cpus: 0.5, memory: 512M}\n")
        assert run(tmp_path).exit_code == 0


class TestPlacement:
    @pytest.mark.parametrize(
        ("constraint", "message"),
        [
            ("rack == large", "Swarm knows no constraint key 'rack'"),
            ("rack == large", "did you mean node.labels.rack?"),
            ("node.hostnam == a", "did you mean node.hostname?"),
            ("node.label.rack == a", "did you mean node.labels.<label>?"),
            ("node.role == master", "node.role is manager or worker, not 'master'"),
            ("node.ip == somewhere", "node.ip takes an address or a CIDR"),
        ],
    )
    def test_a_constraint_no_node_can_ever_match(self, tmp_path: Path, constraint: str, message: str) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + f"  placement:\n    constraints: [{constraint!r}]\n")
        check(only_problem(run(tmp_path)), f, 8, 19, "Service/web", "spec.placement.constraints[0]", message)

    @pytest.mark.parametrize(
        "constraint",
        [
            "node.role == manager",
            "node.role!=Worker",
            "node.labels.rack == large",
            "engine.labels.disk != hdd",
            "node.platform.arch == x86_64",
            "node.ip == 10.0.0.0/24",
            "NODE.HOSTNAME == a",
        ],
    )
    def test_constraints_swarm_evaluates(self, tmp_path: Path, constraint: str) -> None:
        write(tmp_path, "a.yaml", SERVICE_WEB + f"  placement:\n    constraints: [{constraint!r}]\n")
        assert run(tmp_path).exit_code == 0, run(tmp_path).stderr

    def test_a_virtual_ip_placement_is_checked_too(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", vip("edge", 51, "10.0.0.1/24") + "  placement: ['rack == a']\n")
        check(only_problem(run(tmp_path)), f, 9, 15, "VirtualIP/edge", "spec.placement[0]", "node.labels.rack")

    @pytest.mark.parametrize("descriptor", ["node.id", "node.hostname", "node.labels."])
    def test_a_spread_swarm_ignores(self, tmp_path: Path, descriptor: str) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + f"  placement:\n    preferences: [{{spread: {descriptor}}}]\n")
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            20,
            "Service/web",
            "spec.placement.preferences[0].spread",
            "Swarm spreads only over node.labels.<label> or engine.labels.<label>",
        )

    @pytest.mark.parametrize("descriptor", ["node.labels.zone", "engine.labels.rack"])
    def test_a_spread_over_labels(self, tmp_path: Path, descriptor: str) -> None:
        write(tmp_path, "a.yaml", SERVICE_WEB + f"  placement:\n    preferences: [{{spread: {descriptor}}}]\n")
        assert run(tmp_path).exit_code == 0


class TestFileTargets:
    def test_two_secrets_with_one_target(self, tmp_path: Path) -> None:
        (tmp_path / "pw").write_bytes(b"x")
        secrets = "".join(config(n, "  file: pw\n", "Secret") + "---\n" for n in ("a", "b"))
        f = write(
            tmp_path,
            "a.yaml",
            secrets + SERVICE_WEB + "  secrets:\n    - {name: a, target: pw}\n    - {name: b, target: pw}\n",
        )
        check(
            only_problem(run(tmp_path)),
            f,
            23,
            17,
            "Service/web",
            "spec.secrets[1].target",
            "pw is already the target of another of secrets",
        )
