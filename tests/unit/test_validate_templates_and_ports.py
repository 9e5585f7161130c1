"""Swarm templates in a Service's hostname, env and bind mounts (and a Volume's labels and driver
options) are checked against the fields Swarm offers, with "did you mean", and a hostname's longest
expansion against 63 characters; two services publishing one port the way Swarm refuses are
refused by ``validate`` with file:line:column.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.swarm_templates import TemplateFacts, hostname_problem, template_problem
from tests.unit.validation_helpers import HEAD, SERVICE_WEB, check, only_problem, run, write

FACTS = TemplateFacts(service_name="web", slot_length=1)


class TestTemplateGrammar:
    @pytest.mark.parametrize(
        "text",
        [
            "plain",
            "{{.Service.Name}}-{{.Task.Slot}}",
            "{{ .Node.Hostname }}",
            "{{.Node.Platform.Architecture}}",
            '{{index .Service.Labels "team"}}',
            '{{join "-" .Service.Name .Task.Slot}}',
            "{{if .Task.Slot}}a{{else}}b{{end}}",
            "{{- .Task.ID -}}",
            "{{/* a comment */}}x",
        ],
    )
    def test_what_swarm_expands(self, text: str) -> None:
        assert template_problem(text) is None

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("{{.Node.Hostnam}}", "did you mean .Node.Hostname?"),
            ("{{.Service.Nmae}}", "did you mean .Service.Name?"),
            ("{{.Slot}}", "Swarm templates have no field 'Slot'"),
            ("{{.Task.Slot.X}}", ".Task.Slot has no field 'X'"),
            ("{{.Service.Labels.team}}", 'write {{index .Service.Labels "team"}}'),
            ("{{upper .Service.Name}}", "function 'upper' is not defined"),
            ("{{jion .Service.Name}}", "did you mean join?"),
            ("{{if .Task.Slot}}a", "not closed with {{end}}"),
            ("a{{end}}", "{{end}} without"),
            ("{{.Service.Name", "is not closed"),
        ],
    )
    def test_what_the_engine_refuses(self, text: str, message: str) -> None:
        problem = template_problem(text)
        assert problem is not None and message in problem, problem


class TestHostnameLength:
    def test_the_issues_case(self) -> None:
        facts = TemplateFacts(service_name="a" * 40, slot_length=1)
        problem = hostname_problem("{{.Service.Name}}-{{.Task.ID}}", facts)  # 40 + 1 + 25
        assert problem is not None and problem.startswith("expands to 66 characters")

    def test_a_task_name_counts_service_slot_and_id(self) -> None:
        facts = TemplateFacts(service_name="a" * 30, slot_length=25)  # global: the slot is a node ID
        problem = hostname_problem("{{.Task.Name}}", facts)  # 30 + 1 + 25 + 1 + 25
        assert problem is not None and "82 characters" in problem

    def test_the_node_hostname_counts_as_empty(self) -> None:
        assert hostname_problem("{{.Node.Hostname}}", FACTS) is None
        problem = hostname_problem("{{.Node.Hostname}}-" + "x" * 63, FACTS)
        assert problem is not None and "at least 64 characters" in problem

    def test_fits(self) -> None:
        assert hostname_problem("{{.Service.Name}}-{{.Task.Slot}}", FACTS) is None


class TestThroughValidate:
    def test_a_hostname_past_63_characters(self, tmp_path: Path) -> None:
        name = "a" * 40
        text = f"{HEAD}kind: Service\nmetadata:\n  name: {name}\nspec:\n  image: nginx:1.27\n"
        f = write(tmp_path, "a.yaml", text + '  hostname: "{{.Service.Name}}-{{.Task.ID}}"\n')
        check(
            only_problem(run(tmp_path)),
            f,
            7,
            3,
            f"Service/{name}",
            "spec.hostname",
            "expands to 66 characters",
            "a hostname has at most 63",
        )

    def test_a_typo_in_a_hostname(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + '  hostname: "{{.Node.Hostnam}}"\n')
        check(only_problem(run(tmp_path)), f, 7, 3, "Service/web", "spec.hostname", "did you mean .Node.Hostname?")

    def test_a_typo_in_an_env_value(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + '  env:\n    SLOT: "{{.Task.Slto}}"\n')
        check(only_problem(run(tmp_path)), f, 8, 5, "Service/web", "spec.env.SLOT", "did you mean .Task.Slot?")

    def test_a_bind_source_with_a_template(self, tmp_path: Path) -> None:
        mount = '  mounts:\n    - {{bind: "/srv/{{{{.Node.Hostname}}}}/data", target: /data}}\n'
        write(tmp_path, "a.yaml", SERVICE_WEB + mount.format())
        assert run(tmp_path).exit_code == 0
        f = write(tmp_path, "a.yaml", SERVICE_WEB + mount.format().replace("Hostname", "Host"))
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            8,
            "Service/web",
            "spec.mounts[0].bind",
            "did you mean .Node.Hostname?",
        )

    def test_a_volume_driver_option_with_a_typo(self, tmp_path: Path) -> None:
        volume = f"{HEAD}kind: Volume\nmetadata:\n  name: data\nspec:\n  driver: local\n"
        f = write(tmp_path, "a.yaml", volume + '  driverOptions:\n    device: "/srv/{{.Node.ID2}}"\n')
        check(
            only_problem(run(tmp_path)), f, 8, 5, "Volume/data", "spec.driverOptions.device", "did you mean .Node.ID?"
        )


def service(name: str, ports: str) -> str:
    return f"{HEAD}kind: Service\nmetadata:\n  name: {name}\nspec:\n  image: nginx:1.27\n  ports:\n{ports}"


class TestPublishedPorts:
    def test_two_services_on_one_ingress_port(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", service("a", "    - {published: 8080, target: 80}\n"))
        f = write(tmp_path, "b.yaml", service("b", "    - {published: 8080, target: 8000}\n"))
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            8,
            "Service/b",
            "spec.ports[0].published",
            "8080/tcp is already published by Service/a",
            "in ingress mode",
        )

    def test_an_ingress_port_against_a_host_port(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", service("a", "    - {published: 53, target: 53, protocol: udp, mode: host}\n"))
        write(tmp_path, "b.yaml", service("b", "    - {published: 53, target: 53, protocol: udp}\n"))
        assert "53/udp is already published by Service/a" in only_problem(run(tmp_path))

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("{published: 80, target: 80, mode: host}", "{published: 80, target: 80, mode: host}"),
            ("{published: 53, target: 53, protocol: udp}", "{published: 53, target: 53, protocol: tcp}"),
            ("{target: 80}", "{target: 80}"),
        ],
    )
    def test_ports_swarm_lets_two_services_share(self, tmp_path: Path, first: str, second: str) -> None:
        write(tmp_path, "a.yaml", service("a", f"    - {first}\n"))
        write(tmp_path, "b.yaml", service("b", f"    - {second}\n"))
        assert run(tmp_path).exit_code == 0
