"""Which places training data may come from: the ``[check.provenance]`` policy.

``mlwarden.toml``::

    [check.provenance]
    approved_sources = ["s3://corp-data/", "https://data.example.org/", "mirror.example.org"]

An entry is a URL prefix (scheme, host, optional port and path) or a bare host name (any
scheme, any path on that host). A source is approved when one entry covers it: same
scheme, same host and port, and a path under the entry's path on a ``/`` boundary, so
``https://data.example.org/pub`` covers ``.../pub/x.csv`` but not ``.../public/x.csv``
and ``s3://corp-data/`` does not cover ``s3://corp-data-copy/``. Sources with ``.`` or
``..`` path segments (also percent-encoded) are never approved: they can leave the prefix.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from mlwarden.errors import ConfigError

_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,31}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_APPROVED_SOURCES = 1_000
_MAX_CONFIG_BYTES = 1 << 20
_EXAMPLE = '[check.provenance] approved_sources = ["s3://corp-data/", "data.example.org"]'


@dataclass(frozen=True)
class SourcePrefix:
    """One approved place: ``scheme`` None means any scheme on ``host``."""

    scheme: str | None
    host: str
    """Lower-case host name (empty for ``file:`` URLs)."""
    port: int | None
    path: str
    """Decoded path without a trailing ``/``; empty covers the whole host."""
    text: str
    """The entry as written in the policy."""

    def covers(self, source: ParsedSource) -> bool:
        """True when ``source`` is at or below this prefix."""
        if source.unsafe:
            return False
        if self.scheme is not None and source.scheme != self.scheme:
            return False
        # A bare-host source claims no scheme, so only a bare-host entry covers it (above).
        # Ports are compared after dropping scheme defaults: no port means the default one.
        if source.host != self.host or source.port != self.port:
            return False
        return not self.path or source.path == self.path or source.path.startswith(self.path + "/")


@dataclass(frozen=True)
class ParsedSource:
    """A dataset's claimed origin, normalised for comparison."""

    scheme: str | None
    host: str
    port: int | None
    path: str
    unsafe: bool
    """True when the text cannot be judged (dot segments, bad port, not a URL or host)."""
    shown: str
    """The source for reports: user names, passwords and query strings removed, since a
    pre-signed URL carries its credential in the query."""


def parse_source(text: str) -> ParsedSource:
    """Normalise a source URL (``s3://bucket/key``, ``https://host/path``) or host name."""
    stripped = text.strip()
    if "://" not in stripped:
        host, _, port_text = stripped.lower().partition(":")
        port = int(port_text) if port_text.isdigit() else None
        ok = _HOST.fullmatch(stripped.lower()) is not None and (port or 0) <= 65535
        return ParsedSource(None, host, port, "", not ok, stripped if ok else repr(stripped))
    try:
        parts = urlsplit(stripped)
        port = parts.port
    except ValueError:
        return ParsedSource(None, "", None, "", True, "<unparseable URL>")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    path = unquote(parts.path)
    segments = re.split(r"[/\\]", path)
    unsafe = (
        _SCHEME.fullmatch(scheme) is None
        or not _valid_host(host, scheme)
        or any(s in (".", "..") for s in segments)
        or "\x00" in path
    )
    return ParsedSource(scheme, host, port, path.rstrip("/"), unsafe, _shown(parts, host, port))


def _valid_host(host: str, scheme: str) -> bool:
    if not host:
        return scheme == "file"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _HOST.fullmatch(host) is not None
    return True


def _shown(parts: SplitResult, host: str, port: int | None) -> str:
    netloc = host if port is None else f"{host}:{port}"
    query = "?…" if parts.query else ""
    return f"{parts.scheme.lower()}://{netloc}{parts.path}{query}"


@dataclass(frozen=True)
class SourcePolicy:
    """The approved sources; an empty policy approves nothing and judges nothing."""

    approved: tuple[SourcePrefix, ...] = ()
    origin: str | None = None
    """Where the policy was read from (a config file), for messages."""

    @classmethod
    def of(cls, entries: list[str] | tuple[str, ...], origin: str | None = None) -> SourcePolicy:
        """Build a policy from entries as written in the config; :class:`ConfigError` names
        the first bad one."""
        where = origin or "approved_sources"
        if len(entries) > MAX_APPROVED_SOURCES:
            raise ConfigError(
                where,
                f"more than {MAX_APPROVED_SOURCES} approved sources",
                "approve prefixes rather than single files",
            )
        return cls(tuple(_prefix(entry, where) for entry in entries), origin)

    @property
    def active(self) -> bool:
        return bool(self.approved)

    def approving(self, source: str) -> SourcePrefix | None:
        """The first entry covering ``source``, or None (deny by default)."""
        parsed = parse_source(source)
        return next((p for p in self.approved if p.covers(parsed)), None)


def _prefix(entry: object, where: str) -> SourcePrefix:
    if not isinstance(entry, str) or not entry.strip():
        raise ConfigError(where, "approved_sources must be non-empty strings", _EXAMPLE)
    if "?" in entry or "#" in entry or "*" in entry:
        raise ConfigError(
            where,
            f"approved source {entry!r} has a query, fragment or wildcard",
            "write a plain prefix; everything below it is approved",
        )
    parsed = parse_source(entry)
    if parsed.unsafe:
        raise ConfigError(
            where,
            f"approved source {entry!r} is not a URL prefix or host name",
            "write scheme://host/path/ (s3://bucket/prefix/, https://host/path/) or a host",
        )
    return SourcePrefix(parsed.scheme, parsed.host, parsed.port, parsed.path, entry)


def load_source_policy(path: str | None = None) -> SourcePolicy:
    """``[check.provenance] approved_sources`` from ``path`` (or ./mlwarden.toml if present);
    an empty policy when there is no file or no such table."""
    from mlwarden.config import DEFAULT_FILE

    candidate = Path(path) if path else Path(DEFAULT_FILE)
    if not candidate.is_file():
        if path:
            raise ConfigError(path, "configuration file not found", "check the --config path")
        return SourcePolicy()
    import tomllib

    where = str(candidate)
    with candidate.open("rb") as handle:
        raw = handle.read(_MAX_CONFIG_BYTES + 1)
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(where, "configuration file is larger than 1 MiB", "shorten it")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(where, f"not valid TOML ({exc})", "fix the syntax") from None
    check = doc.get("check", {})
    table = check.get("provenance", {}) if isinstance(check, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(where, "[check.provenance] must be a table", _EXAMPLE)
    unknown = set(table) - {"approved_sources"}
    if unknown:
        raise ConfigError(
            where, f"unknown key(s) in [check.provenance]: {', '.join(sorted(unknown))}", _EXAMPLE
        )
    entries = table.get("approved_sources", [])
    if not isinstance(entries, list):
        raise ConfigError(where, "[check.provenance] approved_sources must be a list", _EXAMPLE)
    return SourcePolicy.of(entries, where)
