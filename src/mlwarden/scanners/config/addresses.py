"""Who can reach an address a service binds to or a client connects to.

Configuration spells addresses many ways (``0.0.0.0``, ``[::]:8080``, ``:8787``,
``tcp://10.0.0.5:8786``, ``http://0.0.0.0:8081``, ``unix:/tmp/sock``). Everything that is
not provably loopback counts as reachable from the network: a LAN address or a host name
is as exposed as ``0.0.0.0`` to whoever shares that network. Values that are still
templates (``$HOST``, ``{{ .Values.host }}``) are :attr:`Reach.UNKNOWN` and never reported.
"""

from __future__ import annotations

import enum
import ipaddress
from urllib.parse import urlsplit

_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback", "localhost.localdomain"})
_ALL_INTERFACES = frozenset({"", "*", "0.0.0.0", "::", "0", "[::]", "+"})
_TEMPLATE_MARKS = ("$", "{{", "%(", "<", "`")


class Reach(enum.Enum):
    """How far an address reaches."""

    LOOPBACK = "loopback"
    NETWORK = "network"
    UNKNOWN = "unknown"


def host_reach(host: str) -> Reach:
    """Reach of a bare host (no port): ``0.0.0.0`` and names are NETWORK, ``::1`` LOOPBACK."""
    text = host.strip().strip("'\"")
    if any(mark in text for mark in _TEMPLATE_MARKS):
        return Reach.UNKNOWN
    if text in _ALL_INTERFACES:
        return Reach.NETWORK
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if bare.lower() in _LOOPBACK_NAMES or bare.lower().endswith(".localhost"):
        return Reach.LOOPBACK
    try:
        return Reach.LOOPBACK if ipaddress.ip_address(bare).is_loopback else Reach.NETWORK
    except ValueError:
        return Reach.NETWORK


def split_host_port(address: str) -> tuple[str, str | None]:
    """Split ``host:port``, ``[v6]:port``, ``:port`` or a bare host (IPv6 without brackets
    is a host)."""
    text = address.strip()
    if text.startswith("["):
        end = text.find("]")
        if end != -1:
            rest = text[end + 1 :]
            return text[1:end], rest[1:] if rest.startswith(":") else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def bind_reach(address: str) -> Reach:
    """Reach of a listen address in any of the usual spellings, with or without a scheme."""
    text = address.strip().strip("'\"")
    if any(mark in text for mark in _TEMPLATE_MARKS):
        return Reach.UNKNOWN
    lowered = text.lower()
    if lowered.startswith(("unix:", "inproc:", "ipc:")):
        return Reach.LOOPBACK
    if "://" in text:
        host = url_host(text)
        return Reach.UNKNOWN if host is None else host_reach(host)
    host, _port = split_host_port(text)
    return host_reach(host)


def url_host(url: str) -> str | None:
    """Host of ``url`` (``None`` when it has none or cannot be parsed)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if host is None and parts.netloc in ("", ":"):
        return "" if "://" in url else None
    return host


def url_scheme(url: str) -> str:
    """Lower-case scheme of ``url`` (empty when there is none)."""
    head, sep, _rest = url.strip().partition("://")
    return head.lower() if sep else ""


def is_plaintext_remote(url: str, schemes: tuple[str, ...] = ("http",)) -> bool:
    """True when ``url`` uses a plaintext scheme to a host other than loopback."""
    if url_scheme(url) not in schemes:
        return False
    host = url_host(url)
    return host is not None and host_reach(host) is Reach.NETWORK
