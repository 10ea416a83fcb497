"""Server-side request forgery: webhook URLs may not reach loopback, link-local or private addresses.

A webhook makes the platform POST to a URL its client chose; without this check a client could
make it probe the platform's own network (a database port, a cloud metadata endpoint at
169.254.169.254). The URL's host is resolved and every address it resolves to must be global, both
when the subscription is made and before each delivery (a name may be pointed elsewhere later).
``ORETRAIL_WEBHOOKS_ALLOW_PRIVATE=true`` lifts the check for tests and local development.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """A webhook URL that may not be used: why, in words a client can act on."""


def check_url(url: str, allow_private: bool = False) -> None:
    """Raise :class:`UnsafeUrl` unless ``url`` is an http(s) URL whose host resolves only to global addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise UnsafeUrl("the URL may not carry a user name or password")
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"the host {parts.hostname!r} does not resolve: {exc}") from None
    for *_rest, address in found:
        ip = ipaddress.ip_address(address[0].split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            kind = ("loopback" if ip.is_loopback else "link-local" if ip.is_link_local
                    else "private" if ip.is_private else "reserved or non-global")
            raise UnsafeUrl(f"the host {parts.hostname!r} resolves to {ip}, a {kind} address: webhooks go only to "
                            "public addresses (ORETRAIL_WEBHOOKS_ALLOW_PRIVATE=true allows others, for development)")
