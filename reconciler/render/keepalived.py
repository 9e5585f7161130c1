"""``VirtualIP`` manifests to ``keepalived.conf``: the Swarm config template and one node's file.

``keepalived_template`` returns the content of a Swarm config created with the ``golang`` template
driver (Engine 20.10). The engine evaluates it per task, so one config serves every node: the
node's VRRP priority is chosen by ``{{if eq .Node.ID "..."}}`` (``.Node.Hostname`` is empty in
20.10 templates, so the caller resolves hostnames to node IDs first), and the VRRP password is
pulled in with ``{{ secret "<target>" }}`` from the Secret attached to the keepalived service, so
it is never part of the config itself. ``keepalived_conf`` is the file one node ends up with: the
same text with those two spots evaluated. Both come from one renderer (``_render``), so the
template and the concrete file cannot drift apart.

The state layer calls ``keepalived_template`` for the desired config (its name is a hash of the
content, hence the output is canonical: lists are sorted and nothing depends on dict order);
``reconciler render`` calls either.

Layout decisions (see also the module constants):

- One ``vrrp_instance`` per VirtualIP. keepalived wants one address family per instance, the
  instance family being that of the unicast peers if any, else IPv4 if any address is IPv4, else
  IPv6. Addresses of the instance's family go into ``virtual_ipaddress``, the others into
  ``virtual_ipaddress_excluded``: one election, one master holding every address of the VIP.
  IPv6 instances run VRRPv3, which has no authentication and a maximum advert interval of 40.95 s;
  such specs are refused here rather than rendered into a file keepalived rejects.
- Every node starts as ``BACKUP`` and the election by priority picks the master.
- Checks run as root (``script_user root``) inside the keepalived container, with
  ``enable_script_security``: keepalived refuses a script that a non-root user could modify, so
  ``vip-check`` and any ``script`` program must be root-owned and not group/world writable.
- Gratuitous ARP/NA: a second burst 5 s after becoming master, and a refresh every 60 s while
  master, so that neighbours and switches that missed the takeover (or expired their caches while
  a long-lived master held the address) still learn where the address lives.

Every value written here was restricted by the models; what the models let through and keepalived
would still choke on (IPv6 scope IDs, over-long lines, family mismatches, ...) is checked here and
raises ``ValueError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

from reconciler.manifests.kinds.virtual_ip import VipCheck, VirtualIP

__all__ = [
    "MAX_LINE",
    "VIP_CHECK_PATH",
    "VRRP3_MAX_ADVERT_INTERVAL",
    "VRRP_PASSWORD_MAX",
    "keepalived_conf",
    "keepalived_template",
]

# The check helper shipped in the keepalived image (source: deploy/keepalived/vip-check).
VIP_CHECK_PATH = "/usr/local/bin/vip-check"
# keepalived reads its configuration in 1024-byte lines: a longer line is cut and the rest is parsed
# as a line of its own, i.e. as configuration (and a cut quoted string crashes keepalived 2.2.7).
# Lines are kept well below that.
MAX_LINE = 1000
VRRP_PASSWORD_MAX = 8  # keepalived truncates auth_pass to 8 characters (and `keepalived -t` fails)
VRRP3_MAX_ADVERT_INTERVAL = 40  # VRRPv3 counts in centiseconds in 12 bits: at most 40.95 s

_INDENT = "    "
# Swarm node IDs are 25 lowercase base-36 characters; anything outside this set could end the Go
# string literal in the priority expression. Every pattern here is applied with fullmatch: `$` alone
# also matches before a final newline (issue 14), and these values come from the engine.
_NODE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
# A secret's file target as written inside `{{ secret "..." }}`: no quote, backslash or brace.
_SECRET_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
# The concrete VRRP password: printable ASCII without whitespace and without the characters that
# keepalived's parser gives a meaning (quotes, escapes, blocks, comments, $parameters).
_PASSWORD = re.compile(rf"^[!-~]{{1,{VRRP_PASSWORD_MAX}}}$")
_PASSWORD_FORBIDDEN = frozenset("\"'\\{}#!$")
# An absolute program path for the check helper (configurable so tests can install a copy).
_PROGRAM = re.compile(r"^/[A-Za-z0-9_./+-]*$")

_Address = IPv4Address | IPv6Address
_Interface = IPv4Interface | IPv6Interface


@dataclass(frozen=True)
class _Nodes:
    """Per-node priorities: ``resolved`` is (hostname, node ID, priority) sorted by hostname;
    ``unresolved`` the hostnames of ``spec.priorities`` that have no node ID (they get the default)."""

    resolved: tuple[tuple[str, str, int], ...]
    unresolved: tuple[str, ...]
    default: int


def keepalived_template(
    vip: VirtualIP,
    node_ids: Mapping[str, str],
    password_target: str | None = None,
    *,
    check_program: str = VIP_CHECK_PATH,
) -> str:
    """The content of the Swarm config (golang template driver) holding ``keepalived.conf``.

    ``node_ids`` maps node hostname to Swarm node ID. ``password_target`` is the file name under
    which the password Secret is attached to the keepalived service (default: the Secret's manifest
    name). The engine pastes the Secret's bytes there verbatim, so its content must already be a
    valid ``auth_pass`` (the manifest cross checks look at it). ``check_program`` is where
    ``vip-check`` lives in the image; only tests change it.
    Raises ``ValueError`` for a spec or node ID that cannot be rendered safely.
    """
    nodes = _nodes(vip, node_ids)
    auth_pass = None
    if vip.spec.password is not None:
        target = vip.spec.password.secret if password_target is None else password_target
        if not _SECRET_TARGET.fullmatch(target):
            raise ValueError(f"{target!r} is not a secret target this renderer can reference")
        auth_pass = f'{{{{ secret "{target}" }}}}'
    return _render(vip, _priority_expression(nodes), auth_pass, nodes, check_program)


def keepalived_conf(
    vip: VirtualIP,
    node_id: str | None,
    node_ids: Mapping[str, str],
    password: str | None = None,
    *,
    check_program: str = VIP_CHECK_PATH,
) -> str:
    """The ``keepalived.conf`` that the node ``node_id`` gets: the template evaluated for that node.

    ``node_id`` None (or an ID not among the resolved nodes) means the default priority.
    ``password`` stands for the Secret's content (``reconciler render`` passes a placeholder): it is
    required when the spec has a password, and ignored when it has none (there is no spot to fill).
    It must be 1-8 printable ASCII characters without whitespace, quotes, backslash, braces, '#',
    '!' or '$'.
    """
    nodes = _nodes(vip, node_ids)
    if node_id is not None:
        _check_node_id(node_id)
    auth_pass = None
    if vip.spec.password is not None:
        if password is None:
            raise ValueError(f"{vip.key} needs a VRRP password")
        _check_password(password)
        auth_pass = password
    priority = next((p for _, nid, p in nodes.resolved if nid == node_id), nodes.default)
    return _render(vip, str(priority), auth_pass, nodes, check_program)


# -- the one renderer ---------------------------------------------------------------------------


def _render(vip: VirtualIP, priority: str, auth_pass: str | None, nodes: _Nodes, check_program: str) -> str:
    """The file, with ``priority`` and ``auth_pass`` pasted in as given (template actions or values)."""
    if not _PROGRAM.fullmatch(check_program):
        raise ValueError(f"{check_program!r} is not an absolute program path")
    spec = vip.spec
    family = _instance_family(vip)
    if family == 6 and spec.password is not None:
        raise ValueError(f"{vip.key}: an IPv6 VRRP instance runs VRRPv3, which has no authentication; drop `password`")
    if family == 6 and spec.advert_interval > VRRP3_MAX_ADVERT_INTERVAL:
        raise ValueError(
            f"{vip.key}: an IPv6 VRRP instance runs VRRPv3, whose advert interval is at most "
            f"{VRRP3_MAX_ADVERT_INTERVAL} s"
        )
    addresses = sorted(spec.addresses, key=_interface_key)
    # The model compares addresses with their prefix; one IP with two prefixes is still one address.
    if len({a.ip for a in addresses}) != len(addresses):
        raise ValueError(f"{vip.key}: an address is listed twice (with different prefixes)")
    same = [a for a in addresses if a.version == family]
    other = [a for a in addresses if a.version != family]
    checks = sorted(spec.checks, key=lambda c: c.name)

    lines = [*_header(vip, nodes), ""]
    lines += _block(
        "global_defs",
        [
            f"router_id {vip.name}",
            "# scripts run as root: keepalived refuses any script a non-root user could change",
            "enable_script_security",
            "script_user root",
            "# a second GARP/NA burst after taking over, and a refresh while master",
            "vrrp_garp_master_delay 5",
            "vrrp_garp_master_repeat 3",
            "vrrp_garp_master_refresh 60",
            "vrrp_garp_master_refresh_repeat 2",
        ],
    )
    for check in checks:
        lines += ["", *_vrrp_script(check, check_program)]
    body = [
        "# every node starts as BACKUP; the election by priority picks the master",
        "state BACKUP",
        f"interface {spec.interface}",
        f"virtual_router_id {spec.router_id}",
        f"priority {priority}",
        f"advert_int {spec.advert_interval}",
    ]
    if not spec.preempt:
        body.append("nopreempt")
    if auth_pass is not None:
        body += _block("authentication", ["auth_type PASS", f"auth_pass {auth_pass}"])
    if spec.unicast_peers:
        body += _block("unicast_peer", [_address(peer) for peer in sorted(spec.unicast_peers, key=_address_key)])
    body += _block("virtual_ipaddress", [f"{_interface(a)} dev {spec.interface}" for a in same])
    if other:
        body += _block("virtual_ipaddress_excluded", [f"{_interface(a)} dev {spec.interface}" for a in other])
    if checks:
        body += _block("track_script", [check.name for check in checks])
    lines += ["", *_block(f"vrrp_instance {vip.name}", body)]
    _check_lines(lines)
    return "\n".join(lines) + "\n"


def _header(vip: VirtualIP, nodes: _Nodes) -> list[str]:
    lines = [
        f"# keepalived.conf of VirtualIP/{vip.name}, rendered by swarm-reconciler: do not edit.",
        f"# Priority by node (hostname, swarm node ID, priority); any other node: {nodes.default}.",
    ]
    lines += [f"#   {host} {node_id} {priority}" for host, node_id, priority in nodes.resolved]
    if nodes.unresolved:
        # Offline (`render` without --node) nothing is resolved: do not claim the nodes are missing.
        lines.append(f"# In `priorities` with no node ID known (not in the swarm, or rendered without --node), "
                     f"so the default {nodes.default} applies:")  # fmt: skip
        lines += [f"#   {host}" for host in nodes.unresolved]
    return lines


def _block(opening: str, body: Iterable[str]) -> list[str]:
    return [f"{opening} {{", *(_INDENT + line for line in body), "}"]


def _vrrp_script(check: VipCheck, check_program: str) -> list[str]:
    return _block(
        f"vrrp_script {check.name}",
        [
            # keepalived splits the quoted string at spaces into argv and runs it without a shell;
            # no argument can contain a space, quote or brace (see the models and _host).
            f'script "{" ".join(_check_command(check, check_program))}"',
            f"interval {check.interval}",
            f"timeout {check.timeout}",
            f"weight {check.weight}",
            f"fall {check.fall}",
            f"rise {check.rise}",
        ],
    )


def _check_command(check: VipCheck, check_program: str) -> list[str]:
    if check.type == "script":
        return list(check.command)
    host = _host(check)
    if check.type == "tcp":
        return [check_program, "tcp", host, str(check.port), str(check.timeout)]
    return [check_program, "http", host, str(check.port), check.path, str(check.expect_status), str(check.timeout)]


# -- node priorities ------------------------------------------------------------------------------


def _nodes(vip: VirtualIP, node_ids: Mapping[str, str]) -> _Nodes:
    resolved: list[tuple[str, str, int]] = []
    unresolved: list[str] = []
    for host in sorted(vip.spec.priorities):
        node_id = node_ids.get(host)
        if node_id is None:
            unresolved.append(host)
            continue
        _check_node_id(node_id)
        resolved.append((host, node_id, vip.spec.priorities[host]))
    # Two hostnames on one node ID would make the first branch of the if-chain win silently.
    ids = [node_id for _, node_id, _ in resolved]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{vip.key}: two hostnames in `priorities` resolve to the same node ID")
    return _Nodes(tuple(resolved), tuple(unresolved), vip.spec.default_priority)


def _priority_expression(nodes: _Nodes) -> str:
    """``{{if eq .Node.ID "a"}}150{{else if eq .Node.ID "b"}}100{{else}}100{{end}}``, or the default."""
    if not nodes.resolved:
        return str(nodes.default)
    branches = "{{else if ".join(f'eq .Node.ID "{node_id}"}}}}{priority}' for _, node_id, priority in nodes.resolved)
    return f"{{{{if {branches}{{{{else}}}}{nodes.default}{{{{end}}}}"


def _check_node_id(node_id: str) -> None:
    if not _NODE_ID.fullmatch(node_id):
        raise ValueError(f"{node_id!r} is not a Swarm node ID")


def _check_password(password: str) -> None:
    if not _PASSWORD.fullmatch(password) or any(ch in _PASSWORD_FORBIDDEN for ch in password):
        raise ValueError(
            f"the VRRP password must be 1-{VRRP_PASSWORD_MAX} printable ASCII characters without spaces, "
            "quotes, backslash, braces, '#', '!' or '$'"
        )


# -- addresses ------------------------------------------------------------------------------------


def _instance_family(vip: VirtualIP) -> int:
    """4 or 6: the family of the unicast peers if there are any, else IPv4 if any address is IPv4."""
    spec = vip.spec
    peer_families = {peer.version for peer in spec.unicast_peers}
    if len(peer_families) > 1:
        raise ValueError(f"{vip.key}: unicast peers must all be IPv4 or all be IPv6")
    if peer_families:
        family = peer_families.pop()
        if not any(a.version == family for a in spec.addresses):
            raise ValueError(f"{vip.key}: the unicast peers are IPv{family}, so at least one address must be too")
        return family
    return 4 if any(a.version == 4 for a in spec.addresses) else 6


def _usable(address: _Address | _Interface, what: str) -> None:
    # A scope ID (fe80::1%eth0) is free text for Python's ipaddress: it may hold spaces, braces or
    # newlines, so it never reaches the file. (An IPv6Interface keeps it; its `.ip` drops it.)
    if isinstance(address, IPv6Address) and address.scope_id is not None:
        raise ValueError(f"{what} {address!r}: IPv6 scope IDs (%...) are not supported; the interface is implied")
    ip = address.ip if isinstance(address, IPv4Interface | IPv6Interface) else address
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
        raise ValueError(f"{what} {ip} is a multicast, unspecified or loopback address")


def _interface(value: _Interface) -> str:
    _usable(value, "address")
    return f"{value.ip}/{value.network.prefixlen}"


def _address(value: _Address) -> str:
    _usable(value, "unicast peer")
    return str(value)


def _host(check: VipCheck) -> str:
    host = check.host
    if isinstance(host, IPv6Address) and host.scope_id is not None:
        raise ValueError(f"check {check.name}: IPv6 scope IDs (%...) are not supported in `host`")
    return str(host)


def _interface_key(value: _Interface) -> tuple[int, int, int]:
    return (value.version, int(value.ip), value.network.prefixlen)


def _address_key(value: _Address) -> tuple[int, int]:
    return (value.version, int(value))


# -- final checks ---------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{.*?\}\}")


def _check_lines(lines: list[str]) -> None:
    """Refuse lines keepalived would split, and literal braces pairs the template engine would read.

    The lines holding template actions are checked in their evaluated form by ``keepalived_conf``;
    the priority expression itself can be long, but the engine replaces it by a number.
    """
    for line in lines:
        literal = _ACTION.sub("", line)
        if "{{" in literal or "}}" in literal:
            raise ValueError(f"internal: a literal '{{{{' or '}}}}' would be read as a template action: {line!r}")
        if literal == line and len(line) > MAX_LINE:
            raise ValueError(
                f"a line of keepalived.conf would be {len(line)} characters long; keepalived reads at most "
                f"{MAX_LINE}: {line[:80]}..."
            )
