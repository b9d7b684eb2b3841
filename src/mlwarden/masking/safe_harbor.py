"""HIPAA Safe Harbor facts used by generalisation operators.

45 CFR 164.514(b)(2)(i)(B) allows keeping the first three digits of a ZIP code only when the
area formed by all ZIP codes sharing them holds more than 20,000 people; otherwise the three
digits must become ``000``. HHS lists the restricted prefixes from the 2000 Census (HHS,
"Guidance Regarding Methods for De-identification of PHI", section 2.4, 2012).
"""

from __future__ import annotations

RESTRICTED_ZIP3: frozenset[str] = frozenset(
    {
        "036", "059", "063", "102", "203", "556", "692", "790", "821",
        "823", "830", "831", "878", "879", "884", "890", "893",
    }
)  # fmt: skip
"""Three-digit ZIP prefixes whose population is 20,000 or fewer (2000 Census)."""

SAFE_HARBOR_MAX_AGE = 89
"""Ages above this (and birth years implying them) are aggregated into one category."""
