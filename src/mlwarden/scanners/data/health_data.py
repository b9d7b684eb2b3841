"""Health data: medical record numbers, ICD-10 diagnosis codes and drug names.

An ICD-10 code has the shape of countless other tokens (``B12`` vitamins, ``F16`` jets,
``A4`` paper), so a code is only reported when it is structurally valid (a real chapter
and category range) *and* a context word (``ICD``, ``diagnosis``, ``dx`` ...) or a column
name says it is a diagnosis. A medical record number has no structure at all: it is
whatever follows ``MRN`` or ``patient id``, or fills a column so named. Drug names come
from the bundled list of generic names.
"""

from __future__ import annotations

import re

from mlwarden.scanners.data.context_words import ContextWindow
from mlwarden.scanners.data.entity_types import (
    DRUG_NAME,
    ICD10_CODE,
    MEDICAL_RECORD_NUMBER,
    Verdict,
)

# Category ranges per first letter (ICD-10 and ICD-10-CM together), as (first, last) of the
# two digits after the letter. U00-U85 holds the codes for special purposes (U07.1 COVID-19).
_ICD10_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "A": ((0, 99),),
    "B": ((0, 99),),
    "C": ((0, 97),),
    "D": ((0, 89),),
    "E": ((0, 90),),
    "F": ((1, 99),),
    "G": ((0, 99),),
    "H": ((0, 95),),
    "I": ((0, 99),),
    "J": ((0, 99),),
    "K": ((0, 95),),
    "L": ((0, 99),),
    "M": ((0, 99),),
    "N": ((0, 99),),
    "O": ((0, 9), (10, 99)),
    "P": ((0, 96),),
    "Q": ((0, 99),),
    "R": ((0, 99),),
    "S": ((0, 99),),
    "T": ((0, 98),),
    "U": ((0, 85),),
    "V": ((0, 99),),
    "W": ((0, 99),),
    "X": ((0, 99),),
    "Y": ((0, 99),),
    "Z": ((0, 99),),
}
# ICD-10-CM categories whose third character is a letter (C4A, D3A, M1A, O9A, Z3A).
_LETTER_CATEGORIES = frozenset({"C4A", "D3A", "M1A", "O9A", "Z3A"})
_MRN_VALUE = re.compile(r"[A-Z]{0,4}-?\d{4,12}$")


def is_icd10_code(code: str) -> bool:
    """True when ``code`` (``E11``, ``E11.9``, ``S72.001A``) has a real ICD-10 category."""
    category, dot, subcategory = code.partition(".")
    if len(category) != 3 or (dot and not 1 <= len(subcategory) <= 4):
        return False
    if category in _LETTER_CATEGORIES:
        return True
    letter, number = category[0], category[1:]
    if not number.isdigit():
        return False
    value = int(number)
    return any(low <= value <= high for low, high in _ICD10_RANGES.get(letter, ()))


def validate_icd10(win: ContextWindow, start: int, end: int) -> Verdict | None:
    code = win.text[start:end]
    if not is_icd10_code(code) or not win.says(ICD10_CODE, start, end):
        return None
    return Verdict(ICD10_CODE, 0.9 if "." in code else 0.8, start, end)


def validate_mrn_with_label(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """``MRN: 00123456``: the value after the label is the record number."""
    value = _MRN_VALUE.search(win.text[start:end])
    if value is None:
        return None
    return Verdict(MEDICAL_RECORD_NUMBER, 0.9, start + value.start(), start + value.end())


def validate_mrn_in_context(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """A digit run or code in an MRN column or next to an MRN label."""
    if not win.says(MEDICAL_RECORD_NUMBER, start, end):
        return None
    return Verdict(MEDICAL_RECORD_NUMBER, 0.85, start, end)


def validate_drug(win: ContextWindow, start: int, end: int) -> Verdict:
    confidence = 0.9 if win.says(DRUG_NAME, start, end) else 0.75
    return Verdict(DRUG_NAME, confidence, start, end)
