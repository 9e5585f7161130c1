"""``VirtualIP``: a floating address held by keepalived (VRRP) on every node of the placement.

Every value here is written into ``keepalived.conf`` by ``reconciler.render.keepalived``; each is
restricted so that it cannot open a block, end a string or start a new line in that file.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, Field, model_validator

from reconciler.manifests.ip_text import IPAddress, IPInterface, text_only
from reconciler.manifests.kinds.base import Reference, Resource
from reconciler.manifests.kinds.service import Constraint, ImageRef
from reconciler.manifests.object_names import ConfigObjectName
from reconciler.manifests.types import Flag, Hostname, Name, Spec, WholeNumber, empty_list, matching, nested_error

__all__ = ["DEFAULT_KEEPALIVED_IMAGE", "SecretRef", "VipCheck", "VirtualIP", "VirtualIPSpec"]

DEFAULT_KEEPALIVED_IMAGE = "swarm-reconciler/keepalived:0.1"

_IFNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")  # Linux IFNAMSIZ is 16 with the NUL
_NODE_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$")
# A script argument may not open/close a block, quote, comment or break the line in keepalived.conf.
_SCRIPT_ARG = re.compile(r"^[A-Za-z0-9_./:=@%+,-]+$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~%/?&=+-]*$")


_IP = TypeVar("_IP", IPv4Address, IPv6Address, IPv4Interface, IPv6Interface)


def _usable(value: _IP) -> _IP:
    """A scope id (``fe80::1%eth0``) is free text that would reach the file; the other kinds of
    address can never be a floating address or a VRRP peer."""
    ip = value.ip if isinstance(value, IPv4Interface | IPv6Interface) else value
    if "%" in str(value):
        raise ValueError(f"{value}: IPv6 scope IDs (%...) are not supported")
    if ip.is_unspecified or ip.is_multicast or ip.is_loopback:
        raise ValueError(f"{value}: a multicast, unspecified or loopback address cannot be used here")
    return value


UsableAddress = Annotated[IPAddress, AfterValidator(_usable)]
UsableInterface = Annotated[IPInterface, AfterValidator(_usable)]


def _no_scope(value: IPv4Address | IPv6Address | str) -> IPv4Address | IPv6Address | str:
    if "%" in str(value):
        raise ValueError(f"{value}: IPv6 scope IDs (%...) are not supported")
    return value


InterfaceName = Annotated[str, matching(_IFNAME, "a network interface name (at most 15 of A-Z a-z 0-9 _ . -)")]
NodeHostname = Annotated[str, matching(_NODE_HOSTNAME, "a node hostname")]
ScriptArg = Annotated[
    str,
    matching(_SCRIPT_ARG, "a safe script argument (no spaces, quotes, braces, '#', '!' or newlines)"),
]
UrlPath = Annotated[str, matching(_URL_PATH, "a URL path such as /ping")]
Priority = Annotated[WholeNumber, Field(ge=1, le=254)]


class SecretRef(Spec):
    secret: ConfigObjectName = Field(description="A Secret manifest holding the VRRP password (at most 8 characters).")


class VipCheck(Spec):
    """A ``vrrp_script``: the node's priority changes by ``weight`` while the check fails (weight < 0)
    or succeeds (weight > 0)."""

    name: Name
    type: Literal["tcp", "http", "script"]
    host: Annotated[
        IPv4Address | IPv6Address | Hostname,
        text_only("a host name or an IP address such as 127.0.0.1"),
        AfterValidator(_no_scope),
    ] = Field(default=IPv4Address("127.0.0.1"), description="tcp/http: where to connect (host network).")
    port: WholeNumber | None = Field(default=None, ge=1, le=65535)
    path: Annotated[UrlPath, Field(max_length=200)] = Field(default="/", description="http: the path to GET.")
    expect_status: WholeNumber = Field(default=200, ge=100, le=599)
    command: list[Annotated[ScriptArg, Field(max_length=200)]] = Field(
        default_factory=empty_list, max_length=16, description="script: program and arguments."
    )
    interval: WholeNumber = Field(default=2, ge=1, le=3600, description="Seconds between runs.")
    timeout: WholeNumber = Field(default=1, ge=1, le=3600, description="Seconds before a run counts as failed.")
    weight: WholeNumber = Field(default=-50, ge=-253, le=253)
    fall: WholeNumber = Field(default=2, ge=1, le=255)
    rise: WholeNumber = Field(default=2, ge=1, le=255)

    @model_validator(mode="after")
    def _fields_for_type(self) -> VipCheck:
        if self.type in ("tcp", "http") and self.port is None:
            raise ValueError(f"a {self.type} check needs a `port`")
        if self.type == "script" and not self.command:
            raise ValueError("a script check needs a `command`")
        if self.type != "script" and self.command:
            raise ValueError("`command` is only for script checks")
        if self.command and not self.command[0].startswith("/"):
            raise ValueError("the script command must start with an absolute program path")
        return self


class VirtualIPSpec(Spec):
    addresses: list[UsableInterface] = Field(
        min_length=1, description="Floating addresses with prefix, e.g. 192.168.1.250/24."
    )
    interface: InterfaceName
    router_id: WholeNumber = Field(ge=1, le=255, description="VRRP virtual router id, unique on the segment.")
    advert_interval: WholeNumber = Field(default=1, ge=1, le=255, description="Seconds between VRRP adverts.")
    priorities: dict[NodeHostname, Priority] = Field(
        default_factory=dict, description="Node hostname to VRRP priority; others get defaultPriority."
    )
    default_priority: Priority = 100
    preempt: Flag = Field(default=True, description="A higher-priority node takes the address back.")
    password: SecretRef | None = None
    unicast_peers: list[UsableAddress] = Field(
        default_factory=empty_list, description="Peers for unicast VRRP, all of one address family."
    )
    checks: list[VipCheck] = Field(default_factory=empty_list)
    image: ImageRef = DEFAULT_KEEPALIVED_IMAGE
    placement: list[Constraint] = Field(
        default_factory=empty_list, description="Placement constraints for the keepalived tasks."
    )

    @model_validator(mode="after")
    def _consistent(self) -> VirtualIPSpec:
        if len({a.ip for a in self.addresses}) != len(self.addresses):
            raise ValueError("an address is listed twice")
        if len({p.version for p in self.unicast_peers}) > 1:
            raise ValueError("unicastPeers mixes IPv4 and IPv6: VRRP speaks one family per instance")
        families = {a.version for a in self.addresses}
        if self.unicast_peers and self.unicast_peers[0].version not in families:
            raise ValueError("unicastPeers are of another address family than every address")
        ipv6_only = families == {6} or (self.unicast_peers and self.unicast_peers[0].version == 6)
        if ipv6_only and self.password is not None:
            raise ValueError("an IPv6 instance speaks VRRPv3, which has no password: remove `password`")
        if ipv6_only and self.advert_interval > 40:
            raise ValueError("an IPv6 instance speaks VRRPv3, whose advertInterval is at most 40 seconds")
        names = [c.name for c in self.checks]
        if len(set(names)) != len(names):
            raise ValueError("two checks share one name")
        return self


class VirtualIP(Resource):
    KIND = "VirtualIP"
    kind: Literal["VirtualIP"]
    spec: VirtualIPSpec

    @model_validator(mode="after")
    def _no_namespace(self) -> VirtualIP:
        # A VirtualIP holds an address on the hosts' interfaces for the whole swarm (host network,
        # swarm-wide VRRP router ids): docker stack has no such object, and a stack cannot own it.
        if self.metadata.namespace:
            raise nested_error(
                ("metadata", "namespace"),
                "a VirtualIP belongs to the whole swarm, not to a stack: remove metadata.namespace",
            )
        return self

    def references(self) -> list[Reference]:
        if self.spec.password is None:
            return []
        return [Reference(kind="Secret", name=self.spec.password.secret, field_path=("spec", "password", "secret"))]
