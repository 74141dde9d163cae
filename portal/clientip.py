"""The client's address: one place that decides it, for every limit and every stored IP.

Without TRUSTED_PROXIES the peer's address (REMOTE_ADDR) is the client, and any
X-Forwarded-For header is ignored: a client writes whatever it likes there. With it,
the header is read only as far as the proxies we trust wrote it, from the right.
Whatever is not an IP address is never returned, so nothing garbled reaches a
limit's key or an `inet` column.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as text, or None when the peer's own address is not one."""
    peer = parse_ip(request.META.get("REMOTE_ADDR", ""))
    trusted = settings.TRUSTED_PROXIES
    if peer is None or not trusted:
        return str(peer) if peer is not None else None
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if isinstance(trusted, int):
        # That many proxies each appended the address they saw: the client is that far from the right.
        # A request that passed fewer proxies leaves fewer hops; DRF's NUM_PROXIES reads it the same way.
        if not hops:
            return str(peer)
        client = parse_ip(hops[-min(trusted, len(hops))])
        return str(client) if client is not None else str(peer)
    # A list of proxy networks: walk from the peer leftwards while the address is one of ours.
    current = peer
    for hop in reversed(hops):
        if not _is_trusted(current, trusted):
            break
        address = parse_ip(hop)
        if address is None:
            break  # a proxy of ours would not write this: the client did; stop at the last sure hop
        current = address
    return str(current)


def parse_ip(raw: str) -> Address | None:
    """An IP address from a header value ("203.0.113.5", "[2001:db8::1]:443", "203.0.113.5:1234"), or None."""
    value = (raw or "").strip()
    if not value or len(value) > 64:
        return None
    if value.startswith("["):  # [v6]:port
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _is_trusted(address: Address, networks: tuple) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def address_network(ip: str | None) -> str:
    """What one client's limit counts: an IPv4 address itself, an IPv6 address's /64.

    An IPv6 host is usually given a whole /64 and can pick any address in it, so a
    limit per IPv6 address would be a limit per guess.
    """
    address = parse_ip(ip or "")
    if address is None:
        return ""
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
