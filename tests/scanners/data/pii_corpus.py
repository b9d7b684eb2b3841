"""A seeded, labelled corpus of regulated data for detection tests and the benchmark.

Two kinds of samples:

- :class:`Cell`: one table value with its column name and the entity it holds (or None);
- :class:`Sentence`: free text with the character spans of the entities it holds, and the
  spans of *lookalikes* that must not be reported.

Valid identifiers are built here with python-stdnum's check-digit functions (cards, SSNs,
IBANs, national ids) or taken from Faker; negatives include checksum-invalid lookalikes
(Luhn-failing card numbers, never-issued SSNs, IBANs with wrong check digits, national ids
with wrong check digits), version strings, non-birth dates, ICD-shaped tokens without a
medical context, and ordinary prose. The same seed gives the same corpus.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.de import idnr
from stdnum.es import dni
from stdnum.fr import nir
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer
from stdnum.us import ssn as std_ssn

ENTITIES_UNDER_TEST = (
    "credit_card",
    "us_ssn",
    "iban",
    "email",
    "phone",
    "ip_address",
    "date_of_birth",
    "postal_address",
    "medical_record_number",
    "icd10_code",
    "drug_name",
    "credential",
    "person",
    "national_id_de",
    "national_id_fr",
    "national_id_es",
    "national_id_it",
    "national_id_nl",
    "national_id_pl",
    "national_id_se",
    "national_id_gb",
)


@dataclass(frozen=True)
class Cell:
    column: str
    value: str
    entity: str | None
    """Expected entity, None for a negative."""
    lookalike: bool = False
    """A checksum-invalid (or otherwise never-valid) lookalike of an entity."""


@dataclass(frozen=True)
class Sentence:
    text: str
    spans: tuple[tuple[str, int, int], ...]
    """Expected (entity, start, end)."""
    lookalikes: tuple[tuple[int, int], ...] = ()
    """Spans that must not be reported as anything."""


@dataclass
class Corpus:
    cells: list[Cell] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)


# --- valid identifiers -------------------------------------------------------------------

_CARD_PREFIXES: tuple[tuple[str, int], ...] = (
    ("4", 16),
    ("4", 13),
    ("4", 19),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3530", 16),
    ("3589", 16),
    ("62", 16),
    ("62", 19),
    ("5018", 12),
    ("6759", 19),
    ("36", 14),
)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice(_CARD_PREFIXES)
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


def luhn_failing_card(rng: random.Random) -> str:
    good = card_number(rng)
    wrong = str((int(good[-1]) + rng.randint(1, 9)) % 10)
    return good[:-1] + wrong


def format_card(rng: random.Random, number: str) -> str:
    style = rng.choice(("plain", "space", "dash"))
    if style == "plain" or len(number) not in (15, 16):
        return number
    sep = " " if style == "space" else "-"
    if len(number) == 15:
        return sep.join((number[:4], number[4:10], number[10:]))
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def ssn_value(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        value = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if std_ssn.is_valid(value) and value != "123456789":
            return f"{value[:3]}-{value[3:5]}-{value[5:]}"


def never_issued_ssn(rng: random.Random) -> str:
    kind = rng.choice(("000", "666", "9xx", "group00", "serial0000"))
    area = {"000": 0, "666": 666, "9xx": rng.randint(900, 999)}.get(kind, rng.randint(1, 665))
    group = 0 if kind == "group00" else rng.randint(1, 99)
    serial = 0 if kind == "serial0000" else rng.randint(1, 9999)
    return f"{area:03d}-{group:02d}-{serial:04d}"


_IBAN_BBAN: dict[str, Callable[[random.Random], str]] = {
    "DE": lambda r: _digits(r, 18),
    "FR": lambda r: _digits(r, 10) + "".join(r.choice(string.digits) for _ in range(11)) + "00",
    "NL": lambda r: "".join(r.choice("ABNRIG") for _ in range(4)) + _digits(r, 10),
    "GB": lambda r: "".join(r.choice(string.ascii_uppercase) for _ in range(4)) + _digits(r, 14),
    "ES": lambda r: _digits(r, 20),
    "AT": lambda r: _digits(r, 16),
    "BE": lambda r: _digits(r, 12),
    "PL": lambda r: _digits(r, 24),
}


def iban_value(rng: random.Random, fake: dict[str, Faker]) -> str:
    while True:
        country = rng.choice(sorted(_IBAN_BBAN))
        bban = _IBAN_BBAN[country](rng)
        number = country + std_iban.calc_check_digits(country + "00" + bban) + bban
        if std_iban.is_valid(number):
            return number


def bad_iban(rng: random.Random, fake: dict[str, Faker]) -> str:
    good = iban_value(rng, fake)
    check = int(good[2:4])
    wrong = (check + rng.randint(1, 90)) % 97
    wrong = wrong if wrong >= 2 else wrong + 2
    number = good[:2] + f"{wrong:02d}" + good[4:]
    return number if not std_iban.is_valid(number) else bad_iban(rng, fake)


def format_iban(rng: random.Random, number: str) -> str:
    if rng.random() < 0.5:
        return number
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def de_idnr(rng: random.Random) -> str:
    while True:
        body = str(rng.randint(1, 9)) + _digits(rng, 9)
        number = body + mod_11_10.calc_check_digit(body)
        if idnr.is_valid(number):
            return number


def nl_bsn(rng: random.Random) -> str:
    while True:
        number = _digits(rng, 9)
        if bsn.is_valid(number) and number[0] != "0":
            return number


def es_dni(rng: random.Random) -> str:
    body = _digits(rng, 8)
    return body + dni.calc_check_digit(body)


def es_nie(rng: random.Random) -> str:
    prefix = rng.choice("XYZ")
    body = _digits(rng, 7)
    return prefix + body + dni.calc_check_digit(str("XYZ".index(prefix)) + body)


def gb_nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
        return gb_nino(rng)
    return first + second + _digits(rng, 6) + rng.choice("ABCD")


def fr_nir(rng: random.Random) -> str:
    while True:
        body = (
            rng.choice("12")
            + _digits(rng, 2)
            + f"{rng.randint(1, 12):02d}"
            + f"{rng.randint(1, 95):02d}"
            + _digits(rng, 6)
        )
        number = body + nir.calc_check_digits(body)
        if nir.is_valid(number):
            return number


def pl_pesel(rng: random.Random) -> str:
    while True:
        year, month, day = rng.randint(1930, 2005), rng.randint(1, 12), rng.randint(1, 28)
        offset = 20 if year >= 2000 else 0
        body = f"{year % 100:02d}{month + offset:02d}{day:02d}" + _digits(rng, 4)
        number = body + pesel.calc_check_digit(body)
        if pesel.is_valid(number):
            return number


def se_personnummer(rng: random.Random) -> str:
    while True:
        body = f"{rng.randint(30, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        serial = _digits(rng, 3)
        number = body + serial + luhn.calc_check_digit(body + serial)
        text = f"{number[:6]}-{number[6:]}"
        if personnummer.is_valid(text):
            return text


def it_codice_fiscale(rng: random.Random) -> str:
    while True:
        letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
        month = rng.choice("ABCDEHLMPRST")
        day = rng.randint(1, 71)
        if 31 < day < 41:
            continue
        body = (
            letters
            + f"{rng.randint(30, 99):02d}"
            + month
            + f"{day:02d}"
            + rng.choice(string.ascii_uppercase)
            + _digits(rng, 3)
        )
        number = body + codicefiscale.calc_check_digit(body)
        if codicefiscale.is_valid(number):
            return number


def _break_last_digit(rng: random.Random, number: str, valid: Callable[[str], bool]) -> str:
    for _ in range(20):
        wrong = number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)
        if not valid(wrong):
            return wrong
    raise AssertionError("could not make an invalid lookalike")


_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "SE")


def phone_value(rng: random.Random) -> str:
    while True:
        region = rng.choice(_PHONE_REGIONS)
        kind = rng.choice(
            (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
        )
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = str(example.national_number)
        digits = national[:-4] + _digits(rng, 4)
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        if not phonenumbers.is_valid_number(number):
            continue
        if region == "US" and rng.random() < 0.6:
            style = rng.choice(("({}) {}-{}", "{}-{}-{}", "{}.{}.{}"))
            return style.format(digits[:3], digits[3:6], digits[6:])
        fmt = rng.choice(
            (phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164)
        )
        return phonenumbers.format_number(number, fmt)


_ICD_CODES = (
    "E11.9",
    "I10",
    "J45.909",
    "F32.1",
    "M54.5",
    "K21.9",
    "E78.5",
    "N39.0",
    "J06.9",
    "C50.911",
    "G43.909",
    "S72.001A",
    "Z79.4",
    "F41.1",
    "I25.10",
    "E66.9",
    "A09",
    "B20",
    "O24.419",
    "R51",
    "L40.0",
    "H40.11",
    "D64.9",
    "U07.1",
)


def credential_value(rng: random.Random) -> tuple[str, str]:
    """(text holding a credential, the credential itself)."""
    alnum = string.ascii_letters + string.digits
    kind = rng.choice(("password", "aws", "github", "kv", "url", "jwt"))
    if kind == "aws":
        secret = "AKIA" + "".join(
            rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)
        )
        return secret, secret
    if kind == "github":
        secret = "ghp_" + "".join(rng.choice(alnum) for _ in range(36))
        return secret, secret
    secret = "".join(rng.choice(alnum + "!#%&*") for _ in range(rng.randint(8, 20)))
    if kind == "password":
        return f"password={secret}", secret
    if kind == "kv":
        key = rng.choice(("api_key", "secret", "token", "client_secret", "passwd"))
        return f'{key}: "{secret}"', secret
    if kind == "url":
        safe = "".join(rng.choice(alnum) for _ in range(12))
        return f"postgres://svc_user:{safe}@db.internal:5432/app", safe
    header = "eyJhbGciOiJIUzI1NiJ9"
    body = "eyJzdWIiOiIx" + "".join(rng.choice(alnum) for _ in range(20))
    sig = "".join(rng.choice(alnum + "_-") for _ in range(43))
    token = f"{header}.{body}.{sig}"
    return token, token


# --- corpus ------------------------------------------------------------------------------


def _fakers(seed: int) -> dict[str, Faker]:
    out = {}
    for i, locale in enumerate(("en_US", "de_DE", "en_GB", "fr_FR", "it_IT", "pl_PL", "sv_SE")):
        f = Faker(locale)
        f.seed_instance(seed * 31 + i)
        out[locale] = f
    return out


def _us_address(f: Faker, rng: random.Random) -> str:
    street = f.street_address()
    sep = rng.choice(("\n", ", "))
    return f"{street}{sep}{f.city()}, {f.state_abbr(include_territories=False)} {f.zipcode()}"


def _de_address(f: Faker, rng: random.Random) -> str:
    sep = rng.choice(("\n", ", "))
    return f"{f.street_name()} {rng.randint(1, 120)}{sep}{f.postcode()} {f.city()}"


def build_corpus(seed: int = 7, per_entity: int = 120) -> Corpus:
    """Labelled cells and sentences, ``per_entity`` positives per entity and as many
    negatives of the matching shapes."""
    rng = random.Random(seed)
    fk = _fakers(seed)
    us, de, gb = fk["en_US"], fk["de_DE"], fk["en_GB"]
    corpus = Corpus()
    cells, sentences = corpus.cells, corpus.sentences

    def sentence(template: str, entity: str | None, value: str, *, lookalike: bool = False) -> None:
        prefix, _, suffix = template.partition("{}")
        text = prefix + value + suffix
        span = (len(prefix), len(prefix) + len(value))
        if lookalike or entity is None:
            sentences.append(Sentence(text, (), (span,) if lookalike else ()))
        else:
            sentences.append(Sentence(text, ((entity, *span),)))

    for _ in range(per_entity):
        # Payment cards.
        card = format_card(rng, card_number(rng))
        cells.append(Cell(rng.choice(("card_number", "cc", "pan", "payment")), card, "credit_card"))
        sentence(
            rng.choice(
                ("Paid with card {} yesterday.", "Card number: {}", "{} was charged twice.")
            ),
            "credit_card",
            card,
        )
        bad = format_card(rng, luhn_failing_card(rng))
        cells.append(Cell("card_number", bad, None, lookalike=True))
        sentence("Card {} was declined.", None, bad, lookalike=True)
        random16 = luhn_failing_card(rng) if rng.random() < 0.5 else _digits(rng, 16)
        if not luhn.is_valid(random16):
            cells.append(Cell("order_id", random16, None, lookalike=True))
            sentence("Order {} shipped.", None, random16, lookalike=True)

        # SSNs.
        value = ssn_value(rng)
        cells.append(Cell(rng.choice(("ssn", "social_security_number", "tax_id")), value, "us_ssn"))
        sentence(
            rng.choice(("SSN: {}", "Her social security number is {}.", "Applicant {} verified.")),
            "us_ssn",
            value,
        )
        bad = never_issued_ssn(rng)
        cells.append(Cell("ssn", bad, None, lookalike=True))
        sentence("Form shows {} which is not valid.", None, bad, lookalike=True)

        # IBANs.
        value = format_iban(rng, iban_value(rng, fk))
        cells.append(Cell(rng.choice(("iban", "account", "bank_account")), value, "iban"))
        sentence(
            rng.choice(
                ("Please transfer to IBAN {} by Friday.", "Account: {}", "Refund sent to {} today.")
            ),
            "iban",
            value,
        )
        bad = format_iban(rng, bad_iban(rng, fk))
        cells.append(Cell("iban", bad, None, lookalike=True))
        sentence("Rejected transfer to {} (bad check digits).", None, bad, lookalike=True)

        # E-mail.
        value = rng.choice((us.email(), us.free_email(), de.email(), us.company_email()))
        cells.append(Cell(rng.choice(("email", "contact", "e_mail", "owner")), value, "email"))
        sentence(
            rng.choice(("Contact {} for details.", "Sent by {} at noon", "reply-to: {}")),
            "email",
            value,
        )
        for negative in ("@handle", "name at example dot com", "user@localhost"):
            cells.append(Cell("contact", negative, None))

        # Phones.
        value = phone_value(rng)
        cells.append(Cell(rng.choice(("phone", "mobile", "tel", "contact_number")), value, "phone"))
        sentence(
            rng.choice(("Call me on {} tomorrow.", "Phone: {}", "mobile {} (after 6pm)")),
            "phone",
            value,
        )
        value = _digits(rng, 10)
        cells.append(Cell("order_number", value, None))
        sentence("Invoice {} was paid.", None, value)

        # IP addresses.
        value = rng.choice((us.ipv4_public(), us.ipv4_private(), us.ipv6()))
        cells.append(
            Cell(rng.choice(("ip", "client_ip", "remote_addr", "source")), value, "ip_address")
        )
        sentence(
            rng.choice(("Login from {} failed.", "client_ip={}", "Request came from {}.")),
            "ip_address",
            value,
        )
        version = (
            f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 50)}.{rng.randint(0, 99)}"
        )
        sentence(
            rng.choice(("version={}", "Upgraded to v{} today.", "build {} released")),
            None,
            version,
            lookalike=True,
        )
        cells.append(Cell("version", version, None, lookalike=True))

        # Dates of birth.
        birth = us.date_of_birth(minimum_age=1, maximum_age=100)
        value = rng.choice(
            (
                birth.isoformat(),
                birth.strftime("%m/%d/%Y"),
                birth.strftime("%d %B %Y"),
                birth.strftime("%B %d, %Y"),
            )
        )
        cells.append(
            Cell(
                rng.choice(("dob", "date_of_birth", "birth_date", "birthday")),
                value,
                "date_of_birth",
            )
        )
        sentence(
            rng.choice(("DOB: {}", "Patient was born on {}.", "date of birth {} per ID card")),
            "date_of_birth",
            value,
        )
        other = us.date_between(start_date="-3y", end_date="today").isoformat()
        cells.append(Cell("created_at", other, None))
        sentence("Invoice dated {} was paid.", None, other)

        # Postal addresses.
        value = rng.choice((_us_address(us, rng), _de_address(de, rng), gb.postcode()))
        cells.append(
            Cell(rng.choice(("address", "shipping_address", "street")), value, "postal_address")
        )
        sentence(
            rng.choice(("Ship to {} please.", "Address: {}", "She moved to {} last year.")),
            "postal_address",
            value,
        )

        # Medical record numbers.
        value = rng.choice((_digits(rng, rng.randint(7, 10)), "MRN" + _digits(rng, 7)))
        cells.append(
            Cell(
                rng.choice(("mrn", "medical_record_number", "patient_id")),
                value,
                "medical_record_number",
            )
        )
        number = _digits(rng, rng.randint(6, 10))
        sentence(
            rng.choice(("MRN: {}", "Medical record number {} updated.", "patient id {} admitted")),
            "medical_record_number",
            number,
        )
        sentence("Ticket {} closed.", None, _digits(rng, 8))

        # ICD-10 codes.
        code = rng.choice(_ICD_CODES)
        cells.append(Cell(rng.choice(("icd10", "diagnosis_code", "dx")), code, "icd10_code"))
        sentence(
            rng.choice(("Diagnosis: {} confirmed.", "ICD-10 {} recorded", "dx {} at discharge")),
            "icd10_code",
            code,
        )
        for token, template in (
            ("B12", "Take vitamin {} daily."),
            ("A4", "Print on {} paper."),
            ("F16", "The {} flew over."),
            ("E11", "Room {} is free."),
        ):
            sentence(template, None, token)
        cells.append(Cell("room", rng.choice(("B12", "E11", "C20")), None))

        # Drug names.
        drug = rng.choice(
            (
                "metformin",
                "Lisinopril",
                "atorvastatin",
                "Amoxicillin",
                "sertraline",
                "omeprazole",
                "warfarin",
                "levothyroxine",
            )
        )
        cells.append(Cell(rng.choice(("medication", "drug", "rx")), drug, "drug_name"))
        sentence(
            rng.choice(
                ("Started {} 20 mg daily.", "Prescribed {} for two weeks.", "Allergic to {}.")
            ),
            "drug_name",
            drug,
        )

        # Credentials.
        text, secret = credential_value(rng)
        if text == secret:
            cells.append(Cell(rng.choice(("api_key", "token", "notes")), secret, "credential"))
        else:
            cells.append(Cell("config", text, "credential"))
        prefix = rng.choice(("Config: ", "leaked ", "env "))
        start = len(prefix) + text.index(secret)
        sentences.append(Sentence(prefix + text, (("credential", start, start + len(secret)),)))
        cells.append(
            Cell("password", rng.choice(("********", "${DB_PASSWORD}", "<redacted>", "")), None)
        )

        # Person names (columns only; free-text names need NER).
        cells.append(
            Cell(
                rng.choice(("name", "full_name", "first_name", "customer_name")),
                us.name(),
                "person",
            )
        )
        cells.append(Cell("product_name", us.catch_phrase(), None))

        # National ids: (entity, valid, invalid lookalike, column, template).
        for entity, value, bad, column, template in (
            ("national_id_de", de_idnr(rng), None, "steuer_id", "Steuer-ID: {}"),
            ("national_id_fr", fr_nir(rng), None, "nir", "Numéro de sécurité sociale {}"),
            ("national_id_es", rng.choice((es_dni(rng), es_nie(rng))), None, "dni", "DNI {}"),
            (
                "national_id_it",
                it_codice_fiscale(rng),
                None,
                "codice_fiscale",
                "Codice fiscale: {}",
            ),
            ("national_id_nl", nl_bsn(rng), None, "bsn", "BSN {}"),
            ("national_id_pl", pl_pesel(rng), None, "pesel", "PESEL: {}"),
            ("national_id_se", se_personnummer(rng), None, "personnummer", "Personnummer {}"),
            ("national_id_gb", gb_nino(rng), None, "ni_number", "National Insurance number {}"),
        ):
            cells.append(Cell(column, value, entity))
            sentence(template, entity, value)
            bad = _national_lookalike(rng, entity, value)
            if bad is not None:
                cells.append(Cell(column, bad, None, lookalike=True))
                sentence(template, None, bad, lookalike=True)

        # Plain prose and numbers.
        sentences.append(Sentence(us.paragraph(nb_sentences=3), ()))
        cells.append(Cell("comment", us.sentence(), None))
        cells.append(Cell("amount", f"{rng.random() * 1000:.2f}", None))
    return corpus


def _national_lookalike(rng: random.Random, entity: str, value: str) -> str | None:
    validators: dict[str, Callable[[str], bool]] = {
        "national_id_de": idnr.is_valid,
        "national_id_nl": bsn.is_valid,
        "national_id_pl": pesel.is_valid,
        "national_id_fr": nir.is_valid,
        "national_id_se": personnummer.is_valid,
    }
    if entity in validators:
        return _break_last_digit(rng, value, validators[entity])
    if entity == "national_id_es":
        letters = "TRWAGMYFPDXBNJZSQVHLCKE".replace(value[-1], "")
        return value[:-1] + rng.choice(letters)
    if entity == "national_id_it":
        letters = string.ascii_uppercase.replace(value[-1], "")
        return value[:-1] + rng.choice(letters)
    return None


# --- evaluation --------------------------------------------------------------------------

Detector = Callable[[str, str], list[tuple[str, int, int]]]
"""``(text, context) -> [(entity, start, end)]``: a detector under evaluation."""


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    scores: dict[str, Score]
    lookalike_flags: list[str]
    """Lookalikes that were reported (each one a failure of checksum validation)."""
    errors: list[str]
    """Up to a few examples of misses and false alarms, for debugging."""


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def evaluate(detector: Detector, corpus: Corpus, *, with_context: bool = True) -> Evaluation:
    """Per-entity precision and recall of ``detector`` on ``corpus``.

    A cell counts once per entity (was the entity found in it or not); a sentence span is
    found when a prediction of the same entity overlaps it. ``with_context=False`` hides
    column names from the detector (for tools that have no notion of them).
    """
    scores: dict[str, Score] = {e: Score() for e in ENTITIES_UNDER_TEST}
    flags: list[str] = []
    errors: list[str] = []

    def score(entity: str) -> Score:
        return scores.setdefault(entity, Score())

    for cell in corpus.cells:
        found = {e for e, _, _ in detector(cell.value, cell.column if with_context else "")}
        expected = {cell.entity} if cell.entity else set()
        for entity in found | expected:
            if entity in found and entity in expected:
                score(entity).tp += 1
            elif entity in found:
                score(entity).fp += 1
                if len(errors) < 400:
                    errors.append(f"FP {entity} cell {cell.column}={cell.value!r}")
            else:
                score(entity).fn += 1
                if len(errors) < 400:
                    errors.append(f"FN {entity} cell {cell.column}={cell.value!r}")
        if cell.lookalike and found:
            flags.append(f"{cell.column}={cell.value!r} -> {sorted(found)}")
    for sentence in corpus.sentences:
        predicted = detector(sentence.text, "")
        for entity, start, end in predicted:
            if any(_overlaps((start, end), span) for span in sentence.lookalikes):
                flags.append(f"{sentence.text!r} -> {entity}")
            hit = any(e == entity and _overlaps((start, end), (s, t)) for e, s, t in sentence.spans)
            if not hit:
                score(entity).fp += 1
                if len(errors) < 400:
                    errors.append(f"FP {entity} {sentence.text[start:end]!r} in {sentence.text!r}")
        for entity, s, t in sentence.spans:
            if any(e == entity and _overlaps((a, b), (s, t)) for e, a, b in predicted):
                score(entity).tp += 1
            else:
                score(entity).fn += 1
                if len(errors) < 400:
                    errors.append(f"FN {entity} {sentence.text[s:t]!r} in {sentence.text!r}")
    return Evaluation(scores, flags, errors)
