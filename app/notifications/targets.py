"""Where a user may make the server send requests: their webhook URL and their browsers' push
endpoints. Both are URLs a user types or a browser reports, so both are a server-side request
forgery risk: without a rule, "http://10.0.0.5:5432/" would make the notifier probe the
cluster's network.

The rule (README "Notifications"): ``https`` only; no user name or password in the URL; the
host is a public DNS name (not ``localhost``, not a single label such as a Kubernetes service
name, not a ``.local``/``.internal``/``.svc`` name) or a public IP address. The notifier checks
again at send time that every address the name resolves to is public (a name that pointed
somewhere public when saved may not any more).

Tests and local runs allow loopback targets (``http://127.0.0.1:PORT/...``) with the explicit
setting ``ALLOW_LOOPBACK_TARGETS=true``; nothing else is relaxed by it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Final
from urllib.parse import urlsplit

MAX_URL_LENGTH: Final = 2048
_PRIVATE_SUFFIXES: Final = (".localhost", ".local", ".internal", ".svc", ".cluster.local", ".lan")


class TargetRefused(ValueError):
    """A URL the server will not send requests to; the message says why."""


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _allowed_address(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool
) -> bool:
    return address.is_global or (allow_loopback and address.is_loopback)


def check_target(url: str, *, allow_loopback: bool) -> str:
    """``url`` if the server may send to it (see the module's rule); else :class:`TargetRefused`."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        # Spaces and control characters have no place in a URL (an IDN host is written in
        # punycode); NUL would not even fit a PostgreSQL string.
        raise TargetRefused("the URL must be ASCII without spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("not a valid URL") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL must not carry a user name or password")
    address = _address(host)
    loopback = allow_loopback and address is not None and address.is_loopback
    if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
        raise TargetRefused("the URL must start with https://")
    if port == 0:
        raise TargetRefused("the URL's port must not be 0")
    if address is not None:
        if not _allowed_address(address, allow_loopback):
            raise TargetRefused("the URL's address is not a public one")
    elif "." not in host.strip(".") or host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        raise TargetRefused("the URL's host is not a public name")
    return url


async def check_resolved(url: str, *, allow_loopback: bool) -> None:
    """At send time: every address the URL's host resolves to must be allowed, so a name that
    was public when saved cannot be pointed at an internal address later."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _address(host) is not None:
        return  # checked by check_target already
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as error:
        raise TargetRefused(f"the URL's host does not resolve ({error.strerror})") from None
    for info in infos:
        resolved = _address(str(info[4][0]).split("%")[0])
        if resolved is None or not _allowed_address(resolved, allow_loopback):
            raise TargetRefused("the URL's host resolves to an address that is not public")
