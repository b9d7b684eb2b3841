"""The workspace: where a vault's keyring, catalog database, blobs and signing keys live.

``mlwarden init`` makes one at ``$MLWARDEN_HOME`` (default ``~/.mlwarden``)::

    config.toml            where the database and blobs are, which key provider
    keyring.mlwk           KEK versions, sealed by a passphrase or a secret
    catalog.db             SQLite catalog and ledger (unless database points elsewhere)
    blobs/                 encrypted blobs (unless blobs points elsewhere)
    ledger-signing.pem     Ed25519 key that signs ledger checkpoints (encrypted)
    ledger.pub             its public key: give it to auditors for `mlwarden ledger verify`
    model-signing.pem      key for OpenSSF model signatures (encrypted)
    model-signing.pub      its public key, for others' verifiers

The keyring is unlocked with ``MLWARDEN_KEYRING_SECRET`` (32 random bytes, hex or base64)
or a passphrase (``MLWARDEN_PASSPHRASE`` or a prompt). Private signing keys are encrypted
under keys derived from the keyring, so the keyring's credential unlocks everything.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlwarden.errors import ConfigError, UsageError

HOME_ENV = "MLWARDEN_HOME"
PASSPHRASE_ENV = "MLWARDEN_PASSPHRASE"
CONFIG_NAME = "config.toml"
KEYRING_NAME = "keyring.mlwk"
LEDGER_KEY_NAME = "ledger-signing.pem"
LEDGER_PUB_NAME = "ledger.pub"
MODEL_KEY_NAME = "model-signing.pem"
MODEL_PUB_NAME = "model-signing.pub"
_MAX_CONFIG_BYTES = 1 << 20
_FORMAT_VERSION = 1


def default_home() -> Path:
    """``$MLWARDEN_HOME``, or ``~/.mlwarden``."""
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else Path.home() / ".mlwarden"


@dataclass(frozen=True)
class WorkspaceConfig:
    """What ``config.toml`` says (paths already resolved against the workspace)."""

    root: Path
    database: str
    """SQLAlchemy URL of the catalog; ``MLWARDEN_DATABASE_URL`` overrides it at open."""
    blobs: str
    """Blob backend URL: a folder path, ``file:///...`` or ``s3://bucket/prefix?...``."""
    key_provider: str
    """``keyring`` (default) or ``vault-transit``."""
    key_options: dict[str, str]
    """Provider options (``url``, ``mount``, ``key`` for Vault transit)."""
    ledger_name: str
    """Origin line of ledger checkpoints, e.g. ``mlwarden/<host>/<workspace id>``."""
    chunk_size: int = 1 << 20
    require_signatures: bool = False
    """Refuse ``store get`` of artifacts whose signature does not verify."""

    @property
    def keyring_path(self) -> Path:
        return self.root / KEYRING_NAME

    def path(self, name: str) -> Path:
        return self.root / name


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_config(cfg: WorkspaceConfig) -> str:
    """The ``config.toml`` text for ``cfg`` (database and blob paths inside the workspace
    are written relative to it so the folder can be moved)."""

    def rel(url: str) -> str:
        return (
            url.replace(str(cfg.root) + os.sep, "./", 1) if url.startswith(str(cfg.root)) else url
        )

    lines = [
        "# mlwarden workspace; see `mlwarden init --help`.",
        "[workspace]",
        f"format = {_FORMAT_VERSION}",
        f"ledger_name = {_toml_str(cfg.ledger_name)}",
        "",
        "[store]",
        "# SQLAlchemy URL; MLWARDEN_DATABASE_URL overrides it.",
        f"database = {_toml_str(cfg.database)}",
        "# A folder, or s3://bucket/prefix?endpoint=https://host:port&region=...",
        f"blobs = {_toml_str(rel(cfg.blobs))}",
        f"chunk_size = {cfg.chunk_size}",
        "# Refuse to hand out artifacts whose signature does not verify.",
        f"require_signatures = {'true' if cfg.require_signatures else 'false'}",
        "",
        "[keys]",
        "# keyring (local sealed file) or vault-transit (options below).",
        f"provider = {_toml_str(cfg.key_provider)}",
    ]
    for key, value in sorted(cfg.key_options.items()):
        lines.append(f"{key} = {_toml_str(value)}")
    return "\n".join(lines) + "\n"


def load_config(root: Path) -> WorkspaceConfig:
    """Read ``root/config.toml``; a clear error when the workspace does not exist."""
    path = root / CONFIG_NAME
    if not path.is_file():
        raise UsageError(
            str(root),
            "is not an mlwarden workspace (no config.toml)",
            f"run `mlwarden init` (or set {HOME_ENV} to an existing workspace)",
        )
    raw = path.read_bytes()[: _MAX_CONFIG_BYTES + 1]
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(str(path), "is larger than 1 MiB", "restore it from `mlwarden init`")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), f"is not valid TOML ({exc})", "fix the syntax") from None

    def table(name: str) -> dict[str, object]:
        value = doc.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(str(path), f"[{name}] must be a table", "fix the file")
        return value

    def text(tbl: dict[str, object], key: str, section: str, default: str | None = None) -> str:
        value = tbl.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(str(path), f"[{section}] {key} must be a non-empty string", "fix it")
        return value

    ws, store, keys = table("workspace"), table("store"), table("keys")
    if ws.get("format") != _FORMAT_VERSION:
        raise ConfigError(
            str(path),
            f"has workspace format {ws.get('format')!r}, this mlwarden reads {_FORMAT_VERSION}",
            "use the mlwarden version that made the workspace",
        )
    blobs = text(store, "blobs", "store")
    if blobs.startswith("./"):
        blobs = str(root / blobs[2:])
    database = text(store, "database", "store")
    database = database.replace("sqlite:///./", f"sqlite:///{root}/", 1)
    chunk_size = store.get("chunk_size", 1 << 20)
    if not isinstance(chunk_size, int) or not (4096 <= chunk_size <= 64 << 20):
        raise ConfigError(
            str(path), "[store] chunk_size must be an integer from 4096 to 67108864", "fix it"
        )
    require = store.get("require_signatures", False)
    if not isinstance(require, bool):
        raise ConfigError(str(path), "[store] require_signatures must be true or false", "fix it")
    options = {k: v for k, v in keys.items() if k != "provider" and isinstance(v, str)}
    return WorkspaceConfig(
        root=root,
        database=database,
        blobs=blobs,
        key_provider=text(keys, "provider", "keys", "keyring"),
        key_options=options,
        ledger_name=text(ws, "ledger_name", "workspace"),
        chunk_size=chunk_size,
        require_signatures=require,
    )


PassphrasePrompt = Callable[[bool], str]
"""Asks the user for a passphrase; the argument says whether to ask twice (a new one)."""


@dataclass(frozen=True)
class Credential:
    """How to unlock the keyring: exactly one of a passphrase or a 32-byte secret."""

    passphrase: str | None = None
    secret: bytes | None = None


def credential_from_environment(prompt: PassphrasePrompt | None, *, new: bool) -> Credential:
    """The keyring credential from ``MLWARDEN_KEYRING_SECRET``, ``MLWARDEN_PASSPHRASE`` or
    ``prompt``, in that order; a clear error when none is available."""
    from mlwarden.store.crypto import keyring_seal

    text = os.environ.get(keyring_seal.SECRET_ENV)
    if text:
        return Credential(secret=keyring_seal.parse_secret(text, keyring_seal.SECRET_ENV))
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase:
        return Credential(passphrase=passphrase)
    if prompt is not None:
        return Credential(passphrase=prompt(new))
    raise UsageError(
        "keyring",
        "no credential to unlock it",
        f"set {keyring_seal.SECRET_ENV} (32 random bytes, hex) or {PASSPHRASE_ENV}, "
        "or run in a terminal to be asked",
    )
