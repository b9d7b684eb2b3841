"""Which setting names hold secrets, and how to show commands without leaking them.

Findings are written to reports, CI logs and SARIF uploads, so evidence never carries a
secret's value: only its name and length, and command lines are redacted first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_SECRET_NAME = re.compile(
    r"(?:^|[_.-])(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API[_-]?KEY|ACCESS[_-]?KEY"
    r"|PRIVATE[_-]?KEY|SIGNING[_-]?KEY|ENCRYPTION[_-]?KEY|CREDENTIALS?|AUTH[_-]?KEY"
    r"|CONNECTION[_-]?STRING|DSN)(?:$|[_.-])",
    re.IGNORECASE,
)
# Names that mention a secret but hold where it is, or something about it, not the secret.
_NOT_A_VALUE = re.compile(
    r"[_.-](?:FILE|PATH|DIR|NAME|REF|ID|URL|URI|HEADER|LENGTH|TTL|EXPIRY|EXPIRES|ENABLED|"
    r"MODE|TYPE|SIZE|TIMEOUT|LIMIT|COUNT)$",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"^(?:\$\{?[A-Za-z_][\w]*\}?|\{\{.*\}\}|<[^>]*>|\*+|x+|\.\.\.)$")
_NON_SECRET_VALUES = frozenset({"", "true", "false", "yes", "no", "on", "off", "none", "null"})
_SECRET_OPTION = re.compile(
    r"^(-{1,2}[\w.-]*(?:password|passwd|token|secret|api[_-]?key|access[_-]?key|"
    r"private[_-]?key|credentials?))(=)(.+)$",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)[^/@\s:]*:[^/@\s]*@")
_MAX_EVIDENCE = 300


def is_secret_name(name: str) -> bool:
    """True when a variable or key named ``name`` conventionally holds a secret value."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_A_VALUE.search(name)


def is_literal_secret(name: str, value: str) -> bool:
    """True when ``name`` holds a secret and ``value`` is a literal, not a placeholder."""
    text = value.strip().strip("'\"")
    if not is_secret_name(name) or text.lower() in _NON_SECRET_VALUES:
        return False
    return not _PLACEHOLDER.match(text) and not text.startswith("$")


def redact(text: str) -> str:
    """``text`` with passwords in URLs replaced by ``***``."""
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)


def redact_argv(argv: Sequence[str]) -> str:
    """A command line safe to print: secret option values and URL passwords hidden."""
    out: list[str] = []
    hide_next = False
    for word in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        match = _SECRET_OPTION.match(word)
        if match:
            out.append(f"{match.group(1)}=***")
            continue
        if word.startswith("-") and "=" not in word and _SECRET_OPTION.match(word + "=x"):
            hide_next = True
        out.append(redact(word))
    return shorten(" ".join(out))


def shorten(text: str) -> str:
    """``text`` cut to a length that fits a report line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_EVIDENCE else flat[: _MAX_EVIDENCE - 1] + "…"
