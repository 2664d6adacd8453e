"""The inbound toggle: an endpoint with ``public_network_access: disabled`` answers only clients
whose address is in the router's private ranges (loopback by default, ``--private-range`` adds).

:func:`allowed` is the pure policy; :class:`InboundPolicy` caches it per client address, so a
private endpoint costs one dict lookup per request and a public one nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from switchman.dataplane.errors import ScoringError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
_CACHE_LIMIT = 10_000


class ForbiddenError(ScoringError):
    status = 403
    default_code = "Forbidden"


def parse_ranges(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings → networks.

    Raises:
        ValueError: one is not a network (the message names it).
    """
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"--private-range {value!r} is not a network: give CIDR like 10.0.0.0/8 or "
                "fd00::/8."
            ) from None
    return tuple(out)


def allowed(peer: str, ranges: Iterable[Network]) -> bool:
    """Whether a client at ``peer`` (an IP string; "" for a Unix socket) is on a private range."""
    if not peer:
        return True  # a Unix-socket client is on this machine
    try:
        ip = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in ranges)


class InboundPolicy:
    """Loopback plus ``extra`` ranges count as private."""

    def __init__(self, extra: Iterable[Network] = ()) -> None:
        self.ranges = (*LOOPBACK, *extra)
        self._seen: dict[str, bool] = {}

    def check(self, endpoint: str, peer: str) -> None:
        """Raise the 403 unless ``peer`` may reach private endpoint ``endpoint``."""
        ok = self._seen.get(peer)
        if ok is None:
            ok = allowed(peer, self.ranges)
            if len(self._seen) >= _CACHE_LIMIT:
                self._seen.clear()
            self._seen[peer] = ok
        if not ok:
            raise ForbiddenError(
                f"Public access to endpoint {endpoint!r} is disabled (public_network_access: "
                "disabled). Call it from a private network: this machine, or a range the router "
                "was started with (switchman up --private-range CIDR)."
            )


__all__ = ["LOOPBACK", "ForbiddenError", "InboundPolicy", "allowed", "parse_ranges"]
