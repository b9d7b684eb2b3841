"""Candidate extraction: every pattern compiled into one RE2 program, run once over a text.

RE2 runs in time linear in the input whatever the input is (no backtracking, so hostile
data cannot make a pattern explode), and scanning text that holds no candidate costs about
as much as reading it. Each alternative is one capturing group; the group that matched
names the candidate's *kind*, and the validators in :mod:`text_detector` decide which
entity, if any, it is. Patterns are deliberately loose (they find shapes); precision comes
from checksums and context.

Alternatives are tried leftmost first and, at the same start, in the order listed here:
longer and more specific shapes come before the shapes they contain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import re2

from mlwarden.scanners.data.drug_names import drug_names
from mlwarden.scanners.data.re2_matching import match_groups

_MONTHS = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_LATIN = r"A-Za-z\x{00C0}-\x{024F}"
_DE_WORD = r"[A-ZÄÖÜ][A-Za-zäöüßÄÖÜ.-]*"

# (kind, pattern). Kinds name shapes, not entities: one kind may be tried as several.
_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    (
        "email",
        # Latin letters with diacritics too (RFC 6531 addresses, IDN domains); all of
        # Unicode would multiply the automaton's size for little gain.
        rf"[{_LATIN}0-9._%+-]+@[{_LATIN}0-9](?:[{_LATIN}0-9-]*[{_LATIN}0-9])?"
        rf"(?:\.[{_LATIN}0-9](?:[{_LATIN}0-9-]*[{_LATIN}0-9])?)*\.[{_LATIN}]{{2,}}\b",
    ),
    (
        "secret_kv",
        r"(?i:\b(?:password|passwd|pwd|passphrase|pass|secret|client[_-]?secret|"
        r"api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret[_-]?(?:access[_-]?)?key|"
        r"access[_-]?token|auth[_-]?token|refresh[_-]?token|bearer[_-]?token|token|"
        r"private[_-]?key)\b)[\"']?[ \t]*[:=][ \t]*[\"']?[^\s\"',;\x00]{3,}",
    ),
    (
        "secret_token",
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}\b|"
        r"\bgithub_pat_[A-Za-z0-9_]{22,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|"
        r"\b[sr]k_live_[0-9A-Za-z]{16,}|\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}|"
        r"\bAIza[0-9A-Za-z_-]{35}\b|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."
        r"[A-Za-z0-9_-]{8,}|-----BEGIN (?:[A-Z0-9]+ ){0,2}PRIVATE KEY-----|"
        r"\b[a-z][a-z0-9+.-]*://[^\s:/@\x00]+:[^\s@/\x00]+@",
    ),
    ("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,}(?: ?[A-Z0-9]{1,3})?\b"),
    (
        "it_cf",
        r"\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]"
        r"[0-9LMNPQRSTUV]{3}[A-Z]\b",
    ),
    ("es_id", r"\b[XYZ]?\d{7,8}-?[A-Z]\b"),
    ("gb_nino", r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
    (
        "mrn_ctx",
        r"(?i:\bmrn|\bmedical record(?: number| no\.?| num| #)?|"
        r"\bpatient (?:id|number|no\.?|#)|\bchart (?:number|no\.?|#))"
        r"[ \t]*[:#=.]?[ \t]*[A-Z]*-?\d{4}\d*\b",
    ),
    (
        "us_address",
        r"\b\d+(?: [A-Za-z][A-Za-z0-9.'-]*)+"
        r"(?:,? (?:Apt|Suite|Ste|Unit|Fl|Floor|Rm|Room|#)\.? ?[A-Za-z0-9-]+)?"
        r"(?:,? |,?\n)(?:[A-Za-z.'-]+ )*[A-Za-z.'-]+, [A-Z]{2} \d{5}(?:-\d{4})?\b",
    ),
    (
        "de_address",
        _DE_WORD + r"(?: " + _DE_WORD + r")* \d+[a-z]?(?:[-/]\d+[a-z]?)?"
        r"(?:,? |,?\n)\d{5} " + _DE_WORD,
    ),
    (
        "uk_postcode",
        r"\b(?:[A-PR-UWYZ]\d{1,2}|[A-PR-UWYZ][A-HK-Y]\d{1,2}|[A-PR-UWYZ]\d[A-HJKPSTUW]|"
        r"[A-PR-UWYZ][A-HK-Y]\d[ABEHMNPRVWXY]) \d[ABD-HJLNP-UW-Z]{2}\b",
    ),
    ("icd10", r"\b[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?\b"),
    (
        "ipv6",
        r"(?:\b[0-9A-Fa-f]+|::)(?::{1,2}[0-9A-Fa-f]+){2,}(?:::)?(?:\.\d+\.\d+\.\d+)?",
    ),
    ("ipv4", r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"),
    (
        "date",
        r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b|"
        r"\b\d{1,2}(?:st|nd|rd|th)?\.? " + _MONTHS + r"\.? \d{4}\b|"
        r"\b" + _MONTHS + r"\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b",
    ),
    ("fr_nir", r"\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}\b"),
    ("se_pnr", r"\b(?:\d{2})?\d{6}[-+]\d{4}\b"),
    ("ssn", r"\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b"),
    (
        "card",
        # Grouped digits only: an unbroken run is a "digits" candidate, tried as a card.
        r"\b\d{4}[ -]\d{4,6}[ -]\d{4,5}(?:[ -]\d{1,4}){0,2}\b",
    ),
    (
        "phone_intl",
        r"(?:\+|\b00)[1-9](?:[ .()/-]{0,2}\d)+(?: ?(?:x|ext\.?|#) ?\d+\b)?",
    ),
    (
        "phone_nanp",
        r"(?:\b1[ .-]?)?(?:\(\d{3}\) ?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b"
        r"(?: ?(?:x|ext\.?) ?\d+\b)?",
    ),
    ("phone_national", r"(?:\(0\d+\)|\b0\d+)(?:[ /.-]?\d+)+\b"),
    ("slashed_id", r"\b\d{2,3}/\d{3,4}/\d{4,5}\b"),
    ("digits", r"\b\d{6}\d*\b"),
    ("id_code", r"\b[A-Z]+-?\d{5}\d*\b"),
    (
        "person_cue",
        r"(?:\b(?i:name|patient|customer|client|employee|mr|mrs|ms|miss|dr|herr|frau)\.?:?"
        r"[ \t]+)[A-Z][a-z'-]+(?: [A-Z]\.)?(?: [A-Z][a-z'-]+){1,2}",
    ),
)

KINDS: tuple[str, ...] = (*(kind for kind, _ in _ALTERNATIVES), "drug")
"""Candidate kinds, in priority order (the first kind matching at a position wins)."""

# Kinds compiled together. One RE2 program holding every pattern is slow on dense data
# (logs, tables): its DFA's states are the product of all patterns' states, the cache
# thrashes, and RE2 falls back to the NFA (measured under 1 MB/s). Programs of kinds
# that start alike keep their automata small: each pass runs at DFA speed.
_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("secret_kv", "secret_token", "mrn_ctx", "person_cue"),
    ("iban", "it_cf", "es_id", "gb_nino", "uk_postcode", "icd10", "id_code"),
    ("us_address", "de_address", "date"),
    (
        "ipv6",
        "ipv4",
        "fr_nir",
        "se_pnr",
        "ssn",
        "card",
        "phone_intl",
        "phone_nanp",
        "phone_national",
        "slashed_id",
        "digits",
    ),
    ("drug",),
)
assert sorted(k for family in _FAMILIES for k in family) == sorted(KINDS)


@dataclass(frozen=True)
class _Family:
    program: re2._Regexp
    kinds: tuple[int, ...]
    """Global priority (index in KINDS) of each capturing group, in group order."""


@lru_cache(maxsize=1)
def _programs() -> tuple[_Family, ...]:
    words = "|".join(sorted(drug_names(), key=len, reverse=True))
    patterns = dict(_ALTERNATIVES)
    patterns["drug"] = rf"(?i:\b(?:{words})\b)"
    options = re2.Options()
    options.max_mem = 64 << 20  # the drug list needs more than the 8 MB default
    options.log_errors = False
    families = []
    for family in _FAMILIES:
        source = "|".join(f"({patterns[kind]})" for kind in family)
        program = re2.compile(source.encode("utf-8"), options=options)
        families.append(_Family(program, tuple(KINDS.index(kind) for kind in family)))
    return tuple(families)


def compile_program() -> None:
    """Compile the candidate programs now (they are otherwise compiled on first use)."""
    _programs()


def _byte_candidates(data: bytes) -> list[tuple[int, int, int]]:
    """``(start, priority, end)`` in bytes, left to right, without overlaps: at the same
    start the kind listed first wins, as in one alternation."""
    found: list[tuple[int, int, int]] = []
    for family in _programs():
        kinds = family.kinds
        found.extend(
            (start, kinds[group - 1], end)
            for group, start, end in match_groups(family.program, data)
        )
    if len(_FAMILIES) > 1:
        found.sort()
    kept: list[tuple[int, int, int]] = []
    covered = 0
    for item in found:
        if item[0] >= covered and not _inside_encoded_run(data, item):
            kept.append(item)
            covered = item[2] if item[2] > item[0] else item[0] + 1
    return kept


_BARE_NUMBER_KINDS = frozenset(KINDS.index(k) for k in ("digits", "card"))
_IPV4 = KINDS.index("ipv4")
_BASE64_GLUE = frozenset(b"+/=")


def _inside_encoded_run(data: bytes, item: tuple[int, int, int]) -> bool:
    """A digit run glued to ``+``, ``/`` or ``=`` is part of base64 text (certificates,
    keys, embedded images), where any long enough run of digits eventually passes Luhn;
    one glued to a decimal point is part of a number."""
    start, priority, end = item
    if priority == _IPV4:
        # Four numbers of a longer dotted run (SVG path data, version strings, OIDs).
        dotted_before = (
            start > 1 and data[start - 1] == 0x2E and data[start - 2 : start - 1].isdigit()
        )
        dotted_after = data[end : end + 1] == b"." and data[end + 1 : end + 2].isdigit()
        # A minus sign glues it to a list of coordinates ("14.72-10.33.93.12").
        signed = start > 0 and data[start - 1] == 0x2D
        return dotted_before or dotted_after or signed
    if priority not in _BARE_NUMBER_KINDS:
        return False
    before = data[start - 1] if start > 0 else 0
    after = data[end] if end < len(data) else 0
    if before in _BASE64_GLUE or after in _BASE64_GLUE:
        return True
    # The digits of a decimal fraction (0.5328051227278146) or an exponent are not an id.
    digit_before = start > 1 and data[start - 2 : start - 1].isdigit()
    digit_after = end + 1 < len(data) and data[end + 1 : end + 2].isdigit()
    return (before == 0x2E and digit_before) or (after == 0x2E and digit_after)


def iter_candidates(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(kind, start, end)`` for every candidate in ``text``, left to right.

    Offsets are character offsets into ``text``; candidates never overlap.
    """
    data = text.encode("utf-8", "surrogatepass")
    kinds = KINDS
    if len(data) == len(text):  # ASCII: byte offsets are character offsets
        for start, priority, end in _byte_candidates(data):
            yield kinds[priority], start, end
        return
    # Non-ASCII: convert byte offsets incrementally (candidates come in increasing order).
    byte_pos = char_pos = 0
    for start_b, priority, end_b in _byte_candidates(data):
        char_pos += len(data[byte_pos:start_b].decode("utf-8", "surrogatepass"))
        byte_pos = start_b
        end = char_pos + len(data[start_b:end_b].decode("utf-8", "surrogatepass"))
        yield kinds[priority], char_pos, end
