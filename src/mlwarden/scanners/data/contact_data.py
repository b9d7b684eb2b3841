"""Contact data: e-mail addresses, phone numbers, IP addresses and postal addresses.

Decisions a user may want to know:

- Phone numbers are validated by ``phonenumbers`` (number plan, length, country). A number
  written with ``+`` or ``00`` is read internationally; one written nationally is read in
  the caller's default region. Bare digit runs count only next to a phone word or in a
  phone column.
- IPv4 dotted quads are *not* addresses when a version word comes just before them
  (``version=1.2.3.4``, ``v10.0.0.1``, ``build 4.3.2.1``) or when they are part of a longer
  dotted run (an OID such as ``1.3.6.1.4.1``). Loopback, unspecified, multicast, reserved
  and netmask-like values are never reported; private addresses are, with lower confidence
  (they still identify machines, and so people, inside an organisation).
- Postal addresses: a US street address ending in state and ZIP, a German street with a
  house number followed by a PLZ and town, and a UK postcode.
"""

from __future__ import annotations

import ipaddress
import re

import phonenumbers

from mlwarden.scanners.data.context_words import ContextWindow, looks_like_version
from mlwarden.scanners.data.entity_types import (
    EMAIL,
    IP_ADDRESS,
    PHONE,
    POSTAL_ADDRESS,
    Verdict,
)

_US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI FM MH PW "
    "AA AE AP".split()
)
_DE_STREET = re.compile(
    r"(?:stra(?:ß|ss)e|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|markt|steig|pfad|"
    r"hof|berg|park|bogen|graben|zeile|kamp|feld|garten|tor|brücke|brucke|wall|promenade|"
    r"anger|höhe|hohe|grund|stieg|twiete|redder|deich)(?=\W|$)",
    re.IGNORECASE,
)
_DE_PREPOSITION = re.compile(r"^(?:Am|An der|An den|Auf der|Im|In der|Zum|Zur|Alte|Alter|Neue)\b")
_US_STATE_ZIP = re.compile(r"([A-Z]{2}) \d{5}(?:-\d{4})?$")
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|#)\s*\d+$", re.IGNORECASE)


def validate_email(win: ContextWindow, start: int, end: int) -> Verdict | None:
    value = win.text[start:end]
    local, _, domain = value.rpartition("@")
    if not local or len(local) > 64 or len(domain) > 253 or ".." in value:
        return None
    if local[0] == "." or local[-1] == ".":
        return None
    return Verdict(EMAIL, 0.95, start, end)


def _parse_phone(text: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def validate_phone(win: ContextWindow, start: int, end: int, region: str) -> Verdict | None:
    """A formatted phone number (international, or national in ``region``)."""
    raw = win.text[start:end]
    number = _EXTENSION.sub("", raw)
    if number.startswith("00"):
        if number.isdigit() and not win.says(PHONE, start, end):
            return None  # a zero-padded number, unless someone calls it a phone number
        number = "+" + number[2:]
    international = number.startswith("+")
    if not _parse_phone(number, "ZZ" if international else region):
        return Verdict(PHONE, 0.0, start, end)
    confidence = 0.85 if international else 0.8
    if win.says(PHONE, start, end):
        confidence = 0.97
    return Verdict(PHONE, confidence, start, end)


def validate_bare_phone(win: ContextWindow, start: int, end: int, region: str) -> Verdict | None:
    """A bare digit run, or a number with a national trunk prefix (``030 901820``): a
    phone number only next to a phone word or in a phone column."""
    if not win.says(PHONE, start, end) or not 6 <= end - start <= 20:
        return None
    ok = _parse_phone(win.text[start:end], region)
    return Verdict(PHONE, 0.85 if ok else 0.0, start, end)


def validate_ipv4(win: ContextWindow, start: int, end: int) -> Verdict | None:
    text = win.text
    value = text[start:end]
    # Part of a longer dotted run (an OID, a four-part version with a fifth part).
    if (start > 0 and text[start - 1] == ".") or (
        text[end : end + 1] == "." and text[end + 1 : end + 2].isdigit()
    ):
        return None
    if start > 0 and text[start - 1] in "vV":
        return None
    if looks_like_version(win.before(start, 24)) or looks_like_version(win.label):
        return None
    octets = value.split(".")
    if any(len(o) > 1 and o[0] == "0" for o in octets):
        return None
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        return None
    if (
        address.is_loopback
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or address.is_link_local
        or octets[0] == "255"  # netmasks
    ):
        return None
    # Context words are not read: logs hold an address on every line, and the window
    # search would cost more than the rest of the validation.
    return Verdict(IP_ADDRESS, 0.6 if address.is_private else 0.85, start, end)


def validate_ipv6(win: ContextWindow, start: int, end: int) -> Verdict | None:
    value = win.text[start:end]
    if value.count(":") < 7 and "::" not in value:
        return None  # times, MAC addresses and ratios have too few groups
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        return None
    confidence = 0.6 if address.is_link_local or address.is_private else 0.85
    return Verdict(IP_ADDRESS, confidence, start, end)


def validate_us_address(win: ContextWindow, start: int, end: int) -> Verdict | None:
    tail = _US_STATE_ZIP.search(win.text[start:end])
    if tail is None or tail.group(1) not in _US_STATES:
        return None
    return Verdict(POSTAL_ADDRESS, 0.9, start, end)


def validate_de_address(win: ContextWindow, start: int, end: int) -> Verdict | None:
    value = win.text[start:end]
    street = re.split(r" \d", value, maxsplit=1)[0]
    if not (_DE_STREET.search(street) or _DE_PREPOSITION.match(street)):
        return None
    plz = re.search(r"\b\d{5}\b", value[len(street) :])
    if plz is None or plz.group() < "01001":
        return None
    return Verdict(POSTAL_ADDRESS, 0.9, start, end)


def validate_uk_postcode(win: ContextWindow, start: int, end: int) -> Verdict:
    confidence = 0.9 if win.says(POSTAL_ADDRESS, start, end) else 0.7
    return Verdict(POSTAL_ADDRESS, confidence, start, end)
