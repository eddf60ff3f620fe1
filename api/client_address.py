"""The client's address, believing ``X-Forwarded-For`` only from proxies the operator named.

``KDT_TRUSTED_PROXIES`` lists addresses or CIDRs (``10.0.0.5, 10.1.0.0/16``); empty by
default, so the address is the TCP peer's and the header is ignored. When the peer is a
trusted proxy, the header is read right to left (each proxy appends the address it saw),
skipping trusted proxies; the first untrusted address is the client. A malformed entry
stops the walk at the last address known to be real.

``kdt-tutor serve`` starts uvicorn with its own proxy-header handling off (uvicorn trusts
loopback peers by default), so the peer seen here is the real one. Run uvicorn yourself
with ``--no-proxy-headers`` for the same.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: Request, *, trusted: Sequence[Network]) -> str | None:
    """The address failed logins are counted against."""
    peer = request.client.host if request.client else None
    if not trusted or peer is None:
        return peer

    def is_trusted(ip) -> bool:
        return ip is not None and any(ip in net for net in trusted)

    if not is_trusted(_ip(peer)):
        return peer
    address = peer
    hops = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # garbage: keep the last address a trusted proxy vouched for
        address = str(ip)
        if not is_trusted(ip):
            break
    return address
