"""client_address: X-Forwarded-For believed only from KDT_TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.requests import Request

from api.client_address import client_address


def request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def nets(*specs: str):
    return tuple(ipaddress.ip_network(s) for s in specs)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("127.0.0.1", "1.2.3.4", (), "127.0.0.1"),  # nothing trusted: a loopback peer neither
        ("198.51.100.9", "1.2.3.4", ("10.0.0.0/8",), "198.51.100.9"),  # peer is not a proxy
        ("10.0.0.2", "1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
        ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7", ("10.0.0.0/8",), "1.2.3.4"),  # spoofed left
        ("10.0.0.2", "", ("10.0.0.0/8",), "10.0.0.2"),
        ("10.0.0.2", "1.2.3.4, garbage", ("10.0.0.0/8",), "10.0.0.2"),
        ("::1", "2001:db8::5", ("::1/128",), "2001:db8::5"),
    ],
)
def test_client_address(peer, forwarded, trusted, expected) -> None:
    assert client_address(request(peer, forwarded), trusted=nets(*trusted)) == expected
