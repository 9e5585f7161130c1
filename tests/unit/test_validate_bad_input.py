"""``reconciler validate`` on bad input: every class of mistake or attack gives exit 1 and a problem
line ``file:line:column: Kind/name: field: message`` that points at the offending value.

Manifests are written into ``tmp_path`` and the ``validate`` click command is invoked directly
(the ``reconciler`` group is exercised too, once ``reconciler.cli.app`` imports).
The loader bugs these tests found are fixed; a new one is marked ``xfail(strict=True)`` with the bug
as its reason until it is fixed.
"""

from __future__ import annotations

import inspect
import json
import os
import random
import socket
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler import API_VERSION
from reconciler.cli.app import cli
from reconciler.cli.context import Settings
from reconciler.cli.validate import validate
from reconciler.manifests.errors import MAX_PROBLEMS, MAX_PROBLEMS_PER_RUN, ManifestError, ManifestProblem, Position
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.types import NAME_PATTERN

REPO = Path(__file__).resolve().parents[2]
KIND_LIST = "Network, Volume, Config, Secret, Service, Middleware, Route, VirtualIP"
HEAD = f"apiVersion: {API_VERSION}\n"


# --------------------------------------------------------------------------------------------- helpers


def _runner() -> CliRunner:
    # click < 8.2 mixes stderr into stdout unless told otherwise; 8.2+ keeps them apart by default.
    if "mix_stderr" in inspect.signature(CliRunner).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


def write(root: Path, name: str, text: str | bytes) -> str:
    """Write one file below ``root``; text is dedented. Returns the name validate shows for it."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return os.path.join(str(root), name)


def run(path: Path | str, output: str = "text") -> Result:
    """Invoke ``validate PATH``; fail on any exception other than click's exit, or a traceback."""
    settings = Settings(docker_host=None, instance="reconciler", output=output)
    result = _runner().invoke(validate, [str(path)], obj=settings)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    return result


def problem_lines(result: Result) -> list[str]:
    """The problem lines of a failed text-mode run; checks exit 1 and the summary line's count."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines, "no problem printed"
    assert lines[-1] == f"{len(lines) - 1} problem(s) found."
    return lines[:-1]


def only_problem(result: Result) -> str:
    lines = problem_lines(result)
    assert len(lines) == 1, lines
    return lines[0]


def head(file: str, line: int, column: int, subject: str, field: str) -> str:
    return f"{file}:{line}:{column}: {subject}: {field}: "


def check(line: str, file: str, row: int, column: int, subject: str, field: str, *fragments: str) -> None:
    prefix = head(file, row, column, subject, field)
    assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"
    for fragment in fragments:
        assert fragment in line[len(prefix) :], f"{fragment!r} not in {line!r}"


SERVICE_WEB = f"""\
{HEAD}kind: Service
metadata:
  name: web
spec:
  image: nginx:1.27
"""  # lines 1-6; spec fields start on line 7


def vip(name: str, router_id: int, address: str, interface: str = "eth0") -> str:
    return (
        f"{HEAD}kind: VirtualIP\nmetadata:\n  name: {name}\nspec:\n"
        f"  addresses: [{address}]\n  interface: {interface}\n  routerId: {router_id}\n"
    )  # 8 lines: addresses on 6, interface on 7, routerId on 8


# ----------------------------------------------------------------------------- YAML and the envelope


class TestSyntaxAndEnvelope:
    def test_yaml_syntax_error(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: web: x\n")
        line = only_problem(run(tmp_path))
        assert line == f"{f}:4:12: -: -: invalid YAML: mapping values are not allowed in this context"

    def test_unclosed_flow_mapping(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: web\nspec: {{attachable: true\n")
        check(only_problem(run(tmp_path)), f, 6, 1, "-", "-", "invalid YAML", "did not find expected ',' or '}'")

    def test_unknown_api_version(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "apiVersion: reconciler.swarm/v1\nkind: Network\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:1:1: Network/web: apiVersion: unknown apiVersion 'reconciler.swarm/v1': use {API_VERSION}"
        )

    def test_missing_api_version(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "kind: Network\nmetadata:\n  name: web\n")
        assert f"{f}:1:1: Network/web: apiVersion: missing: use {API_VERSION}" in problem_lines(run(tmp_path))

    def test_missing_api_version_is_reported_once(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "kind: Network\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == f"{f}:1:1: Network/web: apiVersion: missing: use {API_VERSION}"

    def test_api_version_that_is_not_a_string_is_reported_once(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "apiVersion: [1]\nkind: Network\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:1:1: Network/web: apiVersion: unknown apiVersion [1]: use {API_VERSION}"
        )

    def test_missing_kind(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}metadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == f"{f}:1:1: -/web: kind: missing: expected one of {KIND_LIST}"

    def test_unknown_kind(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Netwerk\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:2:1: Netwerk/web: kind: unknown kind 'Netwerk': expected one of {KIND_LIST}"
        )

    def test_document_that_is_not_a_mapping(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n---\n- 1\n---\n42\n")
        message = "a manifest must be a mapping with apiVersion, kind, metadata and spec"
        assert problem_lines(run(tmp_path)) == [f"{f}:6:1: -: -: {message}", f"{f}:8:1: -: -: {message}"]

    @pytest.mark.parametrize(
        ("kind", "got"), [("[Network]", "a list"), ("{a: 1}", "a mapping"), ("3", "int"), ("true", "bool")]
    )
    def test_kind_that_is_not_a_string(self, tmp_path: Path, kind: str, got: str) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: {kind}\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:2:1: -/web: kind: kind must be a string, one of {KIND_LIST} (got {got})"
        )


# ------------------------------------------------------------------------------ one document's model


class TestFieldValidation:
    def test_missing_required_field(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Service\nmetadata:\n  name: web\nspec:\n  replicas: 2\n")
        # the missing `image` is reported at its parent, `spec:` on line 5
        assert only_problem(run(tmp_path)) == f"{f}:5:1: Service/web: spec.image: required field is missing"

    def test_unknown_field(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Network\nmetadata:\n  name: web\nspec:\n  attachable: true\n  colour: blue\n",
        )
        assert only_problem(run(tmp_path)) == f"{f}:7:3: Network/web: spec.colour: unknown field"

    @pytest.mark.parametrize("name", ["Web_1", "-web", "web-", "a" * 64])
    def test_bad_metadata_name(self, tmp_path: Path, name: str) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: {name}\n")
        line = only_problem(run(tmp_path))
        check(line, f, 4, 3, f"Network/{name}", "metadata.name")
        if len(name) > 63:
            assert "at most 63 characters" in line
        else:
            assert f"'{name}' does not match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" in line

    def test_several_problems_in_one_document_each_at_its_place(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata: {{name: üü, labels: {{a: 1}}, x: 2}}\n")
        lines = problem_lines(run(tmp_path))
        assert len(lines) == 3
        check(lines[0], f, 3, 12, "Network/üü", "metadata.name", "does not match the pattern")
        check(lines[1], f, 3, 31, "Network/üü", "metadata.labels.a", "Input should be a valid string")
        assert lines[2] == f"{f}:3:38: Network/üü: metadata.x: unknown field"


# -------------------------------------------------------------------------------------- duplicates


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


# -------------------------------------------------------------------------------------- references


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


# ------------------------------------------------------------------------------ whole-set checks


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


# ------------------------------------------------------------------------------------ injection


ROUTE = f"{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: web\n  port: 80\n"  # spec fields on 8+


class TestInjection:
    def test_route_host_with_a_backtick(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", ROUTE + "  hosts: ['a`) || Host(`evil.org']\n")
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            11,
            "Route/web",
            "spec.hosts[0]",
            "'a`) || Host(`evil.org' is not a valid lowercase DNS name",
        )

    @pytest.mark.parametrize("prefix", ["/a`b", "/a b", "/a'b", "//a"])
    def test_path_prefix_with_a_backtick_space_quote_or_double_slash(self, tmp_path: Path, prefix: str) -> None:
        f = write(tmp_path, "a.yaml", ROUTE + f"  hosts: [a.example.org]\n  pathPrefix: {json.dumps(prefix)}\n")
        check(
            only_problem(run(tmp_path)),
            f,
            9,
            3,
            "Route/web",
            "spec.pathPrefix",
            f"{prefix!r} is not a URL path prefix such as /blog",
        )

    def test_virtual_ip_interface_with_a_newline(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", vip("one", 51, "10.0.0.1/24", interface='"eth0\\n}"'))
        line = only_problem(run(tmp_path))  # also: the newline did not split the output line
        check(line, f, 7, 3, "VirtualIP/one", "spec.interface", "'eth0\\n}' is not a network interface name")

    def test_router_id_300(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", vip("one", 300, "10.0.0.1/24"))
        assert only_problem(run(tmp_path)) == (
            f"{f}:8:3: VirtualIP/one: spec.routerId: Input should be less than or equal to 255"
        )

    @pytest.mark.parametrize("argument", ["}", "{", "a b", "#x", '"'])
    def test_script_check_argument_with_a_brace_space_comment_or_quote(self, tmp_path: Path, argument: str) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            vip("one", 51, "10.0.0.1/24")
            + f"  checks:\n    - name: c\n      type: script\n      command: [/bin/check, {json.dumps(argument)}]\n",
        )
        check(
            only_problem(run(tmp_path)),
            f,
            12,
            29,
            "VirtualIP/one",
            "spec.checks[0].command[1]",
            f"{argument!r} is not a safe script argument",
        )

    MIDDLEWARE = (
        f"{HEAD}kind: Middleware\nmetadata:\n  name: m\nspec:\n  type: headers\n"
        '  options:\n    customRequestHeaders:\n      X-A: "a\\nb"\n'
    )  # X-A on line 9

    def test_middleware_option_value_with_a_newline(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", self.MIDDLEWARE)
        line = only_problem(run(tmp_path))
        assert "Middleware/m: spec" in line
        assert "customRequestHeaders.X-A: control characters (newline, tab, ...) are not allowed" in line

    def test_middleware_option_problem_points_at_the_option(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", self.MIDDLEWARE)
        assert only_problem(run(tmp_path)) == (
            f"{f}:9:7: Middleware/m: spec.options.customRequestHeaders.X-A: "
            "control characters (newline, tab, ...) are not allowed"
        )

    @pytest.mark.parametrize(
        ("options", "row", "column", "field", "message"),
        [
            ("    bad key: 1\n", 8, 5, "spec.options.bad key", "'bad key' is not an option name"),
            ("    a:\n      b: null\n", 9, 7, "spec.options.a.b", "null is not a value"),
            ("    a: [x, 'y,z']\n", 8, 12, "spec.options.a[1]", "list items may not contain ','"),
            ("    a:\n      - x\n      - [y]\n", 10, 9, "spec.options.a[1]", "lists may hold only plain values"),
        ],
        ids=["key", "null", "comma", "nested-list"],
    )
    def test_middleware_option_problems_point_at_the_option(
        self, tmp_path: Path, options: str, row: int, column: int, field: str, message: str
    ) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Middleware\nmetadata:\n  name: m\nspec:\n  type: headers\n  options:\n{options}",
        )
        check(only_problem(run(tmp_path)), f, row, column, "Middleware/m", field, message)

    @pytest.mark.parametrize("option", ["rw,addr=1.2.3.4", "addr=1.2.3.4", "ro\nrw"])
    def test_nfs_option_with_a_comma_or_a_managed_option(self, tmp_path: Path, option: str) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Volume\nmetadata:\n  name: v\nspec:\n  nfs:\n    server: nas\n    path: /srv\n"
            f"    options: [{json.dumps(option)}]\n",
        )
        line = only_problem(run(tmp_path))
        check(line, f, 9, 15, "Volume/v", "spec.nfs.options[0]", repr(option))

    def test_label_values_with_a_newline(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f'{HEAD}kind: Network\nmetadata:\n  name: n\n  labels:\n    a: "x\\ny"\nspec:\n  labels:\n    b: "x\\ny"\n',
        )
        message = "control characters (newline, tab, NUL, ...) are not allowed here"
        assert problem_lines(run(tmp_path)) == [
            f"{f}:6:5: Network/n: metadata.labels.a: {message}",
            f"{f}:9:5: Network/n: spec.labels.b: {message}",
        ]

    def test_service_label_key_with_the_reserved_prefix(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "  labels:\n    reconciler.swarm/managed-by: me\n")
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            5,
            "Service/web",
            "spec.labels.reconciler.swarm/managed-by",
            "reserved for the reconciler",
        )

    @pytest.mark.parametrize(
        ("document", "expected"),
        [
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: "x\\n/etc/passwd:1:1: -: -: forged"\n',
                "4:3: Network/x\\n/etc/passwd:1:1: -: -: forged: metadata.name: "
                f"'x\\n/etc/passwd:1:1: -: -: forged' does not match the pattern {NAME_PATTERN}",
            ),
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: "x\\e[2J\\e[31m"\n',
                f"4:3: Network/x\\x1b[2J\\x1b[31m: metadata.name: 'x\\x1b[2J\\x1b[31m' does not match the pattern {NAME_PATTERN}",
            ),
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  "bad\\nkey": 1\n',
                "6:3: Network/a: spec.bad\\nkey: unknown field",
            ),
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  "\\x85\\u2028\\u202e\\x9b\\x07ü": 1\n',
                "6:3: Network/a: spec.\\x85\\u2028\\u202e\\x9b\\x07ü: unknown field",
            ),
        ],
        ids=["newline-in-name", "escape-in-name", "newline-in-key", "c1-line-and-bidi-controls"],
    )
    def test_user_text_in_subject_or_field_cannot_break_the_line(
        self, tmp_path: Path, document: str, expected: str
    ) -> None:
        f = write(tmp_path, "a.yaml", document)
        result = run(tmp_path)
        assert only_problem(result) == f"{f}:{expected}"  # exactly one line, control characters escaped
        assert "\x1b" not in result.stderr

    def test_json_output_keeps_the_raw_values(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f'{HEAD}kind: Network\nmetadata:\n  name: "x\\n\\e[31m"\nspec:\n  "k\\tü": 1\n')
        result = run(tmp_path, output="json")
        assert result.exit_code == 1
        assert "\x1b" not in result.stdout  # JSON escapes it (as \u001b)
        problems = json.loads(result.stdout)["problems"]
        assert [(p["object"], p["field"], p["message"]) for p in problems] == [
            ("Network/x\n\x1b[31m", "metadata.name", f"'x\\n\\x1b[31m' does not match the pattern {NAME_PATTERN}"),
            ("Network/x\n\x1b[31m", "spec.k\tü", "unknown field"),
        ]

    def test_text_that_looks_like_rich_markup_or_emoji_prints_as_is(self, tmp_path: Path) -> None:
        f = write(
            tmp_path, "a.yaml", f'{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  ":smile: [red]x[/red]": 1\n'
        )
        assert only_problem(run(tmp_path)) == f"{f}:6:3: Network/a: spec.:smile: [red]x[/red]: unknown field"

    def test_problem_text_escapes_control_characters_only(self) -> None:
        problem = ManifestProblem(Position("a\nb.yaml", 1, 2), "Network/ü\r", "x\x00\x7f", "tab\there \x9b é \\n")
        assert str(problem) == "a\\nb.yaml:1:2: Network/ü\\r: x\\x00\\x7f: tab\\there \\x9b é \\n"
        assert problem.subject == "Network/ü\r"  # the data stays raw

    @pytest.mark.parametrize("where", ["labels", "annotations"])
    def test_metadata_label_and_annotation_keys_are_checked(self, tmp_path: Path, where: str) -> None:
        f = write(tmp_path, "a.yaml", f'{HEAD}kind: Network\nmetadata:\n  name: a\n  {where}:\n    "a\\nb": x\n')
        assert only_problem(run(tmp_path)) == (
            f"{f}:6:5: Network/a: metadata.{where}.a\\nb: 'a\\nb' is not a valid label key "
            "(letters, digits, '.', '_', '/', '-', at most 253)"
        )

    def test_adopt_annotation_and_prefixed_metadata_keys_are_allowed(self, tmp_path: Path) -> None:
        write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Network\nmetadata:\n  name: a\n  labels:\n    team.example.org/owner: ops\n"
            '  annotations:\n    reconciler.swarm/adopt: "true"\n',
        )
        assert run(tmp_path).exit_code == 0


# ---------------------------------------------------------------------------------- hostile files


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


class TestHostileFiles:
    def test_yaml_bomb_fails_quickly(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", BILLION_LAUGHS)
        started = time.monotonic()
        result = run(tmp_path)
        assert time.monotonic() - started < 10  # a no-hang check, not a benchmark
        assert only_problem(result) == f"{f}:1:1: -: -: more than 100000 values (counting alias expansions)"

    def test_too_many_values_without_aliases(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "a: [" + "1," * 100_000 + "1]\n")  # 200 KB: no aliases, no bomb
        assert only_problem(run(tmp_path)) == f"{f}:1:1: -: -: more than 100000 values (counting alias expansions)"

    def test_self_referencing_alias(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "a: &a [*a]\n")
        assert only_problem(run(tmp_path)) == f"{f}:1:1: -: -: nested deeper than 64 levels"

    def test_huge_sparse_file_is_refused_without_reading_it(self, tmp_path: Path) -> None:
        path = tmp_path / "big.yaml"
        with path.open("wb") as handle:
            handle.truncate(100 * 1024 * 1024)
        tracemalloc.start()
        try:
            started = time.monotonic()
            result = run(tmp_path)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert only_problem(result) == f"{path}:1:1: -: -: file is larger than 1024 KiB: not a manifest"
        assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the file was read whole"
        assert elapsed < 10

    def test_binary_garbage_with_nul_bytes(self, tmp_path: Path) -> None:
        garbage = random.Random(1234).randbytes(64 * 1024) + b"\x00"
        f = write(tmp_path, "a.yaml", garbage)
        assert only_problem(run(tmp_path)) == f"{f}:1:1: -: -: file contains NUL bytes: binary, not YAML"

    def test_binary_garbage_without_nul_bytes(self, tmp_path: Path) -> None:
        garbage = bytes(random.Random(99).randrange(1, 256) for _ in range(16 * 1024))
        f = write(tmp_path, "a.yaml", garbage)
        check(only_problem(run(tmp_path)), f, 1, 1, "-", "-")

    def test_non_utf8_file_points_at_the_bad_byte(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: café\n".encode("latin-1"))
        assert only_problem(run(tmp_path)) == f"{f}:4:12: -: -: not valid UTF-8 (byte 0xe9)"

    def test_non_utf8_column_counts_characters(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", HEAD.encode() + b"kind: Network\nmetadata:\n  name: \xc3\xbc\xe9\n")
        assert only_problem(run(tmp_path)) == f"{f}:4:10: -: -: not valid UTF-8 (byte 0xe9)"

    @pytest.mark.parametrize(
        ("content", "row", "column"),
        [
            (b"\xef\xbb\xbfa: \xff\n", 1, 4),  # the BOM is not a column
            (b"a: 1\r\nb: \xff\n", 2, 4),  # CRLF is one line break
            (b"a: 1\rb: 2\xc2\x85c: 3\xe2\x80\xa8d: \xff\n", 4, 4),  # CR, NEL and LS break lines, as in libyaml
        ],
        ids=["bom", "crlf", "cr-nel-ls"],
    )
    def test_non_utf8_position_counts_lines_as_yaml_does(
        self, tmp_path: Path, content: bytes, row: int, column: int
    ) -> None:
        f = write(tmp_path, "a.yaml", content)
        assert only_problem(run(tmp_path)) == f"{f}:{row}:{column}: -: -: not valid UTF-8 (byte 0xff)"

    @pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
    def test_deeply_nested_document(self, tmp_path: Path, opener: str) -> None:
        f = write(tmp_path, "a.yaml", opener * 100_000 + "\n")
        started = time.monotonic()
        line = only_problem(run(tmp_path))
        assert time.monotonic() - started < 10
        assert line == f"{f}:1:1: -: -: nested deeper than 64 levels"

    def test_output_is_bounded_for_many_aliased_bad_values(self, tmp_path: Path) -> None:
        """Guard for the amplification case below: the same trick on a field that does not echo values."""
        big = "x" * 10_000
        write(
            tmp_path,
            "a.yaml",
            f"{ROUTE}  pathPrefix: &a /{big}\n  hosts: [" + ",".join(["*a"] * 2000) + "]\n",
        )
        # `hosts` refuses long values without echoing them: 2000 short lines
        with pytest.raises(ManifestError) as caught:
            load_manifests(tmp_path)
        assert len(str(caught.value)) < 1024 * 1024

    def test_error_output_is_bounded(self, tmp_path: Path) -> None:
        big = "x" * 10_000
        f = write(
            tmp_path,
            "a.yaml",
            f"{SERVICE_WEB}  user: &a {big}\n  capAdd: [" + ",".join(["*a"] * 2000) + "]\n",
        )
        with pytest.raises(ManifestError) as caught:
            load_manifests(tmp_path)
        assert len(str(caught.value)) < 16 * 1024
        lines = str(caught.value).splitlines()
        assert len(lines) == MAX_PROBLEMS + 1
        quoted = "'" + "x" * 78 + "…"  # the value's repr, cut to 80 characters
        # an alias's problems point at the anchored value (line 7), each with its own field path
        assert lines[0] == (
            f"{f}:7:9: Service/web: spec.capAdd[0]: {quoted} is not a capability such as NET_ADMIN or CAP_NET_ADMIN"
        )
        assert all(len(line) < 300 for line in lines)
        assert lines[-1] == f"{f}:7:9: -: -: ... and 1980 more problems in this file"

    def test_long_values_are_cut_in_pattern_messages(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{SERVICE_WEB}  user: '{'x' * 10_000}!'\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:7:3: Service/web: spec.user: '{'x' * 78}… does not match the pattern "
            "^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$"
        )


# ----------------------------------------------------------------------------------- YAML features


class TestYamlFeatures:
    def test_duplicate_mapping_keys(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n  name: b\n")
        assert only_problem(run(tmp_path)) == f"{f}:5:3: -: metadata.name: duplicate key 'name'"

    def test_merge_keys(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  <<: {{attachable: true}}\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:6:3: -: spec: merge keys (<<) are not supported: write the fields out"
        )

    def test_python_tag_on_a_scalar(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: !!python/name:os.system a\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:4:9: -: -: invalid YAML: unsupported YAML value: could not determine a constructor "
            "for the tag 'tag:yaml.org,2002:python/name:os.system'"
        )

    @pytest.mark.parametrize(
        ("document", "expected"),
        [
            (
                f"--- !!python/object:os.system\n{HEAD}kind: Network\nmetadata:\n  name: a\n",
                "1:5: -: -: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system': "
                "only plain mappings are allowed",
            ),
            (
                f"{HEAD}kind: Network\nmetadata: !!python/object:os.system\n  name: a\n",
                "3:11: -: metadata: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system': "
                "only plain mappings are allowed",
            ),
            (
                f"{ROUTE}  hosts: !!python/object/apply:os.system [a.example.org]\n",
                "8:10: -: spec.hosts: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system': "
                "only plain sequences are allowed",
            ),
            (
                f"{HEAD}kind: Network\nmetadata: !custom\n  name: a\n",
                "3:11: -: metadata: unsupported YAML tag '!custom': only plain mappings are allowed",
            ),
            (
                f"{HEAD}kind: Network\nmetadata: !!seq\n  name: a\n",
                "3:11: -: metadata: unsupported YAML tag 'tag:yaml.org,2002:seq': only plain mappings are allowed",
            ),
        ],
        ids=["document", "mapping", "sequence", "local-tag", "seq-tag-on-a-mapping"],
    )
    def test_python_object_tag_on_a_collection(self, tmp_path: Path, document: str, expected: str) -> None:
        f = write(tmp_path, "a.yaml", document)
        assert only_problem(run(tmp_path)) == f"{f}:{expected}"

    def test_explicit_standard_collection_tags_are_fine(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f"--- !!map\n{ROUTE}  hosts: !!seq [a.example.org]\n")
        assert run(tmp_path).exit_code == 0

    def test_tagged_collection_behind_aliases_is_reported_once(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Network\nmetadata:\n  name: a\n  labels: &l !custom {{a: b}}\n"
            "  annotations: *l\nspec:\n  labels: *l\n",
        )
        assert only_problem(run(tmp_path)) == (
            f"{f}:5:11: -: metadata.labels: unsupported YAML tag '!custom': only plain mappings are allowed"
        )

    def test_binary_tag(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec: !!binary aGVsbG8=\n")
        assert f"{f}:5:7: -: spec: binary (!!binary) values are not supported" in problem_lines(run(tmp_path))

    def test_non_string_mapping_key(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n  1: b\n")
        assert only_problem(run(tmp_path)) == f"{f}:5:3: -: metadata: mapping keys must be plain strings"

    def test_timestamps_stay_strings(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n  labels:\n    since: 2024-01-01\n")
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "1 manifests valid (1 Network).\n"


# -------------------------------------------------------------------------- Config and Secret files


CONFIG = f"{HEAD}kind: Config\nmetadata:\n  name: c\nspec:\n  file: "  # `file:` on line 6, value at col 9


class TestContentFiles:
    def test_missing_file(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", CONFIG + "missing.ini\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:6:3: Config/c: spec.file: cannot read missing.ini: No such file or directory"
        )

    def test_file_relative_to_the_manifest_folder(self, tmp_path: Path) -> None:
        write(tmp_path, "conf/app.ini", "x=1\n")
        write(tmp_path, "conf/a.yaml", CONFIG + "app.ini\n")
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr

    @pytest.mark.parametrize("path", ["../outside.ini", "a/../../outside.ini", "/etc/passwd"])
    def test_path_escaping_the_root_is_refused_by_the_model(self, tmp_path: Path, path: str) -> None:
        f = write(tmp_path, "a.yaml", CONFIG + path + "\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:6:3: Config/c: spec.file: {path!r} must be a path relative to the manifest's folder, without '..'"
        )

    def test_symlink_escaping_the_root_is_refused_by_the_loader(self, tmp_path: Path) -> None:
        root, outside = tmp_path / "root", tmp_path / "outside.ini"
        outside.write_text("secret\n")
        f = write(root, "a.yaml", CONFIG + "link.ini\n")
        (root / "link.ini").symlink_to(outside)
        assert only_problem(run(root)) == f"{f}:6:3: Config/c: spec.file: file is outside the manifest root"

    def test_folder_is_not_a_file(self, tmp_path: Path) -> None:
        (tmp_path / "sub").mkdir()
        f = write(tmp_path, "a.yaml", CONFIG + "sub\n")
        assert only_problem(run(tmp_path)) == f"{f}:6:3: Config/c: spec.file: cannot read sub: not a regular file"

    def test_secret_with_inline_data_is_refused(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Secret\nmetadata:\n  name: s\nspec:\n  data: hunter2\n")
        lines = problem_lines(run(tmp_path))
        assert f"{f}:6:3: Secret/s: spec.data: unknown field" in lines

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
    def test_file_that_is_a_named_pipe_does_not_hang(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "pipe")
        f = write(tmp_path, "a.yaml", CONFIG + "pipe\n")
        code = (
            "import sys\nfrom reconciler.manifests.errors import ManifestError\n"
            "from reconciler.manifests.loading import load_manifests\n"
            "try:\n    load_manifests(sys.argv[1])\nexcept ManifestError as e:\n    print(e)\n"
        )
        # in a child process with a timeout: a regression hangs that child, not the test run
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=30
        )
        assert done.stdout == f"{f}:6:3: Config/c: spec.file: cannot read pipe: not a regular file\n"

    @pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
    def test_file_that_is_a_socket_is_refused(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", CONFIG + "sock\n")
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(tmp_path / "sock"))
            assert only_problem(run(tmp_path)) == f"{f}:6:3: Config/c: spec.file: cannot read sock: not a regular file"


# ----------------------------------------------------------------------------- paths and discovery


class TestPaths:
    def test_empty_folder(self, tmp_path: Path) -> None:
        assert only_problem(run(tmp_path)) == f"{tmp_path}:1:1: -: -: no manifests (*.yaml, *.yml) found"

    def test_folder_with_only_hidden_and_other_files(self, tmp_path: Path) -> None:
        write(tmp_path, ".hidden.yaml", "not: [valid\n")
        write(tmp_path, ".git/config.yaml", "not: [valid\n")
        write(tmp_path, "notes.txt", "not: [valid\n")
        assert only_problem(run(tmp_path)) == f"{tmp_path}:1:1: -: -: no manifests (*.yaml, *.yml) found"

    def test_only_empty_documents(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", "---\n# nothing\n---\n")
        assert only_problem(run(tmp_path)) == f"{tmp_path}:1:1: -: -: no manifests (*.yaml, *.yml) found"

    def test_non_existent_path(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope"
        assert only_problem(run(missing)) == f"{missing}:1:1: -: -: no such file or folder"

    def test_symlinks_leaving_the_root_are_refused(self, tmp_path: Path) -> None:
        root, outside = tmp_path / "root", tmp_path / "outside"
        write(outside, "x.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: x\n")
        write(root, "ok.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: ok\n")
        (root / "file.yaml").symlink_to(outside / "x.yaml")
        (root / "folder").symlink_to(outside)
        message = "symlink points outside the manifest root: refused"
        assert problem_lines(run(root)) == [
            f"{root}/file.yaml:1:1: -: -: {message}",
            f"{root}/folder:1:1: -: -: {message}",
        ]

    def test_symlink_loop_inside_the_root_terminates(self, tmp_path: Path) -> None:
        write(tmp_path, "sub/a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n")
        (tmp_path / "sub" / "loop").symlink_to(tmp_path)
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr

    def test_dangling_symlink(self, tmp_path: Path) -> None:
        (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
        assert only_problem(run(tmp_path)) == f"{tmp_path}/gone.yaml:1:1: -: -: not a readable file"

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
    def test_manifest_that_is_a_named_pipe_is_not_opened(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "pipe.yaml")
        write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n")
        assert only_problem(run(tmp_path)) == f"{tmp_path}/pipe.yaml:1:1: -: -: not a readable file"

    def test_single_file_path(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: web\nspec:\n  bogus: 1\n")
        write(tmp_path, "b.yaml", "not: [valid\n")  # not read: only the named file is
        assert only_problem(run(f)) == f"{f}:6:3: Network/web: spec.bogus: unknown field"


# ---------------------------------------------------------------------------------------- reporting


def _broken_tree(root: Path) -> list[str]:
    """Several broken files; returns the expected problem lines in their sorted order."""
    a = write(
        root,
        "a.yaml",
        f"{HEAD}kind: Network\nmetadata:\n  name: Bad_Name\n---\n{HEAD}kind: Network\nmetadata:\n"
        "  name: ok\nspec:\n  attachable: true\n  colour: blue\n",
    )  # problems on lines 4 and 12: sorted as numbers, not as text
    c = write(root, "c.yml", f"{HEAD}kind: Gadget\nmetadata:\n  name: g\n")
    b = write(root, "sub/b.yaml", "apiVersion: [unclosed\n")
    write(root, ".hidden.yaml", "[also broken but skipped\n")
    return [
        f"{a}:4:3: Network/Bad_Name: metadata.name: 'Bad_Name' does not match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        f"{a}:12:3: Network/ok: spec.colour: unknown field",
        f"{c}:2:1: Gadget/g: kind: unknown kind 'Gadget': expected one of {KIND_LIST}",
        f"{b}:2:1: -: -: invalid YAML: did not find expected ',' or ']'",
    ]


class TestReporting:
    def test_all_problems_of_all_files_are_reported_sorted(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = run(tmp_path)
        assert problem_lines(result) == expected
        assert ".hidden" not in result.stderr

    def test_problems_per_file_are_capped(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            "".join(f"{HEAD}kind: Network\nmetadata:\n  name: n{i}\n  name: x\n---\n" for i in range(25)),
        )
        lines = problem_lines(run(tmp_path))
        assert len(lines) == 21
        assert lines[0] == f"{f}:5:3: -: metadata.name: duplicate key 'name'"
        # the note takes the position of the 20th problem shown (document 20, line 5)
        assert f"{f}:119:3: -: -: ... and 5 more problems in this file" in lines

    def test_capped_note_comes_last(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            "".join(f"{HEAD}kind: Network\nmetadata:\n  name: n{i}\n  name: x\n---\n" for i in range(25)),
        )
        lines = problem_lines(run(tmp_path))
        assert lines[-2] == f"{f}:119:3: -: metadata.name: duplicate key 'name'"
        assert lines[-1] == f"{f}:119:3: -: -: ... and 5 more problems in this file"

    def test_validation_problems_are_capped_per_file_too(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n" + "".join(f"  x{i:02}: 1\n" for i in range(30)),
        )
        lines = problem_lines(run(tmp_path))
        assert lines[0] == f"{f}:6:3: Network/a: spec.x00: unknown field"
        assert lines[MAX_PROBLEMS - 1] == f"{f}:25:3: Network/a: spec.x19: unknown field"
        assert lines[MAX_PROBLEMS:] == [f"{f}:25:3: -: -: ... and 10 more problems in this file"]

    def test_problems_per_run_are_capped_but_every_file_keeps_its_first(self, tmp_path: Path) -> None:
        bad = f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n" + "".join(f"  x{i:02}: 1\n" for i in range(25))
        files = [write(tmp_path, f"f{n:02}.yaml", bad) for n in range(15)]  # 15 x 25 = 375 problems
        lines = problem_lines(run(tmp_path))
        # 200 shared out in file order: 14 each for the first 5 files, 13 for the other 10
        for n, f in enumerate(files):
            mine = [line for line in lines if line.startswith(f"{f}:")]
            shown = 14 if n < 5 else 13
            assert len(mine) == shown + 1
            assert mine[0] == f"{f}:6:3: Network/a: spec.x00: unknown field"
            assert mine[-1] == f"{f}:{5 + shown}:3: -: -: ... and {25 - shown} more problems in this file"
        assert len(lines) == MAX_PROBLEMS_PER_RUN + 15 + 1
        assert lines[-1] == (
            f"{tmp_path}:1:1: -: -: ... 175 problems in all were left out: "
            f"at most {MAX_PROBLEMS} per file and {MAX_PROBLEMS_PER_RUN} per run are listed"
        )

    def test_every_file_is_reported_even_past_the_run_cap(self, tmp_path: Path) -> None:
        files = [
            write(tmp_path, f"f{n:03}.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: n{n}\nspec:\n  x: 1\n")
            for n in range(MAX_PROBLEMS_PER_RUN + 10)
        ]
        lines = problem_lines(run(tmp_path))
        assert lines == [f"{f}:6:3: Network/n{n}: spec.x: unknown field" for n, f in enumerate(files)]

    def test_json_output_lists_every_problem(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = run(tmp_path, output="json")
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert report["valid"] is False
        problems = report["problems"]
        assert all(set(p) == {"file", "line", "column", "object", "field", "message"} for p in problems)
        as_text = [
            f"{p['file']}:{p['line']}:{p['column']}: {p['object']}: {p['field']}: {p['message']}" for p in problems
        ]
        assert as_text == expected
        assert problems[1] == {
            "file": str(tmp_path / "a.yaml"),
            "line": 12,
            "column": 3,
            "object": "Network/ok",
            "field": "spec.colour",
            "message": "unknown field",
        }

    def test_json_output_for_a_missing_path(self, tmp_path: Path) -> None:
        result = run(tmp_path / "nope", output="json")
        assert result.exit_code == 1
        assert json.loads(result.stdout)["problems"] == [
            {
                "file": str(tmp_path / "nope"),
                "line": 1,
                "column": 1,
                "object": "-",
                "field": "-",
                "message": "no such file or folder",
            }
        ]


# ------------------------------------------------------------------- through the `reconciler` group


class TestThroughTheCommandGroup:
    def test_global_json_option(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = _runner().invoke(cli, ["-o", "json", "validate", str(tmp_path)])
        assert result.exit_code == 1, result.output
        problems = json.loads(result.stdout)["problems"]
        assert [
            f"{p['file']}:{p['line']}:{p['column']}: {p['object']}: {p['field']}: {p['message']}" for p in problems
        ] == expected

    def test_text_output(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = _runner().invoke(cli, ["validate", str(tmp_path)])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [*expected, f"{len(expected)} problem(s) found."]

    @pytest.mark.parametrize(
        "content",
        [BILLION_LAUGHS.encode(), b"[" * 100_000, random.Random(7).randbytes(4096), "café: x\n".encode("latin-1")],
        ids=["bomb", "nesting", "garbage", "latin-1"],
    )
    def test_no_traceback_from_the_real_command(self, tmp_path: Path, content: bytes) -> None:
        write(tmp_path, "a.yaml", content)
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "validate", str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert done.stderr.startswith(f"{tmp_path}/a.yaml:1:")


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
