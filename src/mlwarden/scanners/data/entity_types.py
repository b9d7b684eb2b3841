"""The values regulated-data detection returns: entity ids, matches, column classes.

Kept apart from the detectors so that every detector module, the table profiler and the
public façade (:mod:`mlwarden.scanners.data.entities`) share them without import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

CREDIT_CARD = "credit_card"
US_SSN = "us_ssn"
IBAN = "iban"
EMAIL = "email"
PHONE = "phone"
IP_ADDRESS = "ip_address"
DATE_OF_BIRTH = "date_of_birth"
POSTAL_ADDRESS = "postal_address"
MEDICAL_RECORD_NUMBER = "medical_record_number"
ICD10_CODE = "icd10_code"
DRUG_NAME = "drug_name"
CREDENTIAL = "credential"
PERSON = "person"
LOCATION = "location"
NATIONAL_ID_PREFIX = "national_id_"

NATIONAL_ID_COUNTRIES: tuple[str, ...] = ("de", "fr", "es", "it", "nl", "pl", "se", "gb")
"""Countries whose national identifiers are recognised (``national_id_<cc>``)."""

NATIONAL_IDS: frozenset[str] = frozenset(NATIONAL_ID_PREFIX + cc for cc in NATIONAL_ID_COUNTRIES)

ALL_ENTITIES: frozenset[str] = frozenset(
    {
        CREDIT_CARD,
        US_SSN,
        IBAN,
        EMAIL,
        PHONE,
        IP_ADDRESS,
        DATE_OF_BIRTH,
        POSTAL_ADDRESS,
        MEDICAL_RECORD_NUMBER,
        ICD10_CODE,
        DRUG_NAME,
        CREDENTIAL,
        PERSON,
        LOCATION,
        *NATIONAL_IDS,
    }
)
"""Every entity id :func:`~mlwarden.scanners.data.entities.detect_text` can return."""

IDENTIFYING: frozenset[str] = frozenset(
    {
        CREDIT_CARD,
        US_SSN,
        IBAN,
        EMAIL,
        PHONE,
        DATE_OF_BIRTH,
        POSTAL_ADDRESS,
        MEDICAL_RECORD_NUMBER,
        PERSON,
        *NATIONAL_IDS,
    }
)
"""Entities that tie a record to a person: health data next to one of them is PHI."""

HEALTH_TERMS: frozenset[str] = frozenset({ICD10_CODE, DRUG_NAME})
"""Health data that is sensitive only when the same file also identifies people."""


@dataclass(frozen=True)
class EntityMatch:
    """One validated occurrence of regulated data in a text."""

    entity: str
    """Stable entity id, one of :data:`ALL_ENTITIES`."""
    start: int
    """Character offset (not byte offset) of the first character in the scanned text."""
    end: int
    """Character offset just past the last character (``text[start:end] == value``)."""
    value: str
    """The matched text, raw. Never put it in a report: use :func:`redact` for evidence."""
    confidence: float
    """0..1: how sure the detector is (checksums and context words raise it)."""


@dataclass(frozen=True)
class ColumnClass:
    """One data class found in a table column."""

    entity: str
    """Entity id found in the column."""
    confidence: float
    """0..1: share of sampled values that matched, adjusted by the column name hint."""
    matched: int
    """Sampled non-empty values in which the entity was found."""
    sampled: int
    """Non-empty values examined."""


class Verdict(NamedTuple):
    """A validator's decision on one candidate (internal to the detectors)."""

    entity: str
    confidence: float
    """0 means the candidate has the entity's shape but fails its checksum (a lookalike)."""
    start: int
    end: int
