"""Masking keys: where keyed operators get their secret, and how it is checked.

Every keyed operator (pseudonyms, surrogates) needs one secret of at least 32 bytes. A
:data:`KeySource` is a zero-argument callable returning a :class:`MaskKey`; the engine calls
it only when the policy actually needs a key. Today the key comes from the environment
(:func:`env_key_source`) or a file (:func:`file_key_source`); the workspace keyring plugs in
through :func:`derived_key_source` (``derived_key_source(keyring.derive_key)``).

There is deliberately no unkeyed or randomly salted fallback: an unkeyed hash of an e-mail
address is reversible by guessing, and a random salt breaks joins between files.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from mlwarden.errors import UsageError

ENV_VAR = "MLWARDEN_MASK_KEY"
"""Environment variable holding the masking key (hex or base64)."""
MIN_KEY_BYTES = 32
_MAX_KEY_FILE_BYTES = 4096
# A random 32-byte key has about 30 distinct byte values; fewer than 16 means a typed or
# repeated pattern ("aaaa...", "0000..."), which an attacker would guess first.
_MIN_DISTINCT_BYTES = 16
_HEX = re.compile(r"[0-9a-fA-F]+")
_GENERATE_HINT = 'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'


class MaskKey:
    """A validated masking secret (>= 32 bytes). Its repr never shows the bytes."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes, *, subject: str = "masking key") -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise UsageError(
                subject,
                f"the key is {len(secret)} bytes; masking needs at least {MIN_KEY_BYTES}",
                _GENERATE_HINT,
            )
        if len(set(secret)) < _MIN_DISTINCT_BYTES:
            raise UsageError(
                subject, "the key is a repeated pattern, not a random secret", _GENERATE_HINT
            )
        self._secret = bytes(secret)

    @property
    def secret(self) -> bytes:
        """The raw key bytes; pass them only to key derivation, never to a log."""
        return self._secret

    def __repr__(self) -> str:
        return "MaskKey(<secret>)"


KeySource = Callable[[], MaskKey]
"""Returns the key on demand; raises :class:`UsageError` when none is configured."""


def parse_key_text(text: str, *, subject: str) -> MaskKey:
    """Decode a key written as hex (tried first) or standard/URL-safe base64."""
    value = "".join(text.split())
    if not value:
        raise UsageError(subject, "the key is empty", _GENERATE_HINT)
    if len(value) % 2 == 0 and _HEX.fullmatch(value):
        return MaskKey(bytes.fromhex(value), subject=subject)
    try:
        padded = value + "=" * (-len(value) % 4)
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError(
            subject, "the key is neither hex nor base64", "write it as hex or base64"
        ) from None
    return MaskKey(decoded, subject=subject)


def env_key_source(var: str = ENV_VAR) -> KeySource:
    """A key source reading ``var`` when called (so a policy without keyed operators needs none)."""

    def source() -> MaskKey:
        text = os.environ.get(var)
        if text is None:
            raise UsageError(
                "masking key",
                f"the policy uses keyed operators but neither ${var} nor --key-file is set",
                f"set ${var} to a hex or base64 secret of at least {MIN_KEY_BYTES} bytes; "
                + _GENERATE_HINT,
            )
        return parse_key_text(text, subject=f"${var}")

    return source


def file_key_source(path: str | os.PathLike[str]) -> KeySource:
    """A key source reading a key file: hex or base64 text, or at least 32 raw bytes."""
    key_path = Path(path)

    def source() -> MaskKey:
        subject = str(key_path)
        try:
            info = key_path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise UsageError(subject, "the key file is not a regular file", "point at a file")
            with key_path.open("rb") as fh:
                raw = fh.read(_MAX_KEY_FILE_BYTES + 1)
        except OSError as exc:
            raise UsageError(
                subject, f"cannot read the key file ({exc.strerror})", "check the path"
            ) from None
        if len(raw) > _MAX_KEY_FILE_BYTES:
            raise UsageError(
                subject, f"the key file is larger than {_MAX_KEY_FILE_BYTES} bytes", _GENERATE_HINT
            )
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return MaskKey(raw, subject=subject)
        return parse_key_text(text, subject=subject)

    return source


def derived_key_source(derive: Callable[[str], bytes], purpose: str = "mask") -> KeySource:
    """Adapt a keyring's ``derive_key(purpose) -> bytes`` (e.g. ``LocalKeyring.derive_key``)."""
    return lambda: MaskKey(derive(purpose), subject=f"keyring key {purpose!r}")


def choose_key_source(key_file: str | os.PathLike[str] | None) -> KeySource:
    """``--key-file`` when given, else ``$MLWARDEN_MASK_KEY``."""
    return file_key_source(key_file) if key_file is not None else env_key_source()


def derive_subkey(key: MaskKey, purpose: str) -> bytes:
    """A 32-byte key for one purpose (HKDF-SHA256), so operators never share raw key bytes.

    Changing ``purpose`` gives an unrelated key: a pseudonym can never be compared with a
    card surrogate made from the same value.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"mlwarden-mask-v1",
        info=purpose.encode("utf-8"),
    )
    return hkdf.derive(key.secret)


def default_key_source(key_file: str | None) -> KeySource:
    """``--key-file``, else ``$MLWARDEN_MASK_KEY``, else a key derived from the workspace
    keyring (stable across KEK rotations), so pseudonyms match across runs and machines
    that share the workspace."""
    import os

    if key_file is not None or os.environ.get(ENV_VAR):
        return choose_key_source(key_file)

    def derive(purpose: str) -> bytes:
        from mlwarden.errors import UsageError
        from mlwarden.store.crypto.keyring_file import FileKeyring
        from mlwarden.workspace import (
            credential_from_environment,
            default_home,
            load_config,
        )

        home = default_home()
        if not (home / "config.toml").is_file():
            raise UsageError(
                "pseudonymisation key",
                f"none was given and there is no workspace at {home} to derive one from",
                f"pass --key-file, set {ENV_VAR} (32+ random bytes, hex or base64), "
                "or create a workspace with `mlwarden init`",
            )
        cfg = load_config(home)
        cred = credential_from_environment(None, new=False)
        keyring = FileKeyring.open(cfg.keyring_path, passphrase=cred.passphrase, secret=cred.secret)
        return keyring.derive_key(purpose)

    return derived_key_source(derive, purpose="mask")
