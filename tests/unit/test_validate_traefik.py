"""Traefik manifests checked the way Traefik v3 reads them: chain middlewares followed to their
members (rendered on the service; unknown or recursive ones refused), each middleware's options
against Traefik's own option table (misspellings with "did you mean", options removed in v3 with
their replacement, deprecated ones as warnings), wildcard hosts rendered with ``HostRegexp`` (and a
warning when one outranks a specific host's route).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests import traefik_options
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.loading import load_manifests
from reconciler.render.service_spec import service_spec
from tests.unit.validation_helpers import HEAD, SERVICE_WEB, check, only_problem, problem_lines, run, write


def middleware(name: str, type_: str, options: str = "") -> str:
    body = f"  options:\n{options}" if options else ""
    return f"{HEAD}kind: Middleware\nmetadata:\n  name: {name}\nspec:\n  type: {type_}\n{body}"  # options on 8+


def route(middlewares: str, hosts: str = "[a.example.org]", name: str = "web", extra: str = "") -> str:
    return (
        f"{HEAD}kind: Route\nmetadata:\n  name: {name}\nspec:\n  service: web\n  port: 80\n"
        f"  hosts: {hosts}\n  middlewares: {middlewares}\n{extra}"
    )


HSTS = middleware("hsts", "headers", "    stsSeconds: 31536000\n")
GZIP = middleware("gzip", "compress")


class TestChains:
    def test_every_member_of_a_chain_is_rendered_on_the_service(self, tmp_path: Path) -> None:
        chain = middleware("secure", "chain", "    middlewares: [hsts, gzip, auth@file]\n")
        write(tmp_path, "a.yaml", "---\n".join([SERVICE_WEB, HSTS, GZIP, chain, route("[secure]")]))
        manifests = load_manifests(tmp_path)
        [web] = manifests.of_kind(Service)
        labels = service_spec(web, manifests)["Labels"]
        assert labels["traefik.http.routers.web.middlewares"] == "secure"
        assert labels["traefik.http.middlewares.secure.chain.middlewares"] == "hsts,gzip,auth@file"
        assert labels["traefik.http.middlewares.hsts.headers.stsSeconds"] == "31536000"
        assert labels["traefik.http.middlewares.gzip.compress"] == "true"

    def test_a_chain_naming_a_middleware_that_exists_nowhere(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", middleware("secure", "chain", "    middlewares: [hsts, nope]\n") + "---\n" + HSTS)
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            25,
            "Middleware/secure",
            "spec.options.middlewares[1]",
            "Middleware/nope is not declared in the manifests",
        )

    def test_a_chain_that_runs_into_itself(self, tmp_path: Path) -> None:
        a = middleware("a", "chain", "    middlewares: [b]\n")
        b = middleware("b", "chain", "    middlewares: [a]\n")
        f = write(tmp_path, "a.yaml", a + "---\n" + b)
        lines = [line for line in run(tmp_path).stderr.splitlines() if "runs into itself" in line]
        assert lines and lines[0].startswith(f"{f}:8:19: Middleware/a: spec.options.middlewares[0]: ")
        assert "a -> b -> a" in lines[0]

    def test_a_chain_member_that_is_no_name(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", middleware("c", "chain", "    middlewares: [Bad_Name]\n"))
        check(only_problem(run(tmp_path)), f, 8, 19, "Middleware/c", "spec.options.middlewares[0]", "not a Middleware")


class TestOptions:
    def test_a_misspelt_option(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", middleware("hsts", "headers", "    stsIncludeSubdomain: true\n"))
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            5,
            "Middleware/hsts",
            "spec.options.stsIncludeSubdomain",
            f"Traefik {traefik_options.TRAEFIK_VERSION} has no option 'stsIncludeSubdomain' in headers",
            "did you mean stsIncludeSubdomains?",
        )

    def test_option_names_are_matched_case_insensitively_like_traefik(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", middleware("hsts", "headers", "    stsincludesubdomains: true\n"))
        assert run(tmp_path).exit_code == 0

    @pytest.mark.parametrize(
        ("type_", "option", "replacement"),
        [
            ("headers", "sslRedirect: true", "please use EntryPoint redirection or RedirectScheme instead"),
            ("headers", "featurePolicy: camera 'none'", "please use PermissionsPolicy instead"),
            ("stripPrefix", "forceSlash: true", "please remove any usage of this option"),
        ],
    )
    def test_an_option_removed_in_v3(self, tmp_path: Path, type_: str, option: str, replacement: str) -> None:
        f = write(tmp_path, "a.yaml", middleware("m", type_, f"    {option}\n"))
        name = option.split(":")[0]
        check(
            only_problem(run(tmp_path)),
            f,
            8,
            5,
            "Middleware/m",
            f"spec.options.{name}",
            f"{name} was removed in Traefik v3 and does nothing",
            replacement,
        )

    def test_a_nested_option(self, tmp_path: Path) -> None:
        f = write(
            tmp_path, "a.yaml", middleware("m", "forwardAuth", "    address: http://a\n    tls: {caOptional: true}\n")
        )
        check(
            only_problem(run(tmp_path)),
            f,
            9,
            11,
            "Middleware/m",
            "spec.options.tls.caOptional",
            "removed in Traefik v3",
        )

    @pytest.mark.parametrize(
        ("options", "field", "message"),
        [
            ("    customRequestHeaders: [a]\n", "customRequestHeaders", "takes a mapping of names to values"),
            ("    stsSeconds: {a: 1}\n", "stsSeconds", "takes a single value"),
        ],
    )
    def test_an_option_of_the_wrong_shape(self, tmp_path: Path, options: str, field: str, message: str) -> None:
        f = write(tmp_path, "a.yaml", middleware("m", "headers", options))
        check(only_problem(run(tmp_path)), f, 8, 5, "Middleware/m", f"spec.options.{field}", message)

    def test_allow_empty_options_take_true(self, tmp_path: Path) -> None:
        write(
            tmp_path, "a.yaml", middleware("m", "ipAllowList", "    sourceRange: [10.0.0.0/8]\n    ipStrategy: true\n")
        )
        assert run(tmp_path).exit_code == 0

    def test_a_deprecated_option_is_a_warning(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", middleware("m", "contentType", "    autoDetect: true\n"))
        result = run(tmp_path)
        assert result.exit_code == 0
        assert f"{f}:8:5: warning: Middleware/m: spec.options.autoDetect: autoDetect is deprecated" in result.stderr

    @pytest.mark.parametrize(
        ("type_", "message"),
        [
            ("header", "did you mean headers?"),
            (
                "ipWhiteList",
                "'ipWhiteList' is deprecated in Traefik v3: please use IPAllowList instead (write type: ipAllowList)",
            ),
        ],
    )
    def test_an_unknown_middleware_type(self, tmp_path: Path, type_: str, message: str) -> None:
        f = write(tmp_path, "a.yaml", middleware("m", type_))
        check(only_problem(run(tmp_path)), f, 6, 3, "Middleware/m", "spec.type", message)

    def test_the_table_names_its_source(self) -> None:
        doc = traefik_options.__doc__ or ""
        assert traefik_options.TRAEFIK_VERSION.startswith("v3.")
        assert "pkg/config/dynamic/middlewares.go" in doc and traefik_options.TRAEFIK_VERSION in doc
        assert "sslRedirect" in traefik_options.OPTIONS["headers"]  # parsed, but removed in v3:
        assert "headers.sslRedirect" in traefik_options.REMOVED_IN_V3


class TestWildcardHosts:
    def test_a_wildcard_is_rendered_with_host_regexp(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", SERVICE_WEB + "---\n" + route("[]", "['*.example.org']"))
        manifests = load_manifests(tmp_path)
        [web] = manifests.of_kind(Service)
        rule = service_spec(web, manifests)["Labels"]["traefik.http.routers.web.rule"]
        assert rule == "HostRegexp(`^[a-z0-9-]+\\.example\\.org$`)"

    @pytest.mark.parametrize("host", ["a.*.example.org", "*.org", "**.example.org", "*example.org"])
    def test_a_wildcard_is_only_a_first_label_before_a_domain(self, tmp_path: Path, host: str) -> None:
        f = write(tmp_path, "a.yaml", SERVICE_WEB + "---\n" + route("[]", f"['{host}']"))
        check(only_problem(run(tmp_path)), f, 15, 11, "Route/web", "spec.hosts[0]", "is not a valid lowercase DNS name")

    def test_a_wildcard_that_outranks_a_specific_route(self, tmp_path: Path) -> None:
        wild = route("[]", "['*.example.org']", name="wild")
        f = write(tmp_path, "a.yaml", "---\n".join([SERVICE_WEB, wild, route("[]", "[app.example.org]", name="app")]))
        result = run(tmp_path)
        assert result.exit_code == 0
        [line] = [x for x in result.stderr.splitlines() if "warning" in x]
        assert line.startswith(f"{f}:25:11: warning: Route/app: spec.hosts[0]: Route/wild's wildcard also matches")
        assert "set `priority` above 40" in line

    def test_a_specific_route_with_a_higher_priority_is_fine(self, tmp_path: Path) -> None:
        wild = route("[]", "['*.example.org']", name="wild")
        app = route("[]", "[app.example.org]", name="app", extra="  priority: 100\n")
        write(tmp_path, "a.yaml", "---\n".join([SERVICE_WEB, wild, app]))
        assert "warning" not in run(tmp_path).stderr


def test_every_unknown_middleware_option_is_reported_in_one_run(tmp_path: Path) -> None:
    """A newcomer fixed one unknown option per run: all of them, and the options that cannot become
    a label, are reported at once, each at its own line."""
    f = write(
        tmp_path,
        "a.yaml",
        f"{HEAD}kind: Middleware\nmetadata:\n  name: m\nspec:\n  type: headers\n  options:\n"
        "    stsSecond: 1\n    frameDenyy: true\n    colour: blue\n    customRequestHeaders: {X-A: null}\n",
    )
    lines = problem_lines(run(tmp_path))
    assert len(lines) == 4, lines
    version = traefik_options.TRAEFIK_VERSION
    check(lines[0], f, 8, 5, "Middleware/m", "spec.options.stsSecond", f"Traefik {version} has no option 'stsSecond'",
          "did you mean stsSeconds?")  # fmt: skip
    check(lines[1], f, 9, 5, "Middleware/m", "spec.options.frameDenyy", "did you mean frameDeny?")
    check(lines[2], f, 10, 5, "Middleware/m", "spec.options.colour", "has no option 'colour' in headers")
    check(lines[3], f, 11, 28, "Middleware/m", "spec.options.customRequestHeaders.X-A",
          "null is not a value: write a value or remove the option")  # fmt: skip
