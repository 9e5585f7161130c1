"""Two things ``docker stack deploy`` sends that the Service kind states as they are: a network alias
that is a DNS name with dots (``odd.internal``) and an anonymous volume (compose's ``- /data``,
docker-cli ``convert/volume.go``: a volume mount with no ``Source`` and no options)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.manifests.kinds.service import Mount, NetworkAttachment, Service
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.render.service_spec import service_spec


def _service(spec: dict[str, Any], namespace: str | None = None) -> Service:
    metadata = {"name": "odd", **({"namespace": namespace} if namespace else {})}
    return Service.model_validate(
        {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "Service", "metadata": metadata, "spec": spec}
    )


@pytest.mark.parametrize("alias", ["db", "odd.internal", "web_app", "A.b-c", "x" * 63, ".".join(["a" * 63] * 4)[:253]])
def test_a_network_alias_is_a_dns_name(alias: str) -> None:
    assert NetworkAttachment.model_validate({"name": "n", "aliases": [alias]}).aliases == [alias]


@pytest.mark.parametrize(
    "alias",
    ["", "a b", "odd.", ".odd", "a..b", "-a", "a-", "x\x1b[2J", "a\nb", "x" * 64, "é", "a/b", "a" + ".a" * 127],
)
def test_a_network_alias_that_is_no_dns_name_is_refused(alias: str) -> None:
    with pytest.raises(ValidationError, match=r"a network alias: a DNS name such as db or db\.internal|at most 253"):
        NetworkAttachment.model_validate({"name": "n", "aliases": [alias]})


def test_an_anonymous_mount_is_one_source_of_four() -> None:
    assert Mount.model_validate({"anonymous": True, "target": "/data"}).anonymous
    for other in ({"volume": "data"}, {"bind": "/h"}, {"tmpfs": True}):
        with pytest.raises(ValidationError, match="set exactly one of `volume`, `bind`, `tmpfs`"):
            Mount.model_validate({"anonymous": True, "target": "/data", **other})
    with pytest.raises(ValidationError, match="set exactly one of"):
        Mount.model_validate({"anonymous": False, "target": "/data"})
    # moby volume/mounts/validate.go: "must not set ReadOnly mode when using anonymous volumes"
    with pytest.raises(ValidationError, match="an anonymous volume cannot be read-only"):
        Mount.model_validate({"anonymous": True, "target": "/data", "readOnly": True})


def test_both_render_as_docker_stack_deploy_sends_them() -> None:
    service = _service(
        {
            "image": "lab/busybox:1",
            "networks": [{"name": "net", "aliases": ["odd.internal"]}],
            "mounts": [{"anonymous": True, "target": "/data"}, {"anonymous": True, "target": "/cache"}],
        },
        namespace="s",
    )
    spec = service_spec(service, ManifestSet([service]), instance="lab")
    assert spec["TaskTemplate"]["ContainerSpec"]["Mounts"] == [
        {"Type": "volume", "Target": "/data", "ReadOnly": False},
        {"Type": "volume", "Target": "/cache", "ReadOnly": False},
    ]
    [attachment] = spec["TaskTemplate"]["Networks"]
    assert attachment["Aliases"] == ["odd.internal", "odd"]  # stack deploy adds the service's name
