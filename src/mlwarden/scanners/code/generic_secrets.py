"""Secrets of no known format, found by their assignment context and their entropy.

A random-looking value assigned to a password, secret, token, key or credential name
(``db_password = "..."``, ``api_token: ...``, ``"client_secret": "..."``), sent in an
``Authorization`` header, or set with SQL's ``IDENTIFIED BY '...'``. Without such
context nothing is reported, so hashes, UUIDs, git SHAs and base64 data stay quiet.
"""

from __future__ import annotations

import re

from mlwarden.scanners.code import secret_rules as R
from mlwarden.scanners.code.entropy import judge
from mlwarden.scanners.code.placeholders import is_placeholder_value
from mlwarden.scanners.code.secret_patterns import Hit

# The name must *end* with the keyword (``tokenizer``, ``max_tokens`` and ``password_hash``
# do not), and may carry any prefix (``HF_TOKEN``, ``db.password``, ``apiKey``).
_KEYWORDS = (
    rb"(?:passwd|password|passphrase|pwd|secret|secret_?key|token|api_?key|apikey|access_?key"
    rb"|auth_?key|private_?key|signing_?key|credentials?|client_?secret|auth)"
)
_ASSIGNMENT = (
    rb"(?P<name>(?i:[A-Za-z0-9_.-]{0,40}?" + _KEYWORDS + rb"))"
    rb"[\"'`]?\]?\s{0,4}(?:=|:=|:|=>)\s{0,4}"
    rb"(?:[bBrRuUfF]{0,2}(?:\"(?P<dq>[^\"\r\n]{1,512})\"|'(?P<sq>[^'\r\n]{1,512})'"
    rb"|`(?P<bq>[^`\r\n]{1,512})`)|(?P<bare>[^\s\"'`,;#()\[\]{}<>]{1,512}))"
)
_HEADER = (
    rb"(?i:authorization)[\"'`]?\s{0,4}[:=]\s{0,4}[\"'`]?\s{0,2}(?i:bearer|token|basic)\s+"
    rb"(?P<auth>[A-Za-z0-9._~+/=-]{16,2048})"
)
_SQL = rb"(?i:identified\s+by|password)\s+'(?P<sqlpw>[^'\r\n]{1,256})'"

PATTERN = _ASSIGNMENT + rb"|" + _HEADER + rb"|" + _SQL
"""The generic pattern (named groups as Python's ``re`` writes them)."""

_PY = re.compile(PATTERN)
_VALUE_GROUPS = ("dq", "sq", "bq", "bare", "auth", "sqlpw")
# Names that end like a secret's but hold protocol state: pagination cursors, CSRF tokens,
# idempotency keys. Their values are random by design and grant nothing on their own.
_NOT_SECRET_NAMES = re.compile(
    rb"(?:next|continuation|page|pagination|cursor|sync|csrf|xsrf|output|input|request"
    rb"|idempotency|resume|cancellation|marker|start|end)[_.-]?token$"
)
_CODE_REFERENCE = re.compile(rb"[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)+|[A-Za-z_]+")


def generic_hit(segment: bytes, start: int, end: int) -> Hit | None:
    """Judge the generic-pattern match at ``segment[start:end]``; None when not a secret."""
    match = _PY.match(segment, start, end)
    if match is None:
        return None
    group = next(g for g in _VALUE_GROUPS if match.group(g) is not None)
    value = match.group(group)
    name = (match.group("name") or b"").lower()
    if group == "bare" and _CODE_REFERENCE.fullmatch(value):
        return None  # ``token = settings.token``: a reference, not a value
    if _NOT_SECRET_NAMES.search(name.replace(b"_", b"").replace(b"-", b"")):
        return None
    password_key = group == "sqlpw" or b"pass" in name or name.endswith(b"pwd")
    if is_placeholder_value(value):
        return None
    verdict = judge(value, password_key=password_key)
    if not verdict.random:
        return None
    where = (
        "Authorization header"
        if group == "auth"
        else ("SQL password" if group == "sqlpw" else name.decode("ascii", "replace"))
    )
    v_start, v_end = match.span(group)
    return Hit(
        R.GENERIC,
        v_start,
        v_end,
        value,
        R.GENERIC.severity,
        0,
        f"{verdict.charset} value of {verdict.bits:.1f} bits/char in {where}",
    )
