"""The regulated-data rules (``MLW-PII-*``): one per entity class, with default severities.

Default severities follow the harm of a leak: cardholder data, government and health
identifiers, bank accounts and credentials are high; contact data is medium. Health
terms (ICD-10 codes, drug names) are high when the same file also identifies people (then
they are PHI) and low otherwise. Users change any of them with
``DataScanSettings.severity_overrides``.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.data import entity_types as et
from mlwarden.scanners.data.regulations import ENTITY_REGULATIONS
from mlwarden.taxonomy import CWE_IMPROPER_INPUT, GDPR_PERSONAL_DATA

_MASK = "Remove or mask the values (`mlwarden mask`) before the data is used for training"


def _rule(rule_id: str, title: str, severity: Severity, entity: str, fix: str) -> Rule:
    return Rule(rule_id, title, severity, fix, ENTITY_REGULATIONS[entity])


CARD = _rule(
    "MLW-PII-001",
    "Payment card numbers (PAN) in data",
    Severity.HIGH,
    et.CREDIT_CARD,
    f"{_MASK}; PCI DSS requires stored PANs to be unreadable (truncated, tokenised or "
    "encrypted). Find out how the numbers got into the data set.",
)
SSN = _rule(
    "MLW-PII-002",
    "US Social Security numbers in data",
    Severity.HIGH,
    et.US_SSN,
    f"{_MASK}. SSNs are HIPAA identifiers and enable identity theft.",
)
NATIONAL_ID = _rule(
    "MLW-PII-003",
    "National identification numbers in data",
    Severity.HIGH,
    et.NATIONAL_ID_PREFIX + "de",
    f"{_MASK}. GDPR Art. 87 lets member states restrict the processing of these numbers.",
)
BANK_ACCOUNT = _rule(
    "MLW-PII-004",
    "Bank account numbers (IBAN) in data",
    Severity.HIGH,
    et.IBAN,
    f"{_MASK}.",
)
MEDICAL_RECORD = _rule(
    "MLW-PII-005",
    "Medical record numbers in data",
    Severity.HIGH,
    et.MEDICAL_RECORD_NUMBER,
    f"{_MASK}. A medical record number links the data to a patient's health record (PHI).",
)
HEALTH_TERMS = _rule(
    "MLW-PII-006",
    "Health data (diagnosis codes, drug names)",
    Severity.HIGH,
    et.ICD10_CODE,
    "Health data is a special category under GDPR Art. 9 and PHI under HIPAA when the same "
    "record identifies a person: remove the identifiers or the health fields, or document "
    "the legal basis and access controls.",
)
EMAIL = _rule("MLW-PII-007", "E-mail addresses in data", Severity.MEDIUM, et.EMAIL, f"{_MASK}.")
PHONE = _rule("MLW-PII-008", "Phone numbers in data", Severity.MEDIUM, et.PHONE, f"{_MASK}.")
POSTAL = _rule(
    "MLW-PII-009", "Postal addresses in data", Severity.MEDIUM, et.POSTAL_ADDRESS, f"{_MASK}."
)
IP = _rule(
    "MLW-PII-010",
    "IP addresses in data",
    Severity.MEDIUM,
    et.IP_ADDRESS,
    f"{_MASK}, or truncate them (drop the last octet).",
)
BIRTH_DATE = _rule(
    "MLW-PII-011",
    "Dates of birth in data",
    Severity.MEDIUM,
    et.DATE_OF_BIRTH,
    f"{_MASK}, or keep only the year (HIPAA Safe Harbor).",
)
CREDENTIAL = _rule(
    "MLW-PII-012",
    "Credentials (passwords, API keys, private keys) in data",
    Severity.HIGH,
    et.CREDENTIAL,
    "Rotate the credentials now (anyone with the data has them), then remove them from the "
    "data and from every copy and model trained on it.",
)
PERSON_NAME = _rule(
    "MLW-PII-013",
    "Person names in data",
    Severity.MEDIUM,
    et.PERSON,
    f"{_MASK}, or replace names with pseudonyms.",
)
PLACE = _rule(
    "MLW-PII-014",
    "Locations tied to people in data",
    Severity.LOW,
    et.LOCATION,
    "Generalise locations (region instead of town) where they describe people.",
)
UNREADABLE_ROWS = Rule(
    "MLW-PII-015",
    "Rows that could not be read were not searched for regulated data",
    Severity.MEDIUM,
    "Fix or remove the malformed rows and scan again; what they hold is unknown.",
    (CWE_IMPROPER_INPUT, GDPR_PERSONAL_DATA),
)
MORE_FINDINGS = Rule(
    "MLW-PII-016",
    "More regulated data than reported individually",
    Severity.INFO,
    "Raise DataScanSettings.max_findings to list every column and entity.",
)

RULES: tuple[Rule, ...] = (
    CARD,
    SSN,
    NATIONAL_ID,
    BANK_ACCOUNT,
    MEDICAL_RECORD,
    HEALTH_TERMS,
    EMAIL,
    PHONE,
    POSTAL,
    IP,
    BIRTH_DATE,
    CREDENTIAL,
    PERSON_NAME,
    PLACE,
    UNREADABLE_ROWS,
    MORE_FINDINGS,
)

_BY_ENTITY: dict[str, Rule] = {
    et.CREDIT_CARD: CARD,
    et.US_SSN: SSN,
    et.IBAN: BANK_ACCOUNT,
    et.MEDICAL_RECORD_NUMBER: MEDICAL_RECORD,
    et.ICD10_CODE: HEALTH_TERMS,
    et.DRUG_NAME: HEALTH_TERMS,
    et.EMAIL: EMAIL,
    et.PHONE: PHONE,
    et.POSTAL_ADDRESS: POSTAL,
    et.IP_ADDRESS: IP,
    et.DATE_OF_BIRTH: BIRTH_DATE,
    et.CREDENTIAL: CREDENTIAL,
    et.PERSON: PERSON_NAME,
    et.LOCATION: PLACE,
    **{entity: NATIONAL_ID for entity in et.NATIONAL_IDS},
}


def rule_for(entity: str) -> Rule:
    """The rule that reports ``entity``."""
    return _BY_ENTITY[entity]


def severity_for(
    entity: str, *, identified: bool, overrides: Mapping[str, Severity] | None = None
) -> Severity:
    """Severity of a finding of ``entity``.

    ``identified`` says whether the same file or table also holds identifying data;
    health terms without it are low. ``overrides`` (entity id or rule id) win.
    """
    rule = _BY_ENTITY[entity]
    if overrides:
        if entity in overrides:
            return overrides[entity]
        if rule.id in overrides:
            return overrides[rule.id]
    if entity in et.HEALTH_TERMS and not identified:
        return Severity.LOW
    return rule.severity
