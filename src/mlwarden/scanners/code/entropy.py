"""Is a value random enough to be a generated secret?

Used only for values found in an assignment context (``password = "..."``,
``api_token: ...``); a random-looking string with no such context (a hash in a lockfile,
a UUID, base64 image data) is never reported on entropy alone.

Shannon entropy is measured in bits per character and compared with what a random
string of the same charset and length would reach: a 16-character string cannot exceed
4 bits per character, so thresholds shrink with length, and hexadecimal (at most 4 bits)
has a lower bar than base64 (6 bits).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

_HEX = re.compile(rb"[0-9a-f]+|[0-9A-F]+")
_B64 = re.compile(rb"[A-Za-z0-9+/=_-]+")
_UUID = re.compile(rb"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z_.]*(?:\(\)?|\[)?")


def shannon_entropy(value: bytes) -> float:
    """Bits per byte of ``value`` (0.0 for an empty value)."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def charset(value: bytes) -> str:
    """``hex``, ``base64`` (also base64url and plain alphanumerics) or ``text``."""
    if _HEX.fullmatch(value):
        return "hex"
    if _B64.fullmatch(value):
        return "base64"
    return "text"


def _classes(value: bytes) -> int:
    lower = any(0x61 <= b <= 0x7A for b in value)
    upper = any(0x41 <= b <= 0x5A for b in value)
    digit = any(0x30 <= b <= 0x39 for b in value)
    other = any(not (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A) for b in value)
    return lower + upper + digit + other


@dataclass(frozen=True)
class EntropyVerdict:
    """Whether a value passed, with the measured figures for the evidence."""

    random: bool
    bits: float
    charset: str


_TOKENS = re.compile(rb"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_VOWELS = frozenset(b"aeiouyAEIOUY")


def worded(value: bytes) -> bool:
    """True when ``value`` is made of words (``urn:ietf:params:oauth:grant-type:jwt-bearer``,
    ``oauth2ClientSecret``): every letter run of 3+ letters holding a vowel, at most two
    digits in all. Generated secrets have short runs, digits and consonant clusters."""
    tokens = _TOKENS.findall(value)
    letters = [t for t in tokens if not t.isdigit()]
    digits = sum(len(t) for t in tokens if t.isdigit())
    odd = [t for t in letters if len(t) < 3 or not any(c in _VOWELS for c in t)]
    # A few short acronyms (jwt, id, s3) fit in words; generated strings are full of them.
    acronyms_ok = all(len(t) <= 4 for t in odd) and len(odd) <= max(1, len(letters) // 4)
    return len(letters) >= 2 and digits <= 2 and acronyms_ok


def judge(value: bytes, *, password_key: bool) -> EntropyVerdict:
    """Decide whether ``value`` looks generated (or, under a password key, chosen).

    Passwords are chosen by people, so a value under a ``password``/``passwd``/``pwd``
    key needs 8 characters, two character classes (or 16 characters) and 2 bits per
    character less than the maximum its length allows; any other key needs 16 characters,
    two classes and an entropy close to a random string's of its charset. UUIDs and bare
    identifiers (``settings.token``) never pass.
    """
    kind = charset(value)
    bits = shannon_entropy(value)
    n = len(value)
    if _UUID.fullmatch(value) or (_IDENTIFIER.fullmatch(value) and not password_key):
        return EntropyVerdict(False, bits, kind)
    ceiling = math.log2(n) if n else 0.0
    if password_key:
        ok = n >= 8 and (_classes(value) >= 2 or n >= 16) and bits >= min(3.0, ceiling - 1.0)
        return EntropyVerdict(ok, bits, kind)
    if n < 16 or _classes(value) < 2 or any(b in b" \t" for b in value):
        # Generated keys and tokens never contain spaces; prose and expressions do.
        return EntropyVerdict(False, bits, kind)
    plain_url = value.startswith((b"http://", b"https://")) and b"@" not in value
    if worded(value) or plain_url or b"%s" in value or b"%(" in value:
        # URNs, grant types and format templates mix classes but are built of words.
        return EntropyVerdict(False, bits, kind)
    if kind == "hex":
        threshold = min(3.0, ceiling - 1.2)
    elif kind == "base64":
        threshold = min(3.7, ceiling - 0.9)
    else:
        threshold = min(3.5, ceiling - 1.0)
    return EntropyVerdict(bits >= threshold, bits, kind)
