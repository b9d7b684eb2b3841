"""The data scanners: tables, JSON lines, Parquet, text and notebooks, end to end."""

from __future__ import annotations

import csv
import io
import json
import random

import pii_corpus
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_scan_harness import by_rule, context, rendered, run
from faker import Faker

from mlwarden.findings import Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import ScanSettings
from mlwarden.scanners.data.scanners import (
    CsvScanner,
    JsonLinesScanner,
    NotebookScanner,
    ParquetScanner,
    TextScanner,
    TsvScanner,
)
from mlwarden.scanners.data.settings import DataScanSettings

CARD, SSN, IBAN, EMAIL, PHONE = (
    "MLW-PII-001",
    "MLW-PII-002",
    "MLW-PII-004",
    "MLW-PII-007",
    "MLW-PII-008",
)
HEALTH, BIRTH, CREDENTIAL, UNREADABLE = "MLW-PII-006", "MLW-PII-011", "MLW-PII-012", "MLW-PII-015"


def _csv(rows: list[list[str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def customers() -> tuple[bytes, list[list[str]]]:
    """A customer table with one kind of regulated data per column, plus clean columns."""
    rng = random.Random(11)
    fake = Faker("en_US")
    fake.seed_instance(11)
    rows = [["id", "full_name", "email", "ssn", "card", "iban", "dob", "notes", "amount"]]
    for i in range(300):
        rows.append(
            [
                str(i),
                fake.name(),
                fake.email(),
                pii_corpus.ssn_value(rng),
                pii_corpus.card_number(rng),
                pii_corpus.iban_value(rng, {}),
                fake.date_of_birth().isoformat(),
                fake.sentence(),
                f"{rng.random() * 100:.2f}",
            ]
        )
    return _csv(rows), rows


def test_csv_reports_one_finding_per_column_and_entity(
    customers: tuple[bytes, list[list[str]]],
) -> None:
    findings, ctx = run(CsvScanner(), customers[0])
    assert not ctx.incomplete
    found = {(f.location.field, f.rule_id) for f in findings}
    assert found == {
        ("full_name", "MLW-PII-013"),
        ("email", EMAIL),
        ("ssn", SSN),
        ("card", CARD),
        ("iban", IBAN),
        ("dob", BIRTH),
    }
    card = next(f for f in findings if f.rule_id == CARD)
    assert card.location.line == 1 and card.severity is Severity.HIGH
    assert "300 of 300 values" in card.evidence
    assert "PCI-DSS-3.4.1" in card.tags


def test_no_raw_value_appears_in_json_or_sarif(customers: tuple[bytes, list[list[str]]]) -> None:
    data, rows = customers
    findings, _ = run(CsvScanner(), data)
    text_json, text_sarif = rendered(findings)
    for row in rows[1:]:
        for value in row[1:7]:  # name, email, ssn, card, iban, dob
            compact = value.replace(" ", "")
            for report in (text_json, text_sarif):
                assert value not in report and compact not in report


def test_row_numbers_count_data_rows_and_notes_are_searched_in_full() -> None:
    rows = [["note"]] + [[f"ordinary remark {i}"] for i in range(5000)]
    rows[4321] = ["customer called from +44 20 7946 0958 about card 4111 1111 1111 1111"]
    findings, _ = run(CsvScanner(), _csv(rows), pii=DataScanSettings(head_rows=100, sample_rows=50))
    lines = {f.rule_id: f.location.line for f in findings}
    assert lines == {CARD: 4321, PHONE: 4321}


def test_dense_columns_are_sampled_beyond_the_head_and_memory_stays_bounded() -> None:
    rows = [["email", "comment"]]
    rows += [[f"user{i}@example.com", "fine"] for i in range(20_000)]
    rows[19_990][1] = "SSN 123-45-6780"  # far beyond head and sample sizes, in a sparse column
    settings = DataScanSettings(head_rows=200, sample_rows=100)
    findings, _ = run(CsvScanner(), _csv(rows), pii=settings)
    email = next(f for f in findings if f.rule_id == EMAIL)
    assert "300 sampled values (the column has 20000)" in email.evidence
    ssn = next(f for f in findings if f.rule_id == SSN)
    assert (ssn.location.line, ssn.location.field) == (19_990, "comment")
    # The sample is seeded: the same file gives the same report.
    again, _ = run(CsvScanner(), _csv(rows), pii=settings)
    assert [f.evidence for f in again] == [f.evidence for f in findings]


def test_tsv_and_semicolon_csv() -> None:
    rows = [["name", "email"], ["Ann Lee", "ann@example.com"], ["Bo Ek", "bo@example.org"]]
    tsv, _ = run(TsvScanner(), _csv(rows, "\t"), "people.tsv")
    semi, _ = run(CsvScanner(), _csv(rows, ";"))
    for findings in (tsv, semi):
        assert {(f.location.field, f.rule_id) for f in findings} == {
            ("name", "MLW-PII-013"),
            ("email", EMAIL),
        }


def test_headerless_csv_names_columns_by_position() -> None:
    data = _csv([["1", "ann@example.com"], ["2", "bo@example.org"]])
    (finding,) = run(CsvScanner(), data)[0]
    assert (finding.location.field, finding.location.line) == ("column 2", 1)


def test_health_data_is_high_only_next_to_identifiers() -> None:
    alone = _csv([["diagnosis_code", "drug"], ["E11.9", "metformin"], ["I10", "lisinopril"]])
    findings, _ = run(CsvScanner(), alone)
    assert {f.severity for f in findings if f.rule_id == HEALTH} == {Severity.LOW}
    tied = _csv(
        [
            ["mrn", "diagnosis_code", "drug"],
            ["00123456", "E11.9", "metformin"],
            ["00123457", "I10", "lisinopril"],
        ]
    )
    findings, _ = run(CsvScanner(), tied)
    assert {f.severity for f in findings if f.rule_id == HEALTH} == {Severity.HIGH}


def test_severity_overrides_by_entity_and_rule() -> None:
    data = _csv([["email", "ip"], ["ann@example.com", "203.0.113.7"]])
    settings = DataScanSettings(
        severity_overrides={"email": Severity.LOW, "MLW-PII-010": Severity.HIGH}
    )
    findings, _ = run(CsvScanner(), data, pii=settings)
    assert {f.rule_id: f.severity for f in findings} == {
        EMAIL: Severity.LOW,
        "MLW-PII-010": Severity.HIGH,
    }


def test_malformed_rows_are_reported_not_fatal() -> None:
    good = "name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(50))
    huge = "x," + "y" * 300_000 + "\n"  # one field over the csv module's limit
    data = (good + huge + "Q,q@example.com\n").encode()
    findings, ctx = run(CsvScanner(), data)
    rules = by_rule(findings)
    assert EMAIL in rules
    (unreadable,) = rules[UNREADABLE]
    assert unreadable.location.line == 51
    assert ctx.incomplete  # the file is only partly verified


def test_overlong_lines_are_skipped_and_counted() -> None:
    data = ("email\n" + "a" * 5000 + "\nann@example.com\n").encode()
    findings, _ = run(CsvScanner(), data, pii=DataScanSettings(max_line_chars=1000))
    assert {f.rule_id for f in findings} == {EMAIL, UNREADABLE}


@pytest.mark.parametrize(
    ("scanner", "data"),
    [
        (JsonLinesScanner(), b"{not json\n[also not\n" * 3),
        (ParquetScanner(), b"PAR1" + b"\x00" * 64 + b"PAR1"),
        (NotebookScanner(), b'{"cells": [ {"source": '),
        (NotebookScanner(), b'{"nbformat": 4}'),
        (CsvScanner(), b'a,"b\n' + b"x" * 200_000),
    ],
)
def test_malformed_files_become_findings(scanner: object, data: bytes) -> None:
    findings, ctx = run(scanner, data)  # type: ignore[arg-type]
    assert findings and ctx.incomplete
    assert {f.rule_id for f in findings} <= {"MLW-GEN-003", UNREADABLE}


def test_jsonl_key_paths_are_columns() -> None:
    lines = [
        {"user": {"email": "ann@example.com", "phones": ["+44 20 7946 0958"]}, "score": 0.5},
        {"user": {"email": "bo@example.org"}, "note": "paid with 4111 1111 1111 1111"},
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    findings, _ = run(JsonLinesScanner(), data, "events.jsonl")
    assert {(f.location.field, f.rule_id, f.location.line) for f in findings} == {
        ("user.email", EMAIL, 1),
        ("user.phones[]", PHONE, 1),
        ("note", CARD, 2),
    }


def test_jsonl_deep_nesting_is_bounded() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    data = (deep + '\n{"email": "ann@example.com"}\n').encode()
    findings, _ = run(JsonLinesScanner(), data)
    assert {f.rule_id for f in findings} == {EMAIL, UNREADABLE}


def test_parquet_string_and_integer_columns() -> None:
    table = pa.table(
        {
            "email": ["ann@example.com", None, "bo@example.org"],
            "ssn_number": pa.array(
                ["123-45-6780", "234-56-7890", "345-67-8901"]
            ).dictionary_encode(),
            "phone": [2024561111, 2024561112, None],
            "score": [0.1, 0.2, 0.3],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=2)
    findings, ctx = run(ParquetScanner(), sink.getvalue(), "t.parquet")
    assert not ctx.incomplete
    assert {(f.location.field, f.rule_id) for f in findings} == {
        ("email", EMAIL),
        ("ssn_number", SSN),
        ("phone", PHONE),
    }


def test_parquet_row_groups_are_charged_to_the_decompression_budget() -> None:
    table = pa.table({"email": [f"u{i}@example.com" for i in range(2000)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    settings = ScanSettings(limits=Limits(max_total_decompressed=1000))
    findings, _ = run(ParquetScanner(), sink.getvalue(), ctx=context(settings=settings))
    assert "MLW-GEN-002" in {f.rule_id for f in findings}


def test_text_reports_one_finding_per_entity_with_count_and_first_line() -> None:
    lines = ["nothing here"] * 10
    lines += [f"login from 203.0.113.{i} by user{i}@example.com" for i in range(1, 201)]
    findings, _ = run(TextScanner(), "\n".join(lines).encode(), "app.log")
    assert len(findings) == 2
    email = next(f for f in findings if f.rule_id == EMAIL)
    assert email.location.line == 11
    assert "200 occurrences" in email.evidence
    assert "user1@example.com" not in email.evidence


def test_text_chunks_do_not_lose_lines_or_values() -> None:
    filler = "lorem ipsum dolor sit amet " * 3
    lines = [filler] * 4000 + ["card 4111 1111 1111 1111"]
    settings = DataScanSettings(text_chunk_chars=4096)
    findings, _ = run(TextScanner(), "\n".join(lines).encode("utf-16"), "x.txt", pii=settings)
    (card,) = findings
    assert card.location.line == 4001


def test_notebook_cell_numbers_sources_and_outputs() -> None:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Customers\n"]},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 7,
                "source": ["df = load()\n", "df.head()"],
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "execution_count": 7,
                        "metadata": {},
                        "data": {
                            "text/plain": ["   name  email\n", "0  Ann   ann@example.com\n"],
                            "text/html": ["<td>ann@example.com</td>"],
                        },
                    }
                ],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 8,
                "source": ["API_KEY = 'ghp_" + "a1B2" * 9 + "'\n"],
                "outputs": [],
            },
        ],
    }
    findings, _ = run(NotebookScanner(), json.dumps(notebook).encode(), "analysis.ipynb")
    where = {f.rule_id: (f.location.field, f.location.line) for f in findings}
    # The credential in cell 3 is the secrets scanner's to report (it reads notebooks too).
    assert where == {EMAIL: ("cell 2", 2)}
    email = next(f for f in findings if f.rule_id == EMAIL)
    assert "1 occurrence" in email.evidence  # text/plain and text/html are one rendering


@pytest.mark.parametrize(
    "text",
    [
        "# Serial: 6643877497813316402\n",  # a certificate serial that passes Luhn
        "MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw/4111111111111111+\n",
        "(0.5328051227278146-0.4008623567957094j)\n",  # digits of a decimal fraction
        "order 4111111111111111 shipped\n",
    ],
)
def test_numbers_that_only_look_like_cards_are_not_cards(text: str) -> None:
    from mlwarden.scanners.data.entities import detect_text

    assert [m for m in detect_text(text) if m.entity == "credit_card"] == []


@pytest.mark.parametrize(
    "text",
    ["card 4111111111111111 expires", "PAN: 4111 1111 1111 1111", "paid with 4111111111111111"],
)
def test_cards_in_prose_are_still_found(text: str) -> None:
    from mlwarden.scanners.data.entities import detect_text

    assert [m.entity for m in detect_text(text)] == ["credit_card"]


def test_dotted_runs_longer_than_an_address_are_not_ips() -> None:
    from mlwarden.scanners.data.entities import detect_text

    svg = '<path d="M10.33.5.2.1.4L12.7.3.9.8.1z c2.84-11.83,14.72-10.33.93.12"/> v1.2.3.4.5'
    assert [m for m in detect_text(svg) if m.entity == "ip_address"] == []
    assert [m.entity for m in detect_text("client 203.0.113.9 connected")] == ["ip_address"]
