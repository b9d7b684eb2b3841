"""``mlwarden mask``: exit codes, the summary, and errors that name the problem."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from detector_stub import RegexDetector

from mlwarden.cli.mask_cmd import mask_command
from mlwarden.masking import engine

KEY_HEX = "5f1c9a0b7e3d42a6c8b1f0e9d7a65c4b3a291807f6e5d4c3b2a1908f7e6d5c4b"


class _StubScanner(RegexDetector):
    known_entities = frozenset({"email", "credit_card", "us_ssn", "phone"})


@pytest.fixture(autouse=True)
def regex_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    # The command builds the default detector; use the stand-in for predictable hits.
    monkeypatch.setattr(engine, "ScannerDetector", _StubScanner)
    monkeypatch.delenv("MLWARDEN_MASK_KEY", raising=False)


def _run(*args: str | None, **kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = mask_command(*args, stdout=out, stderr=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_mask_prints_a_summary_without_values(
    tmp_path: Path, write_policy: Callable[[str], Path]
) -> None:
    src = tmp_path / "a.csv"
    src.write_text("email,ssn\nann@x.io,123-45-6789\n")
    key_file = tmp_path / "mask.key"
    key_file.write_text(KEY_HEX)
    policy = write_policy("version: 1\ncolumns: [{match: ssn, operator: partial}]\n")
    code, out, err = _run(str(src), str(tmp_path / "b.csv"), str(policy), str(key_file))
    assert (code, err) == (0, "")
    assert "1 rows" in out
    assert "column ssn" in out and "partial" in out
    assert "masked whole by classification: email (email)" in out
    assert "ann@x.io" not in out and "6789" not in out and KEY_HEX not in out
    assert "tok_" in (tmp_path / "b.csv").read_text()


def test_key_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "a.txt"
    src.write_text("mail ann@x.io\n")
    monkeypatch.setenv("MLWARDEN_MASK_KEY", KEY_HEX)
    code, _, _ = _run(str(src), str(tmp_path / "b.txt"))
    assert code == 0
    assert (tmp_path / "b.txt").read_text().startswith("mail tok_")


@pytest.mark.parametrize(
    ("policy_text", "expected"),
    [
        ("version: 1\ncolumns: [{match: a, operator: shred}]\n", "policy.yaml:2"),
        (None, "MLWARDEN_MASK_KEY"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(
    tmp_path: Path,
    write_policy: Callable[[str], Path],
    policy_text: str | None,
    expected: str,
) -> None:
    src = tmp_path / "a.csv"
    src.write_text("a\n1\n")
    policy = str(write_policy(policy_text)) if policy_text else None
    code, out, err = _run(str(src), str(tmp_path / "b.csv"), policy)
    assert code == 2 and out == ""
    assert err.startswith("mlwarden: error: ") and expected in err
    assert not (tmp_path / "b.csv").exists()


def test_existing_output_needs_force(tmp_path: Path, write_policy: Callable[[str], Path]) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello\n")
    dst = tmp_path / "b.txt"
    dst.write_text("old")
    policy = str(write_policy("version: 1\ndefault_action: redact\n"))
    assert _run(str(src), str(dst), policy)[0] == 2
    assert dst.read_text() == "old"
    assert _run(str(src), str(dst), policy, force=True)[0] == 0
    assert dst.read_text() == "hello\n"


def test_unreadable_output_folder_is_a_usage_error(
    tmp_path: Path, write_policy: Callable[[str], Path]
) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello\n")
    policy = str(write_policy("version: 1\ndefault_action: redact\n"))
    code, _, err = _run(str(src), str(tmp_path / "missing" / "b.txt"), policy)
    assert code == 2 and "folder does not exist" in err
