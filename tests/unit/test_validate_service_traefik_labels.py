"""A Service cannot configure Traefik through its own labels: ``traefik.*`` keys (any case) in
``labels`` or ``containerLabels`` are refused at validate with ``file:line`` and a pointer to Route and
Middleware manifests, as are ``reconciler.swarm/*`` keys.

Issue 14: such a label bypassed every Route guarantee (another route's router name or host claimed
with top priority, an undeclared catch-all ``HostRegexp``), and one with the key of a Route's label
was silently dropped. The README's "Choices where the SPEC is silent" records the choice: refuse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.validation_helpers import SERVICE_WEB, check, only_problem, run, write

HINT = "traefik.* labels are made from Route and Middleware manifests"


@pytest.mark.parametrize(
    "key",
    [
        "traefik.http.routers.other.rule",  # another route's router
        "traefik.http.routers.mine.priority",
        "traefik.enable",
        "Traefik.HTTP.Routers.x.rule",  # Traefik's label parser ignores case
        "traefik.http.middlewares.hsts.headers.stsSeconds",
    ],
)
@pytest.mark.parametrize("field", ["labels", "containerLabels"])
def test_traefik_keys_in_service_labels_are_refused(tmp_path: Path, key: str, field: str) -> None:
    name = write(tmp_path, "web.yaml", SERVICE_WEB + f"  {field}:\n    team: web\n    {key}: 'HostRegexp(`.+`)'\n")
    line = only_problem(run(tmp_path))
    check(line, name, 9, 5, "Service/web", f"spec.{field}.{key}", HINT, "Route", "Middleware")


def test_reserved_keys_in_service_labels_are_refused(tmp_path: Path) -> None:
    name = write(tmp_path, "web.yaml", SERVICE_WEB + "  labels:\n    reconciler.swarm/managed-by: someone\n")
    line = only_problem(run(tmp_path))
    check(line, name, 8, 5, "Service/web", "spec.labels.reconciler.swarm/managed-by", "reserved for the reconciler")


@pytest.mark.parametrize("key", ["traefikish.note", "com.example.traefik.note", "my-traefik"])
def test_keys_that_only_mention_traefik_are_accepted(tmp_path: Path, key: str) -> None:
    write(tmp_path, "web.yaml", SERVICE_WEB + f"  labels:\n    {key}: x\n  containerLabels:\n    {key}: x\n")
    result = run(tmp_path)
    assert result.exit_code == 0, result.stderr
