"""Where a webhook may be sent (DESIGN 11, no server-side request forgery): the host is resolved
when sending, and every address it resolves to must be a public one, unless the operator allows
private addresses. The caller then connects to the checked address itself, so a DNS answer that
changes between the check and the connection (rebinding) cannot redirect it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# cloud metadata services; most are link-local or private already, named here so none slips by
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192"))


class AddressRefused(Exception):
    """The URL's host resolves to an address webhooks may not reach (or does not resolve)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def forbidden(address: IPAddress) -> bool:
    """Loopback, private, link-local, shared, reserved, unspecified, multicast or metadata: anything
    not globally routable. An IPv4 address wrapped in IPv6 is judged as itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address in METADATA or address.is_multicast or not address.is_global


async def resolve(host: str, port: int, *, allow_private: bool) -> IPAddress:
    """The address to connect to for `host`; refused when any of its addresses is forbidden."""
    try:
        addresses = [ipaddress.ip_address(host.split("%", 1)[0])]  # an address already: what a lookup answers
    except ValueError:
        addresses = await _look_up(host, port)
    if not allow_private and any(forbidden(a) for a in addresses):
        raise AddressRefused("address_refused", "The endpoint resolves to a private, loopback, link-local or "
                                                "metadata address, which webhooks may not reach.")
    return addresses[0]


async def _look_up(host: str, port: int) -> list[IPAddress]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressRefused("unresolvable", "The endpoint's host name does not resolve.") from error
    if not found:
        raise AddressRefused("unresolvable", "The endpoint's host name does not resolve.")
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
