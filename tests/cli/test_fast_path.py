"""The typer-free fast path accepts exactly the plain scan invocations and behaves the same."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from mlwarden.cli.fast_path import parse_scan_argv


@pytest.mark.parametrize(
    "argv",
    [
        ["scan"],
        ["--help"],
        ["scan", "--help"],
        ["scan", "a.pt", "--unknown"],
        ["scan", "a.pt", "--format"],
        ["scan", "a.pt", "--format", "json", "--format", "sarif"],
        ["scan", "a.pt", "--timeout", "soon"],
        ["rules"],
    ],
)
def test_anything_unusual_goes_to_typer(argv: list[str]) -> None:
    assert parse_scan_argv(argv) is None


def test_plain_invocations_are_parsed() -> None:
    options = parse_scan_argv(
        ["scan", "a.pt", "-", "-f", "json", "--fail-on=medium", "--allow-global", "x.y",
         "--allow-global=p.*", "-o", "r.json", "--timeout", "5", "--digest", "--no-progress"]
    )  # fmt: skip
    assert options == {
        "paths": ["a.pt", "-"],
        "format": "json",
        "fail_on": "medium",
        "allow_global": ["x.y", "p.*"],
        "output": Path("r.json"),
        "timeout": 5.0,
        "digest": True,
        "progress": False,
    }


def test_both_paths_print_the_same_report(tmp_path: Path) -> None:
    target = tmp_path / "m.pkl"
    target.write_bytes(pickle.dumps({"a": 1}))
    script = Path(sys.executable).with_name("mlwarden")
    fast = subprocess.run([script, "scan", str(target), "--fail-on", "low"], capture_output=True)
    # The same arguments through the typer application itself.
    via_typer = subprocess.run(
        [sys.executable, "-c", "from mlwarden.cli.app import app; app()", "scan", str(target),
         "--fail-on", "low"],
        capture_output=True,
    )  # fmt: skip
    assert fast.returncode == via_typer.returncode == 0

    def strip(out: bytes) -> bytes:
        return out.split(b" scanned in ")[0]

    assert strip(fast.stdout) == strip(via_typer.stdout)
