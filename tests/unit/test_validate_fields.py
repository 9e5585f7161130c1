"""``reconciler validate`` on one manifest's fields: required and unknown fields, names, and every value
that could inject into what the manifests turn into (Traefik rules, keepalived.conf, mount options,
labels): each is refused with a problem line pointing at the value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.validation_helpers import HEAD, ROUTE, SERVICE_WEB, check, only_problem, problem_lines, run, vip, write


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
        check(
            lines[1],
            f,
            3,
            31,
            "Network/üü",
            "metadata.labels.a",
            "expected a string, not a number (1): write it in quotes, '1'",
        )
        assert lines[2] == f"{f}:3:38: Network/üü: metadata.x: unknown field"


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
            f"{f}:8:3: VirtualIP/one: spec.routerId: 300 is out of range: write a number at most 255"
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
        # `a` is also no option of headers (reported too, in the same run): the line about `field`.
        (line,) = [line for line in problem_lines(run(tmp_path)) if f": {field}: " in line]
        check(line, f, row, column, "Middleware/m", field, message)

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
