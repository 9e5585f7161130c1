"""`reconciler render` and `reconciler schema` as a user runs them: output, formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli.app import cli

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_render_route_prints_labels_one_per_line() -> None:
    code, out, _ = run("render", "Route/wordpress", EXAMPLES)
    assert code == 0
    lines = out.splitlines()
    assert "traefik.http.routers.wordpress.rule=Host(`www.example.org`) || Host(`example.org`)" in lines
    assert "traefik.http.middlewares.hsts.headers.stsSeconds=31536000" in lines


def test_render_service_is_an_engine_service_spec_and_json_output_parses() -> None:
    code, out, _ = run("-o", "json", "--instance", "lab", "render", "Service/wordpress", EXAMPLES)
    assert code == 0
    spec = json.loads(out)
    assert spec["Name"] == "wordpress"
    assert spec["Labels"]["reconciler.swarm/managed-by"] == "lab"
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "wordpress:6.6-apache"


def test_render_kind_is_case_insensitive() -> None:
    assert run("render", "service/db", EXAMPLES)[0] == 0


def test_render_secret_never_shows_its_value() -> None:
    code, out, _ = run("render", "Secret/db-password", EXAMPLES)
    assert code == 0
    assert "example-db-password" not in out
    assert json.loads(out)["Data"] == "<redacted>"


def test_render_virtual_ip_template_and_one_node() -> None:
    code, template, _ = run("render", "VirtualIP/cluster-ip", EXAMPLES, "--node", "node1=n1id", "--node", "node2=n2id")
    assert code == 0
    assert '{{if eq .Node.ID "n1id"}}150{{else if eq .Node.ID "n2id"}}100{{else}}100{{end}}' in template
    assert '{{ secret "vrrp-password" }}' in template
    assert "vrrp4ex" not in template
    code, one, _ = run("render", "VirtualIP/cluster-ip", EXAMPLES, "--node", "node1=n1id", "--for-node", "n1id")
    assert code == 0
    assert "priority 150" in one and "{{" not in one


@pytest.mark.parametrize("kind", ["Network/backend", "Volume/wp-content", "Config/php-uploads", "Middleware/hsts"])
def test_render_every_other_kind(kind: str) -> None:
    code, out, _ = run("-o", "json", "render", kind, EXAMPLES)
    assert code == 0
    assert json.loads(out)


KINDS_LISTED = "(kinds: Network, Volume, Config, Secret, Service, Middleware, Route, VirtualIP)"
FORMS = "write KIND/NAME or KIND/NAMESPACE/NAME, e.g. Service/web"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        # no slash: the forms accepted, and the resources of that name (a newcomer typed `render Foo`)
        ("Foo", f"'Foo' is not a resource: {FORMS} {KINDS_LISTED}"),
        ("wordpress", f"'wordpress' is not a resource: {FORMS}: did you mean Route/wordpress or Service/wordpress?"),
        ("Route/", f"'Route/' is not a resource: {FORMS} {KINDS_LISTED}"),
        # an unknown kind: the nearest kind, and all of them
        ("Servce/wordpress", f"unknown kind 'Servce' in 'Servce/wordpress': did you mean Service/wordpress? "
                             f"{KINDS_LISTED}"),
        ("Foo/bar", f"unknown kind 'Foo' in 'Foo/bar' {KINDS_LISTED}"),
        # an unknown name: the nearest names of that kind, or all of them
        ("Service/wordpres", f"no Service 'wordpres' under {EXAMPLES}: did you mean Service/wordpress?"),
        ("Service/nope", f"no Service 'nope' under {EXAMPLES} (Services: Service/db, Service/traefik, "
                         "Service/traefik-socket-proxy, Service/wordpress)"),
    ],
)  # fmt: skip
def test_render_unknown_resource_says_the_forms_and_near_names(target: str, message: str) -> None:
    code, out, err = run("render", target, EXAMPLES)
    assert (code, out, err) == (2, "", message + "\n")


def test_render_invalid_manifests_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: Bad}\n")
    code, _, err = run("render", "Network/Bad", str(tmp_path))
    assert code == 2
    assert "bad.yaml:3:12: Network/Bad: metadata.name:" in err


def test_render_bad_node_option_is_a_usage_error() -> None:
    code, _, err = run("render", "VirtualIP/cluster-ip", EXAMPLES, "--node", "node1")
    assert code == 2
    assert "HOSTNAME=NODE_ID" in err


def test_schema_prints_all_schemas_and_writes_a_folder(tmp_path: Path) -> None:
    code, out, _ = run("schema")
    assert code == 0
    assert "service.json" in json.loads(out)
    code, out, _ = run("schema", "--out", str(tmp_path / "crds"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "crds").iterdir())[0] == "config.json"


def test_python_dash_m_and_the_console_script_agree() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", EXAMPLES], capture_output=True, text=True, timeout=60
    )
    assert module.returncode == 0, module.stderr
    assert "16 manifests valid" in module.stdout
    version = subprocess.run(["reconciler", "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "0.1.0" in version.stdout
