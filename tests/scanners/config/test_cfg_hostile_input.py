"""Hostile and broken configuration: findings, never crashes; nothing executed; secrets
never copied into reports; the engine sees limits as a partial scan."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from config_scan_harness import scan_config
from test_cfg_rule_samples import CASES

from mlwarden import engine
from mlwarden.findings import Finding, Location, ScanStatus
from mlwarden.scanners import registry
from mlwarden.scanners.base import Blob, ScanSettings
from mlwarden.scanners.config.sniffing import FORMATS, sniff_config_format

SECRET = "Zq8-very-secret-value-41"


def test_malformed_files_become_findings() -> None:
    cases = {
        "jupyter_server_config.py": "c.ServerApp.token = (\n",
        "jupyter_lab_config.json": '{"ServerApp": {"token": ""',
        "mlwarden.toml": "[server\nhost = ",
        "k.yaml": "a: [1, 2\nb: }\n",
    }
    for name, text in cases.items():
        outcome = scan_config(name, text)
        assert outcome.ids() == ["MLW-GEN-003"], name
        assert outcome.incomplete, name


def test_deeply_nested_python_and_json_are_bounded() -> None:
    # Parentheses hit the parser's own limit (a syntax error CPython also reports); long
    # operator chains exhaust recursion, which is a limit of the analysis.
    parens = "c.ServerApp.token = " + "(" * 100_000 + ")" * 100_000 + "\n"
    assert scan_config("jupyter_server_config.py", parens).ids() == ["MLW-GEN-003"]
    chain = "c.ServerApp.token = " + "-" * 1_000_000 + "1\n"
    assert scan_config("jupyter_server_config.py", chain).ids() == ["MLW-GEN-002"]
    deep_json = '{"a":' + "[" * 200_000 + "]" * 200_000 + "}"
    assert scan_config("jupyter_server_config.json", deep_json).ids() == ["MLW-GEN-002"]


def test_python_config_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"open({str(marker)!r}, 'w').write('x')\nc.ServerApp.token = ''\n"
    outcome = scan_config("jupyter_server_config.py", text)
    assert outcome.ids() == ["MLW-CFG-011"]
    assert not marker.exists()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_random_bytes_never_crash(fmt: str) -> None:
    rng = random.Random(fmt)
    samples = [c.positive.encode() for c in CASES]
    for _ in range(60):
        base = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 12)):
            base[rng.randrange(len(base))] = rng.randrange(256)
        if rng.random() < 0.3:
            base += bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        findings, status, _fmt = _engine_scan(bytes(base), "x", scanner_name=fmt)
        assert status is not ScanStatus.ERROR, [f.evidence for f in findings]


def test_secret_values_never_reach_evidence() -> None:
    samples = {
        "Dockerfile": f"FROM a:1@sha256:{'0' * 64}\nENV HF_TOKEN={SECRET}\n"
        f"ARG DB_PASSWORD={SECRET}\n"
        f"RUN pip install --index-url https://u:{SECRET}@pypi.acme.dev/simple x\n",
        "d.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"  - {{name: c, image: i:1, env: [{{name: OPENAI_API_KEY, value: {SECRET}}}],\n"
        f"     command: [mlflow, server, --host, 0.0.0.0, --backend-store-uri,"
        f" 'http://u:{SECRET}@10.0.0.1/db']}}\n",
        "run.sh": f"jupyter lab --ip 0.0.0.0 --ServerApp.password={SECRET} --allow-root\n"
        f"mlflow server --password {SECRET} --host 0.0.0.0\n",
        ".env": f"MLFLOW_TRACKING_URI=http://user:{SECRET}@mlflow.acme.dev\n",
    }
    for name, text in samples.items():
        outcome = scan_config(name, text)
        assert outcome.findings, name
        for finding in outcome.findings:
            assert SECRET not in finding.evidence and SECRET not in finding.title, finding


def test_finding_flood_is_capped() -> None:
    text = "".join(f"curl -k https://h/{i}\n" for i in range(3_000))
    outcome = scan_config("many.sh", text)
    assert len(outcome.findings) == 1_001
    assert outcome.findings[-1].rule_id == "MLW-GEN-002"


def _engine_scan(
    data: bytes, name: str, *, scanner_name: str | None = None
) -> tuple[list[Finding], ScanStatus, str]:
    """Scan through the engine, with the config formats registered as the lead will."""
    fmt = scanner_name or sniff_config_format(name, data[:4096]) or "unknown"
    with pytest.MonkeyPatch.context() as patch:
        for format_name, spec in FORMATS.items():
            patch.setitem(registry._SPECS, format_name, spec)
        patch.setattr(engine, "detect", lambda _blob: fmt)
        return engine.scan_blob(Blob(data, Location(name), name), ScanSettings())


def test_engine_reports_limits_as_partial_and_keeps_findings() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n"
    text += "  containers: [{name: c, image: 'i:1'}]\n---\n" + "[" * 2_000 + "]" * 2_000
    findings, status, fmt = _engine_scan(text.encode(), "pod.yaml")
    assert fmt == "config-yaml" and status is ScanStatus.PARTIAL
    assert {"MLW-CFG-052", "MLW-GEN-002"} <= {f.rule_id for f in findings}


def test_engine_scan_of_a_clean_file_is_scanned() -> None:
    findings, status, _fmt = _engine_scan(b"mlflow server --app-name basic-auth\n", "run.sh")
    assert findings == [] and status is ScanStatus.SCANNED
