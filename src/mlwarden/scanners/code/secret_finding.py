"""Findings about secrets: redacted evidence and a digest for baselines.

The secret itself never leaves the scanner. Evidence shows at most the format's public
prefix, the first and last two characters of the rest and its length
(``hf_ab…(34 chars)…yz``); values shorter than 16 characters show only their length.
Each finding carries the SHA-256 of the secret in memory (not in reports) so that a
baseline can recognise the same secret again without storing it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from mlwarden.findings import Finding, Location, Severity
from mlwarden.scanners.code.secret_patterns import Hit

_SHOWN_PREFIX_MAX = 40
_REVEAL_FROM = 16


@dataclass(frozen=True)
class SecretFinding(Finding):
    """A :class:`Finding` that also knows the SHA-256 of its secret.

    ``secret_sha256`` is compared by :mod:`~mlwarden.scanners.code.baseline` and never
    rendered by the report formats (they list the base fields only).
    """

    secret_sha256: str = field(default="", repr=False, compare=False)


def secret_digest(secret: bytes) -> str:
    """Hex SHA-256 of a secret, the form baselines store."""
    return hashlib.sha256(secret).hexdigest()


def _printable(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in raw)


def redact(secret: bytes, shown: int = 0) -> str:
    """``secret`` with everything but a public prefix, two characters at each end and
    its length hidden (only the length below 16 characters)."""
    prefix = secret[: min(shown, _SHOWN_PREFIX_MAX)]
    rest = secret[len(prefix) :]
    if len(rest) >= _REVEAL_FROM:
        middle = f"{_printable(rest[:2])}…({len(rest)} chars)…{_printable(rest[-2:])}"
    else:
        middle = f"…({len(rest)} chars)…"
    return _printable(prefix) + middle


def secret_finding(
    hit: Hit, location: Location, *, severity: Severity | None = None
) -> SecretFinding:
    """The finding for ``hit`` at ``location``; ``severity`` overrides the hit's."""
    evidence = redact(hit.secret, hit.shown)
    if hit.note:
        evidence += f" ({hit.note})"
    rule = hit.rule
    return SecretFinding(
        rule_id=rule.id,
        severity=hit.severity if severity is None else severity,
        title=rule.title,
        location=location,
        evidence=evidence,
        remediation=rule.remediation,
        tags=rule.tags,
        secret_sha256=secret_digest(hit.secret),
    )
