"""`probe_command`: exit codes 0/1/2 and machine-readable output."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from probe_fakes import fake_service, json_reply

from mlwarden.cli.probe_cmd import probe_command

OPEN_JUPYTER = {"/api": json_reply({"version": "2.14.0"}), "/api/kernels": json_reply([])}
LOCKED_JUPYTER = {
    "/api": json_reply({"version": "2.14.0"}),
    "/api/kernels": json_reply({"message": "Forbidden"}, 403),
}


def test_open_service_exits_1_with_a_valid_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_service(OPEN_JUPYTER) as fake:
        code = probe_command(fake.url, "json", 5)
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    schema = json.loads(
        resources.files("mlwarden").joinpath("data/report-v1.schema.json").read_text()
    )
    jsonschema.validate(report, schema)
    assert report["files"][0]["path"] == fake.url
    assert report["files"][0]["format"] == "http-probe:jupyter"
    assert [f["rule_id"] for f in report["findings"]] == ["MLW-PRB-010"]


def test_service_that_asks_for_credentials_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_service(LOCKED_JUPYTER) as fake:
        assert probe_command(fake.url, "table", 5) == 0
    assert "MLW-PRB-090" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "fmt"),
    [("file:///etc/passwd", "table"), ("http://127.0.0.1:1/", "yaml")],
)
def test_usage_errors_exit_2(url: str, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert probe_command(url, fmt, 2) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("mlwarden: error: ")
