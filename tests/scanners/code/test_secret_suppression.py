"""Inline ``mlwarden: ignore`` markers and baselines of accepted secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_secrets import fake_secrets
from secret_scanning import rule_ids, scan_source

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Severity
from mlwarden.scanners.code import drop_baselined, load_baseline, write_baseline

SECRETS = fake_secrets()
HF = next(s.secret for s in SECRETS if s.kind == "hugging-face")
WANDB = next(s.secret for s in SECRETS if s.kind == "wandb-env")
DB_PASSWORD = next(s.secret for s in SECRETS if s.kind == "generic-password")


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (f'token = "{HF}"  # mlwarden: ignore', "a.py"),
        (f'token = "{HF}"  # mlwarden: ignore[MLW-SEC-011]', "a.py"),
        (f'token = "{HF}"  #mlwarden:ignore[MLW-SEC-030, mlw-sec-011]', "a.py"),
        (f'const token = "{HF}"; // mlwarden: ignore', "a.js"),
        (f"SELECT '{HF}'; -- mlwarden: ignore[MLW-SEC-011]", "a.sql"),
        (f"token = {HF} ; mlwarden: ignore", "a.ini"),
        (f"<!-- mlwarden: ignore --> {HF}", "a.md"),
    ],
)
def test_inline_markers_suppress_findings_on_their_line(line: str, name: str) -> None:
    assert rule_ids(scan_source(f"{line}\nother = '{HF}'\n", name)) == ["MLW-SEC-011"]


def test_a_marker_for_another_rule_suppresses_nothing() -> None:
    text = f'token = "{HF}"  # mlwarden: ignore[MLW-SEC-012]\n'
    assert rule_ids(scan_source(text)) == ["MLW-SEC-011"]


@pytest.mark.parametrize("marker", ["ignore[]", "ignore[all]", "ignore[*]", "ignroe"])
def test_a_malformed_marker_suppresses_nothing(marker: str) -> None:
    text = f'token = "{HF}"  # mlwarden: {marker}\n'
    assert rule_ids(scan_source(text)) == ["MLW-SEC-011"]


def test_a_marker_covers_only_its_own_line() -> None:
    text = f"# mlwarden: ignore\ntoken = '{HF}'\n"
    assert rule_ids(scan_source(text)) == ["MLW-SEC-011"]


def test_a_marker_on_a_huge_minified_line_covers_only_nearby_findings() -> None:
    filler = "var a=1;" * 20_000
    text = f"const t='{HF}';//mlwarden: ignore\n{filler}x='{HF}';{filler}//mlwarden: ignore\n"
    found = scan_source(text, "bundle.min.js")
    assert [(f.rule_id, f.location.line) for f in found] == [("MLW-SEC-011", 2)]


def _findings(path: str) -> list[Finding]:
    text = f'HF_TOKEN = "{HF}"\nWANDB_API_KEY = "{WANDB}"\ndb_password = "{DB_PASSWORD}"\n'
    return scan_source(text, path)


def test_a_baseline_drops_exactly_the_accepted_secrets(tmp_path: Path) -> None:
    base = tmp_path / "secrets-baseline.json"
    accepted = [f for f in _findings("train.py") if f.rule_id != "MLW-SEC-012"]
    assert write_baseline(accepted, base, reason="revoked in January") == 2
    baseline = load_baseline(base)
    # The same secrets on other lines are still accepted; the W&B key never was.
    moved = scan_source(
        f'\n\nHF_TOKEN = "{HF}"\nWANDB_API_KEY = "{WANDB}"\ndb_password = "{DB_PASSWORD}"\n',
        "train.py",
    )
    assert rule_ids(drop_baselined(moved, baseline)) == ["MLW-SEC-012"]
    # Another file with the same secrets is not covered.
    assert len(drop_baselined(_findings("serve.py"), baseline)) == 3
    # A changed secret under the same name is not covered.
    rotated = scan_source(f'HF_TOKEN = "{HF[:-1]}Z"\n', "train.py")
    assert rule_ids(drop_baselined(rotated, baseline)) == ["MLW-SEC-011"]


def test_the_baseline_file_holds_digests_and_reasons_never_secrets(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    write_baseline(_findings("./src/train.py"), base)
    text = base.read_text()
    for secret in (HF, WANDB, DB_PASSWORD):
        assert secret not in text and secret[3:-3] not in text
    document = json.loads(text)
    assert {e["path"] for e in document["entries"]} == {"src/train.py"}
    assert all(len(e["secret_sha256"]) == 64 and e["reason"] for e in document["entries"])
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]  # no temp file left behind


def test_findings_of_other_scanners_pass_through_a_baseline(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    write_baseline(_findings("x.py"), base)
    other = Finding("MLW-PKL-001", Severity.CRITICAL, "t", Location("x.py"), "os.system", "r")
    assert drop_baselined([other], load_baseline(base)) == [other]
    assert write_baseline([other], tmp_path / "empty.json") == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "format"),
        (b'{"format": "something-else", "entries": []}', "format"),
        (b'{"format": "mlwarden.secrets-baseline/v1", "entries": {}}', "not a list"),
        (b'{"format": "mlwarden.secrets-baseline/v1", "entries": [1]}', "not an object"),
        (
            b'{"format": "mlwarden.secrets-baseline/v1", "entries": [{"rule_id": "MLW-SEC-011",'
            b' "path": "a", "secret_sha256": "abc", "reason": "r"}]}',
            "64 hex",
        ),
        (
            b'{"format": "mlwarden.secrets-baseline/v1", "entries": [{"rule_id": "MLW-SEC-011",'
            b' "path": "a", "secret_sha256": "' + b"a" * 64 + b'"}]}',
            "reason",
        ),
    ],
)
def test_an_invalid_baseline_is_a_usage_error_naming_file_and_fix(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    base = tmp_path / "bad.json"
    base.write_bytes(content)
    with pytest.raises(UsageError) as info:
        load_baseline(base)
    assert info.value.subject == str(base)
    assert problem in info.value.problem
    assert "write_baseline" in info.value.fix


def test_a_missing_or_unwritable_baseline_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_baseline(tmp_path / "missing.json")
    with pytest.raises(UsageError):
        write_baseline(_findings("x.py"), tmp_path / "no-such-dir" / "b.json")
