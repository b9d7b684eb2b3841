"""kill -9 at random points never leaves a half-written artifact or a dangling catalog row."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from database_targets import DatabaseTarget
from vault_fixtures import make_parts, open_test_vault

HERE = Path(__file__).parent
ROUNDS = 8


def _run_and_kill(root: Path, url: str, blobs: str, seed: int, delay: float) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])}
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "vault_crash_worker.py"), str(root), url, blobs, str(seed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    # The worker must have been killed, not have failed on its own.
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")[-2000:]


def test_kill_minus_nine_at_random_points(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    make_parts(tmp_path / "keys")
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    blobs = str(tmp_path / "blobs")
    target = DatabaseTarget("sqlite", url, None)
    target.open().dispose()
    for round_ in range(ROUNDS):
        _run_and_kill(tmp_path, url, blobs, seed=round_, delay=rng.uniform(0.8, 2.5))
        with open_test_vault(tmp_path / "keys", target, blobs) as vault:
            # Every live artifact decrypts and matches its digest.
            outcomes = vault.verify()
            assert all(o.ok for o in outcomes), [o.problem for o in outcomes if not o.ok]
            # Finish an interrupted rewrap: everything stays readable.
            vault.rewrap()
            # The ledger is intact (entries after the last checkpoint are only a warning).
            report = vault.ledger.verify(vault.verifier)
            assert report.ok, report.summary()
            # Objects left by a put killed before its catalog row are the only garbage.
            vault.collect_garbage(older_than=timedelta(0))
            referenced = vault.catalog.backend_keys()
            assert set(vault.backend.iter_keys()) <= referenced
            for record in vault.catalog.list_artifacts():
                blob = vault.catalog.get_blob(record.digest)
                assert blob is not None and vault.backend.exists(blob.backend_key)
    # Outputs of gets are complete files or absent; only hidden temp files may be left over.
    with open_test_vault(tmp_path / "keys", target, blobs) as vault:
        digests = {r.digest for r in vault.catalog.list_artifacts(include_deleted=True)}
    for path in (tmp_path / "out").iterdir():
        if path.name.startswith("."):
            assert path.name.endswith(".part")
            continue
        assert hashlib.sha256(path.read_bytes()).hexdigest() in digests
