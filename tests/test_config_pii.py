"""[scan.pii] in mlwarden.toml: severities, entities and region reach the data scanners."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlwarden.config import load_config
from mlwarden.engine import scan_paths
from mlwarden.errors import ConfigError
from mlwarden.findings import Severity

CSV = "name,email,card\nAnn Lee,ann@example.com,4111 1111 1111 1111\n"


def test_severity_overrides_change_the_verdict(tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    data.write_text(CSV)
    config = tmp_path / "mlwarden.toml"
    config.write_text('[scan.pii.severity]\ncredit_card = "low"\n"MLW-PII-007" = "info"\n')
    cfg = load_config(str(config))
    report = scan_paths([str(data)], cfg.settings, fail_on=cfg.fail_on)
    severities = {f.rule_id: f.severity for f in report.findings}
    assert severities["MLW-PII-001"] == Severity.LOW
    assert severities["MLW-PII-007"] == Severity.INFO
    assert not report.failed
    default = scan_paths([str(data)], load_config(None).settings)
    assert default.failed  # unmasked card numbers are high by default


def test_entity_selection(tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    data.write_text(CSV)
    config = tmp_path / "mlwarden.toml"
    config.write_text('[scan.pii]\nentities = ["email"]\n')
    cfg = load_config(str(config))
    rules = {f.rule_id for f in scan_paths([str(data)], cfg.settings).findings}
    assert rules == {"MLW-PII-007"}


@pytest.mark.parametrize(
    "text",
    [
        '[scan.pii.severity]\nemial = "low"\n',
        '[scan.pii.severity]\nemail = "loud"\n',
        '[scan.pii]\nregion = "germany"\n',
        "[scan.pii]\nmin_confidence = 2\n",
        '[scan.pii]\nentities = ["dna"]\n',
        "[scan.pii]\nspeed = 1\n",
    ],
)
def test_bad_pii_settings_are_refused_with_the_file_named(tmp_path: Path, text: str) -> None:
    config = tmp_path / "mlwarden.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=r"mlwarden\.toml"):
        load_config(str(config))
