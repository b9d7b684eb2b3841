"""Bounds: file size, findings per file, time budget, and long lines scanned in windows."""

from __future__ import annotations

import base64
import json
import random

import pytest
from fake_secrets import fake_secrets
from secret_scanning import context, rule_ids, scan_source

from mlwarden.findings import Location
from mlwarden.scanners.base import Blob, LimitExceeded
from mlwarden.scanners.code import SecretScanOptions, SourceSecretsScanner
from mlwarden.scanners.code.secret_patterns import MAX_MATCH
from mlwarden.scanners.code.secret_search import WINDOW

HF = next(s.secret for s in fake_secrets() if s.kind == "hugging-face")


def _scan_all(
    scanner: SourceSecretsScanner, data: bytes, seconds: float = 60.0
) -> tuple[list[str], LimitExceeded | None]:
    seen: list[str] = []
    try:
        for finding in scanner.scan(Blob(data, Location("f.txt"), "f.txt"), context(seconds)):
            seen.append(finding.rule_id)
    except LimitExceeded as exc:
        return seen, exc
    return seen, None


def test_a_file_above_the_size_limit_is_scanned_up_to_it_then_reported() -> None:
    data = f"t = '{HF}'\n".encode() + b"x = 1\n" * 2000 + f"u = '{HF}'\n".encode()
    scanner = SourceSecretsScanner(SecretScanOptions(max_file_bytes=1000))
    seen, exc = _scan_all(scanner, data)
    assert seen == ["MLW-SEC-011"]
    assert exc is not None and exc.limit == 1000


def test_findings_per_file_are_bounded() -> None:
    data = "".join(f"t{i} = '{HF}'\n" for i in range(50)).encode()
    seen, exc = _scan_all(SourceSecretsScanner(SecretScanOptions(max_findings=10)), data)
    assert len(seen) == 10
    assert exc is not None and "findings" in exc.what
    # Exactly as many findings as allowed is complete, not a limit.
    seen, exc = _scan_all(SourceSecretsScanner(SecretScanOptions(max_findings=50)), data)
    assert (len(seen), exc) == (50, None)


def test_the_time_budget_stops_a_scan() -> None:
    data = b"x = 1\n" * (3 * WINDOW // 6)
    _seen, exc = _scan_all(SourceSecretsScanner(), data, seconds=-1.0)
    assert exc is not None and "time" in exc.what


@pytest.mark.parametrize("offset", [-40, -20, -1, 0, 1])
def test_secrets_on_a_minified_line_across_window_boundaries_are_found_once(offset: int) -> None:
    # One multi-megabyte line with secrets placed around the points where windows meet.
    rng = random.Random(offset)
    size = 3 * WINDOW
    line = bytearray(b"".join(rng.choice([b"a=1;", b"b(2);", b"c[3];"]) for _ in range(size // 4)))
    token = f"'{HF}';".encode()
    # Where windows end and where the next ones take over (they overlap by MAX_MATCH).
    boundaries = [WINDOW - MAX_MATCH, WINDOW, 2 * WINDOW - 2 * MAX_MATCH, 2 * WINDOW - MAX_MATCH]
    for boundary in boundaries:
        at = boundary + offset
        line[at : at + len(token)] = token
    found = scan_source(bytes(line), "bundle.min.js")
    assert rule_ids(found) == ["MLW-SEC-011"] * len(boundaries)
    assert {f.location.line for f in found} == {1}


def test_a_long_file_keeps_line_numbers_exact() -> None:
    lines = [f"value_{i} = {i}" for i in range(100_000)]
    lines[77_776] = f"token = '{HF}'"
    (finding,) = scan_source("\n".join(lines), "big.py")
    assert finding.location.line == 77_777


@pytest.mark.parametrize(
    "noise",
    [b"glpat-" * 40_000, b"-eyJ" * 60_000 + b".x.", b"token = '" * 30_000, b"dapi" * 60_000],
    ids=["gitlab-prefixes", "jwt-starts", "assignments", "databricks-prefixes"],
)
def test_runs_of_rejected_candidates_do_not_hide_a_following_secret(noise: bytes) -> None:
    # Each position of the noise starts a candidate that its check rejects; the search
    # must stay bounded per candidate and still reach the real token.
    data = noise + f"\nHF = '{HF}'\n".encode()
    assert rule_ids(scan_source(data, "noise.txt")) == ["MLW-SEC-011"]


def test_long_jwts_are_read_whole() -> None:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"sub": "svc", "groups": [f"group-{i:04d}" for i in range(400)]}
    token = f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.{part({'s': 'x' * 300})}"
    (finding,) = scan_source(f"id_token: {token}\n", "token.yaml")
    assert finding.rule_id == "MLW-SEC-020"
    assert f"({len(token)} chars)" in finding.evidence
