"""``Network``, ``Volume``, ``Config`` and ``Secret`` manifests to Engine API create specs.

Volumes have no create spec of their own here: a Swarm service creates the volume on each node from
the mount's ``VolumeOptions`` (``volume_mount_options``). Called by the service renderer, the
desired-state compiler and ``reconciler render``.

In a stack namespace (``metadata.namespace``) names and labels are those ``docker stack deploy``
gives (docker-cli ``cli/compose/convert``: ``Namespace.Scope``, ``AddStackLabel``): ``<ns>_<name>``
and ``com.docker.stack.namespace=<ns>`` on networks, configs, secrets and volumes. A namespaced
volume is named ``<ns>_<name>`` exactly, without the options hash, so a stack keeps its data, and
its mounts are the ones stack deploy writes (the stack label, no label of the reconciler's, a
``DriverConfig`` only when a driver or options are set), so adopting a stack's service keeps its
tasks; the stack label is what makes the volume on a node the namespace's own (``engine.planning``).
"""

from __future__ import annotations

import base64
from typing import Any

from reconciler.core.hashing import short_hash
from reconciler.core.labels import DEFAULT_INSTANCE, STACK_NAMESPACE, ownership_labels
from reconciler.core.swarm_names import hashed_name
from reconciler.manifests.kinds.config import Config, Secret
from reconciler.manifests.kinds.network import Network
from reconciler.manifests.kinds.volume import Volume

__all__ = [
    "config_name",
    "config_spec",
    "content_source",
    "network_spec",
    "volume_driver",
    "volume_mount_options",
    "volume_name",
]


def network_spec(network: Network, instance: str = DEFAULT_INSTANCE) -> dict[str, Any]:
    spec = network.spec
    body: dict[str, Any] = {
        "Name": network.swarm_name,
        "Driver": spec.driver,
        "Scope": "swarm",
        "Attachable": spec.attachable,
        "Internal": spec.internal,
        "Options": {"encrypted": ""} if spec.encrypted else {},
        "Labels": {**spec.labels, **ownership_labels("Network", network.name, instance, network.namespace)},
    }
    if spec.ipam is not None:
        pool: dict[str, str] = {"Subnet": str(spec.ipam.subnet)}
        if spec.ipam.gateway is not None:
            pool["Gateway"] = str(spec.ipam.gateway)
        if spec.ipam.ip_range is not None:
            pool["IPRange"] = str(spec.ipam.ip_range)
        body["IPAM"] = {"Driver": "default", "Config": [pool]}
    return body


def volume_driver(volume: Volume) -> dict[str, Any]:
    """The ``DriverConfig`` of the volume: NFS becomes the ``local`` driver with ``type=nfs``; options
    without a driver name have no ``Name``, as docker stack deploy sends compose's ``driver_opts``
    without ``driver`` (docker-cli ``convert/volume.go``), the engine's default driver mounting them."""
    spec = volume.spec
    if spec.nfs is not None:
        nfs = spec.nfs
        options = [f"addr={nfs.server}", f"nfsvers={nfs.version}", *nfs.options]
        return {"Name": "local", "Options": {"type": "nfs", "o": ",".join(options), "device": f":{nfs.path}"}}
    if spec.driver is None and spec.driver_options:
        return {"Options": dict(sorted(spec.driver_options.items()))}
    return {"Name": spec.driver or "local", "Options": dict(sorted(spec.driver_options.items()))}


def volume_name(volume: Volume) -> str:
    """``<name>-<hash8 of the driver options>``; in a namespace ``<ns>_<name>`` as docker stack names it."""
    if volume.spec.external or volume.namespace:  # the Docker name it has, or docker stack's (Resource.swarm_name)
        return volume.swarm_name
    return hashed_name(volume.name, volume_driver(volume))


def volume_mount_options(volume: Volume, instance: str = DEFAULT_INSTANCE) -> dict[str, Any]:
    if volume.spec.external:  # as the live mounts have it: no label of ours, the driver and options as given
        spec = volume.spec
        given = {"Name": spec.driver, "Options": dict(sorted(spec.driver_options.items()))}
        driver = {k: v for k, v in (volume_driver(volume) if spec.nfs is not None else given).items() if v}
        return {"Labels": dict(spec.labels), **({"DriverConfig": driver} if driver else {})}
    if volume.namespace:  # as docker stack deploy mounts a stack's volume (docker-cli convert/volume.go)
        named = volume.spec.nfs is not None or volume.spec.driver is not None or bool(volume.spec.driver_options)
        labels = {**volume.spec.labels, STACK_NAMESPACE: volume.namespace}
        return {"Labels": labels, **({"DriverConfig": volume_driver(volume)} if named else {})}
    return {
        "Labels": {**volume.spec.labels, **ownership_labels("Volume", volume.name, instance, volume.namespace)},
        "DriverConfig": volume_driver(volume),
    }


def content_source(item: Config | Secret, content: bytes) -> dict[str, Any]:
    """Everything a config or secret holds that its name must change with (content, labels,
    templating), since Swarm configs and secrets cannot change."""
    templating = item.spec.template if isinstance(item, Config) else None
    return {"content": short_hash(content, 64), "labels": item.spec.labels, "templating": templating}


def config_name(item: Config | Secret, content: bytes | None) -> str:
    """The Swarm object name: the manifest name plus a hash of ``content_source``; an external one
    keeps its name. A Secret's final name is keyed (``state.content_names``), once the swarm is seen."""
    if item.spec.external or content is None:
        return item.name
    return hashed_name(item.swarm_name, content_source(item, content))


def config_spec(item: Config | Secret, content: bytes, instance: str = DEFAULT_INSTANCE) -> dict[str, Any]:
    """The create body. A secret's data is included because the API needs it: callers that show
    specs to people must use ``redacted``."""
    body: dict[str, Any] = {
        "Name": config_name(item, content),
        "Labels": {**item.spec.labels, **ownership_labels(item.KIND, item.name, instance, item.namespace)},
        "Data": base64.b64encode(content).decode(),
    }
    if isinstance(item, Config) and item.spec.template == "golang":
        body["Templating"] = {"Name": "golang"}
    return body
