"""The rules under ``import compose``: YAML as go-yaml v3 reads it, compose interpolation, the merge
of several files, and Traefik label rules to Routes (``reconciler.importing``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.importing.compose_loading import ComposeError, load_compose
from reconciler.importing.compose_merge import canonical_service, merge_files
from reconciler.importing.compose_yaml import ComposeYamlError, parse_compose_yaml
from reconciler.importing.interpolation import InterpolationError, Interpolator
from reconciler.importing.names import NameTable, manifest_name
from reconciler.importing.traefik_labels import import_traefik_labels, parse_rule


def test_yaml_is_read_as_yaml_1_2_with_go_integers_and_merge_keys() -> None:
    text = "x-base: &base\n  user: app\nservices:\n  a:\n    <<: *base\n    tty: yes\n    port: 22:22\n    mode: 0440\n    n: 0x10\n"
    data = parse_compose_yaml(text, "c.yml").data
    assert data["services"]["a"] == {"user": "app", "tty": "yes", "port": "22:22", "mode": 0o440, "n": 16}


def test_yaml_errors_and_positions() -> None:
    with pytest.raises(ComposeYamlError, match=r"^c.yml:1:1: the top level must be a mapping"):
        parse_compose_yaml("- a\n", "c.yml")
    with pytest.raises(ComposeYamlError, match=r"^c.yml:2:"):
        parse_compose_yaml("a: [1\nb: 2\n", "c.yml")
    parsed = parse_compose_yaml("services:\n  web:\n    image: x\n", "c.yml")
    assert parsed.positions[("services", "web", "image")] == (3, 5)


@pytest.mark.parametrize(
    ("template", "expected"),
    [  # each as `docker stack config` of docker CLI 28.2 prints it (A=a, EMPTY='')
        ("${A}|$A|${UNSET}", "a|a|"),
        ("${EMPTY:-d}|${EMPTY-d}|${UNSET-d}", "d||d"),
        ("$$A costs $$5", "$A costs $5"),
        # a default ends at the first '}' and is not substituted again: the rest is literal
        ("${OUTER:-${INNER:-deep}}", "${INNER:-deep}"),
        ("${UNSET:-${A}x}", "${Ax}"),
        # unbraced, an operator and its argument run to the first '}' or the end
        ("$A-${A}", "a}"),
        ("$A-x/y z", "a"),
        ("$UNSET-x/y z", "x/y z"),
        ("$A:-q", "a"),
        # the operator is looked for in the whole text, ':-' first: the name is 'A?e'
        ("${A?e:-x}|${UNSET?e:-x}", "x|x"),
        # an invalid '$' before a substitution that succeeds: docker-cli forgets the error, drops the '$'
        ("$ ${A}", " a"),
    ],
)
def test_interpolation_as_docker_stack_deploy_does_it(template: str, expected: str) -> None:
    assert Interpolator({"A": "a", "EMPTY": ""}).substitute(template) == expected


@pytest.mark.parametrize(
    "template",
    ["x${A:+alt}", "${A+alt}", "x$ y", "5$", "$1", "x:${-1}", "${A:-x"],  # `docker stack config` refuses each
)
def test_what_docker_cli_refuses_is_an_invalid_interpolation_format(template: str) -> None:
    with pytest.raises(InterpolationError, match=r"^invalid interpolation format: .*escape any \$ with another"):
        Interpolator({"A": "a"}).substitute(template)


def test_interpolation_errors_name_the_variable_and_the_place() -> None:
    interpolator = Interpolator({"EMPTY": ""})
    with pytest.raises(InterpolationError, match="required variable EMPTY is missing a value: set it"):
        interpolator.substitute("${EMPTY:?set it}")
    assert interpolator.substitute("${EMPTY?unused}") == ""
    with pytest.raises(InterpolationError, match=r"no ':\+' or '\+' operator, which docker compose has"):
        interpolator.substitute("${EMPTY:+alt}")
    with pytest.raises(InterpolationError, match="invalid interpolation format") as caught:
        interpolator.value({"services": {"a": {"image": "x:${-1}"}}})
    assert caught.value.path == ("services", "a", "image")


def test_missing_required_variable_is_a_compose_error_at_its_line(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web:\n    image: ${IMAGE:?give the image}\n")
    with pytest.raises(ComposeError, match=r"compose.yml:3:5: services.web.image: required variable IMAGE"):
        load_compose([str(compose)], environ={})


def test_schema_refusal_is_an_error_with_its_place(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web:\n    image: x\n    deploy:\n      replicas: [1]\n")
    with pytest.raises(ComposeError, match=r"compose.yml:5:7: services.web.deploy.replicas: not valid compose"):
        load_compose([str(compose)], environ={})


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("A=from-file\nB=file\n")
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web:\n    image: x\n    env_file: app.env\n    environment: [B=inline, C]\n")
    project = load_compose([str(compose)], environ={"C": "shell"})
    assert project.data["services"]["web"]["environment"] == {"A": "from-file", "B": "inline", "C": "shell"}


def test_short_forms_become_long() -> None:
    service = canonical_service(
        {
            "ports": ["127.0.0.1:80:8080", "53/udp", "1000-1001:2000-2001"],
            "volumes": ["data:/data:ro", "./conf:/conf", "/anon"],
            "secrets": ["s"],
            "command": "sh -c 'echo hi'",
            "environment": ["A=1", "B"],
        }
    )
    assert service["ports"] == [
        {"target": 8080, "published": 80, "protocol": "tcp", "mode": "ingress", "host_ip": "127.0.0.1"},
        {"target": 53, "protocol": "udp", "mode": "ingress"},
        {"target": 2000, "published": 1000, "protocol": "tcp", "mode": "ingress"},
        {"target": 2001, "published": 1001, "protocol": "tcp", "mode": "ingress"},
    ]
    assert service["volumes"] == [
        {"source": "data", "target": "/data", "type": "volume", "read_only": True},
        {"source": "./conf", "target": "/conf", "type": "bind"},
        {"type": "volume", "target": "/anon"},
    ]
    assert service["secrets"] == [{"source": "s"}]
    assert service["command"] == ["sh", "-c", "echo hi"]
    assert service["environment"] == {"A": "1", "B": None}


def test_merge_rules() -> None:
    base = {
        "services": {
            "a": canonical_service(
                {
                    "image": "x",
                    "command": ["a", "b"],
                    "cap_add": ["X"],
                    "volumes": ["d:/d"],
                    "logging": {"driver": "json-file", "options": {"max-size": "1m"}},
                }
            )
        }
    }
    over = {"services": {"a": canonical_service({"command": ["c"], "cap_add": ["X", "Y"], "volumes": ["e:/d"],
                                                  "logging": {"driver": "syslog"}})}}  # fmt: skip
    merged = merge_files([base, over])["services"]["a"]
    assert merged["command"] == ["c"]
    assert merged["cap_add"] == ["X", "Y"]
    assert merged["volumes"] == [{"source": "e", "target": "/d", "type": "volume"}]  # unique by target
    assert merged["logging"] == {"driver": "syslog"}  # another driver: its options are not merged


def test_names() -> None:
    assert manifest_name("Web_App.v2") == "web-app-v2"
    table = NameTable("Service")
    assert table.claim("web_app") == "web-app"
    assert table.claim("web-app") is None
    assert table.collisions == [("web-app", "web_app", "web-app")]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("Host(`a.org`)", (["a.org"], None)),
        ("Host(`A.org`, `b.org`)", (["a.org", "b.org"], None)),
        ('Host("a.org") || Host(`b.org`)', (["a.org", "b.org"], None)),
        ("(Host(`a.org`) || Host(`b.org`)) && PathPrefix(`/p`)", (["a.org", "b.org"], "/p")),
        ("PathPrefix(`/p`) && Host(`a.org`)", (["a.org"], "/p")),
        ("PathPrefix(`/`)", ([], "/")),
        ("Host(`a.org`) && !PathPrefix(`/p`)", None),
        ("HostRegexp(`{x:.+}`)", None),
        ("Host(`a.org`) && PathPrefix(`/a`, `/b`)", None),
        ("Host(`a.org`", None),
    ],
)
def test_rules(rule: str, expected: object) -> None:
    assert parse_rule(rule) == expected


def test_traefik_labels_v2_and_v3() -> None:
    labels = {
        "traefik.docker.network": "proxy_public",
        "traefik.http.routers.r.rule": "Host(`x.org`)",
        "traefik.http.routers.r.middlewares": "auth@file,Local_MW@docker",
        "traefik.http.routers.r.service": "svc",
        "traefik.http.services.svc.loadbalancer.server.port": "8000",
        "traefik.http.middlewares.Local_MW.headers.customresponseheaders.X-Frame-Options": "DENY",
        "other": "kept",
    }
    result = import_traefik_labels(labels, "web", network=lambda value: "public" if value == "proxy_public" else None)
    assert result.problems == []
    assert result.rest == {"other": "kept"}
    route = result.routes[0]["spec"]
    assert route == {"service": "web", "hosts": ["x.org"], "port": 8000, "middlewares": ["auth@file", "local-mw"],
                     "network": "public"}  # fmt: skip
    assert result.middlewares[0]["spec"] == {
        "type": "headers",
        "options": {"customResponseHeaders": {"X-Frame-Options": "DENY"}},
    }
    unknown = import_traefik_labels({"traefik.swarm.network": "nope", **labels}, "web", network=lambda _: None)
    assert [p.label for p in unknown.problems] == ["traefik.swarm.network", "traefik.docker.network"]


def test_traefik_labels_that_routes_cannot_say() -> None:
    result = import_traefik_labels(
        {
            "traefik.http.routers.a.rule": "Host(`a.org`)",  # no port anywhere
            "traefik.http.routers.b.entrypoints": "web",  # no rule
            "traefik.http.middlewares.m.redirectscheme.scheme": "https",
            "traefik.http.middlewares.m.headers.framedeny": "true",  # two types under one name
        },
        "web",
    )
    reasons = {p.label: p.reason for p in result.problems}
    assert "a Route needs its port" in reasons["traefik.http.routers.a.rule"]
    assert "has no rule" in reasons["traefik.http.routers.b.entrypoints"]
    assert "two types" in reasons["traefik.http.middlewares.m.headers.framedeny"]
    off = import_traefik_labels({"traefik.enable": "false", "traefik.http.routers.a.rule": "Host(`a.org`)"}, "web")
    assert (off.routes, [p.label for p in off.problems]) == ([], ["traefik.enable"])
