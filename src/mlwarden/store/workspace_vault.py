"""Make a workspace (``mlwarden init``) and open the vault it describes.

The credential that unlocks the keyring also unlocks the two private signing keys: each
is PEM-encrypted under a key derived from the keyring (``derive_key``), so one secret or
passphrase is all an operator handles.
"""

from __future__ import annotations

import base64
import os
import socket
from pathlib import Path

from mlwarden.errors import UsageError
from mlwarden.ledger.checkpoint import LedgerSigner, LedgerVerifier
from mlwarden.ledger.log import Ledger
from mlwarden.store.atomic_file import write_atomically
from mlwarden.store.blobs.registry import backend_from_url
from mlwarden.store.catalog.db import ENV_VAR as DATABASE_ENV
from mlwarden.store.catalog.db import open_database
from mlwarden.store.crypto.keyring_file import FileKeyring
from mlwarden.store.crypto.keys import KeyProvider, provider_from_config
from mlwarden.store.vault import Vault
from mlwarden.workspace import (
    CONFIG_NAME,
    LEDGER_KEY_NAME,
    LEDGER_PUB_NAME,
    MODEL_KEY_NAME,
    MODEL_PUB_NAME,
    Credential,
    WorkspaceConfig,
    load_config,
    render_config,
)

_LEDGER_PEM_PURPOSE = "workspace/ledger-signing-pem"
_MODEL_PEM_PURPOSE = "workspace/model-signing-pem"


def _pem_password(keyring: FileKeyring, purpose: str) -> bytes:
    # PEM encryption wants a password; a derived 32-byte key as base64 text is one.
    return base64.b64encode(keyring.derive_key(purpose))


def _open_keyring(cfg: WorkspaceConfig, credential: Credential) -> FileKeyring:
    return FileKeyring.open(
        cfg.keyring_path, passphrase=credential.passphrase, secret=credential.secret
    )


def init_workspace(
    root: Path,
    credential: Credential,
    *,
    database: str | None = None,
    blobs: str | None = None,
) -> WorkspaceConfig:
    """Create a workspace at ``root``: keyring, signing keys, catalog, config.

    Refuses a folder that already holds a workspace. ``database`` is a SQLAlchemy URL
    (default: SQLite inside the workspace); ``blobs`` a folder or ``s3://`` URL.
    The config is written last, so an interrupted init is not mistaken for a workspace
    (run it again after removing the folder).
    """
    if (root / CONFIG_NAME).exists():
        raise UsageError(
            str(root), "already holds an mlwarden workspace", "use it, or choose another folder"
        )
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    leftovers = [p.name for p in root.iterdir()]
    if leftovers:
        raise UsageError(
            str(root),
            f"is not empty ({', '.join(sorted(leftovers)[:5])})",
            "choose an empty or new folder (an interrupted init leaves files: remove them)",
        )
    cfg = WorkspaceConfig(
        root=root,
        database=database or os.environ.get(DATABASE_ENV) or f"sqlite:///{root / 'catalog.db'}",
        blobs=blobs or str(root / "blobs"),
        key_provider="keyring",
        key_options={},
        ledger_name=f"mlwarden/{_host()}/{os.urandom(4).hex()}",
    )
    keyring = FileKeyring.create(
        cfg.keyring_path, passphrase=credential.passphrase, secret=credential.secret
    )
    signer = LedgerSigner.generate(cfg.ledger_name)
    write_atomically(
        root / LEDGER_KEY_NAME,
        signer.to_pem(_pem_password(keyring, _LEDGER_PEM_PURPOSE)),
        mode=0o600,
        overwrite=False,
    )
    # The note-verifier key form carries the log's name with the key.
    (root / LEDGER_PUB_NAME).write_text(signer.verifier().to_vkey() + "\n", encoding="ascii")

    from mlwarden.store.signing import generate_signing_key

    generate_signing_key(
        root / MODEL_KEY_NAME,
        root / MODEL_PUB_NAME,
        _pem_password(keyring, _MODEL_PEM_PURPOSE),
    )
    if cfg.blobs == str(root / "blobs"):
        (root / "blobs").mkdir(mode=0o700)
    engine = open_database(cfg.database)
    engine.dispose()
    backend_from_url(cfg.blobs)  # fail now, not on first put, if the URL is wrong
    (root / CONFIG_NAME).write_text(render_config(cfg), encoding="utf-8")
    vault = open_vault(root, credential, config=cfg)
    try:
        vault.audit(
            "workspace.init",
            "allow",
            None,
            {"keyring": keyring.key_id, "ledger_key": f"{signer.key_id:08x}"},
        )
    finally:
        vault.close()
    return cfg


def _host() -> str:
    name = socket.gethostname().split(".")[0].lower()
    cleaned = "".join(c for c in name if c.isalnum() or c == "-")
    return cleaned or "host"


def open_keys(cfg: WorkspaceConfig, credential: Credential) -> tuple[KeyProvider, FileKeyring]:
    """The configured key provider, and the keyring (which also protects signing keys)."""
    keyring = _open_keyring(cfg, credential)
    if cfg.key_provider == "keyring":
        return keyring, keyring
    return provider_from_config(cfg.key_provider, **cfg.key_options), keyring


def open_vault(
    root: Path,
    credential: Credential,
    *,
    config: WorkspaceConfig | None = None,
    actor: str | None = None,
) -> Vault:
    """Open the vault of the workspace at ``root`` (close it with :meth:`Vault.close`)."""
    cfg = config or load_config(root)
    keys, keyring = open_keys(cfg, credential)
    try:
        signer = LedgerSigner.from_pem(
            (root / LEDGER_KEY_NAME).read_bytes(),
            cfg.ledger_name,
            _pem_password(keyring, _LEDGER_PEM_PURPOSE),
        )
    except (OSError, ValueError) as exc:
        raise UsageError(
            str(root / LEDGER_KEY_NAME),
            f"cannot be read with this workspace's keyring ({exc})",
            "restore the file from a backup of the workspace",
        ) from None
    engine = open_database(database_url(cfg))
    return Vault(
        engine=engine,
        backend=backend_from_url(cfg.blobs),
        keys=keys,
        ledger=Ledger(engine, cfg.ledger_name),
        ledger_signer=signer,
        ledger_verifier=signer.verifier(),
        actor=actor,
        chunk_size=cfg.chunk_size,
        model_key=root / MODEL_KEY_NAME,
        model_key_passphrase=_pem_password(keyring, _MODEL_PEM_PURPOSE),
        model_public_key=root / MODEL_PUB_NAME,
        require_signatures=cfg.require_signatures,
    )


def database_url(cfg: WorkspaceConfig) -> str:
    """The catalog database: ``MLWARDEN_DATABASE_URL`` when set, else the workspace's."""
    return os.environ.get(DATABASE_ENV) or cfg.database


def load_verifier(path: Path, name: str | None = None) -> LedgerVerifier:
    """A ledger public key for offline verification: ``ledger.pub`` (a note verifier key,
    which names the log) or an Ed25519 PEM public key plus the log's ``name``."""
    try:
        data = path.read_bytes()[:65536]
    except OSError as exc:
        raise UsageError(str(path), f"cannot be read ({exc.strerror})", "check the path") from None
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            if name is None:
                raise ValueError("a PEM key needs the ledger's name (--name)")
            return LedgerVerifier.from_pem(data, name)
        return LedgerVerifier.from_vkey(data.decode("ascii").strip())
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(
            str(path), f"is not a ledger public key ({exc})", "pass the workspace's ledger.pub"
        ) from None
