"""A ``VirtualIP`` to the two Swarm objects that deliver it: a golang-templated config holding
``keepalived.conf`` (per-node priorities chosen by ``{{.Node.ID}}``, the password read with
``{{ secret }}``) and a global keepalived service on the host network that mounts it.

The config's name carries a hash of its content, so a change is a new config and a service update,
which Swarm rolls through the nodes one at a time (parallelism 1, stop-first). Called by the planner
(node IDs are only known once the swarm is observed) and by ``reconciler render``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from reconciler.core.labels import DEFAULT_INSTANCE, REQUESTED_IMAGE, ownership_labels
from reconciler.core.swarm_names import hashed_name, vip_config_base
from reconciler.core.swarm_names import vip_service_name as _service_name
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.render.keepalived import keepalived_template

__all__ = ["CONFIG_PATH", "vip_config_key", "vip_config_spec", "vip_service_name", "vip_service_spec"]

CONFIG_PATH = "/etc/keepalived/keepalived.conf"
_SECOND = 1_000_000_000


def vip_service_name(vip: VirtualIP) -> str:
    """``vip-<name>``; a name too long for Swarm is cut and hashed (``core.swarm_names``)."""
    return _service_name(vip.name)


def vip_config_key(vip: VirtualIP) -> str:
    """The ownership key of the config: one per VirtualIP, content-hashed names rotate under it."""
    return f"{vip.key}/config"


def vip_config_spec(vip: VirtualIP, node_ids: Mapping[str, str], instance: str = DEFAULT_INSTANCE) -> dict[str, Any]:
    content = keepalived_template(vip, node_ids).encode()
    labels = ownership_labels("VirtualIP", f"{vip.name}/config", instance)
    return {
        "Name": hashed_name(vip_config_base(vip.name), content),
        "Labels": labels,
        "Data": base64.b64encode(content).decode(),
        "Templating": {"Name": "golang"},
    }


def vip_service_spec(
    vip: VirtualIP, config_name: str, password_secret: str | None, instance: str = DEFAULT_INSTANCE
) -> dict[str, Any]:
    """``password_secret``: the Swarm name of the password Secret (attached under its manifest name,
    which the template's ``{{ secret }}`` reads)."""
    container: dict[str, Any] = {
        "Image": vip.spec.image,
        "Labels": {"com.docker.stack.image": vip.spec.image},
        "CapabilityAdd": ["CAP_NET_ADMIN", "CAP_NET_BROADCAST", "CAP_NET_RAW"],
        "Configs": [{"File": {"Name": CONFIG_PATH, "UID": "0", "GID": "0", "Mode": 0o444}, "ConfigName": config_name}],
        "StopGracePeriod": 5 * _SECOND,
    }
    if vip.spec.password is not None and password_secret is not None:
        target = vip.spec.password.secret
        container["Secrets"] = [
            {"File": {"Name": target, "UID": "0", "GID": "0", "Mode": 0o400}, "SecretName": password_secret}
        ]
    task: dict[str, Any] = {
        "ContainerSpec": container,
        "Networks": [{"Target": "host"}],
        "RestartPolicy": {"Condition": "any", "Delay": 2 * _SECOND},
    }
    if vip.spec.placement:
        task["Placement"] = {"Constraints": list(vip.spec.placement)}
    return {
        "Name": vip_service_name(vip),
        "Labels": {**ownership_labels("VirtualIP", vip.name, instance), REQUESTED_IMAGE: vip.spec.image},
        "TaskTemplate": task,
        "Mode": {"Global": {}},
        # One node at a time, and the old keepalived stops before the new one starts (both would
        # hold the host's VRRP socket): the address moves to the next node meanwhile.
        "UpdateConfig": {"Parallelism": 1, "Delay": 3 * _SECOND, "FailureAction": "pause", "Order": "stop-first"},
    }
