"""Masked output, re-scanned with the real regulated-data detector, holds no identifiers.

Realistic records come from Faker (seeded). Each is masked with the default policy and with
a surrogate policy; every output cell is then searched with ``detect_text`` (with its column
name as context) and every column classified with ``classify_column``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlwarden.masking.engine import mask_file
from mlwarden.masking.keys import MaskKey
from mlwarden.masking.policy import MaskPolicy, default_policy, load_policy

entities = pytest.importorskip("mlwarden.scanners.data.entities")
faker = pytest.importorskip("faker")

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "masking-policy.yaml"
THRESHOLD = 0.5
# Identifiers: a re-scan must find none of these at or above the threshold.
HIGH_SEVERITY = {
    "credit_card",
    "us_ssn",
    "iban",
    "email",
    "phone",
    "medical_record_number",
    "credential",
}

SURROGATE_POLICY = """\
version: 1
entities:
  credit_card: card_surrogate
  phone: phone_surrogate
  us_ssn: {operator: partial, keep_last: 4}
  date_of_birth: year
columns:
  - {match: card, operator: card_surrogate}
  - {match: phone, operator: phone_surrogate}
  - {match: zip, operator: zip3}
"""


def _records(count: int) -> list[dict[str, str]]:
    fake = faker.Faker("en_US")
    fake.seed_instance(20261127)
    rows = []
    for _ in range(count):
        name, email, card = fake.name(), fake.email(), fake.credit_card_number()
        phone, ssn, iban = fake.phone_number(), fake.ssn(), fake.iban()
        rows.append(
            {
                "name": name,
                "email": email,
                "phone": phone,
                "ssn": ssn,
                "card": card,
                "iban": iban,
                "ip": fake.ipv4_public(),
                "zip": fake.zipcode(),
                "notes": f"Customer {name} ({email}) paid with card {card}; "
                f"call {phone}. SSN: {ssn}. Refund to IBAN {iban}.",
            }
        )
    return rows


def _hits(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(column, entity, value) of every high-severity hit found in ``rows``."""
    found = []
    for row in rows:
        for column, value in row.items():
            for m in entities.detect_text(str(value), context=column, min_confidence=THRESHOLD):
                if m.entity in HIGH_SEVERITY:
                    found.append((column, m.entity, m.value))
    for column in rows[0]:
        for c in entities.classify_column(column, [str(r[column]) for r in rows]):
            if c.entity in HIGH_SEVERITY and c.confidence >= THRESHOLD:
                found.append((column, c.entity, f"column classified at {c.confidence:.2f}"))
    return found


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    return _records(120)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_generated_input_is_full_of_identifiers(records: list[dict[str, str]]) -> None:
    # Guards the tests below: a re-scan finding nothing means something only if the input
    # had plenty to find.
    entities_found = {entity for _, entity, _ in _hits(records)}
    assert {"email", "credit_card", "iban", "phone", "us_ssn"} <= entities_found


@pytest.mark.parametrize(
    "make_policy",
    [
        lambda _w: default_policy(),
        lambda w: load_policy(w(SURROGATE_POLICY)),
        lambda _w: load_policy(EXAMPLE_POLICY),
    ],
    ids=["default-policy", "surrogate-policy", "example-policy"],
)
def test_masked_csv_rescans_clean(
    tmp_path: Path,
    records: list[dict[str, str]],
    key: MaskKey,
    write_policy: Callable[[str], Path],
    make_policy: Callable[[Callable[[str], Path]], MaskPolicy],
) -> None:
    src, dst = tmp_path / "customers.csv", tmp_path / "masked.csv"
    _write_csv(src, records)
    summary = mask_file(src, dst, make_policy(write_policy), key_source=lambda: key)
    masked = _read_csv(dst)
    assert len(masked) == len(records) == summary.rows
    assert _hits(masked) == []
    assert summary.total_replacements >= len(records) * 5


def test_masked_jsonl_rescans_clean_and_joins_with_csv(
    tmp_path: Path, records: list[dict[str, str]], key: MaskKey
) -> None:
    csv_in, jsonl_in = tmp_path / "a.csv", tmp_path / "b.jsonl"
    _write_csv(csv_in, records)
    jsonl_in.write_text(
        "".join(json.dumps({"contact": {"mail": r["email"]}, "text": r["notes"]}) + "\n"
                for r in records),
        encoding="utf-8",
    )  # fmt: skip
    mask_file(csv_in, tmp_path / "a.out.csv", default_policy(), key_source=lambda: key)
    mask_file(jsonl_in, tmp_path / "b.out.jsonl", default_policy(), key_source=lambda: key)
    csv_rows = _read_csv(tmp_path / "a.out.csv")
    json_rows = [json.loads(line) for line in (tmp_path / "b.out.jsonl").read_text().splitlines()]
    assert _hits([{"mail": r["contact"]["mail"], "text": r["text"]} for r in json_rows]) == []
    for masked_csv, masked_json in zip(csv_rows, json_rows, strict=True):
        assert masked_csv["email"].startswith("tok_")
        assert masked_csv["email"] == masked_json["contact"]["mail"]
        assert masked_csv["email"] in masked_json["text"]


def test_surrogates_alone_are_not_reported(key: MaskKey, records: list[dict[str, str]]) -> None:
    from mlwarden.masking.operators import CardSurrogate, PhoneSurrogate

    cards, phones = CardSurrogate(key), PhoneSurrogate(key)
    for record in records:
        for text, context in [
            (f"card {cards.apply(record['card'])}", "card_number"),
            (f"call {phones.apply(record['phone'])}", "phone"),
        ]:
            assert entities.detect_text(text, context=context, min_confidence=THRESHOLD) == []


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("version: 1\nentities:\n  emial: redact\n", "policy.yaml:3", "'emial'"),
        ("version: 1\nentities:\n  national_idx_*: redact\n", "policy.yaml:3", "national_idx"),
        ("version: 1\ndetection: {entities: [email, e_mail]}\n", "policy.yaml", "e_mail"),
    ],
)
def test_entity_ids_the_detector_does_not_know_are_refused(
    tmp_path: Path, write_policy: Callable[[str], Path], text: str, where: str, problem: str
) -> None:
    from mlwarden.errors import ConfigError

    src = tmp_path / "a.txt"
    src.write_text("x\n")
    with pytest.raises(ConfigError) as caught:
        mask_file(src, tmp_path / "b.txt", load_policy(write_policy(text)))
    assert caught.value.subject.endswith(where)
    assert problem in caught.value.problem
    assert "email" in caught.value.fix
    assert not (tmp_path / "b.txt").exists()
