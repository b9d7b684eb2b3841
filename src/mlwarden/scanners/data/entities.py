"""Public API of regulated-data detection: find, classify and redact personal data.

This is the stable surface other parts of mlwarden (the scanners here, ``mlwarden mask``)
build on::

    from mlwarden.scanners.data.entities import detect_text, classify_column, redact

    for m in detect_text("card 4111 1111 1111 1111, mail jane@example.com"):
        print(m.entity, m.start, m.end, redact(m.entity, m.value), m.confidence)

Detection runs offline: one multi-pattern RE2 pass finds candidates, then checksums
(Luhn, mod-97, national check digits), ``phonenumbers`` and context words validate them.
Person names and places come from column names and cue words (``Name: ...``), or from
spaCy when it is installed.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlwarden.scanners.data import column_classifier, text_detector
from mlwarden.scanners.data.entity_types import (
    ALL_ENTITIES,
    CREDENTIAL,
    CREDIT_CARD,
    DATE_OF_BIRTH,
    DRUG_NAME,
    EMAIL,
    IBAN,
    ICD10_CODE,
    IP_ADDRESS,
    LOCATION,
    MEDICAL_RECORD_NUMBER,
    NATIONAL_IDS,
    PERSON,
    PHONE,
    POSTAL_ADDRESS,
    US_SSN,
    ColumnClass,
    EntityMatch,
)
from mlwarden.scanners.data.redaction import redact
from mlwarden.scanners.data.regulations import ENTITY_REGULATIONS

__all__ = [
    "ALL_ENTITIES",
    "CREDENTIAL",
    "CREDIT_CARD",
    "DATE_OF_BIRTH",
    "DRUG_NAME",
    "EMAIL",
    "ENTITY_REGULATIONS",
    "IBAN",
    "ICD10_CODE",
    "IP_ADDRESS",
    "LOCATION",
    "MEDICAL_RECORD_NUMBER",
    "NATIONAL_IDS",
    "PERSON",
    "PHONE",
    "POSTAL_ADDRESS",
    "US_SSN",
    "ColumnClass",
    "EntityMatch",
    "classify_column",
    "detect_text",
    "redact",
]

DEFAULT_MIN_CONFIDENCE = 0.5
"""Matches below this confidence are dropped unless the caller asks for them."""


def detect_text(
    text: str,
    *,
    entities: frozenset[str] | None = None,
    context: str = "",
    region: str = "US",
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[EntityMatch]:
    """Find regulated data in ``text``; matches are sorted by ``start`` and never overlap.

    ``entities`` restricts the search to those ids (default: all). ``context`` is text
    that describes where ``text`` comes from, typically a column name (``"patient_dob"``)
    or a JSON key: it counts as a context word for every value, so a bare date in a column
    named ``dob`` is a date of birth. ``region`` is the ISO country used for phone numbers
    written without a ``+`` country code. Offsets are character offsets into ``text``.
    Raises ``ValueError`` for an unknown entity id.
    """
    wanted = _check_entities(entities)
    return text_detector.detect(
        text, wanted=wanted, context=context, region=region, min_confidence=min_confidence
    )


def classify_column(
    name: str,
    values: Sequence[str],
    *,
    region: str = "US",
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[ColumnClass]:
    """Classify a table column from a sample of its values, best class first.

    Every non-empty value is searched with the column ``name`` as context; a class's
    confidence is the share of values that contain it, raised when the name says the same
    (a column ``email`` whose values are e-mail addresses) and lowered when most values
    that look like the class fail its checksum. Classes under ``min_confidence`` are left
    out unless the name hints at them. Pass a sample (a few hundred to a few thousand
    values): cost grows with the number of values.
    """
    return column_classifier.classify(name, values, region=region, min_confidence=min_confidence)


def _check_entities(entities: frozenset[str] | None) -> frozenset[str]:
    if entities is None:
        return ALL_ENTITIES
    unknown = entities - ALL_ENTITIES
    if unknown:
        raise ValueError(
            f"unknown entity id(s) {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(sorted(ALL_ENTITIES))}"
        )
    return frozenset(entities)
