"""``reconciler render KIND/NAME [PATH]``: what one resource becomes, without an engine.

Route/Middleware: Traefik labels; VirtualIP: the keepalived.conf template (or one node's file);
Service: the Engine ServiceSpec; Network/Volume/Config/Secret: their create specs (secret data
redacted). Exit 0, or 2 when the manifests are invalid or the resource is unknown.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.context import EXIT_ERROR, settings

if TYPE_CHECKING:  # the kinds and renderers are imported where used: `render --help` needs neither
    from reconciler.manifests.kinds.base import Resource
    from reconciler.manifests.manifest_set import ManifestSet


def _node_map(values: tuple[str, ...]) -> dict[str, str]:
    nodes = {}
    for value in values:
        host, sep, node_id = value.partition("=")
        if not sep or not host or not node_id:
            raise click.BadParameter(f"{value!r}: use HOSTNAME=NODE_ID", param_hint="--node")
        nodes[host] = node_id
    return nodes


@click.command()
@click.argument("target", metavar="KIND/NAME")
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--node", "nodes", multiple=True, metavar="HOSTNAME=NODE_ID", help="VirtualIP: resolve a node.")
@click.option("--for-node", metavar="NODE_ID", help="VirtualIP: the file that node gets, not the template.")
@click.pass_context
def render(ctx: click.Context, target: str, path: str, nodes: tuple[str, ...], for_node: str | None) -> None:
    """Print what the resource KIND/NAME under PATH becomes in Swarm."""
    from reconciler.cli.failing import fail, path_or_exit
    from reconciler.cli.views import out_console, print_json, print_problems
    from reconciler.manifests.errors import ManifestError
    from reconciler.manifests.kinds.virtual_ip import VirtualIP
    from reconciler.manifests.loading import load_manifests
    from reconciler.render.keepalived import keepalived_conf, keepalived_template

    conf = settings(ctx)
    path_or_exit(ctx, path)
    try:
        manifests = load_manifests(path)
    except ManifestError as exc:
        print_problems(exc.problems, conf.output)
        ctx.exit(EXIT_ERROR)
    resource = _find(manifests, target)
    if resource is None:
        fail(ctx, _not_found(manifests, target, path))
    node_ids = _node_map(nodes)
    if isinstance(resource, VirtualIP):
        text = (
            keepalived_conf(resource, for_node, node_ids, password="<secret>")
            if for_node
            else keepalived_template(resource, node_ids)
        )
        if conf.output == "json":
            print_json({"kind": "VirtualIP", "name": resource.name, "keepalived.conf": text})
        else:
            click.echo(text, nl=not text.endswith("\n"))
        return
    rendered = _rendered(resource, manifests, conf.instance)
    if conf.output == "json" or not _is_label_map(resource):
        print_json(rendered)
    else:
        console = out_console()
        for key, value in rendered.items():
            console.print(f"{key}={value}")


def _find(manifests: ManifestSet, target: str) -> Resource | None:
    """``Kind/name`` or ``Kind/namespace/name``, the kind in any case."""
    kind, _, rest = target.partition("/")
    wanted = f"{kind.lower()}/{rest}"
    return next((r for r in manifests if f"{r.KIND.lower()}/{r.key.partition('/')[2]}" == wanted), None)


def _not_found(manifests: ManifestSet, target: str, path: str) -> str:
    """Why ``target`` names no resource, with the forms accepted and the nearest keys (a newcomer got
    "Foo: no such resource" for ``render Foo``, not knowing that KIND/NAME was meant)."""
    from reconciler.manifests.registry import KINDS

    keys = sorted(str(r.key) for r in manifests)
    kinds = ", ".join(KINDS)
    forms = "write KIND/NAME or KIND/NAMESPACE/NAME, e.g. Service/web"
    kind, slash, rest = target.partition("/")
    if not slash or not kind or not rest:
        # A bare name: the resources of that name, whatever their kind.
        same = [key for key in keys if key.rpartition("/")[2].lower() == target.lower()]
        near = same or difflib.get_close_matches(target, [key.rpartition("/")[2] for key in keys], n=3, cutoff=0.6)
        named = [key for key in keys if key in same or key.rpartition("/")[2] in near]
        hint = f": did you mean {' or '.join(named[:3])}?" if named else f" (kinds: {kinds})"
        return f"{target!r} is not a resource: {forms}{hint}"
    known = {name.lower(): name for name in KINDS}
    if kind.lower() not in known:
        close = difflib.get_close_matches(kind.lower(), list(known), n=1, cutoff=0.6)
        hint = f": did you mean {known[close[0]]}/{rest}?" if close else ""
        return f"unknown kind {kind!r} in {target!r}{hint} (kinds: {kinds})"
    real = known[kind.lower()]
    same_kind = [key for key in keys if key.partition("/")[0] == real]
    names = {key.partition("/")[2]: key for key in same_kind}  # compared by name: the kind would match
    near = [names[name] for name in difflib.get_close_matches(rest, list(names), n=3, cutoff=0.6)]
    if near:
        return f"no {real} {rest!r} under {path}: did you mean {' or '.join(near)}?"
    listed = ", ".join(same_kind[:10]) + (", ..." if len(same_kind) > 10 else "")
    return f"no {real} {rest!r} under {path}" + (f" ({real}s: {listed})" if same_kind else f": it has no {real}")


def _is_label_map(resource: Resource) -> bool:
    from reconciler.manifests.kinds.traefik import Middleware, Route

    return isinstance(resource, Route | Middleware)


def _rendered(resource: Resource, manifests: ManifestSet, instance: str) -> dict[str, Any]:
    from reconciler.manifests.kinds.config import Config, Secret
    from reconciler.manifests.kinds.network import Network
    from reconciler.manifests.kinds.service import Service
    from reconciler.manifests.kinds.traefik import Middleware, Route
    from reconciler.manifests.kinds.volume import Volume
    from reconciler.render.objects import config_spec, network_spec, volume_mount_options, volume_name
    from reconciler.render.service_spec import service_spec
    from reconciler.render.traefik import middleware_labels, routes_labels

    if isinstance(resource, Route):
        return routes_labels([resource], manifests.middlewares_by_name, manifests.network_name)
    if isinstance(resource, Middleware):
        return middleware_labels(resource, manifests.middlewares_by_name)
    if isinstance(resource, Service):
        return service_spec(resource, manifests, instance)
    if isinstance(resource, Network):
        return network_spec(resource, instance)
    if isinstance(resource, Volume):
        return {"Name": volume_name(resource), **volume_mount_options(resource, instance)}
    if isinstance(resource, Config | Secret):
        if resource.spec.external:
            return {"Name": resource.swarm_name, "External": True}
        body = config_spec(resource, manifests.contents[resource.key], instance)
        if isinstance(resource, Secret):
            body["Data"] = "<redacted>"
        return body
    raise AssertionError(f"no renderer for {resource.KIND}")
