"""Format sniffing for the data scanners, and scanning straight from an mmap."""

from __future__ import annotations

import io
import json
import mmap
import pickle
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_scan_harness import context

from mlwarden.findings import Location
from mlwarden.scanners.base import Blob
from mlwarden.scanners.data.scanners import CsvScanner, ParquetScanner
from mlwarden.scanners.data.sniffers import data_format


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"email": ["ann@example.com", "bo@example.org"]}), sink)
    return sink.getvalue()


NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
PROSE = (
    "It was a bright cold day in April, and the clocks were striking thirteen.\n"
    "Winston Smith, his chin nuzzled into his breast, slipped quickly through the doors,\n"
    "though not quickly enough to prevent a swirl of gritty dust from entering along with him.\n"
)


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (_parquet(), "x.bin", "parquet"),
        (NOTEBOOK.encode(), "x.json", "notebook"),
        (b'{"a": 1}\n{"a": 2}\n', "events", "jsonl"),
        (b'{"a": 1}\n', "one.jsonl", "jsonl"),
        (b"name\temail\nann\tann@example.com\n", "people", "tsv"),
        (b"name,email\nann,ann@example.com\nbo,bo@example.org\n", "people", "csv"),
        (b"name;email\nann;ann@example.com\n", "people", "csv"),
        (b"email\nann@example.com\n", "people.csv", "csv"),
        (PROSE.encode(), "notes", "text"),
        (PROSE.encode("utf-16"), "notes", "text"),
        (pickle.dumps({"a": 1}), "model.pkl", None),
        # A pretty-printed JSON document is not JSON lines; detect.py routes JSON before
        # asking these sniffers, so here it is merely text.
        (b'{\n  "class_name": "Sequential",\n  "config": {}\n}\n', "config.json", "text"),
        (b"\x00\x01\x02\x03" * 100, "blob", None),
    ],
)
def test_data_format_from_content(data: bytes, name: str, expected: str | None) -> None:
    assert data_format(data, name) == expected


def _scan_file(path: Path, scanner: CsvScanner | ParquetScanner) -> list[str]:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
        findings = list(scanner.scan(Blob(view, Location(str(path)), path.name), context()))
    # Leaving the with block closed the mmap: no reader kept a view of it.
    return [f.rule_id for f in findings]


def test_scanners_read_from_mmap_and_release_it(tmp_path: Path) -> None:
    table = tmp_path / "t.parquet"
    table.write_bytes(_parquet())
    assert _scan_file(table, ParquetScanner()) == ["MLW-PII-007"]
    rows = tmp_path / "t.csv"
    rows.write_text("email\n" + "".join(f"u{i}@example.com\n" for i in range(10_000)))
    assert _scan_file(rows, CsvScanner()) == ["MLW-PII-007"]
