"""Detection quality and the public API of ``mlwarden.scanners.data.entities``."""

from __future__ import annotations

import itertools

import pii_corpus
import pytest

from mlwarden.scanners.data.entities import (
    ALL_ENTITIES,
    ENTITY_REGULATIONS,
    ColumnClass,
    classify_column,
    detect_text,
    redact,
)

MIN_PRECISION = 0.95
MIN_RECALL = 0.95


def _detector(text: str, context: str) -> list[tuple[str, int, int]]:
    return [(m.entity, m.start, m.end) for m in detect_text(text, context=context)]


@pytest.fixture(scope="module", params=[7, 2024])
def evaluation(request: pytest.FixtureRequest) -> pii_corpus.Evaluation:
    corpus = pii_corpus.build_corpus(seed=request.param, per_entity=80)
    return pii_corpus.evaluate(_detector, corpus)


@pytest.mark.parametrize("entity", pii_corpus.ENTITIES_UNDER_TEST)
def test_precision_and_recall_per_entity(evaluation: pii_corpus.Evaluation, entity: str) -> None:
    score = evaluation.scores[entity]
    assert score.tp > 0, f"{entity}: nothing detected"
    misses = [e for e in evaluation.errors if f" {entity} " in e][:5]
    assert score.precision >= MIN_PRECISION, (entity, score, misses)
    assert score.recall >= MIN_RECALL, (entity, score, misses)


def test_no_checksum_invalid_lookalike_is_reported(evaluation: pii_corpus.Evaluation) -> None:
    assert evaluation.lookalike_flags == []


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "4111111111111112",
        "1234 5678 9012 3456",  # no issuer range
        "666-12-3456",  # area 666 is never issued
        "000-12-3456",
        "912-12-3456",  # 9xx areas are ITINs, not SSNs
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "DE88 3704 0044 0532 0130 00",  # wrong IBAN check digits
        "version=1.2.3.4",
        "SNMP OID 1.3.6.1.4.1.2021",
        "Take vitamin B12 daily in room A12.",
        "Invoice dated 2023-05-01 for order 12345678901.",
    ],
)
def test_lookalikes_without_validity_are_not_reported(text: str) -> None:
    assert detect_text(text) == []


def test_offsets_are_character_offsets_in_non_ascii_text() -> None:
    text = "Größe: naïve ☃ — Kontakt: jürgen@example.de, Karte 4111-1111-1111-1111 ✓"
    matches = detect_text(text)
    assert [m.entity for m in matches] == ["email", "credit_card"]
    assert [m.value for m in matches] == ["jürgen@example.de", "4111-1111-1111-1111"]
    for m in matches:
        assert text[m.start : m.end] == m.value


def test_matches_are_sorted_and_do_not_overlap() -> None:
    text = (
        "SSN 123-45-6780, card 5555 5555 5555 4444, mail a.b@example.org, "
        "IBAN GB82 WEST 1234 5698 7654 32, call +44 20 7946 0958, ip 203.0.113.9"
    )
    matches = detect_text(text)
    assert {m.entity for m in matches} == {
        "us_ssn",
        "credit_card",
        "email",
        "iban",
        "phone",
        "ip_address",
    }
    for a, b in itertools.pairwise(matches):
        assert a.end <= b.start


def test_entities_filter_and_unknown_entity() -> None:
    text = "mail a@example.com card 4111 1111 1111 1111"
    assert [m.entity for m in detect_text(text, entities=frozenset({"email"}))] == ["email"]
    with pytest.raises(ValueError, match="unknown entity"):
        detect_text(text, entities=frozenset({"emails"}))


def test_context_decides_weak_identifiers() -> None:
    # A bare nine-digit number is nothing on its own, a BSN in a BSN column.
    assert detect_text("111222333") == []
    assert [m.entity for m in detect_text("111222333", context="bsn")] == ["national_id_nl"]
    # A date is a birth date only when someone says so.
    assert detect_text("1985-03-12") == []
    assert [m.entity for m in detect_text("1985-03-12", context="patient_dob")] == ["date_of_birth"]
    assert [m.entity for m in detect_text("DOB: 12 March 1985")] == ["date_of_birth"]
    # Birth dates in the future or before 1900 are not plausible.
    assert detect_text("2999-01-01", context="dob") == []
    assert detect_text("1850-01-01", context="dob") == []


def test_phone_region_applies_to_national_numbers() -> None:
    assert [m.entity for m in detect_text("Tel. 030 901820", region="DE")] == ["phone"]
    assert [m.entity for m in detect_text("(202) 456-1111")] == ["phone"]


def test_redaction_forms_hide_the_value() -> None:
    assert redact("credit_card", "4111 1111 1111 1111") == "4111********1111"
    assert redact("us_ssn", "123-45-6789") == "***-**-6789"
    assert redact("email", "jane.doe@example.com") == "j***@example.com"
    assert redact("iban", "DE89 3704 0044 0532 0130 00") == "DE89**************3000"
    assert redact("credential", "hunter2!!") == "********"
    assert redact("credential", "AKIAIOSFODNN7EXAMPLE") == "AKIA********"
    assert "1985" not in redact("date_of_birth", "1985-03-12")
    assert "Smith" not in redact("person", "John Smith")
    # Too short to be a card: nothing is shown rather than most of it.
    assert redact("credit_card", "1234") == "****"


def test_every_entity_has_regulation_tags() -> None:
    assert set(ENTITY_REGULATIONS) == ALL_ENTITIES
    assert "PCI-DSS-3.4.1" in ENTITY_REGULATIONS["credit_card"]
    assert "GDPR-Art.9" in ENTITY_REGULATIONS["icd10_code"]
    assert any(t.startswith("HIPAA-164.514") for t in ENTITY_REGULATIONS["us_ssn"])


def test_classify_column_uses_values_and_name() -> None:
    emails = [f"user{i}@example.com" for i in range(40)] + ["n/a"] * 10
    classes = classify_column("contact", emails)
    assert classes[0] == ColumnClass("email", classes[0].confidence, 40, 50)
    assert 0.7 <= classes[0].confidence <= 0.8  # 80 % of the values, e-mail confidence 0.95
    named = classify_column("email", emails)
    assert named[0].confidence > classes[0].confidence  # the name agrees with the values


def test_classify_column_calls_a_column_of_luhn_failures_noise() -> None:
    rng = pii_corpus.random.Random(3)
    numbers = [pii_corpus.luhn_failing_card(rng) for _ in range(200)]
    numbers += [pii_corpus.card_number(rng) for _ in range(5)]  # chance passes, as in real ids
    assert all(c.entity != "credit_card" for c in classify_column("order_id", numbers))


def test_classify_column_reports_rare_values_with_low_confidence() -> None:
    notes = ["all good"] * 999 + ["customer SSN 123-45-6780 on file"]
    (cls,) = classify_column("notes", notes)
    assert (cls.entity, cls.matched, cls.sampled) == ("us_ssn", 1, 1000)
    assert cls.confidence < 0.01
