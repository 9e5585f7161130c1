"""Top-level compose ``networks``, ``volumes``, ``configs`` and ``secrets`` to manifests.

- networks (docker-cli ``convert.Networks``): ``driver: overlay`` (or none: stack deploy's default)
  → ``Network`` with ``attachable``, ``internal``, ``driver_opts.encrypted`` (any value, as the
  overlay driver reads its presence) → ``encrypted``, ``ipam.config[0]`` subnet/gateway/ip_range,
  ``labels``; ``external: true`` → a ``Network`` with ``external: true`` named by the real network
  (``name:`` or the key), which Services and Routes then name. With ``--stack`` every network a
  service uses is written that way, under the name stack deploy gave it (``<stack>_<key>``), with a
  note (``_stack_network``): a network cannot be adopted as a managed one while tasks use it. A
  service without networks is on ``default``, which stack deploy creates if the file does not
  declare it: with ``--stack`` written too (``_default_network``).
- volumes: ``driver: local`` with ``driver_opts`` ``type: nfs``/``nfs4``, ``o: addr=H,nfsvers=V,rest``,
  ``device: :/path`` → ``Volume.nfs`` {server, path, version, options}; any other driver → ``driver`` +
  ``driverOptions``; ``driver_opts`` without ``driver`` → ``driverOptions`` alone (NFS or not), since
  docker stack deploy mounts them with no driver name and ``nfs:`` names ``local`` (docker-cli
  ``convert/volume.go``): a take-over would rewrite the mounts and restart their tasks; ``labels``; ``external: true`` → a ``Volume`` with ``external: true`` under the
  real name (docker-cli ``convert/volume.go`` mounts an external volume by its name alone).
- configs/secrets: ``file:`` → the file is copied to ``files/<kind>s/<name>`` (no extension, so a
  YAML config is not taken for a manifest) under ``--out`` (a manifest's
  ``file:`` is relative to its folder) or, printing to stdout, referred to relative to the current
  folder; ``external: true`` → ``external: true`` under the real name; ``template_driver: golang`` →
  ``template: golang``; a config's ``content:`` → ``data:``. The file must be a regular file inside
  the compose folder, of a size the engine takes (``project_files``, ``manifests.engine_limits``):
  otherwise it is reported and neither copied nor written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from reconciler.core.swarm_names import scoped
from reconciler.importing.conversion import Context, as_bool
from reconciler.importing.project_files import ProjectFileError, project_file
from reconciler.manifests.engine_limits import MAX_CONFIG_BYTES, content_size_problem

__all__ = ["DEFAULT_NETWORK", "convert_configs", "convert_networks", "convert_volumes"]

DEFAULT_NETWORK = "default"  # docker-cli cli/compose/convert/service.go: defaultNetwork


def _add_external(ctx: Context, kind: str, known: dict[str, str], key: str, value: dict[str, Any],
                  path: tuple[str | int, ...], subject: str) -> None:  # fmt: skip
    """An ``external: true`` object: a manifest with ``external: true`` under its real name (``name:``,
    or 3.x's ``external.name``, else the key), which the services' references then use."""
    external = value.get("external")
    if isinstance(external, dict) and external.get("name"):  # 3.x's external.name
        real = str(external["name"])
    else:
        real = str(value.get("name") or key)
    known[key] = real
    ctx.add(kind, real, {"external": True}, path)
    ctx.leftovers(path, subject, value, {"external", "name"})


def _uses(service: Any, key: str) -> bool:
    """Whether a compose service is attached to network ``key``: one without networks is attached
    to ``default`` (docker-cli ``convert.convertServiceNetworks``)."""
    if not isinstance(service, dict):
        return False
    return key in service["networks"] if service.get("networks") else key == DEFAULT_NETWORK


def convert_networks(ctx: Context) -> None:
    declared = ctx.project.data.get("networks") or {}
    services = ctx.project.data.get("services") or {}
    bare = [key for key, service in services.items() if isinstance(service, dict) and not service.get("networks")]
    if bare and DEFAULT_NETWORK not in declared:
        _default_network(ctx, ("services", bare[0]))
    for key, value in declared.items():
        value = value or {}
        path: tuple[str | int, ...] = ("networks", key)
        subject = f"network {key}"
        if value.get("external"):
            _add_external(ctx, "Network", ctx.networks, key, value, path, subject)
            continue
        if ctx.stack is not None:
            _stack_network(ctx, key, value, path, subject)
            continue
        name = ctx.claim("Network", key, path, subject)
        if name is None:
            continue
        ctx.networks[key] = name
        spec: dict[str, Any] = {}
        used = {"driver", "attachable", "internal", "driver_opts", "ipam", "labels"}
        if value.get("driver", "overlay") != "overlay":
            ctx.lost((*path, "driver"), subject, "driver", f"{value['driver']!r}: a Network is an overlay network")
        if as_bool(value.get("attachable")):
            spec["attachable"] = True
        if as_bool(value.get("internal")):
            spec["internal"] = True
        options = dict(value.get("driver_opts") or {})
        if "encrypted" in options:
            spec["encrypted"] = True
            del options["encrypted"]
        for option in options:
            ctx.lost((*path, "driver_opts", option), subject, f"driver_opts.{option}", "no Network field says this")
        ipam = value.get("ipam") or {}
        if ipam:
            _ipam(ctx, path, subject, ipam, spec)
        if value.get("labels"):
            spec["labels"] = _labels(value["labels"])
        if value.get("name"):
            ctx.lost((*path, "name"), subject, "name", "a managed Network is named by its manifest (and namespace)")
        ctx.leftovers(path, subject, value, used | {"name"})
        ctx.add("Network", name, spec, path)


def _stack_network(ctx: Context, key: str, value: dict[str, Any], path: tuple[str | int, ...], subject: str) -> None:
    """With ``--stack``, a network of the stack as ``import swarm`` writes it: ``external: true``
    under the Swarm name ``docker stack deploy`` gives it (docker-cli ``convert.Networks``:
    ``<stack>_<key>``, or its ``name:``), so that the take-over is label-only. A network's labels
    cannot be changed, so adopting it as a managed Network means replacing it, which ``apply``
    refuses while tasks use it (``engine.planning._adopt``). stack deploy creates only the networks
    some service uses; one no service uses is not written (it does not exist to refer to)."""
    real = str(value.get("name") or scoped(ctx.stack, key))
    used = any(_uses(service, key) for service in (ctx.project.data.get("services") or {}).values())
    if not used:
        ctx.note(
            path, subject, "networks", "no service uses it, so docker stack deploy does not create it: not written"
        )
        return
    ctx.networks[key] = real
    ctx.add("Network", real, {"external": True}, path)
    ctx.note(
        path,
        subject,
        "external",
        f"written as external: true under its Swarm name {real}, as import swarm writes it: the network stays "
        "as docker stack deploy made it (its settings are not in the manifest), since a network's labels cannot "
        "change and adopting it as a managed Network would replace it, which apply refuses while tasks use it; "
        "to manage it, write its settings in place of external: true (a deliberate replacement)",
    )


def _default_network(ctx: Context, path: tuple[str | int, ...]) -> None:
    """A service without networks is attached to the stack's ``default`` network, which docker
    stack deploy creates (an overlay network with no options, ``<stack>_default``; docker-cli
    ``convert.convertServiceNetworks`` and ``convert.Networks``) when the file does not declare
    it: with ``--stack`` written as the stack's other networks are, external under its Swarm name
    (``_stack_network``). Without a stack there is no such network (``default`` is a name every
    engine reserves), so the service reports its networks lost. ``path``: the first such service."""
    if ctx.stack is not None:
        _stack_network(ctx, DEFAULT_NETWORK, {}, path, f"network {DEFAULT_NETWORK}")


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return {str(item).partition("=")[0]: str(item).partition("=")[2] for item in value}


def _ipam(ctx: Context, path: tuple[str | int, ...], subject: str, ipam: dict[str, Any], spec: dict[str, Any]) -> None:
    pools = ipam.get("config") or []
    if ipam.get("driver", "default") != "default" or ipam.get("options"):
        ctx.lost((*path, "ipam"), subject, "ipam.driver/options", "a Network uses the default IPAM driver")
    if len(pools) > 1:
        ctx.lost((*path, "ipam", "config", 1), subject, "ipam.config", "a Network has one address pool")
    if pools:
        pool = pools[0]
        spec["ipam"] = {
            field: str(pool[key])
            for key, field in (("subnet", "subnet"), ("gateway", "gateway"), ("ip_range", "ipRange"))
            if pool.get(key)
        }
        for key in pool:
            if key not in {"subnet", "gateway", "ip_range"}:
                ctx.lost((*path, "ipam", "config", 0, key), subject, f"ipam.config.{key}", "no Ipam field says this")


def _nfs(options: dict[str, Any]) -> dict[str, Any] | None:
    """``Volume.nfs`` from local-driver NFS options, or None when they are not that shape."""
    if str(options.get("type", "")).lower() not in {"nfs", "nfs4"} or not str(options.get("device", "")).startswith(
        ":"
    ):
        return None
    if set(options) - {"type", "o", "device"}:
        return None
    server, version, rest = None, None, []
    for item in str(options.get("o", "")).split(","):
        key, _, value = item.strip().partition("=")
        if key == "addr":
            server = value
        elif key in {"nfsvers", "vers"}:
            version = value
        elif item.strip():
            rest.append(item.strip())
    if server is None:
        return None
    nfs: dict[str, Any] = {"server": server, "path": str(options["device"])[1:]}
    if version is None and str(options["type"]).lower() == "nfs4":
        version = "4"
    if version is not None:
        nfs["version"] = version
    if rest:
        nfs["options"] = rest
    return nfs


def convert_volumes(ctx: Context) -> None:
    for key, value in (ctx.project.data.get("volumes") or {}).items():
        value = value or {}
        path: tuple[str | int, ...] = ("volumes", key)
        subject = f"volume {key}"
        if value.get("external"):
            _add_external(ctx, "Volume", ctx.volumes, key, value, path, subject)
            continue
        name = ctx.claim("Volume", key, path, subject)
        if name is None:
            continue
        ctx.volumes[key] = name
        spec: dict[str, Any] = {}
        named = str(value.get("driver") or "")
        driver = named or "local"
        options = {str(k): str(v) for k, v in (value.get("driver_opts") or {}).items()}
        nfs = _nfs(options) if named == "local" else None
        if nfs is not None:
            spec["nfs"] = nfs
        elif options or driver != "local":
            if named:  # none: stack deploy mounts the options with no driver name, and so does the manifest
                spec["driver"] = driver
            if options:
                spec["driverOptions"] = options
        if value.get("labels"):
            spec["labels"] = _labels(value["labels"])
        if value.get("name"):
            ctx.lost(
                (*path, "name"), subject, "name", "a Volume's Docker name is its manifest name and an options hash"
            )
        ctx.leftovers(path, subject, value, {"driver", "driver_opts", "labels", "name"})
        ctx.add("Volume", name, spec, path)


def _copy_target(ctx: Context, kind: str, name: str, source: Path, path: tuple[str | int, ...]) -> str | None:
    if ctx.out is None:
        relative = os.path.relpath(source.resolve(), Path.cwd())
        if relative.startswith(".."):
            ctx.lost(
                (*path, "file"),
                f"{kind.lower()} {path[-1]}",
                "file",
                f"{source} is outside the current folder, which a manifest's file: cannot leave: use --out to copy it",
            )
            return None
        return relative
    # No extension: a copied traefik.yml would otherwise be read as a manifest by `validate`.
    relative = f"files/{kind.lower()}s/{name}"
    ctx.copies.append((source, relative))
    return relative


def convert_configs(ctx: Context, section: str) -> None:
    """``section`` is ``configs`` or ``secrets``."""
    kind = "Config" if section == "configs" else "Secret"
    known = ctx.configs if section == "configs" else ctx.secrets
    for key, value in (ctx.project.data.get(section) or {}).items():
        value = value or {}
        path: tuple[str | int, ...] = (section, key)
        subject = f"{kind.lower()} {key}"
        if value.get("external"):
            _add_external(ctx, kind, known, key, value, path, subject)
            continue
        name = ctx.claim(kind, key, path, subject)
        if name is None:
            continue
        spec: dict[str, Any] = {}
        if value.get("file"):
            try:
                source, data = project_file(ctx.project.folder, str(value["file"]), MAX_CONFIG_BYTES)
            except ProjectFileError as exc:
                ctx.lost((*path, "file"), subject, "file", str(exc))
                continue
            too_big = content_size_problem(kind, len(data))
            if too_big is not None:
                ctx.lost((*path, "file"), subject, "file", f"{source}: {too_big}")
                continue
            target = _copy_target(ctx, kind, name, source, path)
            if target is None:
                continue
            spec["file"] = target
        elif kind == "Config" and "content" in value:
            spec["data"] = str(value["content"])
        else:
            ctx.lost(
                path, subject, "source", "only `file:` (or a config's `content:`) or `external: true` can be imported"
            )
            continue
        known[key] = name
        if value.get("template_driver") == "golang":
            spec["template"] = "golang"
        elif value.get("template_driver"):
            ctx.lost((*path, "template_driver"), subject, "template_driver", "only the golang template driver exists")
        if value.get("labels"):
            spec["labels"] = _labels(value["labels"])
        if value.get("name"):
            ctx.lost((*path, "name"), subject, "name", f"a {kind}'s Swarm name is its manifest name and a content hash")
        ctx.leftovers(path, subject, value, {"file", "content", "template_driver", "labels", "name"})
        ctx.add(kind, name, spec, path)
