"""One service's Traefik labels (v2 or v3 form) to ``Route`` and ``Middleware`` manifest documents.

Used by ``import compose`` (``deploy.labels``) and by ``import swarm`` (a live service's
``Spec.Labels``): ``import_traefik_labels(labels, service, network=...)``. The grammar is Traefik's
label provider (traefik ``pkg/config/label``, docs "Docker/Swarm provider: routing configuration"):

- ``traefik.http.routers.<r>.rule``: ``Host(`a`)``, ``Host(`a`) || Host(`b`)``, v2's
  ``Host(`a`,`b`)``, each alone or ``&&`` one ``PathPrefix(`/p`)`` (a lone ``PathPrefix`` is a
  catch-all route); backquotes or double quotes. Hosts are lowercased, as Traefik matches them
  (``types.CanonicalDomain``). Any other matcher (``HostRegexp``, ``Path``, ``Headers``, ``!``,
  two prefixes) cannot be expressed by a ``Route``.
- ``.entrypoints``, ``.tls``, ``.tls.certresolver``, ``.tls.options``, ``.priority``,
  ``.middlewares`` (``name``, ``name@docker``/``name@swarm`` are labels' own, ``name@file`` and
  other providers stay references), ``.service`` (which load-balancer gives the port),
  ``.rulesyntax`` (v3's switch to the v2 grammar: the rule is parsed either way).
- ``traefik.http.services.<s>.loadbalancer.server.port``: the Route's ``port``.
- ``traefik.http.middlewares.<m>.<type>.<option...>``: a ``Middleware`` with its options nested;
  option names take Traefik's own spelling (labels are case-insensitive, paerser
  ``findTypedField``); list options are comma-split; v2's ``ipWhiteList`` becomes v3's ``ipAllowList``.
- ``traefik.docker.network`` (v2) and ``traefik.swarm.network`` (v3): the Route's ``network``,
  mapped through ``network`` (a Swarm name to what a manifest may say).
- ``traefik.enable``: ``false`` turns every route of the service off, so none is made.

Every other ``traefik.*`` label (TCP/UDP routers, sticky sessions, ``lbswarm``, TLS domains, a
service without routers, which Traefik gives a default ``Host(`<service>`)`` rule) is returned in
``problems`` with its key and why: nothing is dropped silently. Documents are checked with the
``Route``/``Middleware`` models; one the model refuses is a problem too. Non-Traefik labels come
back unchanged in ``rest``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from reconciler import API_VERSION
from reconciler.importing.names import manifest_name
from reconciler.manifests.errors import shown
from reconciler.manifests.kinds.traefik import Middleware, Route
from reconciler.manifests.traefik_options import DEPRECATED, OPTIONS

__all__ = ["LabelProblem", "TraefikImport", "import_traefik_labels", "parse_rule"]

_ROUTER = re.compile(r"^traefik\.http\.routers\.([^.]+)\.(.+)$", re.IGNORECASE)
_SERVICE = re.compile(r"^traefik\.http\.services\.([^.]+)\.(.+)$", re.IGNORECASE)
_MIDDLEWARE = re.compile(r"^traefik\.http\.middlewares\.([^.]+)\.([^.]+)(?:\.(.+))?$", re.IGNORECASE)
_NETWORK_KEYS = ("traefik.docker.network", "traefik.swarm.network")
_LOCAL_PROVIDERS = {"docker", "swarm"}
_RENAMED_TYPES = {"ipwhitelist": "ipAllowList"}  # Traefik v3 migration guide: IPWhiteList → IPAllowList
_ARG = r"(?:`[^`]*`|\"(?:[^\"\\]|\\.)*\")"
_TOKEN = re.compile(rf"\s*(?:(?P<op>&&|\|\||!|\(|\))|(?P<name>[A-Za-z]+)\(\s*(?P<args>{_ARG}(?:\s*,\s*{_ARG})*)?\s*\))")


@dataclass(frozen=True)
class LabelProblem:
    """A label (by key) that no manifest field can say, and why."""

    label: str
    reason: str


@dataclass
class TraefikImport:
    routes: list[dict[str, Any]] = field(default_factory=list)  # Route documents
    middlewares: list[dict[str, Any]] = field(default_factory=list)  # Middleware documents
    problems: list[LabelProblem] = field(default_factory=list)
    rest: dict[str, str] = field(default_factory=dict)  # labels that are not Traefik's


def _document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


# --- rules -------------------------------------------------------------------------------------


def _tokens(rule: str) -> list[tuple[str, Any]] | None:
    found: list[tuple[str, Any]] = []
    position = 0
    while position < len(rule.rstrip()):
        match = _TOKEN.match(rule, position)
        if match is None:
            return None
        if match["op"]:
            found.append(("op", match["op"]))
        else:
            args = re.findall(_ARG, match["args"] or "")
            found.append(("m", (match["name"].lower(), [a[1:-1] for a in args])))
        position = match.end()
    return found


_MAX_NESTING = 32  # parentheses and '!' in one rule: labels are anyone's text; 5,000 '(' ran out of stack


def _parse(tokens: list[tuple[str, Any]]) -> Any:
    """Recursive descent over Traefik's rule grammar: ``||`` binds looser than ``&&``, ``!`` tightest;
    ``ValueError`` beyond ``_MAX_NESTING`` levels (then the rule is one a Route cannot say)."""
    at = 0
    depth = 0

    def peek() -> tuple[str, Any] | None:
        return tokens[at] if at < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal at
        at += 1
        return tokens[at - 1]

    def expression(op: str, inner: Callable[[], Any]) -> Any:
        parts = [inner()]
        while peek() == ("op", op):
            take()
            parts.append(inner())
        return parts[0] if len(parts) == 1 else (op, parts)

    def unary() -> Any:
        nonlocal depth
        token = take() if peek() is not None else ("op", "")
        if token in (("op", "!"), ("op", "(")):
            depth += 1
            if depth > _MAX_NESTING:
                raise ValueError(f"nested deeper than {_MAX_NESTING} levels")
        if token == ("op", "!"):
            inner = unary()
            depth -= 1
            return ("!", inner)
        if token == ("op", "("):
            inside = expression("||", lambda: expression("&&", unary))
            if take() != ("op", ")"):
                raise ValueError("unbalanced parentheses")
            depth -= 1
            return inside
        if token[0] != "m":
            raise ValueError("expected a matcher")
        return token

    tree = expression("||", lambda: expression("&&", unary))
    if at != len(tokens):
        raise ValueError("trailing tokens")
    return tree


def _hosts(node: Any) -> list[str] | None:
    if node[0] == "m" and node[1][0] == "host" and node[1][1]:
        return list(node[1][1])
    if node[0] == "||":
        found = [_hosts(part) for part in node[1]]
        if all(hosts is not None for hosts in found):
            return [host for hosts in found if hosts is not None for host in hosts]
    return None


def _prefix(node: Any) -> str | None:
    if node[0] == "m" and node[1][0] == "pathprefix" and len(node[1][1]) == 1:
        return str(node[1][1][0])
    return None


def parse_rule(rule: str) -> tuple[list[str], str | None] | None:
    """``(hosts, path_prefix)`` of a rule a ``Route`` can say, or None (see the module docstring)."""
    tokens = _tokens(rule)
    if not tokens:
        return None
    try:
        tree = _parse(tokens)
    except (ValueError, IndexError):
        return None
    hosts = _hosts(tree)
    if hosts is not None:
        return [h.lower() for h in hosts], None
    if _prefix(tree) is not None:
        return [], _prefix(tree)
    if tree[0] == "&&" and len(tree[1]) == 2:
        for first, second in (tree[1], tree[1][::-1]):
            hosts, prefix = _hosts(first), _prefix(second)
            if hosts is not None and prefix is not None:
                return [h.lower() for h in hosts], prefix
    return None


# --- middlewares -------------------------------------------------------------------------------


def _canonical_type(written: str) -> str:
    lowered = written.lower()
    if lowered in _RENAMED_TYPES:
        return _RENAMED_TYPES[lowered]
    return next((name for name in OPTIONS if name.lower() == lowered and name not in DEPRECATED), written)


def _set_option(options: dict[str, Any], shape: Any, path: list[str], value: str) -> str | None:
    """Put ``value`` at ``path`` (label spelling) in ``options`` with Traefik's spelling; a reason when
    the path cannot be nested (an index ``[0]``, or a value and options at one key)."""
    here = options
    for index, part in enumerate(path):
        if "[" in part:
            return "indexed options ([0]) cannot be written as Middleware options"
        name = part
        if isinstance(shape, dict):
            name = next((key for key in shape if key.lower() == part.lower()), part)
            shape = shape.get(name)
        last = index == len(path) - 1
        if last:
            here[name] = [item.strip() for item in value.split(",")] if shape == "list" else value
            return None
        child = here.setdefault(name, {})
        if not isinstance(child, dict):
            return f"{name} is set both to a value and to options"
        here = child
    return None


def _middlewares(labels: Mapping[str, str], keys: list[str], result: TraefikImport) -> None:
    found: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
    for key in keys:
        match = _MIDDLEWARE.match(key)
        assert match is not None
        written, type_written, rest = match[1], match[2], match[3]
        mw_type = _canonical_type(type_written)
        entry = found.setdefault(written, (mw_type, {}, []))
        entry[2].append(key)
        if entry[0] != mw_type:
            result.problems.append(LabelProblem(key, f"middleware {written} is given two types: {entry[0]}, {mw_type}"))
            continue
        if rest is None:
            continue  # `traefik.http.middlewares.m.compress=true`: the type with its defaults
        reason = _set_option(entry[1], OPTIONS.get(mw_type), rest.split("."), labels[key])
        if reason is not None:
            result.problems.append(LabelProblem(key, reason))
    for written, (mw_type, options, mw_keys) in found.items():
        name = manifest_name(written)
        document = _document(
            "Middleware", name, {"type": mw_type, "options": options} if options else {"type": mw_type}
        )
        problem = _model_problem(Middleware, document)
        if problem is not None:
            result.problems.extend(LabelProblem(key, problem) for key in mw_keys[:1])
        else:
            result.middlewares.append(document)


# --- routers -----------------------------------------------------------------------------------


def _model_problem(model: type[Route] | type[Middleware], document: dict[str, Any]) -> str | None:
    try:
        model.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{document['kind']} {document['metadata']['name']}: {where}: {error['msg']}"
    return None


def _middleware_refs(value: str) -> tuple[list[str], str | None]:
    refs: list[str] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, _, provider = item.partition("@")
        if not provider or provider.lower() in _LOCAL_PROVIDERS:
            refs.append(manifest_name(name))
        elif manifest_name(name) == name and re.fullmatch(r"[a-z0-9]+", provider):
            refs.append(item)
        else:
            return (
                refs,
                f"{item!r} is defined by another provider under a name a Route cannot refer to ([a-z0-9-]@provider)",
            )
    return refs, None


def _router(
    written: str,
    props: dict[str, tuple[str, str]],
    ports: dict[str, tuple[str, str]],
    service: str,
    network: str | None,
    result: TraefikImport,
) -> None:
    spec: dict[str, Any] = {"service": service}
    rule_key, rule = props.pop("rule", ("", ""))
    first_key = rule_key or next(iter(props.values()))[0]
    if not rule:
        result.problems.append(
            LabelProblem(first_key, f"router {written} has no rule: Traefik's default rule cannot be expressed")
        )
        return
    parsed = parse_rule(rule)
    if parsed is None:
        result.problems.append(
            LabelProblem(
                rule_key, f"rule {shown(rule, 200)}: a Route says only Host(...) [|| Host(...)] and one PathPrefix(...)"
            )
        )
        return
    hosts, prefix = parsed
    if hosts:
        spec["hosts"] = list(dict.fromkeys(hosts))
    else:
        spec["catchAll"] = True
    if prefix is not None:
        spec["pathPrefix"] = prefix
    lb_key, lb = props.pop("service", ("", ""))
    if lb and lb not in ports:
        result.problems.append(
            LabelProblem(lb_key, f"router {written} uses service {lb}, which these labels do not define")
        )
        return
    if not lb and len(ports) != 1:
        key = lb_key or rule_key
        reason = (
            "no loadbalancer.server.port is given" if not ports else "several load-balancer services and no .service"
        )
        result.problems.append(LabelProblem(key, f"router {written}: {reason}: a Route needs its port"))
        return
    port_key, port = ports[lb] if lb else next(iter(ports.values()))
    if not port.isdigit():
        result.problems.append(LabelProblem(port_key, f"port {port!r} is not a number"))
        return
    spec["port"] = int(port)
    _, tls = props.pop("tls", ("", ""))
    tls_spec = {
        field: props.pop(prop)[1]
        for prop, field in (("tls.certresolver", "certResolver"), ("tls.options", "options"))
        if prop in props
    }
    if tls_spec:
        spec["tls"] = tls_spec
    elif tls.lower() == "true":
        spec["tls"] = True
    if "entrypoints" in props:
        spec["entryPoints"] = [p.strip() for p in props.pop("entrypoints")[1].split(",") if p.strip()]
    if "middlewares" in props:
        key, value = props.pop("middlewares")
        refs, problem = _middleware_refs(value)
        if problem is not None:
            result.problems.append(LabelProblem(key, problem))
        spec["middlewares"] = refs
    if "priority" in props:
        key, value = props.pop("priority")
        if value.isdigit():
            spec["priority"] = int(value)
        else:
            result.problems.append(LabelProblem(key, f"priority {value!r} is not a number"))
    props.pop("rulesyntax", None)
    if network is not None:
        spec["network"] = network
    for key, _ in props.values():
        result.problems.append(LabelProblem(key, "no Route field says this"))
    document = _document("Route", manifest_name(written), spec)
    problem = _model_problem(Route, document)
    if problem is not None:
        result.problems.append(LabelProblem(rule_key, problem))
    else:
        result.routes.append(document)


def import_traefik_labels(
    labels: Mapping[str, str], service: str, *, network: Callable[[str], str | None] = lambda name: name
) -> TraefikImport:
    """Routes and middlewares of one service's ``labels``; ``service`` is what the Routes' ``service``
    says (a Service manifest's name, or an existing Swarm service's); ``network`` maps the network
    label's value to what a Route's ``network`` says, or None when there is no such network."""
    result = TraefikImport()
    routers: dict[str, dict[str, tuple[str, str]]] = {}
    ports: dict[str, tuple[str, str]] = {}
    middleware_keys: list[str] = []
    network_name: str | None = None
    enabled = True
    for key, value in labels.items():
        lowered = key.lower()
        if not lowered.startswith("traefik."):
            result.rest[key] = value
        elif lowered == "traefik.enable":
            enabled = value.strip().lower() != "false"
        elif lowered in _NETWORK_KEYS:
            network_name = network(value)
            if network_name is None:
                result.problems.append(LabelProblem(key, f"network {value!r} is not a network of this import"))
        elif (match := _ROUTER.match(key)) is not None:
            routers.setdefault(match[1], {})[match[2].lower()] = (key, value)
        elif (match := _SERVICE.match(key)) is not None and match[2].lower() == "loadbalancer.server.port":
            ports[match[1]] = (key, value)
        elif _MIDDLEWARE.match(key) is not None:
            middleware_keys.append(key)
        else:
            result.problems.append(LabelProblem(key, "no Route or Middleware field says this"))
    if not enabled:
        if routers or ports or middleware_keys:
            result.problems.append(
                LabelProblem("traefik.enable", "traefik.enable=false: the labels' routes are off, so none is imported")
            )
        return result
    _middlewares(labels, middleware_keys, result)
    if ports and not routers:
        key = next(iter(ports.values()))[0]
        result.problems.append(
            LabelProblem(key, "a load-balancer service without a router: Traefik's default rule cannot be expressed")
        )
    for written, props in routers.items():
        _router(written, dict(props), ports, service, network_name, result)
    return result
