"""The sealed keyring file: a JSON envelope around an AES-256-GCM-encrypted JSON document.

On disk (UTF-8 JSON)::

    {"format": "mlwarden.keyring/v1", "key_id": "kr-…",
     "kdf": {"name": "argon2id", "salt": B64, "iterations": 3, "lanes": 4,
             "memory_cost_kib": 65536}          or  {"name": "hkdf-sha256", "salt": B64},
     "nonce": B64, "sealed": B64}

``sealed`` is the secret document encrypted under the *seal key*, with the canonical JSON of
``format``, ``key_id`` and ``kdf`` as associated data (so none of them can be edited). The
seal key comes from a passphrase through Argon2id (memory-hard; its parameters live in the
file so they can be raised by resealing) or from a high-entropy 32-byte secret through
HKDF-SHA256. The salt stays the same across rewrites, so a process that opened the keyring
can re-read and rewrite it without running Argon2 again.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mlwarden.errors import UsageError

FORMAT: Final = "mlwarden.keyring/v1"
SECRET_ENV: Final = "MLWARDEN_KEYRING_SECRET"
SECRET_SIZE: Final = 32
MAX_FILE_BYTES: Final = 4 << 20
"""A keyring of thousands of versions is a few hundred KiB; anything larger is not one."""
MIN_PASSPHRASE_CHARS: Final = 12

_SALT_SIZE = 16
_NONCE_SIZE = 12
_SEAL_INFO = b"mlwarden.keyring-seal/v1"


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters for passphrase-sealed keyrings.

    The default (64 MiB, 3 passes, 4 lanes; RFC 9106's second recommended setting) takes
    about 0.3 s on a current 2-core server. Raise them with ``FileKeyring.reseal``.
    """

    iterations: int = 3
    lanes: int = 4
    memory_cost_kib: int = 64 * 1024

    def check(self, subject: str) -> None:
        """Refuse costs outside sane bounds (a crafted file must not exhaust memory)."""
        if not (
            1 <= self.iterations <= 64
            and 1 <= self.lanes <= 64
            and 8 * self.lanes <= self.memory_cost_kib <= 4 * 1024 * 1024
        ):
            raise UsageError(
                subject,
                f"Argon2id parameters out of bounds (iterations {self.iterations}, lanes "
                f"{self.lanes}, memory {self.memory_cost_kib} KiB)",
                "use 1-64 iterations, 1-64 lanes and 8*lanes KiB to 4 GiB of memory",
            )


@dataclass(frozen=True)
class SealParams:
    """How the seal key is derived: the KDF, its salt and (for Argon2id) its costs."""

    salt: bytes
    argon2: Argon2Params | None
    """None means the keyring is sealed with a 32-byte secret through HKDF-SHA256."""

    @classmethod
    def fresh(cls, argon2: Argon2Params | None) -> SealParams:
        """New parameters with a random salt."""
        return cls(salt=os.urandom(_SALT_SIZE), argon2=argon2)

    @property
    def kdf_name(self) -> str:
        return "hkdf-sha256" if self.argon2 is None else "argon2id"

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.kdf_name, "salt": _b64(self.salt)}
        if self.argon2 is not None:
            doc["iterations"] = self.argon2.iterations
            doc["lanes"] = self.argon2.lanes
            doc["memory_cost_kib"] = self.argon2.memory_cost_kib
        return doc

    def public_json(self) -> dict[str, Any]:
        """The KDF description without the salt (for listings)."""
        doc = self.as_json()
        del doc["salt"]
        return doc


@dataclass(frozen=True)
class SealedFile:
    """A parsed keyring file whose secret part is still sealed."""

    key_id: str
    params: SealParams
    nonce: bytes
    sealed: bytes


def derive_seal_key(
    params: SealParams, *, passphrase: str | None, secret: bytes | None, subject: str
) -> bytes:
    """The 32-byte seal key, from exactly the credential ``params`` ask for.

    Raises :class:`UsageError` when the wrong kind of credential (or none) is given.
    """
    if (passphrase is None) == (secret is None):
        raise UsageError(
            subject,
            "needs exactly one of a passphrase or a secret",
            f"give the passphrase, or set {SECRET_ENV} for a secret-sealed keyring",
        )
    if params.argon2 is not None:
        if passphrase is None:
            raise UsageError(
                subject,
                "is sealed with a passphrase, but a secret was given",
                "give the passphrase",
            )
        params.argon2.check(subject)
        kdf = Argon2id(
            salt=params.salt,
            length=32,
            iterations=params.argon2.iterations,
            lanes=params.argon2.lanes,
            memory_cost=params.argon2.memory_cost_kib,
            ad=_SEAL_INFO,
        )
        return kdf.derive(_passphrase_bytes(passphrase))
    if secret is None:
        raise UsageError(
            subject,
            "is sealed with a secret, but a passphrase was given",
            f"set {SECRET_ENV} to the keyring's secret",
        )
    if len(secret) != SECRET_SIZE:
        raise UsageError(
            subject, f"the secret must be {SECRET_SIZE} bytes", f"set {SECRET_ENV} correctly"
        )
    return HKDF(hashes.SHA256(), 32, salt=params.salt, info=_SEAL_INFO).derive(secret)


def seal(key_id: str, params: SealParams, seal_key: bytes, document: Mapping[str, Any]) -> bytes:
    """The keyring file's bytes holding ``document`` sealed under ``seal_key``."""
    nonce = os.urandom(_NONCE_SIZE)
    plaintext = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    sealed = AESGCM(seal_key).encrypt(nonce, plaintext, _header_aad(key_id, params))
    outer = {
        "format": FORMAT,
        "key_id": key_id,
        "kdf": params.as_json(),
        "nonce": _b64(nonce),
        "sealed": _b64(sealed),
    }
    return (json.dumps(outer, indent=1, sort_keys=True) + "\n").encode()


def parse(data: bytes, subject: str) -> SealedFile:
    """Parse the public part of a keyring file; raise :class:`UsageError` if it is not one."""
    try:
        outer = json.loads(data.decode("utf-8"))
        if not isinstance(outer, dict) or outer.get("format") != FORMAT:
            raise ValueError("not an mlwarden keyring (format field)")
        key_id = outer["key_id"]
        kdf = outer["kdf"]
        if not isinstance(key_id, str) or not 1 <= len(key_id) <= 128 or not isinstance(kdf, dict):
            raise ValueError("bad key_id or kdf")
        salt = _unb64(kdf["salt"], _SALT_SIZE)
        argon2: Argon2Params | None
        if kdf["name"] == "argon2id":
            values = [kdf["iterations"], kdf["lanes"], kdf["memory_cost_kib"]]
            if not all(type(v) is int for v in values):
                raise ValueError("Argon2id parameters are not integers")
            argon2 = Argon2Params(*values)
        elif kdf["name"] == "hkdf-sha256":
            argon2 = None
        else:
            raise ValueError(f"unknown KDF {kdf['name']!r}")
        nonce = _unb64(outer["nonce"], _NONCE_SIZE)
        sealed = _unb64(outer["sealed"], None)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise corrupted(subject, str(exc)) from None
    params = SealParams(salt=salt, argon2=argon2)
    if argon2 is not None:
        argon2.check(subject)
    return SealedFile(key_id=key_id, params=params, nonce=nonce, sealed=sealed)


def unseal(file: SealedFile, seal_key: bytes, subject: str) -> dict[str, Any]:
    """The secret document; :class:`UsageError` on a wrong credential or a damaged file."""
    try:
        plaintext = AESGCM(seal_key).decrypt(
            file.nonce, file.sealed, _header_aad(file.key_id, file.params)
        )
    except InvalidTag:
        raise UsageError(
            subject,
            "wrong passphrase or secret, or a corrupted keyring (its seal does not authenticate)",
            "check the passphrase or "
            f"{SECRET_ENV}; if they are right, restore the keyring from a backup",
        ) from None
    try:
        document = json.loads(plaintext)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise corrupted(subject, "the sealed document is not a JSON object")
    return document


def corrupted(subject: str, detail: str) -> UsageError:
    """The error for a keyring file that does not have the expected structure."""
    return UsageError(
        subject,
        f"not an mlwarden keyring, or a corrupted one ({detail})",
        "check the path, or restore the keyring from a backup",
    )


def parse_secret(text: str, subject: str = SECRET_ENV) -> bytes:
    """Decode a 32-byte secret written as 64 hex digits or base64 (standard or URL-safe).

    The value never appears in the error message.
    """
    value = text.strip()
    candidates: list[bytes] = []
    if len(value) == 2 * SECRET_SIZE:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(value))
    padded = value + "=" * (-len(value) % 4)
    for alphabet in (None, b"-_"):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(base64.b64decode(padded, altchars=alphabet, validate=True))
    for candidate in candidates:
        if len(candidate) == SECRET_SIZE:
            return candidate
    raise UsageError(
        subject,
        f"is not {SECRET_SIZE} random bytes written in hex or base64",
        'generate one with `python -c "import os, base64; '
        'print(base64.b64encode(os.urandom(32)).decode())"`',
    )


def secret_from_environment(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The keyring secret from ``MLWARDEN_KEYRING_SECRET``, or None when it is not set."""
    text = (os.environ if environ is None else environ).get(SECRET_ENV)
    if not text:
        return None
    return parse_secret(text)


def check_new_passphrase(passphrase: str, path: Path) -> None:
    """Refuse passphrases too short to resist an offline guess on a stolen keyring file."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise UsageError(
            str(path),
            f"the passphrase is shorter than {MIN_PASSPHRASE_CHARS} characters",
            f"choose a longer passphrase, or seal the keyring with {SECRET_ENV}",
        )


def _header_aad(key_id: str, params: SealParams) -> bytes:
    header = {"format": FORMAT, "key_id": key_id, "kdf": params.as_json()}
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _passphrase_bytes(passphrase: str) -> bytes:
    # NFC so the same passphrase typed on different systems gives the same key.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, size: int | None) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected a base64 string")
    data = base64.b64decode(value, validate=True)
    if size is not None and len(data) != size:
        raise ValueError(f"expected {size} bytes, got {len(data)}")
    return data
