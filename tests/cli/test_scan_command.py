"""The `mlwarden` command as a user runs it: exit codes, formats, errors, stdin, output files."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import types
from pathlib import Path

import pytest

MLWARDEN = str(Path(sys.executable).with_name("mlwarden"))


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def run(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [MLWARDEN, *args], input=stdin, capture_output=True, timeout=120, cwd=cwd, check=False
    )


def _custom_class_pickle() -> bytes:
    """A pickle of a class from the user's own package `my_project` (absent at scan time)."""
    module = types.ModuleType("my_project")
    net = type("Net", (), {"__module__": "my_project"})
    module.Net = net  # type: ignore[attr-defined]
    sys.modules["my_project"] = module
    try:
        return pickle.dumps(net(), protocol=4)
    finally:
        del sys.modules["my_project"]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    clean = tmp_path / "clean.pkl"
    clean.write_bytes(pickle.dumps({"weights": [1.0, 2.0], "name": "m"}))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Payload(tmp_path / "MARKER")))
    custom = tmp_path / "custom.pkl"
    custom.write_bytes(_custom_class_pickle())
    return {"clean": clean, "evil": evil, "custom": custom}


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.decode().startswith("mlwarden ")


def test_exit_codes_follow_fail_on(files: dict[str, Path]) -> None:
    assert run("scan", str(files["clean"])).returncode == 0
    evil = run("scan", str(files["evil"]))
    assert evil.returncode == 1
    assert b"MLW-PKL-001" in evil.stdout
    # The unknown class is medium: below the default threshold, above --fail-on medium.
    assert run("scan", str(files["custom"])).returncode == 0
    assert run("scan", str(files["custom"]), "--fail-on", "medium").returncode == 1
    assert not (files["evil"].parent / "MARKER").exists()


def test_usage_errors_exit_2_and_name_the_problem(files: dict[str, Path], tmp_path: Path) -> None:
    missing = run("scan", str(tmp_path / "nope.pt"))
    assert missing.returncode == 2
    assert b"nope.pt" in missing.stderr and b"no such file" in missing.stderr
    assert run("scan", str(files["clean"]), "--format", "xml").returncode == 2
    bad = run("scan", str(files["clean"]), "--fail-on", "severe")
    assert bad.returncode == 2 and b"--fail-on" in bad.stderr
    config = tmp_path / "bad.toml"
    config.write_text("[scan]\nallow_globals = 'os.system'\n")
    out = run("scan", str(files["clean"]), "--config", str(config))
    assert out.returncode == 2 and b"bad.toml" in out.stderr and b"allow_globals" in out.stderr


def test_config_allowlist_extends_the_policy(files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "mlwarden.toml").write_text('[scan]\nfail_on = "medium"\n')
    assert run("scan", str(files["custom"]), cwd=tmp_path).returncode == 1
    (tmp_path / "mlwarden.toml").write_text(
        '[scan]\nfail_on = "medium"\nallow_globals = ["my_project.*"]\n'
    )
    assert run("scan", str(files["custom"]), cwd=tmp_path).returncode == 0
    assert run("scan", str(files["custom"]), "--fail-on", "medium",
               "--allow-global", "my_project.Net").returncode == 0  # fmt: skip


def test_stdin_and_json_output_file(files: dict[str, Path], tmp_path: Path) -> None:
    out = run("scan", "-", "--format", "json", stdin=files["evil"].read_bytes())
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["files"][0]["path"] == "-"
    assert report["summary"]["verdict"] == "fail"
    target = tmp_path / "report.sarif"
    written = run("scan", str(files["evil"]), "--format", "sarif", "-o", str(target))
    assert written.returncode == 1 and written.stdout == b""
    assert json.loads(target.read_text())["version"] == "2.1.0"
    assert not list(tmp_path.glob(".report.sarif.*"))  # no temporary file left behind


def test_folder_scan_and_unreadable_file(files: dict[str, Path], tmp_path: Path) -> None:
    locked = tmp_path / "locked.pkl"
    locked.write_bytes(b"\x80\x04N.")
    locked.chmod(0)
    try:
        out = run("scan", str(tmp_path), "--format", "json")
    finally:
        locked.chmod(0o600)
    report = json.loads(out.stdout)
    paths = {f["path"] for f in report["files"]}
    assert {str(p) for p in files.values()} <= paths
    if os.geteuid() != 0:  # root reads any file
        locked_result = next(f for f in report["files"] if f["path"] == str(locked))
        assert locked_result["status"] == "error"


def test_rules_command_lists_stable_ids() -> None:
    out = run("rules", "--format", "json")
    assert out.returncode == 0
    ids = [r["id"] for r in json.loads(out.stdout)]
    assert "MLW-PKL-001" in ids and len(ids) == len(set(ids))
