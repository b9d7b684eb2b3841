"""Build a vault from its parts for tests (also used by the crash-test worker process)."""

from __future__ import annotations

from pathlib import Path

from database_targets import DatabaseTarget

from mlwarden.ledger.checkpoint import LedgerSigner
from mlwarden.ledger.log import Ledger
from mlwarden.store.blobs.registry import backend_from_url
from mlwarden.store.crypto.keyring_file import FileKeyring
from mlwarden.store.signing import generate_signing_key
from mlwarden.store.vault import Vault

SECRET = bytes(range(32))
LEDGER_NAME = "mlwarden.test/ledger"


def make_parts(root: Path) -> None:
    """Keyring, ledger key and model-signing key under ``root`` (once per test)."""
    root.mkdir(parents=True, exist_ok=True)
    FileKeyring.create(root / "keyring.mlwk", secret=SECRET)
    (root / "ledger.seed").write_bytes(LedgerSigner.generate(LEDGER_NAME).to_raw())
    generate_signing_key(root / "model.pem", root / "model.pub")


def open_test_vault(
    root: Path, database: DatabaseTarget, blobs: str, *, chunk_size: int = 4096
) -> Vault:
    engine = database.open()
    signer = LedgerSigner.from_raw((root / "ledger.seed").read_bytes(), LEDGER_NAME)
    return Vault(
        engine=engine,
        backend=backend_from_url(blobs),
        keys=FileKeyring.open(root / "keyring.mlwk", secret=SECRET),
        ledger=Ledger(engine, LEDGER_NAME),
        ledger_signer=signer,
        ledger_verifier=signer.verifier(),
        actor="user:test",
        chunk_size=chunk_size,
        model_key=root / "model.pem",
        model_public_key=root / "model.pub",
    )
