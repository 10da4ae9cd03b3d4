"""Where a fetch may go: the network guard's rules (pure).

Once watcher fetches URLs that a third-party feed names, a feed could point it at the
inside of the network it runs on (a router, a database, the cloud metadata service at
169.254.169.254). The rules here refuse such addresses, schemes other than http(s) and
unusual ports; ``fetch`` applies them to every hop's URL and, decisively, to the address
each connection is actually made to, so a name that resolves differently the second
time (DNS rebinding) gains nothing. It never resolves a name itself.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from watcher.errors import BlockedError

# Ports web servers are found on; anything else needs allowed_ports or allow_private.
DEFAULT_PORTS = frozenset({80, 443, 8080, 8443})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("fc00::/7"),  # unique local
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: an IPv4 address inside
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # a site's own translator
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """What one watch may reach: ``allow_private`` lifts the address and port rules;
    ``allowed_networks`` lifts the address rules for those networks only."""

    allow_private: bool = False
    ports: frozenset[int] = DEFAULT_PORTS
    allowed_networks: tuple[IPNetwork, ...] = ()


def check_url(url: str, policy: NetworkPolicy) -> None:
    """Refuse ``url`` by its scheme, port or a literal address in it (no name is resolved).

    Raises ``BlockedError`` naming the rule; a name's addresses are checked at connect time.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedError(f"invalid URL: {exc}", rule="url") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise BlockedError("invalid URL: no scheme (only http:// and https://)", rule="scheme")
    if scheme not in ("http", "https"):
        raise BlockedError(
            f"invalid URL: scheme {scheme}:// is not fetched (only http and https)", rule="scheme"
        )
    host = parts.hostname
    if not host:
        raise BlockedError("invalid URL: no host", rule="url")
    if policy.allow_private:
        return
    port = port if port is not None else (443 if scheme == "https" else 80)
    if port not in policy.ports:
        allowed = ", ".join(str(p) for p in sorted(policy.ports))
        raise BlockedError(
            f"port {port} is not allowed (allowed: {allowed}; see settings.allowed_ports){_ADVICE}",
            rule="port",
        )
    address = parse_address(host)
    if address is not None:
        check_address(address, policy)


def check_address(address: str | IPAddress, policy: NetworkPolicy) -> None:
    """Refuse a connection to ``address`` unless it is a public unicast address."""
    if policy.allow_private:
        return
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if any(ip.version == net.version and ip in net for net in policy.allowed_networks):
        return
    rule = blocking_rule(ip)
    if rule is not None:
        article = "an" if rule[0] in "aeiou" else "a"
        raise BlockedError(f"{ip} is {article} {rule} address{_ADVICE}", rule=rule)


def blocking_rule(ip: IPAddress) -> str | None:
    """The rule that refuses ``ip`` ("loopback", "private", …), or None for a public address.

    IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by it.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, form = _embedded_ipv4(ip)
        if embedded is not None:
            inner = blocking_rule(embedded)
            return f"{inner} ({form})" if inner else None
        if ip in _NAT64_LOCAL:
            return "private (local NAT64)"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _CGNAT:
        return "shared (CGNAT)"
    if any(ip in network for network in _PRIVATE):
        return "private"
    if not ip.is_global or (isinstance(ip, ipaddress.IPv4Address) and ip.is_reserved):
        return "reserved"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "reserved"
    return None


def parse_address(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one (brackets and a zone id allowed), else None."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    return None, ""


_ADVICE = "; set allow_private = true on the watch or source to fetch it on purpose"
