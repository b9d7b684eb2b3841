"""Credentials in data: ``password=...`` pairs, well-known API key formats, private keys.

A credential in a training set or a log export is an incident on its own (it is copied
into every model and every copy of the data), so values are reported unless they are
clearly placeholders: empty, masked (``****``), templated (``${DB_PASSWORD}``,
``{{ secret }}``, ``<redacted>``) or a type name.
"""

from __future__ import annotations

import re

from mlwarden.scanners.data.context_words import ContextWindow
from mlwarden.scanners.data.entity_types import CREDENTIAL, Verdict

_SEPARATOR = re.compile(r"[\"']?[ \t]*[:=][ \t]*[\"']?")
_PLACEHOLDER = re.compile(
    r"^(?:[*xX•#.\-_]+|\$\{.*\}?|\$[A-Z_][A-Z0-9_]*|\{\{.*|<[^>]*>?|%\(.*|\[.*\]?|"
    r"(?i:none|null|nil|true|false|undefined|redacted|hidden|masked|secret|password|"
    r"passwd|string|str|required|optional|example|placeholder|your[_-]?\w*|todo|tbd|"
    r"changeme_?later|env|os\.environ.*|getenv.*|input\(.*|self\..*|config\..*|settings\..*"
    r"|args\..*|kwargs.*|request\..*))$"
)
_WEAK_URL_PASSWORDS = frozenset({"password", "pass", "passwd", "secret", "****", "xxx", "pwd"})
_URL_PASSWORD = re.compile(r"://[^:/@]*:([^@]*)@")


def is_placeholder(value: str) -> bool:
    """True for values that stand for a secret rather than being one."""
    value = value.strip().strip("\"'")
    return len(value) < 3 or bool(_PLACEHOLDER.match(value))


def validate_key_value(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """``password: hunter2``: the value after the separator is the credential."""
    text = win.text[start:end]
    sep = _SEPARATOR.search(text)
    if sep is None:
        return None
    value = text[sep.end() :].rstrip("\"'")
    if is_placeholder(value):
        return None
    value_start = start + sep.end()
    return Verdict(CREDENTIAL, 0.85, value_start, value_start + len(value))


def validate_token(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """A known key format (AWS, GitHub, Slack, Stripe, OpenAI, Google, JWT, PEM, URL)."""
    text = win.text[start:end]
    url = _URL_PASSWORD.search(text)
    if url is not None:
        password = url.group(1)
        if is_placeholder(password) or password.lower() in _WEAK_URL_PASSWORDS:
            return None
        return Verdict(CREDENTIAL, 0.9, start + url.start(1), start + url.end(1))
    confidence = 0.85 if text.startswith("eyJ") else 0.95
    return Verdict(CREDENTIAL, confidence, start, end)


def validate_credential_cell(value: str) -> float:
    """Confidence that a whole cell of a credential column is a secret (0 for placeholders)."""
    value = value.strip()
    if is_placeholder(value) or len(value) > 4096:
        return 0.0
    return 0.8
