"""From candidates to validated matches: which validators each candidate kind goes through.

:func:`verdicts` is the engine every reader shares: one RE2 pass over a whole text (a
file chunk, or a column's values joined with NUL), then a validator chain per candidate.
The first validator that accepts decides the entity; when they all reject, the first
rejection is still returned with confidence 0 so column statistics can tell a column of
card-shaped numbers that fail Luhn (not cards) from a column of cards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mlwarden.scanners.data import (
    birth_dates,
    contact_data,
    credentials,
    government_ids,
    health_data,
    iban_numbers,
    named_entities,
    payment_cards,
)
from mlwarden.scanners.data.candidates import iter_candidates
from mlwarden.scanners.data.context_words import ContextWindow, hinted_entities
from mlwarden.scanners.data.entity_types import (
    CREDENTIAL,
    LOCATION,
    PERSON,
    EntityMatch,
    Verdict,
)

Validator = Callable[[ContextWindow, int, int, str], Verdict | None]


def _any_region(fn: Callable[[ContextWindow, int, int], Verdict | None]) -> Validator:
    def validator(win: ContextWindow, start: int, end: int, region: str) -> Verdict | None:
        return fn(win, start, end)

    return validator


def _person_cue(win: ContextWindow, start: int, end: int) -> Verdict | None:
    text = win.text[start:end]
    name = _CUE.match(text)
    if name is None:
        return None
    return Verdict(PERSON, 0.6, start + name.end(), end)


_CUE = re.compile(r"[A-Za-z]+\.?:?[ \t]+")

_CHAINS: dict[str, tuple[Validator, ...]] = {
    "email": (_any_region(contact_data.validate_email),),
    "secret_kv": (_any_region(credentials.validate_key_value),),
    "secret_token": (_any_region(credentials.validate_token),),
    "iban": (_any_region(iban_numbers.validate_iban),),
    "it_cf": (_any_region(government_ids.validate_it_codice_fiscale),),
    "es_id": (_any_region(government_ids.validate_es_id),),
    "gb_nino": (_any_region(government_ids.validate_gb_nino),),
    "mrn_ctx": (_any_region(health_data.validate_mrn_with_label),),
    "us_address": (_any_region(contact_data.validate_us_address),),
    "de_address": (_any_region(contact_data.validate_de_address),),
    "uk_postcode": (_any_region(contact_data.validate_uk_postcode),),
    "icd10": (_any_region(health_data.validate_icd10),),
    "ipv6": (_any_region(contact_data.validate_ipv6),),
    "ipv4": (_any_region(contact_data.validate_ipv4),),
    "date": (_any_region(birth_dates.validate_birth_date),),
    "fr_nir": (_any_region(government_ids.validate_fr_nir),),
    "se_pnr": (_any_region(government_ids.validate_se_personnummer),),
    "ssn": (_any_region(government_ids.validate_ssn),),
    "card": (
        _any_region(payment_cards.validate_card),
        _any_region(government_ids.validate_digit_run),
        _any_region(health_data.validate_mrn_in_context),
        contact_data.validate_bare_phone,
    ),
    "phone_intl": (
        _any_region(government_ids.validate_digit_run),
        contact_data.validate_phone,
        _any_region(health_data.validate_mrn_in_context),
    ),
    "phone_nanp": (contact_data.validate_phone,),
    "phone_national": (
        _any_region(government_ids.validate_digit_run),
        _any_region(health_data.validate_mrn_in_context),
        contact_data.validate_bare_phone,
    ),
    "slashed_id": (_any_region(government_ids.validate_slashed),),
    "digits": (
        _any_region(payment_cards.validate_card),
        _any_region(government_ids.validate_digit_run),
        _any_region(health_data.validate_mrn_in_context),
        contact_data.validate_bare_phone,
    ),
    "id_code": (_any_region(health_data.validate_mrn_in_context),),
    "person_cue": (_any_region(_person_cue),),
    "drug": (_any_region(health_data.validate_drug),),
}


@dataclass
class CandidateCount:
    """How many candidates a search saw, validated or not (a measure of its cost)."""

    candidates: int = 0


def verdicts(
    text: str,
    hints: frozenset[str],
    region: str,
    count: CandidateCount | None = None,
    label: str = "",
) -> Iterator[Verdict]:
    """Validated candidates of ``text`` in order, lookalikes included (confidence 0).

    ``hints`` are entities the caller's context names (a column name's hints): they act
    as context words next to every value; ``label`` is that context as written (a column
    name). Spans never overlap. ``count``, when given, receives the number of candidates
    examined.
    """
    win = ContextWindow(text, hints, label)
    chains = _CHAINS
    for kind, start, end in iter_candidates(text):
        if count is not None:
            count.candidates += 1
        first: Verdict | None = None
        for validator in chains[kind]:
            verdict = validator(win, start, end, region)
            if verdict is None:
                continue
            if verdict.confidence > 0:
                first = verdict
                break
            if first is None:
                first = verdict
        if first is not None:
            yield first


def looks_like_name(value: str) -> bool:
    """1-5 capitalised words of letters (particles such as ``van``/``de`` allowed)."""
    words = value.split()
    if not 1 <= len(words) <= 5 or len(value) > 80:
        return False
    capitalised = 0
    for word in words:
        bare = word.translate(_NAME_PUNCTUATION)
        if not bare.isalpha():
            return False
        if word[0].isupper():
            capitalised += 1
        elif word not in _PARTICLES:
            return False
    return capitalised >= 1


_NAME_PUNCTUATION = str.maketrans("", "", "'\u2019-.")
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "da", "di", "del", "la", "le", "du", "al"}
)


def whole_value(value: str, hints: frozenset[str]) -> Verdict | None:
    """A value that *is* the entity its column names (a name in ``first_name``, a secret in
    ``password``), with no pattern of its own. ``value`` must be one cell, not free text."""
    stripped = value.strip()
    if not stripped:
        return None
    start = value.find(stripped)
    end = start + len(stripped)
    if CREDENTIAL in hints:
        confidence = credentials.validate_credential_cell(stripped)
        if confidence > 0:
            return Verdict(CREDENTIAL, confidence, start, end)
    if PERSON in hints and looks_like_name(stripped):
        return Verdict(PERSON, 0.75, start, end)
    if LOCATION in hints and looks_like_name(stripped):
        return Verdict(LOCATION, 0.7, start, end)
    return None


def detect(
    text: str,
    *,
    wanted: frozenset[str],
    context: str,
    region: str,
    min_confidence: float,
    ner: bool = True,
) -> list[EntityMatch]:
    """Implementation of :func:`mlwarden.scanners.data.entities.detect_text`."""
    hints = hinted_entities(context) if context else frozenset()
    found = [
        EntityMatch(v.entity, v.start, v.end, text[v.start : v.end], v.confidence)
        for v in verdicts(text, hints, region, label=context)
        if v.confidence >= min_confidence and v.entity in wanted
    ]
    if not found and hints & {PERSON, LOCATION, CREDENTIAL} and len(text) <= 4096:
        single = whole_value(text, hints)
        if single is not None and single.entity in wanted:
            found.append(
                EntityMatch(
                    single.entity,
                    single.start,
                    single.end,
                    text[single.start : single.end],
                    single.confidence,
                )
            )
    if ner and wanted & {PERSON, LOCATION} and named_entities.available():
        found = _merge_names(text, found, wanted)
    return found


def _merge_names(text: str, found: list[EntityMatch], wanted: frozenset[str]) -> list[EntityMatch]:
    taken = [(m.start, m.end) for m in found]
    for entity, start, end in named_entities.find_names(text):
        if entity in wanted and not any(s < end and start < e for s, e in taken):
            found.append(EntityMatch(entity, start, end, text[start:end], 0.7))
            taken.append((start, end))
    found.sort(key=lambda m: m.start)
    return found
