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
