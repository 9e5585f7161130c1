"""``Network``: an overlay network. Swarm networks are immutable, so any changed field is a replace."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reconciler.manifests.ip_text import IPAddress, IPNetwork
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.object_names import ExternalNetworkMetadata, managed_name_problem
from reconciler.manifests.types import Flag, Labels, Spec, nested_error

__all__ = ["PREDEFINED_NETWORKS", "Ipam", "Network", "NetworkSpec"]

# moby runconfig.IsPreDefinedNetwork (!NetworkMode.IsUserDefined): the daemon refuses to create
# these ("is a pre-defined network and cannot be created", daemon/cluster/networks.go).
PREDEFINED_NETWORKS = frozenset({"bridge", "host", "none", "default"})


class Ipam(Spec):
    subnet: IPNetwork
    gateway: IPAddress | None = None
    ip_range: IPNetwork | None = Field(default=None, description="Sub-range for task IPs.")

    @model_validator(mode="after")
    def _ipv4_only(self) -> Ipam:
        # Neither engine allocates an IPv6 overlay network from a manifest's pool: Engine 28.5 leaves
        # it "being allocated" for ever (no driver, no IPAM config), with EnableIPv6 or without
        # (tried by hand on the lab); refuse it here rather than at apply.
        if self.subnet.version == 6:
            raise ValueError(
                f"subnet {self.subnet} is IPv6: the swarm does not allocate IPv6 overlay networks (Engine 28 "
                "leaves them unallocated for ever); use an IPv4 subnet"
            )
        return self

    @model_validator(mode="after")
    def _inside_subnet(self) -> Ipam:
        if self.gateway is not None and self.gateway not in self.subnet:
            raise ValueError(f"gateway {self.gateway} is outside subnet {self.subnet}")
        if self.ip_range is not None and (
            self.ip_range.version != self.subnet.version or not self.ip_range.subnet_of(self.subnet)  # type: ignore[arg-type]
        ):
            raise ValueError(f"ipRange {self.ip_range} is outside subnet {self.subnet}")
        return self


class NetworkSpec(Spec):
    driver: Literal["overlay"] = "overlay"
    attachable: Flag = False
    internal: Flag = Field(default=False, description="No route to the outside world.")
    encrypted: Flag = Field(default=False, description="IPsec between nodes (driver option `encrypted`).")
    ipam: Ipam | None = None
    labels: Labels = Field(default_factory=dict)
    external: Flag = Field(
        default=False,
        description="The network exists already and is not managed (e.g. made by hand or a stack); "
        "services and routes may refer to it. No other field may be set.",
    )

    @model_validator(mode="after")
    def _external_is_bare(self) -> NetworkSpec:
        if self.external and (self.attachable or self.internal or self.encrypted or self.ipam or self.labels):
            raise ValueError("an external network is not managed: set no other field")
        return self


class Network(Resource):
    KIND = "Network"
    kind: Literal["Network"]
    metadata: ExternalNetworkMetadata
    spec: NetworkSpec = Field(default_factory=NetworkSpec)

    @model_validator(mode="after")
    def _managed_name(self) -> Network:
        managed_name_problem(self.name, self.spec.external)
        if not self.spec.external and self.name in PREDEFINED_NETWORKS:
            raise nested_error(
                ("metadata", "name"),
                f"{self.name!r} is a network every Docker engine predefines and cannot be created: "
                "choose another name, or set `external: true`",
            )
        return self
