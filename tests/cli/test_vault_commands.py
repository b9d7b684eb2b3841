"""The vault's command line as a user runs it: init, store, keys, sign, ledger; exit codes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SECRET_HEX = "11" * 32


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWARDEN_")}
    env.update({"MLWARDEN_HOME": str(home), "MLWARDEN_KEYRING_SECRET": SECRET_HEX}, **extra)
    return env


def run(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from mlwarden.cli import main; main()", *args],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    result = run(root, "init")
    assert result.returncode == 0, result.stderr
    assert f"Workspace created at {root}" in result.stdout
    return root


def test_put_get_round_trip_and_listing(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(70_000))
    put = run(home, "store", "put", str(src), "--name", "team/model", "--kind", "model")
    assert put.returncode == 0, put.stderr
    assert "stored team/model:1" in put.stdout
    out = tmp_path / "back.bin"
    get = run(home, "store", "get", "team/model", "-o", str(out))
    assert get.returncode == 0, get.stderr
    assert out.read_bytes() == src.read_bytes()
    listing = run(home, "store", "ls", "--json")
    assert '"name": "team/model"' in listing.stdout
    assert run(home, "store", "verify").returncode == 0
    assert run(home, "ledger", "verify").returncode == 0


def test_tampered_blob_fails_verify_and_get(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    src.write_bytes(b"a,b\n" * 5000)
    assert run(home, "store", "put", str(src), "--name", "ds").returncode == 0
    [blob] = [p for p in (home / "blobs").rglob("*") if p.is_file()]
    data = bytearray(blob.read_bytes())
    data[200] ^= 0x20
    blob.write_bytes(bytes(data))
    verify = run(home, "store", "verify")
    assert verify.returncode == 1
    assert "FAILED" in verify.stdout
    get = run(home, "store", "get", "ds", "-o", str(tmp_path / "out.csv"))
    assert get.returncode == 2
    assert get.stderr.startswith("mlwarden: error:")
    assert not (tmp_path / "out.csv").exists()


def test_rotation_via_the_cli(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x" * 100)
    assert run(home, "store", "put", str(src), "--name", "f").returncode == 0
    assert run(home, "keys", "rotate").returncode == 0
    retire_early = run(home, "keys", "retire", "1")
    assert retire_early.returncode == 2 and "rewrap" in retire_early.stderr
    assert run(home, "keys", "rewrap").returncode == 0
    assert run(home, "keys", "retire", "1").returncode == 0
    assert run(home, "store", "get", "f", "-o", str(tmp_path / "g")).returncode == 0
    listing = run(home, "keys", "list", "--json")
    assert '"state": "retired"' in listing.stdout


def test_sign_and_verify(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "m.bin"
    src.write_bytes(b"weights" * 10)
    assert run(home, "store", "put", str(src), "--name", "m").returncode == 0
    assert run(home, "verify", "m").returncode == 1  # unsigned
    assert run(home, "sign", "m").returncode == 0
    verified = run(home, "verify", "m")
    assert verified.returncode == 0 and "verified" in verified.stdout


def test_tampered_ledger_fails_offline_verification(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x")
    for name in ("a", "b", "c"):
        assert run(home, "store", "put", str(src), "--name", name).returncode == 0
    with sqlite3.connect(home / "catalog.db") as db:
        db.execute("UPDATE ledger_entries SET body = replace(body, 'user:', 'usr:') WHERE seq = 2")
    result = run(home, "ledger", "verify", "--json")
    assert result.returncode == 1
    assert '"first_bad_seq": 2' in result.stdout


def test_usage_errors_exit_2(tmp_path: Path, home: Path) -> None:
    missing = run(tmp_path / "nowhere", "store", "ls")
    assert missing.returncode == 2 and "mlwarden init" in missing.stderr
    again = run(home, "init")
    assert again.returncode == 2 and "already holds" in again.stderr
    wrong = run(home, "store", "ls", MLWARDEN_KEYRING_SECRET="22" * 32)
    assert wrong.returncode == 2 and "wrong passphrase or secret" in wrong.stderr
    nothing = run(home, "store", "get", "nope", "-o", str(tmp_path / "x"))
    assert nothing.returncode == 2
    assert "Traceback" not in missing.stderr + again.stderr + wrong.stderr + nothing.stderr


def test_mask_key_derived_from_the_workspace_is_stable(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "people.csv"
    src.write_text("email\nann@example.com\n")
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for out in outs:
        result = run(home, "mask", str(src), "-o", str(out))
        assert result.returncode == 0, result.stderr
    assert outs[0].read_text() == outs[1].read_text()
    assert "ann@example.com" not in outs[0].read_text()
    assert run(home, "keys", "rotate").returncode == 0  # KEK rotation keeps pseudonyms
    result = run(home, "mask", str(src), "-o", str(tmp_path / "c.csv"))
    assert result.returncode == 0
    assert (tmp_path / "c.csv").read_text() == outs[0].read_text()


def test_python_api_opens_the_workspace(home: Path, tmp_path: Path) -> None:
    import mlwarden

    src = tmp_path / "f.bin"
    src.write_bytes(b"payload")
    with mlwarden.open_vault(home, secret=bytes.fromhex(SECRET_HEX)) as vault:
        record = vault.put(src, "api/f")
        vault.get("api/f", tmp_path / "back.bin")
        assert vault.ledger.verify(vault.verifier).ok
    assert record.reference == "api/f:1"
    assert (tmp_path / "back.bin").read_bytes() == b"payload"


def test_gc_removes_objects_left_by_an_interrupted_put(home: Path) -> None:
    orphan_key = "ab" * 32
    orphan = home / "blobs" / orphan_key[:2] / orphan_key[2:4] / orphan_key
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"ciphertext nobody catalogued")
    result = run(home, "store", "gc", "--older-than-hours", "0")
    assert result.returncode == 0, result.stderr
    assert "removed 1" in result.stdout
    assert not orphan.exists()
