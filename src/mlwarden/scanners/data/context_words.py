"""Context words: the labels people write next to regulated values, per entity.

Many identifiers have weak or no checksums (a BSN passes its 11-test one time in eleven, a
date is only a *birth* date when someone says so), so their detectors require one of these
words near the value, or a column or key name that says the same. The same table serves
both: :func:`hinted_entities` reads a column name, :meth:`ContextWindow.entities` reads the
text around a value.
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2

from mlwarden.scanners.data import entity_types as et
from mlwarden.scanners.data.re2_matching import match_groups

# Each pattern is searched case-insensitively in normalised text (lower case, separators and
# camelCase turned into spaces), so ``patientDOB`` and ``patient_dob`` both read "patient dob".
_WORDS: dict[str, str] = {
    et.US_SSN: r"\bssns?\b|social ?sec|\bsoc\.? ?sec|\bss ?#|\bss ?(?:no|num)",
    et.CREDIT_CARD: (
        r"\bcard|credit|debit|\bvisa\b|master ?card|\bamex\b|\bpan\b|\bcc ?(?:num|no)?\b"
    ),
    et.IBAN: r"\biban|bank ?account|\baccount ?(?:no|num)|\bkonto|\bbic\b|\bswift\b",
    et.EMAIL: r"e ?mail|\bmail\b|\bcourriel",
    et.PHONE: (
        r"phone|\btel\b|\btel\.|\bmobile|\bcell\b|\bfax\b|\bcall\b|\bcontact ?(?:no|num)|"
        r"whatsapp|\bhandy\b|telefon|t[eé]l[eé]phone|m[oó]vil|cellulare|\bsms\b"
    ),
    et.IP_ADDRESS: (
        r"\bip\b|\bip ?v[46]|ip ?addr|\bremote ?addr|\bclient ?ip|\bsrc ?ip|\bdst ?ip|"
        r"\bhost ?ip"
    ),
    et.DATE_OF_BIRTH: (
        r"birth|\bdob\b|\bd\.o\.b|\bborn\b|geburt|\bgeb\.|\bn[eé]e? le\b|date de naissance|"
        r"fecha de nacimiento|data di nascita|f[oö]delse|urodzeni"
    ),
    et.POSTAL_ADDRESS: (
        r"\baddress|\bstreet|\baddr\b|\bzip ?(?:code)?\b|\bpost ?code|\bpostal|\bplz\b|"
        r"\banschrift|\badresse|\bdirecci[oó]n|\bindirizzo|\bmailing"
    ),
    et.MEDICAL_RECORD_NUMBER: (
        r"\bmrn|medical ?record|\bpatient ?(?:id|no|num|#)|\bchart ?(?:no|num|#)|"
        r"hospital ?(?:no|num)|\bmed ?rec"
    ),
    et.ICD10_CODE: r"\bicd|diagnos|\bdx\b|comorbid|\bdiag\b|\bcondition|\bdischarge|\badmitted",
    et.DRUG_NAME: (
        r"\bdrugs?\b|medicat|\bmedicine|prescri|\brx\b|\bmg\b|\bmcg\b|tablet|capsule|\bdose|"
        r"\bdosage|pharma"
    ),
    et.CREDENTIAL: (
        r"passw|\bpwd\b|\bpasswd|secret|\btoken|api ?key|\bapikey|private ?key|credential|"
        r"\bauth\b|access ?key"
    ),
    et.PERSON: (
        r"\bname\b|\bfirst ?name|\blast ?name|\bsurname|\bgiven ?name|\bfull ?name|"
        r"\bforename|\bpatient\b|\bcustomer\b|\bemployee\b|\bnachname|\bvorname|\bnom\b|\bnombre"
    ),
    et.LOCATION: (
        r"\bcity\b|\btown\b|\bcountry\b|\bstate\b|\bregion\b|\blocation|\bcounty\b|\bplace\b"
    ),
    et.NATIONAL_ID_PREFIX + "de": (
        r"steuer ?(?:id|identifikations)|\bidnr|identifikationsnummer|\btax ?(?:id|no|num)|"
        r"\btin\b|steuernummer|\bst\.? ?nr"
    ),
    et.NATIONAL_ID_PREFIX + "fr": (
        r"\bnir\b|\binsee|s[eé]curit[eé] sociale|num[eé]ro de s[eé]cu|\bsecu\b|\bnss\b"
    ),
    et.NATIONAL_ID_PREFIX + "es": r"\bdni\b|\bnie\b|\bnif\b|documento nacional|identidad",
    et.NATIONAL_ID_PREFIX + "it": r"codice ?fiscale|\bcf\b|fiscal ?code|\btax ?code",
    et.NATIONAL_ID_PREFIX + "nl": r"\bbsn\b|burgerservice|\bsofi",
    et.NATIONAL_ID_PREFIX + "pl": r"\bpesel",
    et.NATIONAL_ID_PREFIX + "se": r"personnummer|\bpersonal ?(?:identity )?number|\bpnr\b",
    et.NATIONAL_ID_PREFIX + "gb": r"\bnino\b|national ?insurance|\bni ?(?:no|num)",
}

# Names that contain a person-name word but are about something else (``file_name``).
_NOT_A_PERSON = re.compile(
    r"\b(?:file|host|user|product|company|model|column|table|field|key|app|device|domain|"
    r"dataset|feature|class|label|brand|server|project|street|city|country|drug|display|"
    r"screen|account|org|organi[sz]ation|bank|store|shop|item|event|image|path|dir|"
    r"directory|team|group|role|tag|var|variable|param|parameter|attribute)\b"
)
# Words that say a dotted quad is a version or an OID, not an address.
_VERSION_WORDS = re.compile(r"(?:version|\bver\b|\bv|release|build|firmware|\boid)[\s:=\"'v]*$")

# One RE2 program for all entities' words: a window is read once, whatever its length.
_COMBINED = re2.compile(
    ("(?i)" + "|".join(f"({pattern})" for pattern in _WORDS.values())).encode("utf-8")
)
_GROUP_ENTITY = dict(enumerate(_WORDS, start=1))
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LETTER = re.compile(r"[^\W\d_]")
_SEPARATORS = re.compile(r"[^0-9A-Za-zÀ-ÿ#.]+")

WINDOW_BEFORE = 64
"""Characters before a value searched for context words."""
WINDOW_AFTER = 24
"""Characters after a value searched for context words (``1985-02-03 (DOB)``)."""


def normalise(text: str) -> str:
    """Lower-case ``text`` with camelCase and separators turned into single spaces."""
    return _SEPARATORS.sub(" ", _CAMEL.sub(" ", text)).strip().lower()


def entities_in(text: str) -> frozenset[str]:
    """Entities whose context words occur in ``text`` (already normalised or not)."""
    data = text.encode("utf-8", "surrogatepass")
    return frozenset(_GROUP_ENTITY[group] for group, _, _ in match_groups(_COMBINED, data))


@lru_cache(maxsize=4096)
def hinted_entities(name: str) -> frozenset[str]:
    """Entities a column name, JSON key or caller context points at.

    ``"patient_dob"`` hints a date of birth and a person record, ``"billing_email"`` an
    e-mail; ``"file_name"`` hints nothing (the name is not a person's).
    """
    text = normalise(name[:256])
    if not text:
        return frozenset()
    found = set(entities_in(text))
    if et.PERSON in found and _NOT_A_PERSON.search(text):
        found.discard(et.PERSON)
    return frozenset(found)


def looks_like_version(before: str) -> bool:
    """True when ``before`` (text just before a dotted quad) names a version or an OID."""
    return bool(_VERSION_WORDS.search(before[-24:].lower()))


class ContextWindow:
    """The text around candidates in one scanned text, with the caller's hints.

    Windows stop at NUL characters: the table scanners join cells with NUL, so a
    cell's context never leaks from its neighbour.
    """

    __slots__ = ("_cache", "hints", "label", "text")

    def __init__(self, text: str, hints: frozenset[str], label: str = "") -> None:
        self.text = text
        self.hints = hints
        self.label = label
        """The caller's context (a column name) as written."""
        self._cache: dict[int, frozenset[str]] = {}

    def before(self, start: int, width: int = WINDOW_BEFORE) -> str:
        seg = self.text[max(0, start - width) : start]
        return seg[seg.rfind("\x00") + 1 :]

    def after(self, end: int, width: int = WINDOW_AFTER) -> str:
        seg = self.text[end : end + width]
        cut = seg.find("\x00")
        return seg if cut < 0 else seg[:cut]

    def entities(self, start: int, end: int) -> frozenset[str]:
        """Entities hinted by the caller or named by words around ``text[start:end]``."""
        found = self._cache.get(start)
        if found is None:
            around = self.before(start) + " | " + self.after(end)
            # Most table cells hold the value alone: no letters around it, no words.
            found = (
                entities_in(normalise(around)) | self.hints
                if _LETTER.search(around)
                else self.hints
            )
            self._cache[start] = found
        return found

    def says(self, entity: str, start: int, end: int) -> bool:
        """True when the context names ``entity`` for the value at ``start:end``."""
        return entity in self.hints or entity in self.entities(start, end)
