"""The client's address, believing X-Forwarded-For only from trusted proxies.

Anyone can send ``X-Forwarded-For: 1.2.3.4``; believed from anyone, it lets one client pose as
any number of addresses and walk past a per-address limit. This ASGI middleware replaces the
peer address (and scheme, from ``X-Forwarded-Proto``) only when the peer is a configured
trusted proxy, and then takes the rightmost forwarded address that is not itself a trusted
proxy: the one the outermost trusted proxy saw connect (entries to its left are whatever the
client wrote). Uvicorn's own proxy-header handling is turned off (``--no-proxy-headers``) so
this is the only place that decides.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address a request came from: ``peer`` unless a trusted proxy says otherwise."""
    peer_address = _address(peer)
    if not forwarded_for or peer_address is None or not _is_trusted(peer_address, trusted):
        return peer
    hops = [_address(part) for part in forwarded_for.split(",")]
    for hop in reversed(hops):
        if hop is None:
            break  # garbage where a proxy's entry should be: believe nothing further left
        if not _is_trusted(hop, trusted):
            return str(hop)
    return peer


def _is_trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]
) -> bool:
    return any(address in network for network in trusted)


class TrustedProxies:
    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client: tuple[str, int] | None = scope.get("client")
        peer = _address(client[0]) if client else None
        if (
            client is not None
            and scope["type"] in ("http", "websocket")
            and peer is not None
            and _is_trusted(peer, self.trusted)
        ):
            forwarded_for, proto = [], ""
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").strip()
            scope = dict(scope)
            host = client_address(client[0], ",".join(forwarded_for), self.trusted)
            if host != client[0]:
                scope["client"] = (host, 0)
            if proto in ("http", "https"):
                scope["scheme"] = proto
        await self.app(scope, receive, send)
