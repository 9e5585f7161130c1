"""Messages that guide: "did you mean" for unknown fields, the field to use for a Compose key on a
Service (``volumes``, ``environment``, ``deploy.replicas``, short ``ports``), and no internal class
names (``PublishedPort``) or ``-: -:`` placeholders in any message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from reconciler.manifests.error_text import _models
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.registry import KINDS
from tests.unit.validation_helpers import HEAD, ROUTE, SERVICE_WEB, check, only_problem, problem_lines, run, vip, write


class TestDidYouMean:
    @pytest.mark.parametrize(
        ("text", "row", "column", "subject", "field", "suggestion"),
        [
            (SERVICE_WEB + "  replica: 3\n", 7, 3, "Service/web", "spec.replica", "`replicas`"),
            (SERVICE_WEB + "  healthcheck:\n    test: [NONE]\n    intervall: 5s\n", 9, 5, "Service/web",
             "spec.healthcheck.intervall", "`interval`"),
            (SERVICE_WEB + "  networks: [{name: a, alias: [x]}]\n", 7, 24, "Service/web", "spec.networks[0].alias",
             "`aliases`"),
            (ROUTE + "  host: [a.example.org]\n", 8, 3, "Route/web", "spec.host", "`hosts`"),
            (vip("v", 51, "10.0.0.1/24") + "  routerID: 3\n", 9, 3, "VirtualIP/v", "spec.routerID", "`routerId`"),
            (f"{HEAD}kind: Network\nmetadata:\n  name: n\n  label: {{a: b}}\n", 5, 3, "Network/n", "metadata.label",
             "`labels`"),
        ],
    )  # fmt: skip
    def test_an_unknown_field_gets_the_closest_known_one(
        self, tmp_path: Path, text: str, row: int, column: int, subject: str, field: str, suggestion: str
    ) -> None:
        f = write(tmp_path, "a.yaml", text)
        # (the rest of the document is checked too: `networks: [{name: a}]` also reads "not declared")
        (line,) = [line for line in problem_lines(run(tmp_path)) if f": {field}: " in line]
        check(line, f, row, column, subject, field, f"unknown field: did you mean {suggestion}?")

    def test_nothing_close_stays_plain(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  colour: blue\n")
        assert only_problem(run(tmp_path)) == f"{f}:7:3: Service/web: spec.colour: unknown field"


class TestComposeKeys:
    def test_volumes_is_mounts(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  volumes: [data:/data]\n")
        check(
            only_problem(run(tmp_path)), f, 7, 3, "Service/web", "spec.volumes", "Compose's `volumes` is `mounts` here"
        )

    def test_deploy_replicas_is_replicas(self, tmp_path: Path) -> None:
        f = write(
            tmp_path, "a.yaml", SERVICE_WEB + "  deploy:\n    replicas: 2\n    restart_policy: {condition: any}\n"
        )
        check(
            only_problem(run(tmp_path)),
            f,
            7,
            3,
            "Service/web",
            "spec.deploy",
            "move deploy.replicas to spec.replicas, deploy.restart_policy to spec.restartPolicy",
        )

    def test_environment_is_env(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  environment: {A: b}\n")
        check(only_problem(run(tmp_path)), f, 7, 3, "Service/web", "spec.environment", "`env` here")

    @pytest.mark.parametrize(
        ("port", "long_form"),
        [
            ('"8080:80"', "{published: 8080, target: 80}"),
            ("80", "{target: 80}"),
            ('"53:53/udp"', "{published: 53, target: 53, protocol: udp}"),
        ],
    )
    def test_short_ports_get_the_long_form(self, tmp_path: Path, port: str, long_form: str) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + f"  ports: [{port}]\n")
        check(
            only_problem(run(tmp_path)),
            f,
            7,
            11,
            "Service/web",
            "spec.ports[0]",
            f"is Compose's short form: write {long_form}",
        )


def _model_names() -> set[str]:
    names: set[str] = set()
    pending: list[type[BaseModel]] = list(KINDS.values())
    while pending:
        model = pending.pop()
        if model.__name__ in names:
            continue
        names.add(model.__name__)
        for info in model.model_fields.values():
            pending += _models(info.annotation)
    return names - {"Route", "Service", "Network", "Volume", "Config", "Secret", "Middleware", "VirtualIP"}


# A value of the wrong type at every place that holds a group of fields.
WRONG_SHAPES = [
    f"{HEAD}kind: Service\nmetadata: 3\nspec: 4\n",
    SERVICE_WEB + "  ports: [{}, [1]]\n",
    SERVICE_WEB + "  healthcheck: x\n  placement: 3\n  resources: {limits: 1}\n  updateConfig: []\n",
    SERVICE_WEB + "  networks: [1]\n  mounts: [x]\n  configs: [1]\n  secrets: [true]\n  restartPolicy: 1\n",
    SERVICE_WEB + "  placement: {preferences: [x]}\n  rollbackConfig: 2\n",
    ROUTE + "  hosts: [a.example.org]\n  tls: 3\n",
    vip("v", 51, "10.0.0.1/24") + "  checks: [1]\n  password: x\n",
    f"{HEAD}kind: Network\nmetadata:\n  name: n\nspec:\n  ipam: 1\n",
    f"{HEAD}kind: Volume\nmetadata:\n  name: v\nspec:\n  nfs: 1\n",
]


class TestNoInternalNames:
    def test_the_corpus_reaches_the_nested_models(self) -> None:
        assert {"PublishedPort", "Healthcheck", "NetworkAttachment", "VipCheck", "Ipam", "Nfs"} <= _model_names()

    @pytest.mark.parametrize("text", WRONG_SHAPES)
    def test_no_class_name_or_placeholder_in_any_message(self, tmp_path: Path, text: str) -> None:
        write(tmp_path, "a.yaml", text)
        with pytest.raises(ManifestError) as caught:
            load_manifests(tmp_path)
        names = _model_names()
        for problem in caught.value.problems:
            line = str(problem)
            assert "-: -:" not in line and ": -: " not in line, line
            assert not [name for name in names if name in problem.message], line
