"""IP fields take text only. Pydantic's ``ipaddress`` types also take a number (and a boolean, which is
one): ``subnet: 3`` became 0.0.0.3/32 (then "gateway 10.20.0.1 is outside subnet 0.0.0.3/32"), an NFS
``server: 3`` the address 0.0.0.3 in the mount options, ``addresses: [true]`` 0.0.0.1/32. A value that
is not a string is refused here, before the type sees it, with an example of what to write. Used by the
kind modules for every address, network and interface field (``network``, ``volume``, ``virtual_ip``).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from typing import Annotated, Any

from pydantic import BeforeValidator

from reconciler.manifests.errors import described

__all__ = ["IPAddress", "IPInterface", "IPNetwork", "text_only"]

_TYPES = (IPv4Address, IPv6Address, IPv4Network, IPv6Network, IPv4Interface, IPv6Interface)


def text_only(what: str) -> BeforeValidator:
    """A validator that lets only strings through to the type, refusing others with ``what`` (an
    example of the value to write)."""

    def check(value: Any) -> Any:
        if isinstance(value, (str, *_TYPES)):  # a default written in the model is an ipaddress object
            return value
        raise ValueError(f"expected {what}, not {described(value)}")

    return BeforeValidator(check)


IPAddress = Annotated[IPv4Address | IPv6Address, text_only("an IP address such as 10.0.0.1 or fd00::1")]
IPNetwork = Annotated[IPv4Network | IPv6Network, text_only("a network such as 10.20.0.0/16")]
IPInterface = Annotated[
    IPv4Interface | IPv6Interface, text_only("an address with its prefix length such as 10.0.0.5/24")
]
