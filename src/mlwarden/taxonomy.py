"""Taxonomy tags attached to findings: MITRE ATLAS, OWASP ML Top 10 and CWE.

Values are the public identifiers so that reports can be joined with other tools' data.
"""

from __future__ import annotations

# MITRE ATLAS techniques.
ATLAS_MALICIOUS_MODEL = "AML.T0011.001"  # User Execution: Malicious Package / model artifact
ATLAS_SUPPLY_CHAIN_MODEL = "AML.T0010.003"  # ML Supply Chain Compromise: Model
ATLAS_POISON_MODEL = "AML.T0018"  # Manipulate AI Model (backdoor)
ATLAS_DOS = "AML.T0029"  # Denial of ML Service
ATLAS_EXFILTRATION = "AML.T0025"  # Exfiltration via Cyber Means
ATLAS_EXPLOIT_PUBLIC_APP = "AML.T0049"  # Exploit Public-Facing Application
ATLAS_UNSECURED_CREDENTIALS = "AML.T0055"  # Unsecured Credentials

# OWASP Machine Learning Security Top 10 (2023).
OWASP_ML06_SUPPLY_CHAIN = "ML06:2023"  # AI Supply Chain Attacks
OWASP_ML10_MODEL_POISONING = "ML10:2023"  # Model Poisoning

# CWE.
CWE_DESERIALIZATION = "CWE-502"  # Deserialization of Untrusted Data
CWE_CODE_INJECTION = "CWE-94"  # Improper Control of Generation of Code
CWE_PATH_TRAVERSAL = "CWE-22"
CWE_RESOURCE_EXHAUSTION = "CWE-400"
CWE_DECOMPRESSION_BOMB = "CWE-409"
CWE_IMPROPER_INPUT = "CWE-20"
CWE_TEMPLATE_INJECTION = "CWE-1336"
CWE_INTEGRITY = "CWE-354"  # Improper Validation of Integrity Check Value
CWE_FILE_ACCESS = "CWE-73"  # External Control of File Name or Path
CWE_UNTRUSTED_FUNCTIONALITY = "CWE-829"  # Inclusion of Functionality from Untrusted Sphere
CWE_INTERPRETATION_CONFLICT = "CWE-436"  # Readers that disagree on the same bytes
# Configuration and exposed-service weaknesses (scanners/config, probe).
CWE_MISSING_AUTHENTICATION = "CWE-306"  # Missing Authentication for Critical Function
CWE_INSECURE_DEFAULT = "CWE-1188"  # Initialization of a Resource with an Insecure Default
CWE_UNNECESSARY_PRIVILEGES = "CWE-250"  # Execution with Unnecessary Privileges
CWE_CLEARTEXT_TRANSMISSION = "CWE-319"  # Cleartext Transmission of Sensitive Information
CWE_DOWNLOAD_WITHOUT_INTEGRITY = "CWE-494"  # Download of Code Without Integrity Check
CWE_DEFAULT_CREDENTIALS = "CWE-1392"  # Use of Default Credentials
CWE_ORIGIN_VALIDATION = "CWE-346"  # Origin Validation Error (CORS, Host header)
CWE_CSRF = "CWE-352"
CWE_CERTIFICATE_VALIDATION = "CWE-295"  # Improper Certificate Validation
CWE_SSRF = "CWE-918"  # Server-Side Request Forgery
CWE_UNTRUSTED_SEARCH_PATH = "CWE-427"  # Uncontrolled Search Path Element (dependency confusion)
CWE_NO_RESOURCE_LIMITS = "CWE-770"  # Allocation of Resources Without Limits or Throttling
CWE_PERMISSIVE_ALLOWLIST = "CWE-183"  # Permissive List of Allowed Inputs
CWE_HARDCODED_CREDENTIALS = "CWE-798"  # Use of Hard-coded Credentials
CWE_CLEARTEXT_STORAGE = "CWE-312"  # Cleartext Storage of Sensitive Information
CWE_SENSITIVE_OUTPUT = "CWE-532"  # Insertion of Sensitive Information into Log File

CODE_EXECUTION_TAGS: tuple[str, ...] = (
    ATLAS_MALICIOUS_MODEL,
    ATLAS_SUPPLY_CHAIN_MODEL,
    OWASP_ML06_SUPPLY_CHAIN,
    CWE_DESERIALIZATION,
)
"""Tags shared by every 'loading this file runs code' finding."""


def tag_kind(tag: str) -> str:
    """Return the taxonomy a tag belongs to: ``atlas``, ``owasp-ml``, ``cwe`` or ``other``."""
    if tag.startswith("AML."):
        return "atlas"
    if tag.startswith("ML") and ":" in tag:
        return "owasp-ml"
    if tag.startswith("CWE-"):
        return "cwe"
    return "other"


# Regulations that name kinds of personal data (used by the regulated-data scanners).
GDPR_PERSONAL_DATA = "GDPR-Art.4(1)"  # Personal data: any information on an identifiable person
GDPR_SPECIAL_CATEGORY = "GDPR-Art.9"  # Special categories, including data concerning health
GDPR_NATIONAL_ID = "GDPR-Art.87"  # National identification numbers
GDPR_SECURITY = "GDPR-Art.32"  # Security of processing (credentials exposed in data)
HIPAA_NAMES = "HIPAA-164.514(b)(2)(i)(A)"
HIPAA_GEOGRAPHIC = "HIPAA-164.514(b)(2)(i)(B)"  # Addresses and ZIP codes below state level
HIPAA_DATES = "HIPAA-164.514(b)(2)(i)(C)"  # Dates directly related to a person (birth date)
HIPAA_PHONE = "HIPAA-164.514(b)(2)(i)(D)"
HIPAA_EMAIL = "HIPAA-164.514(b)(2)(i)(F)"
HIPAA_SSN = "HIPAA-164.514(b)(2)(i)(G)"
HIPAA_MRN = "HIPAA-164.514(b)(2)(i)(H)"  # Medical record numbers
HIPAA_ACCOUNT = "HIPAA-164.514(b)(2)(i)(J)"  # Account numbers
HIPAA_IP = "HIPAA-164.514(b)(2)(i)(O)"  # IP addresses
HIPAA_OTHER_ID = "HIPAA-164.514(b)(2)(i)(R)"  # Any other unique identifying number
HIPAA_PHI = "HIPAA-160.103"  # Protected health information (health data tied to a person)
PCI_DSS_PAN_MASKED = "PCI-DSS-3.4.1"  # PAN masked when displayed
PCI_DSS_PAN_UNREADABLE = "PCI-DSS-3.5.1"  # PAN rendered unreadable wherever it is stored
CWE_CLEARTEXT_STORAGE = "CWE-312"  # Cleartext Storage of Sensitive Information
CWE_CREDENTIALS = "CWE-798"  # Use of Hard-coded Credentials
