"""Live networks, configs, secrets and volume mounts to the manifests that take them over as they
are: ``external: true`` under their Swarm names.

Why external (the rule that makes an adoption label-only, SPEC "Kinds"): a managed ``Config`` or
``Secret`` is named ``<name>-<hash8>`` after its content, so managing a live one would create a new
object and roll every service that uses it; a managed ``Network`` can only be adopted by replacing it
(``engine.planning._adopt``), which Swarm refuses while a task uses it; a managed ``Volume``'s Docker
name carries a hash of its options and its mounts carry the reconciler's labels, both inside the task
template, so every task would restart. An external object keeps its name, and a service that uses it
keeps the same references. Volumes keep their driver and labels in the manifest, since a mount
carries them (docker-cli ``cli/compose/convert/volume.go``: ``VolumeOptions`` with the stack label and
``DriverConfig``); NFS is recognised from the ``local`` driver's ``type=nfs``, ``o=addr=…,nfsvers=…``
and ``device=:/path`` options when ``nfs:`` renders them back exactly.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from reconciler import API_VERSION, LABEL_PREFIX
from reconciler.manifests.kinds.volume import Nfs

__all__ = ["external_document", "volume_document"]


def external_document(kind: str, name: str) -> dict[str, Any]:
    """A ``Network``, ``Config`` or ``Secret`` that exists and is referred to by its Swarm name."""
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": {"external": True}}


def volume_document(mount: dict[str, Any]) -> dict[str, Any]:
    """The ``Volume`` of a live mount of type volume (``Source`` is its Docker name)."""
    options = mount.get("VolumeOptions") or {}
    spec: dict[str, Any] = {"external": True}
    driver = options.get("DriverConfig") or {}
    if driver.get("Name") or driver.get("Options"):
        nfs = _nfs(driver)
        if nfs is not None:
            spec["nfs"] = nfs
        else:  # verbatim: a mount without a driver name (stack deploy's driver_opts alone) stays without
            if driver.get("Name"):
                spec["driver"] = driver["Name"]
            if driver.get("Options"):
                spec["driverOptions"] = dict(sorted(driver["Options"].items()))
    labels = {k: v for k, v in sorted((options.get("Labels") or {}).items()) if not k.startswith(LABEL_PREFIX)}
    if labels:
        spec["labels"] = labels
    return {"apiVersion": API_VERSION, "kind": "Volume", "metadata": {"name": mount["Source"]}, "spec": spec}


def _nfs(driver: dict[str, Any]) -> dict[str, Any] | None:
    """``nfs:`` when the options are exactly what ``render.objects.volume_driver`` writes for it."""
    options = dict(driver.get("Options") or {})
    if driver.get("Name") != "local" or set(options) != {"type", "o", "device"}:
        return None
    if options["type"] != "nfs" or not options["device"].startswith(":/"):
        return None
    parts = options["o"].split(",")
    if len(parts) < 2 or not parts[0].startswith("addr=") or not parts[1].startswith("nfsvers="):
        return None
    nfs: dict[str, Any] = {"server": parts[0][5:], "path": options["device"][1:], "version": parts[1][8:]}
    if parts[2:]:
        nfs["options"] = parts[2:]
    try:
        model = Nfs.model_validate(nfs)
    except ValidationError:
        return None  # e.g. an option the nfs: form refuses: kept as driver options
    # render.objects.volume_driver's form, which must give back the very same string
    rendered = ",".join([f"addr={model.server}", f"nfsvers={model.version}", *model.options])
    return nfs if rendered == options["o"] and f":{model.path}" == options["device"] else None
