"""Which regulations name each kind of regulated data (taxonomy tags per entity)."""

from __future__ import annotations

from mlwarden.scanners.data import entity_types as et
from mlwarden.taxonomy import (
    CWE_CLEARTEXT_STORAGE,
    CWE_CREDENTIALS,
    GDPR_NATIONAL_ID,
    GDPR_PERSONAL_DATA,
    GDPR_SECURITY,
    GDPR_SPECIAL_CATEGORY,
    HIPAA_ACCOUNT,
    HIPAA_DATES,
    HIPAA_EMAIL,
    HIPAA_GEOGRAPHIC,
    HIPAA_IP,
    HIPAA_MRN,
    HIPAA_NAMES,
    HIPAA_OTHER_ID,
    HIPAA_PHI,
    HIPAA_PHONE,
    HIPAA_SSN,
    PCI_DSS_PAN_MASKED,
    PCI_DSS_PAN_UNREADABLE,
)

_NATIONAL_ID_TAGS = (GDPR_PERSONAL_DATA, GDPR_NATIONAL_ID, HIPAA_OTHER_ID, CWE_CLEARTEXT_STORAGE)

ENTITY_REGULATIONS: dict[str, tuple[str, ...]] = {
    et.CREDIT_CARD: (
        PCI_DSS_PAN_UNREADABLE,
        PCI_DSS_PAN_MASKED,
        GDPR_PERSONAL_DATA,
        HIPAA_ACCOUNT,
        CWE_CLEARTEXT_STORAGE,
    ),
    et.US_SSN: (HIPAA_SSN, GDPR_PERSONAL_DATA, GDPR_NATIONAL_ID, CWE_CLEARTEXT_STORAGE),
    et.IBAN: (GDPR_PERSONAL_DATA, HIPAA_ACCOUNT, CWE_CLEARTEXT_STORAGE),
    et.EMAIL: (GDPR_PERSONAL_DATA, HIPAA_EMAIL),
    et.PHONE: (GDPR_PERSONAL_DATA, HIPAA_PHONE),
    et.IP_ADDRESS: (GDPR_PERSONAL_DATA, HIPAA_IP),
    et.DATE_OF_BIRTH: (GDPR_PERSONAL_DATA, HIPAA_DATES),
    et.POSTAL_ADDRESS: (GDPR_PERSONAL_DATA, HIPAA_GEOGRAPHIC),
    et.MEDICAL_RECORD_NUMBER: (HIPAA_MRN, HIPAA_PHI, GDPR_SPECIAL_CATEGORY, GDPR_PERSONAL_DATA),
    et.ICD10_CODE: (GDPR_SPECIAL_CATEGORY, HIPAA_PHI),
    et.DRUG_NAME: (GDPR_SPECIAL_CATEGORY, HIPAA_PHI),
    et.CREDENTIAL: (CWE_CREDENTIALS, CWE_CLEARTEXT_STORAGE, GDPR_SECURITY),
    et.PERSON: (GDPR_PERSONAL_DATA, HIPAA_NAMES),
    et.LOCATION: (GDPR_PERSONAL_DATA, HIPAA_GEOGRAPHIC),
    **{entity: _NATIONAL_ID_TAGS for entity in sorted(et.NATIONAL_IDS)},
}
"""Entity id -> taxonomy tags (GDPR article, HIPAA Safe Harbor identifier, PCI DSS requirement).

HIPAA's ``164.514(b)(2)(i)(X)`` tags are the Safe Harbor identifiers that must be removed
before a data set counts as de-identified; ``HIPAA-160.103`` (PHI) marks health data,
which is protected when the same record identifies a person.
"""
