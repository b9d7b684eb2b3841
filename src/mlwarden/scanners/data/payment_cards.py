"""Payment card numbers (PANs): issuer ranges, lengths and the Luhn check digit.

A number is a card number only when all three agree: its leading digits fall in a range an
issuer network uses, its length is one that network issues, and its Luhn check digit is
right. That rejects nine in ten random digit strings on the checksum alone and most of the
rest on the range, so order numbers and timestamps are not reported as cards.
UnionPay cards that do not use Luhn are therefore missed: precision is preferred here.
"""

from __future__ import annotations

import re

from stdnum import luhn

from mlwarden.scanners.data.context_words import ContextWindow
from mlwarden.scanners.data.entity_types import CREDIT_CARD, Verdict

# (first digits low, high, how many leading digits, allowed lengths, network).
_RANGES: tuple[tuple[int, int, int, frozenset[int], str], ...] = (
    (4, 4, 1, frozenset({13, 16, 19}), "Visa"),
    (51, 55, 2, frozenset({16}), "Mastercard"),
    (2221, 2720, 4, frozenset({16}), "Mastercard"),
    (34, 34, 2, frozenset({15}), "American Express"),
    (37, 37, 2, frozenset({15}), "American Express"),
    (6011, 6011, 4, frozenset(range(16, 20)), "Discover"),
    (644, 649, 3, frozenset(range(16, 20)), "Discover"),
    (65, 65, 2, frozenset(range(16, 20)), "Discover"),
    (622126, 622925, 6, frozenset(range(16, 20)), "Discover"),
    (3528, 3589, 4, frozenset(range(16, 20)), "JCB"),
    (1800, 1800, 4, frozenset({15}), "JCB"),
    (2131, 2131, 4, frozenset({15}), "JCB"),
    (62, 62, 2, frozenset(range(16, 20)), "UnionPay"),
    (300, 305, 3, frozenset(range(14, 20)), "Diners Club"),
    (36, 36, 2, frozenset(range(14, 20)), "Diners Club"),
    (38, 39, 2, frozenset(range(14, 20)), "Diners Club"),
    (50, 50, 2, frozenset(range(12, 20)), "Maestro"),
    (56, 69, 2, frozenset(range(12, 20)), "Maestro"),
    (2200, 2204, 4, frozenset(range(16, 20)), "Mir"),
)


def card_network(digits: str) -> str | None:
    """The network whose ranges and lengths admit ``digits`` (checksum not tested)."""
    n = len(digits)
    for low, high, width, lengths, network in _RANGES:
        if n in lengths and low <= int(digits[:width]) <= high:
            return network
    return None


def is_card_number(digits: str) -> bool:
    """True for a plausible PAN: 12-19 digits, a known issuer range and a valid Luhn digit."""
    return (
        12 <= len(digits) <= 19
        and digits.isdigit()
        and card_network(digits) is not None
        and luhn.is_valid(digits)
    )


def validate_card(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """Decide whether ``win.text[start:end]`` (digits with optional separators) is a PAN."""
    raw = win.text[start:end]
    spaced, dashed = " " in raw, "-" in raw
    if spaced and dashed:
        return None  # mixed separators: a list of numbers, not one card
    digits = raw.replace(" ", "").replace("-", "") if spaced or dashed else raw
    if not 12 <= len(digits) <= 19 or card_network(digits) is None:
        return None
    if len(set(digits)) == 1 or not luhn.is_valid(digits):
        return Verdict(CREDIT_CARD, 0.0, start, end)
    confidence = 0.9 if spaced or dashed else 0.85
    if win.says(CREDIT_CARD, start, end):
        confidence = 0.98
    elif not (spaced or dashed) and _OTHER_NUMBER.search(win.before(start, 32).lower()):
        # One unbroken run in ten passes Luhn by chance: a run labelled as another kind
        # of number (a certificate serial, an order id) is that number, not a card.
        return None
    return Verdict(CREDIT_CARD, confidence, start, end)


_OTHER_NUMBER = re.compile(
    r"\b(?:serial|s/n|order|invoice|tracking|transaction|txn|ticket|isbn|imei|iccid|"
    r"msisdn|phone|tel|fax|ref|reference|build|version|checksum|hash|"
    r"timestamp|epoch|nonce|seed|port|pid|uid|gid|inode|offset|size|bytes|count)\b"
    r"[^0-9\n]{0,12}$"
)
