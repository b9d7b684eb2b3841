"""IBANs: country code, the country's fixed length and the ISO 7064 mod-97 check digits.

The candidate pattern is greedy (an IBAN written in groups of four may be followed by
another capitalised word), so the candidate is cut to the length its country prescribes
before it is checked.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import iban, numdb

from mlwarden.scanners.data.context_words import ContextWindow
from mlwarden.scanners.data.entity_types import IBAN, Verdict

_FIELD = re.compile(r"(\d+)!?[nace]")


@lru_cache(maxsize=256)
def iban_length(country: str) -> int | None:
    """Total IBAN length for a country code, from python-stdnum's IBAN registry."""
    info = numdb.get("iban").info(country + "00")
    if not info or not info[0][1] or "bban" not in info[0][1]:
        return None
    return 4 + sum(int(n) for n in _FIELD.findall(info[0][1]["bban"]))


def validate_iban(win: ContextWindow, start: int, end: int) -> Verdict | None:
    raw = win.text[start:end]
    length = iban_length(raw[:2])
    if length is None:
        return None
    taken = 0
    cut = len(raw)
    for i, c in enumerate(raw):
        if c != " ":
            taken += 1
            if taken == length:
                cut = i + 1
                break
    if taken < length:
        return None
    compact = raw[:cut].replace(" ", "")
    if not iban.is_valid(compact):
        return Verdict(IBAN, 0.0, start, start + cut)
    return Verdict(IBAN, 0.97, start, start + cut)
