"""Masking operators: each turns one sensitive value into a safe one with ``apply(value)``.

Operators are small immutable objects built once per run (see :mod:`mlwarden.masking.catalog`
for the names and options a policy uses). Keyed operators take a :class:`MaskKey` and derive
their own sub-key, so equal inputs give equal outputs across files and runs (joins keep
working), different keys give unrelated outputs, and no two operators share key bytes.

Format-preserving surrogates and generalisations fall back to a safe value when the input does
not have the expected shape: keyed operators to a pseudonym (joins still work), the others to
a redaction token. They never return the input unchanged by accident.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import re
from collections.abc import Callable
from typing import Protocol

from mlwarden.masking.keys import MaskKey, derive_subkey
from mlwarden.masking.safe_harbor import RESTRICTED_ZIP3


class MaskOperator(Protocol):
    """One masking transformation."""

    @property
    def name(self) -> str:
        """The operator's policy name (``redact``, ``pseudonym``, ...)."""
        ...

    def apply(self, value: str) -> str:
        """Return the masked form of ``value``."""
        ...


class Keep:
    """Leave values as they are (an explicit exemption, e.g. for a product-code column)."""

    name = "keep"

    def apply(self, value: str) -> str:
        return value


class DropColumn:
    """Remove the column from the output. The engine drops it; ``apply`` yields ``""``."""

    name = "drop"

    def apply(self, value: str) -> str:
        return ""


class Redact:
    """Replace the value with ``[REDACTED:<label>]``, ``[REDACTED]`` or a fixed ``token``."""

    name = "redact"

    def __init__(self, label: str | None = None, *, token: str | None = None) -> None:
        if token is not None:
            self._text = token
        elif label:
            self._text = f"[REDACTED:{label}]"
        else:
            self._text = "[REDACTED]"

    def apply(self, value: str) -> str:
        return self._text


class PartialMask:
    """Hide letters and digits except the first ``keep_first`` and last ``keep_last``.

    Separators (``-``, spaces, ``@``, ...) stay, so ``123-45-6789`` becomes ``***-**-6789``.
    When keeping that many would reveal more than half of the value's letters and digits,
    everything is masked: a 4-digit PIN is never shown whole.
    """

    name = "partial"

    def __init__(self, *, keep_first: int = 0, keep_last: int = 4, mask_char: str = "*") -> None:
        if keep_first < 0 or keep_last < 0:
            raise ValueError("keep_first and keep_last must be >= 0")
        if len(mask_char) != 1 or mask_char.isalnum():
            raise ValueError("mask_char must be one character that is not a letter or digit")
        self._first = keep_first
        self._last = keep_last
        self._char = mask_char

    def apply(self, value: str) -> str:
        positions = [i for i, ch in enumerate(value) if ch.isalnum()]
        kept = self._first + self._last
        if len(positions) < 2 * kept:
            visible: set[int] = set()
        else:
            visible = set(positions[: self._first])
            visible.update(positions[len(positions) - self._last :])
        hidden = set(positions) - visible
        return "".join(self._char if i in hidden else ch for i, ch in enumerate(value))


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "none": lambda v: v,
    "casefold": lambda v: v.strip().casefold(),
    "digits": lambda v: "".join(ch for ch in v if ch.isdigit()) or v.strip(),
}
NORMALISE_CHOICES = tuple(_NORMALISERS)


class Pseudonym:
    """A keyed, deterministic token: ``prefix`` + base32 of HMAC-SHA256(sub-key, value).

    ``length`` bytes of the MAC are kept (16 by default: collisions are negligible below
    billions of distinct values). ``normalize`` makes spellings of one value join:
    ``casefold`` for e-mail addresses, ``digits`` for numbers written with separators.
    ``domain`` separates namespaces (the same value under two domains gives two tokens);
    leave it empty when columns of different files must join.
    """

    name = "pseudonym"

    def __init__(
        self,
        key: MaskKey,
        *,
        prefix: str = "tok_",
        length: int = 16,
        domain: str = "",
        normalize: str = "none",
    ) -> None:
        if not 8 <= length <= 32:
            raise ValueError("length must be between 8 and 32 bytes")
        if normalize not in _NORMALISERS:
            raise ValueError(f"normalize must be one of {', '.join(NORMALISE_CHOICES)}")
        self._key = derive_subkey(key, "pseudonym")
        self._prefix = prefix
        self._length = length
        self._domain = domain.encode("utf-8")
        self._normalise = _NORMALISERS[normalize]

    def apply(self, value: str) -> str:
        # Length-prefix the domain so ("ab", "c") and ("a", "bc") never collide.
        message = len(self._domain).to_bytes(4, "big") + self._domain
        message += self._normalise(value).encode("utf-8", "surrogatepass")
        mac = hmac.digest(self._key, message, "sha256")[: self._length]
        return self._prefix + base64.b32encode(mac).decode("ascii").rstrip("=").lower()


def _keyed_digits(key: bytes, message: bytes, count: int) -> list[int]:
    """``count`` uniformly distributed decimal digits determined by ``key`` and ``message``."""
    digits: list[int] = []
    block = 0
    while len(digits) < count:
        stream = hmac.digest(key, block.to_bytes(4, "big") + message, "sha256")
        # Bytes >= 250 are skipped so that every digit is equally likely.
        digits.extend(b % 10 for b in stream if b < 250)
        block += 1
    return digits[:count]


def luhn_check_digit(payload: str) -> int:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for index, ch in enumerate(reversed(payload)):
        d = int(ch)
        if index % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    """True when the digit string ``number`` passes the Luhn check."""
    return len(number) > 1 and luhn_check_digit(number[:-1]) == int(number[-1])


def _replace_digits(template: str, digits: str) -> str:
    """Write ``digits`` into the digit positions of ``template``, keeping everything else."""
    fill = iter(digits)
    return "".join(next(fill) if ch.isdigit() else ch for ch in template)


_CARD_SHAPE = re.compile(r"[0-9][0-9 \-]*[0-9]")
_PHONE_SHAPE = re.compile(r"\+?[0-9 ().\-]+")
_PHONE_EXTENSION = re.compile(r"(\s*(?:x|ext\.?|#)\s*)([0-9]{1,6})$", re.IGNORECASE)


class CardSurrogate:
    """A keyed stand-in for a payment card number with the same length, separators and brand.

    The first two digits (the brand: 4x Visa, 51-55 Mastercard, 34/37 Amex, ...) and the
    length are kept; the middle digits are keyed and deterministic. The check digit is
    chosen so the number FAILS the Luhn check, on purpose: a surrogate can never be a real,
    chargeable card, and neither mlwarden's detector nor any other Luhn-validating DLP tool
    reports it as a card on a re-scan. (There is no reserved "test" card range that all
    detectors agree on; processors' test numbers are real-looking and Luhn-valid.) Values
    that are not 12-19 digits with spaces or dashes become a pseudonym.
    """

    name = "card_surrogate"

    def __init__(self, key: MaskKey) -> None:
        self._key = derive_subkey(key, "card-surrogate")
        self._fallback = Pseudonym(key)

    def apply(self, value: str) -> str:
        digits = "".join(ch for ch in value if ch.isdigit())
        if not _CARD_SHAPE.fullmatch(value) or not 12 <= len(digits) <= 19:
            return self._fallback.apply(value)
        keyed = _keyed_digits(self._key, digits.encode("ascii"), len(digits) - 1)
        body = digits[:2] + "".join(str(d) for d in keyed[: len(digits) - 3])
        # keyed[-1] % 9 + 1 is 1..9, so the check digit is never the Luhn-valid one.
        check = (luhn_check_digit(body) + keyed[-1] % 9 + 1) % 10
        return _replace_digits(value, body + str(check))


class PhoneSurrogate:
    """A keyed, deterministic fictional phone number in the same written format.

    NANP numbers (``+1``, or ten digits) become ``N9X-555-01XX``: the line number is in the
    range reserved for fiction, and the area code is one of the N9X codes the NANP keeps for
    future expansion, never assigned to a region. UK numbers (``+44``, or ``0`` and ten
    digits) become Ofcom's drama numbers: ``07700 900XXX`` for mobiles, ``01632 960XXX``
    otherwise. Such numbers can never ring anyone, and number-plan validation (the
    ``phonenumbers`` library, which mlwarden's detector uses) rejects them, so a re-scan
    does not report them. Separators, grouping and an extension (``x123``, keyed) are
    kept; other numbers become a pseudonym. The ranges are small, so two real numbers can
    share a surrogate: use ``pseudonym`` for columns that are join keys.
    """

    name = "phone_surrogate"

    def __init__(self, key: MaskKey) -> None:
        self._key = derive_subkey(key, "phone-surrogate")
        self._fallback = Pseudonym(key, normalize="digits")

    def apply(self, value: str) -> str:
        extension = _PHONE_EXTENSION.search(value)
        main = value[: extension.start()] if extension else value
        surrogate = self._number(main)
        if surrogate is None:
            return self._fallback.apply(value)
        if extension is None:
            return surrogate
        digits = _keyed_digits(self._key, b"ext:" + value.encode(), len(extension.group(2)))
        return surrogate + extension.group(1) + "".join(str(d) for d in digits)

    def _number(self, value: str) -> str | None:
        if not _PHONE_SHAPE.fullmatch(value.strip()):
            return None
        digits = "".join(ch for ch in value if ch.isdigit())
        plus = value.lstrip().startswith("+")
        # "00" (or "011" from NANP) dials out like "+"; keep the prefix, read what follows.
        exit_code = next((p for p in ("011", "00") if not plus and digits.startswith(p)), "")
        if exit_code:
            plus, digits = True, digits[len(exit_code) :]
        if plus:
            nanp = len(digits) == 11 and digits[0] == "1"
            uk = len(digits) == 12 and digits.startswith("44")
        else:
            nanp = len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")
            uk = len(digits) == 11 and digits[0] == "0"
        national = digits[-10:]
        # NANP area codes and exchanges start with 2-9; anything else is not a NANP number.
        nanp = nanp and national[0] in "23456789" and national[3] in "23456789"
        if nanp:
            keyed = _keyed_digits(self._key, b"nanp:" + national.encode(), 4)
            surrogate = f"{2 + keyed[0] % 8}9{keyed[1]}55501{keyed[2]}{keyed[3]}"
        elif uk:
            keyed = _keyed_digits(self._key, b"uk:" + national.encode(), 3)
            tail = "".join(str(d) for d in keyed)
            surrogate = ("7700900" if national[0] == "7" else "1632960") + tail
        else:
            return None
        return _replace_digits(value, exit_code + digits[:-10] + surrogate)


_YEAR = re.compile(r"(?<![0-9])(1[0-9]{3}|2[0-9]{3})(?![0-9])")
_DATE_CHARS = re.compile(r"[0-9A-Za-z ,./:+\-]{4,64}")


class GeneraliseDate:
    """Keep only the year of a date (``1984-07-02`` -> ``1984``).

    Any written form with exactly one four-digit year is accepted (ISO dates and
    timestamps, ``02/07/1984``, ``July 2, 1984``). With ``max_age`` set (HIPAA Safe Harbor
    uses 89), years implying an older age collapse into one ``<=YYYY`` category, computed
    from ``reference_year`` (default: the current year). A value without exactly one year
    (``02/07/84``) is redacted rather than guessed.
    """

    name = "year"

    def __init__(self, *, max_age: int | None = None, reference_year: int | None = None) -> None:
        if max_age is not None and max_age < 0:
            raise ValueError("max_age must be >= 0")
        self._oldest: int | None = None
        if max_age is not None:
            year = reference_year if reference_year is not None else dt.date.today().year
            self._oldest = year - max_age - 1
        self._fallback = Redact("date")

    def apply(self, value: str) -> str:
        text = value.strip()
        years = _YEAR.findall(text) if _DATE_CHARS.fullmatch(text) else []
        if len(years) != 1:
            return self._fallback.apply(value)
        year = int(years[0])
        if self._oldest is not None and year <= self._oldest:
            return f"<={self._oldest}"
        return str(year)


_ZIP = re.compile(r"([0-9]{3})[0-9]{2}(?:-?[0-9]{4})?")


class GeneraliseZip:
    """Keep the first three digits of a US ZIP or ZIP+4 code; ``000`` for restricted areas.

    The restricted prefixes are HIPAA Safe Harbor's (see
    :data:`mlwarden.masking.safe_harbor.RESTRICTED_ZIP3`). Anything that is not a five- or
    nine-digit ZIP code is redacted (a ZIP that lost its leading zero is not guessed).
    """

    name = "zip3"

    def __init__(self) -> None:
        self._fallback = Redact("zip")

    def apply(self, value: str) -> str:
        match = _ZIP.fullmatch(value.strip())
        if match is None:
            return self._fallback.apply(value)
        prefix = match.group(1)
        return "000" if prefix in RESTRICTED_ZIP3 else prefix
