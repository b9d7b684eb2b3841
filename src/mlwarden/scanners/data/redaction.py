"""Evidence forms of regulated values: enough to recognise a value, never enough to use it.

Reports, logs and findings only ever carry :func:`redact` output. The forms follow what
each domain already shows to users: PCI DSS allows the first six and last four digits of a
card number, US practice shows the last four of an SSN, and an e-mail keeps its domain.
"""

from __future__ import annotations

from mlwarden.scanners.data import entity_types as et

_MAX_SHOWN = 64
_TOKEN_PREFIXES = (
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "sk_live_",
    "rk_live_",
    "sk-proj-",
    "sk-",
    "AIza",
    "eyJ",
    "-----BEGIN",
)


def redact(entity: str, value: str) -> str:
    """Return the evidence form of ``value`` found as ``entity``.

    Examples: ``4111********1111`` (card: first 4 and last 4 digits), ``***-**-6789`` (SSN),
    ``j***@example.com`` (e-mail), ``DE89**************3000`` (IBAN), ``+49 *** ****67``
    (phone: last two digits). Credentials, dates of birth, names and health values show no
    character of the value. Unknown entities keep only the first and last character.
    """
    value = value.strip()[:256]
    if not value:
        return ""
    if entity == et.CREDIT_CARD:
        digits = "".join(c for c in value if c.isdigit())
        if len(digits) < 12:
            return _mask_all(value)
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
    if entity == et.US_SSN:
        digits = "".join(c for c in value if c.isdigit())
        return "***-**-" + digits[-4:] if len(digits) == 9 else _mask_all(value)
    if entity == et.EMAIL:
        return _email(value)
    if entity == et.IBAN:
        compact = "".join(c for c in value if c.isalnum())
        if len(compact) < 15:
            return _mask_all(value)
        return compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    if entity == et.PHONE:
        return _keep_digits(value, head=0, tail=2)
    if entity == et.IP_ADDRESS:
        return _ip(value)
    if entity == et.CREDENTIAL:
        # Never the length or any character of a secret; a key format's public prefix
        # (``AKIA``, ``ghp_``) says which system to rotate it in.
        prefix = next((p for p in _TOKEN_PREFIXES if value.startswith(p)), "")
        return prefix + "********"
    if entity in (et.DATE_OF_BIRTH, et.PERSON):
        return _mask_all(value)
    if entity in (et.ICD10_CODE, et.DRUG_NAME, et.MEDICAL_RECORD_NUMBER):
        return _mask_all(value)
    if entity == et.POSTAL_ADDRESS or entity == et.LOCATION:
        return _mask_all(value)
    if entity.startswith(et.NATIONAL_ID_PREFIX):
        return _keep_alnum(value, tail=2)
    return _keep_alnum(value, tail=1)


def _mask_all(value: str) -> str:
    """Hide every letter and digit, keep separators so the shape stays recognisable."""
    shown = value[:_MAX_SHOWN]
    return "".join("*" if c.isalnum() else c for c in shown if c not in "\r\n\t") + (
        "…" if len(value) > _MAX_SHOWN else ""
    )


def _keep_digits(value: str, *, head: int, tail: int) -> str:
    total = sum(c.isdigit() for c in value)
    seen = 0
    out: list[str] = []
    for c in value[:_MAX_SHOWN]:
        if c.isdigit():
            keep = seen < head or seen >= total - tail
            out.append(c if keep else "*")
            seen += 1
        elif c.isalpha():
            out.append("*")
        elif c in " -.()+/":
            out.append(c)
    return "".join(out)


def _keep_alnum(value: str, *, tail: int) -> str:
    total = sum(c.isalnum() for c in value)
    seen = 0
    out: list[str] = []
    for c in value[:_MAX_SHOWN]:
        if c.isalnum():
            out.append(c if seen >= total - tail else "*")
            seen += 1
        elif c in " -./":
            out.append(c)
    return "".join(out)


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return _mask_all(value)
    return local[0] + "***@" + domain[:_MAX_SHOWN]


def _ip(value: str) -> str:
    if "." in value and ":" not in value:
        parts = value.split(".")
        return ".".join([*parts[:2], "*", "*"]) if len(parts) == 4 else _mask_all(value)
    groups = value.split(":")
    return ":".join(groups[:2]) + ":" + ":".join("*" for _ in groups[2:])
