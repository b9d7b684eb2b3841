"""The default key provider: a local keyring file of versioned 32-byte KEKs.

The file is sealed (see :mod:`mlwarden.store.crypto.keyring_seal`) under a passphrase
(Argon2id) or a 32-byte secret from ``MLWARDEN_KEYRING_SECRET`` (HKDF); it never holds a
key in the clear, is written atomically with mode 0600, and is refused when other users
can read it. Besides the KEKs it holds a *derivation secret*, made once with the keyring
and never rotated, from which :meth:`FileKeyring.derive_key` derives stable keys for other
parts of mlwarden (e.g. deterministic pseudonymisation) that must not change on rotation.

Every operation re-reads the file (a few KiB) and picks up changes made by other processes;
changes take an exclusive lock and re-read before writing, so concurrent rotations never
lose a version. Losing the file or its passphrase loses every blob it protects: back it up.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mlwarden.errors import UsageError
from mlwarden.store.crypto import keyring_seal
from mlwarden.store.crypto.envelope import DEK_SIZE, IntegrityError
from mlwarden.store.crypto.keyring_seal import Argon2Params, SealParams
from mlwarden.store.crypto.keys import (
    KEY_STATES,
    KeyState,
    KeyUnavailableError,
    KeyVersion,
    WrappedKey,
)
from mlwarden.store.crypto.private_file import exclusive_lock, read_private, write_private

PROVIDER_NAME: Final = "keyring"
KEK_SIZE: Final = 32
MAX_VERSIONS: Final = 10_000

_NONCE_SIZE = 12
_WRAPPED_SIZE = _NONCE_SIZE + DEK_SIZE + 16
_WRAP_CONTEXT = b"mlwarden.keyring-wrap/v1"
_DERIVE_CONTEXT = b"mlwarden.keyring-derive/v1"
_VERSION_RE = re.compile(r"[1-9][0-9]{0,8}")
_PURPOSE_MAX = 256


@dataclass(frozen=True)
class _Version:
    version: str
    created_at: datetime
    state: KeyState
    key: bytes | None
    """None once retired: the key material is gone from the file."""


@dataclass(frozen=True)
class _Contents:
    """The sealed document: what only the passphrase or secret opens."""

    created_at: datetime
    derivation_secret: bytes
    versions: tuple[_Version, ...]

    def current(self) -> _Version:
        return next(v for v in self.versions if v.state == "active")

    def find(self, version: str) -> _Version | None:
        return next((v for v in self.versions if v.version == version), None)


@dataclass(frozen=True)
class KeyringInfo:
    """What ``mlwarden keys list`` shows about a keyring: no key material, no salt."""

    path: str
    provider: str
    key_id: str
    created_at: datetime
    kdf: dict[str, Any]
    """The KDF's name and cost parameters."""
    versions: tuple[KeyVersion, ...]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (timestamps in ISO 8601)."""
        return {
            "path": self.path,
            "provider": self.provider,
            "key_id": self.key_id,
            "created_at": self.created_at.isoformat(),
            "kdf": dict(self.kdf),
            "versions": [
                {
                    "version": v.version,
                    "created_at": v.created_at.isoformat() if v.created_at else None,
                    "state": v.state,
                }
                for v in self.versions
            ],
        }


class FileKeyring:
    """A :class:`~mlwarden.store.crypto.keys.KeyProvider` backed by a sealed local file.

    Make one with :meth:`create` or :meth:`open`, each with exactly one of ``passphrase``
    or ``secret`` (32 bytes; see :func:`keyring_seal.secret_from_environment`).
    """

    name: Final = PROVIDER_NAME

    def __init__(
        self,
        path: Path,
        key_id: str,
        params: SealParams,
        seal_key: bytes,
        contents: _Contents,
        raw: bytes,
    ) -> None:
        """Internal: use :meth:`create` or :meth:`open`."""
        self._path = path
        self._key_id = key_id
        self._params = params
        self._seal_key = seal_key
        self._contents = contents
        self._raw = raw

    # -- making and opening ---------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        secret: bytes | None = None,
        argon2: Argon2Params | None = None,
    ) -> FileKeyring:
        """Create a keyring at ``path`` holding KEK version 1 and a derivation secret.

        Refuses to overwrite an existing file. ``argon2`` sets the Argon2id costs for a
        passphrase (default :class:`Argon2Params`); it is ignored for a secret. Passphrases
        shorter than 12 characters are refused.
        """
        target = Path(path)
        if passphrase is not None:
            keyring_seal.check_new_passphrase(passphrase, target)
        params = SealParams.fresh(
            None if passphrase is None else (argon2 if argon2 is not None else Argon2Params())
        )
        seal_key = keyring_seal.derive_seal_key(
            params, passphrase=passphrase, secret=secret, subject=str(target)
        )
        now = _now()
        contents = _Contents(
            created_at=now,
            derivation_secret=os.urandom(32),
            versions=(_Version("1", now, "active", AESGCM.generate_key(bit_length=256)),),
        )
        key_id = "kr-" + os.urandom(8).hex()
        raw = keyring_seal.seal(key_id, params, seal_key, _dump(contents))
        write_private(target, raw, replace=False)
        return cls(target, key_id, params, seal_key, contents, raw)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        secret: bytes | None = None,
    ) -> FileKeyring:
        """Open the keyring at ``path``.

        Raises :class:`~mlwarden.errors.UsageError` naming the file when it is missing,
        readable by other users, not a keyring, damaged, or the credential is wrong.
        """
        target = Path(path)
        subject = str(target)
        raw = read_private(target, max_bytes=keyring_seal.MAX_FILE_BYTES, what="keyring")
        sealed = keyring_seal.parse(raw, subject)
        seal_key = keyring_seal.derive_seal_key(
            sealed.params, passphrase=passphrase, secret=secret, subject=subject
        )
        contents = _load(keyring_seal.unseal(sealed, seal_key, subject), subject)
        return cls(target, sealed.key_id, sealed.params, seal_key, contents, raw)

    def reseal(
        self,
        *,
        passphrase: str | None = None,
        secret: bytes | None = None,
        argon2: Argon2Params | None = None,
    ) -> None:
        """Seal the keyring under a new passphrase or secret (or stronger Argon2id costs).

        Keys and versions are unchanged. Other processes that have it open must open it
        again with the new credential.
        """
        if passphrase is not None:
            keyring_seal.check_new_passphrase(passphrase, self._path)
        params = SealParams.fresh(
            None if passphrase is None else (argon2 if argon2 is not None else Argon2Params())
        )
        seal_key = keyring_seal.derive_seal_key(
            params, passphrase=passphrase, secret=secret, subject=str(self._path)
        )
        with exclusive_lock(self._path):
            self._refresh()
            self._params, self._seal_key = params, seal_key
            self._write(self._contents)

    # -- KeyProvider ----------------------------------------------------------------------

    @property
    def key_id(self) -> str:
        """A random id made with the keyring (``kr-`` and 16 hex digits)."""
        return self._key_id

    @property
    def path(self) -> Path:
        return self._path

    def wrap(self, dek: bytes, aad: bytes) -> WrappedKey:
        """Encrypt ``dek`` under the current KEK with AES-256-GCM, bound to ``aad``.

        The ciphertext is a random 12-byte nonce followed by the sealed key and its tag.
        """
        if len(dek) != DEK_SIZE:
            raise ValueError(f"a data key must be {DEK_SIZE} bytes, got {len(dek)}")
        self._refresh()
        current = self._contents.current()
        assert current.key is not None  # the active version always has its key
        nonce = os.urandom(_NONCE_SIZE)
        sealed = AESGCM(current.key).encrypt(nonce, dek, self._wrap_aad(current.version, aad))
        return WrappedKey(PROVIDER_NAME, self._key_id, current.version, nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        """The data key in ``wrapped``, if ``aad`` is the one it was wrapped with.

        Raises :class:`IntegrityError` for a different ``aad`` or an altered ciphertext and
        :class:`KeyUnavailableError` for another keyring or a retired or unknown version.
        """
        subject = f"keyring {self._path}"
        if wrapped.provider != PROVIDER_NAME or wrapped.key_id != self._key_id:
            raise KeyUnavailableError(
                subject,
                f"the data key was wrapped by {wrapped.provider} key {wrapped.key_id!r}, "
                f"not by this keyring ({self._key_id})",
                "open the keyring or key provider that wrapped it",
            )
        self._refresh()
        entry = self._contents.find(wrapped.version)
        if entry is None:
            raise KeyUnavailableError(
                subject,
                f"has no key version {wrapped.version!r}",
                "the keyring file may be an old backup; use the current one",
            )
        if entry.key is None:
            raise KeyUnavailableError(
                subject,
                f"key version {entry.version} is retired and its key material destroyed, "
                "so this data key can no longer be unwrapped",
                "the blob is crypto-shredded; restore it from another copy if one exists",
            )
        if len(wrapped.ciphertext) != _WRAPPED_SIZE:
            raise IntegrityError(subject, "the wrapped data key has the wrong length")
        nonce, sealed = wrapped.ciphertext[:_NONCE_SIZE], wrapped.ciphertext[_NONCE_SIZE:]
        try:
            return AESGCM(entry.key).decrypt(nonce, sealed, self._wrap_aad(entry.version, aad))
        except InvalidTag:
            raise IntegrityError(
                subject,
                f"the data key wrapped under version {entry.version} does not authenticate "
                "for this blob",
            ) from None

    def rotate(self) -> KeyVersion:
        """Add a new KEK version and make it current; the previous one becomes decrypt-only.

        Keys wrapped earlier still unwrap; rewrap them before retiring old versions.
        """
        with exclusive_lock(self._path):
            self._refresh()
            versions = self._contents.versions
            if len(versions) >= MAX_VERSIONS:
                raise UsageError(
                    str(self._path),
                    f"already holds {MAX_VERSIONS} key versions",
                    "create a new keyring and rewrap the data keys into it",
                )
            number = str(max(int(v.version) for v in versions) + 1)
            new = _Version(number, _now(), "active", AESGCM.generate_key(bit_length=256))
            demoted = tuple(
                replace(v, state="decrypt-only") if v.state == "active" else v for v in versions
            )
            self._write(replace(self._contents, versions=(*demoted, new)))
        return _public(new)

    def versions(self) -> list[KeyVersion]:
        """Every version, oldest first, retired ones included."""
        self._refresh()
        return [_public(v) for v in self._contents.versions]

    def retire(self, version: str) -> None:
        """Delete the key material of ``version``; it stays listed as retired.

        Every data key still wrapped under it becomes unrecoverable (crypto-shredded), so
        rewrap them first. Refuses the current version; retiring a retired one does nothing.
        """
        with exclusive_lock(self._path):
            self._refresh()
            entry = self._contents.find(version)
            if entry is None:
                raise UsageError(
                    str(self._path),
                    f"has no key version {version!r}",
                    "list the versions and pick one of them",
                )
            if entry.state == "active":
                raise UsageError(
                    str(self._path),
                    f"key version {version} is the current one and cannot be retired",
                    "rotate first, rewrap the data keys wrapped under it, then retire it",
                )
            if entry.state == "retired":
                return
            versions = tuple(
                replace(v, state="retired", key=None) if v.version == version else v
                for v in self._contents.versions
            )
            self._write(replace(self._contents, versions=versions))

    # -- beyond the protocol --------------------------------------------------------------

    def derive_key(self, purpose: str, length: int = 32) -> bytes:
        """A key for ``purpose`` (e.g. ``"masking/pseudonym"``), from the derivation secret.

        The same keyring, purpose and length always give the same key, across opens and KEK
        rotations; different purposes or lengths give unrelated keys (HKDF-SHA256).
        """
        if not purpose or len(purpose) > _PURPOSE_MAX:
            raise ValueError(f"purpose must be 1 to {_PURPOSE_MAX} characters")
        if not 16 <= length <= 1024:
            raise ValueError(f"length must be 16 to 1024 bytes, got {length}")
        info = b"\x00".join((_DERIVE_CONTEXT, purpose.encode("utf-8"), str(length).encode()))
        return HKDF(hashes.SHA256(), length, salt=None, info=info).derive(
            self._contents.derivation_secret
        )

    def export_public_info(self) -> KeyringInfo:
        """The keyring's id, KDF and versions, without any secret."""
        self._refresh()
        return KeyringInfo(
            path=str(self._path),
            provider=PROVIDER_NAME,
            key_id=self._key_id,
            created_at=self._contents.created_at,
            kdf=self._params.public_json(),
            versions=tuple(_public(v) for v in self._contents.versions),
        )

    # -- internals ------------------------------------------------------------------------

    def _wrap_aad(self, version: str, aad: bytes) -> bytes:
        # The keyring id and version are bound too, so a ciphertext cannot be relabelled.
        return (
            b"\x00".join(
                (
                    _WRAP_CONTEXT,
                    self._key_id.encode(),
                    version.encode(),
                    len(aad).to_bytes(8, "big"),
                )
            )
            + aad
        )

    def _refresh(self) -> None:
        """Re-read the file and adopt another process's changes, if any."""
        subject = str(self._path)
        raw = read_private(self._path, max_bytes=keyring_seal.MAX_FILE_BYTES, what="keyring")
        if raw == self._raw:
            return
        sealed = keyring_seal.parse(raw, subject)
        if sealed.key_id != self._key_id:
            raise UsageError(
                subject,
                f"was replaced by another keyring ({sealed.key_id}, not {self._key_id})",
                "restore the original keyring file",
            )
        if sealed.params != self._params:
            raise UsageError(
                subject,
                "was resealed with a new passphrase or secret by another process",
                "open the keyring again with the new credential",
            )
        self._contents = _load(keyring_seal.unseal(sealed, self._seal_key, subject), subject)
        self._raw = raw

    def _write(self, contents: _Contents) -> None:
        raw = keyring_seal.seal(self._key_id, self._params, self._seal_key, _dump(contents))
        write_private(self._path, raw, replace=True)
        self._contents, self._raw = contents, raw


def from_config(
    path: str,
    passphrase: str | None = None,
    secret_env: str = keyring_seal.SECRET_ENV,
) -> FileKeyring:
    """Open the keyring at ``path`` for :func:`~mlwarden.store.crypto.keys.provider_from_config`.

    ``passphrase`` comes from a prompt, never a configuration file; without one the secret
    is read from the environment variable ``secret_env``.
    """
    if passphrase is not None:
        return FileKeyring.open(path, passphrase=passphrase)
    text = os.environ.get(secret_env)
    if not text:
        raise UsageError(
            str(path),
            f"no passphrase was given and {secret_env} is not set",
            f"enter the keyring's passphrase, or set {secret_env} to its secret",
        )
    return FileKeyring.open(path, secret=keyring_seal.parse_secret(text, secret_env))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _public(entry: _Version) -> KeyVersion:
    return KeyVersion(entry.version, entry.created_at, entry.state)


def _dump(contents: _Contents) -> dict[str, Any]:
    return {
        "created_at": contents.created_at.isoformat(),
        "derivation_secret": base64.b64encode(contents.derivation_secret).decode(),
        "versions": [
            {
                "version": v.version,
                "created_at": v.created_at.isoformat(),
                "state": v.state,
                "key": None if v.key is None else base64.b64encode(v.key).decode(),
            }
            for v in contents.versions
        ],
    }


def _load(document: dict[str, Any], subject: str) -> _Contents:
    """Validate the unsealed document; it authenticated, but check it as if it had not."""
    try:
        versions = document["versions"]
        if not isinstance(versions, list) or not 1 <= len(versions) <= MAX_VERSIONS:
            raise ValueError("bad version list")
        parsed = tuple(_load_version(item) for item in versions)
        names = [v.version for v in parsed]
        if len(set(names)) != len(names):
            raise ValueError("duplicate key versions")
        if sum(v.state == "active" for v in parsed) != 1:
            raise ValueError("not exactly one active key version")
        return _Contents(
            created_at=_load_time(document["created_at"]),
            derivation_secret=_load_key(document["derivation_secret"]),
            versions=parsed,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise keyring_seal.corrupted(subject, str(exc)) from None


def _load_version(item: object) -> _Version:
    if not isinstance(item, dict):
        raise ValueError("a key version is not an object")
    version, state, key = item["version"], item["state"], item["key"]
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise ValueError("bad version number")
    if state not in KEY_STATES:
        raise ValueError(f"bad key state {state!r}")
    if (key is None) != (state == "retired"):
        raise ValueError("key material does not match the version's state")
    return _Version(
        version=version,
        created_at=_load_time(item["created_at"]),
        state=state,
        key=None if key is None else _load_key(key),
    )


def _load_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a timestamp is not a string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a timestamp has no time zone")
    return parsed


def _load_key(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("a key is not a string")
    key = base64.b64decode(value, validate=True)
    if len(key) != KEK_SIZE:
        raise ValueError("a key is not 32 bytes")
    return key
