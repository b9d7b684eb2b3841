"""Government identifiers: US SSN and European national ID numbers.

Check digits come from ``python-stdnum``. Identifiers whose checks are weak (the Dutch
BSN's 11-test passes one random number in eleven; German tax ids, PESEL and bare nine-digit
SSNs are plain digit runs) are only reported when a context word or a column name says
what they are. Shapes that are distinctive on their own (a dashed SSN, an Italian codice
fiscale, a French NIR with its mod-97 key) need no context; context raises confidence.
"""

from __future__ import annotations

from stdnum import luhn
from stdnum.de import idnr, stnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer
from stdnum.us import ssn

from mlwarden.scanners.data.context_words import ContextWindow
from mlwarden.scanners.data.entity_types import NATIONAL_ID_PREFIX, US_SSN, Verdict

NATIONAL_ID_DE = NATIONAL_ID_PREFIX + "de"
NATIONAL_ID_FR = NATIONAL_ID_PREFIX + "fr"
NATIONAL_ID_ES = NATIONAL_ID_PREFIX + "es"
NATIONAL_ID_IT = NATIONAL_ID_PREFIX + "it"
NATIONAL_ID_NL = NATIONAL_ID_PREFIX + "nl"
NATIONAL_ID_PL = NATIONAL_ID_PREFIX + "pl"
NATIONAL_ID_SE = NATIONAL_ID_PREFIX + "se"
NATIONAL_ID_GB = NATIONAL_ID_PREFIX + "gb"

# National Insurance number prefixes HMRC never issues.
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def is_valid_ssn(digits: str) -> bool:
    """SSA rules: no area 000, 666 or 9xx, no group 00, no serial 0000, no known misuse."""
    return len(digits) == 9 and digits.isdigit() and digits != "123456789" and ssn.is_valid(digits)


def validate_ssn(win: ContextWindow, start: int, end: int) -> Verdict:
    """A dashed or spaced ``NNN-NN-NNNN`` candidate."""
    raw = win.text[start:end]
    digits = raw.replace("-", "").replace(" ", "")
    if not is_valid_ssn(digits):
        return Verdict(US_SSN, 0.0, start, end)
    if win.says(US_SSN, start, end):
        return Verdict(US_SSN, 0.97, start, end)
    # Spaces are a weaker sign than dashes: "123 45 6789" is also three counts in a row.
    return Verdict(US_SSN, 0.85 if "-" in raw else 0.6, start, end)


def validate_digit_run(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """A bare run of 6-11 digits: an identifier only when the context names which one."""
    digits = win.text[start:end]
    if not digits.isdigit():
        return None
    says = win.entities(start, end)
    n = len(digits)
    if n == 9 and US_SSN in says:
        return Verdict(US_SSN, 0.9 if is_valid_ssn(digits) else 0.0, start, end)
    if n in (8, 9) and NATIONAL_ID_NL in says:
        return Verdict(NATIONAL_ID_NL, 0.9 if bsn.is_valid(digits) else 0.0, start, end)
    if n == 11 and NATIONAL_ID_DE in says:
        return Verdict(NATIONAL_ID_DE, 0.9 if idnr.is_valid(digits) else 0.0, start, end)
    if n == 11 and NATIONAL_ID_PL in says:
        return Verdict(NATIONAL_ID_PL, 0.9 if pesel.is_valid(digits) else 0.0, start, end)
    if n == 10 and NATIONAL_ID_SE in says:
        ok = personnummer.is_valid(digits)
        return Verdict(NATIONAL_ID_SE, 0.9 if ok else 0.0, start, end)
    if n == 10 and NATIONAL_ID_DE in says and stnr.is_valid(digits):
        return Verdict(NATIONAL_ID_DE, 0.7, start, end)
    return None


def validate_slashed(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """``12/345/67890``: a German Steuernummer when the context says so (format check only)."""
    if win.says(NATIONAL_ID_DE, start, end) and stnr.is_valid(win.text[start:end]):
        return Verdict(NATIONAL_ID_DE, 0.8, start, end)
    return None


def validate_it_codice_fiscale(win: ContextWindow, start: int, end: int) -> Verdict:
    ok = codicefiscale.is_valid(win.text[start:end])
    confidence = 0.97 if ok else 0.0
    return Verdict(NATIONAL_ID_IT, confidence, start, end)


def validate_es_id(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter)."""
    raw = win.text[start:end].replace("-", "")
    if raw[0] in "XYZ":
        if len(raw) != 9:
            return None
        ok = nie.is_valid(raw)
    elif len(raw) == 9:
        ok = dni.is_valid(raw)
    else:
        return None
    if not ok:
        return Verdict(NATIONAL_ID_ES, 0.0, start, end)
    # The check letter admits one random number in 23: context makes it certain.
    return Verdict(
        NATIONAL_ID_ES, 0.95 if win.says(NATIONAL_ID_ES, start, end) else 0.75, start, end
    )


def validate_gb_nino(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """UK National Insurance number: prefix rules only (there is no check digit)."""
    raw = win.text[start:end].replace(" ", "")
    if raw[:2] in _NINO_BAD_PREFIXES:
        return Verdict(NATIONAL_ID_GB, 0.0, start, end)
    return Verdict(
        NATIONAL_ID_GB, 0.95 if win.says(NATIONAL_ID_GB, start, end) else 0.7, start, end
    )


def validate_fr_nir(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """French social security number (NIR) with its two-digit mod-97 key."""
    raw = win.text[start:end].replace(" ", "").upper()
    if len(raw) != 15:
        return None
    if not nir.is_valid(raw):
        return Verdict(NATIONAL_ID_FR, 0.0, start, end)
    return Verdict(
        NATIONAL_ID_FR, 0.97 if win.says(NATIONAL_ID_FR, start, end) else 0.85, start, end
    )


def validate_se_personnummer(win: ContextWindow, start: int, end: int) -> Verdict | None:
    """Swedish personnummer ``YYMMDD-NNNN`` (or with century): birth date and Luhn."""
    raw = win.text[start:end]
    digits = raw.replace("-", "").replace("+", "")
    if not luhn.is_valid(digits[-10:]):
        return Verdict(NATIONAL_ID_SE, 0.0, start, end)
    if not personnummer.is_valid(raw):
        return Verdict(NATIONAL_ID_SE, 0.0, start, end)
    return Verdict(
        NATIONAL_ID_SE, 0.95 if win.says(NATIONAL_ID_SE, start, end) else 0.75, start, end
    )
