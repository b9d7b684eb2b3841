"""Key providers: who holds the key-encryption keys (KEKs) that wrap each blob's data key.

A provider wraps a blob's data key (DEK) under its current KEK version and unwraps it
again under whichever version wrapped it. The catalog stores the :class:`WrappedKey`
fields next to the blob (``wrapped_dek``, ``kek_provider``, ``kek_id``, ``kek_version``),
so rotating a KEK means rewrapping rows, never re-encrypting blobs.

``aad`` binds a wrapped key to one blob: callers pass :func:`blob_aad` of the blob's
digest and id, so a wrapped DEK copied onto another catalog row fails to unwrap.

Crypto-shredding a blob is simply deleting its wrapped DEK (the caller's job, in the
catalog); retiring a KEK version shreds every DEK still wrapped under it, so rewrap
those first.

Adding a provider is one new module with a ``from_config(**options)`` function and one
line in :data:`PROVIDERS`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol, runtime_checkable

from mlwarden.errors import ConfigError, UsageError

KeyState = Literal["active", "decrypt-only", "retired"]
"""``active``: the version new keys are wrapped with (exactly one); ``decrypt-only``: still
unwraps; ``retired``: its key material is destroyed or disabled and unwraps nothing."""

KEY_STATES: Final = ("active", "decrypt-only", "retired")


class KeyUnavailableError(UsageError):
    """A wrapped key cannot be unwrapped here: its KEK version is retired or unknown, it
    belongs to another provider or key, or the provider cannot be reached."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under one KEK version, as the catalog stores it."""

    provider: str
    """Provider name (:attr:`KeyProvider.name`), e.g. ``keyring`` or ``vault-transit``."""
    key_id: str
    """Which key of that provider (a keyring's id, a Vault ``mount/name``)."""
    version: str
    """The KEK version that wrapped it; rotation leaves it unwrappable until retired."""
    ciphertext: bytes
    """The provider's opaque wrapped form of the data key."""


@dataclass(frozen=True)
class KeyVersion:
    """One version of a provider's KEK."""

    version: str
    created_at: datetime | None
    """When the version was made; None when the provider no longer says (Vault forgets it
    for versions below its minimum decryption version)."""
    state: KeyState


@runtime_checkable
class KeyProvider(Protocol):
    """Holds versioned KEKs and wraps data keys with them."""

    @property
    def name(self) -> str:
        """The provider's name, stored in ``BlobRow.kek_provider`` (at most 32 characters)."""
        ...

    @property
    def key_id(self) -> str:
        """Which key this is, stored in ``BlobRow.kek_id`` (at most 128 characters)."""
        ...

    def wrap(self, dek: bytes, aad: bytes) -> WrappedKey:
        """Encrypt ``dek`` under the current KEK version, bound to ``aad``."""
        ...

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        """Return the data key inside ``wrapped``.

        Raises :class:`~mlwarden.store.crypto.envelope.IntegrityError` when ``aad`` differs
        from the one it was wrapped with or the ciphertext was altered, and
        :class:`KeyUnavailableError` when its version is retired or unknown.
        """
        ...

    def rotate(self) -> KeyVersion:
        """Make a new KEK version current; older versions become decrypt-only."""
        ...

    def versions(self) -> list[KeyVersion]:
        """Every version the provider knows, oldest first."""
        ...

    def retire(self, version: str) -> None:
        """Destroy or disable a version so it unwraps nothing; refuses the current one."""
        ...


def blob_aad(digest: str, blob_id: bytes) -> bytes:
    """The associated data that binds a wrapped DEK to one blob (its digest and id)."""
    return b"mlwarden.blob-aad/v1\x00" + digest.lower().encode("ascii") + b"\x00" + blob_id


PROVIDERS: Final[dict[str, str]] = {
    "keyring": "mlwarden.store.crypto.keyring_file:from_config",
    "vault-transit": "mlwarden.store.crypto.vault_transit:from_config",
}
"""Provider kind → ``module:function`` building it from keyword options (imported on use)."""


def provider_from_config(kind: str, **options: Any) -> KeyProvider:
    """Build the provider ``kind`` from its configuration options.

    Options are the provider's own (see each module's ``from_config``); secrets come from
    the environment, never from configuration files. Raises :class:`ConfigError` for an
    unknown kind or options the provider does not take.
    """
    target = PROVIDERS.get(kind)
    if target is None:
        raise ConfigError(
            f"key provider {kind!r}",
            "is not a known key provider",
            f"use one of: {', '.join(sorted(PROVIDERS))}",
        )
    module_name, _, function_name = target.partition(":")
    factory: Callable[..., KeyProvider] = getattr(
        importlib.import_module(module_name), function_name
    )
    try:
        inspect.signature(factory).bind(**options)
    except TypeError as exc:
        raise ConfigError(
            f"key provider {kind!r}", f"bad options: {exc}", _options_fix(factory)
        ) from None
    return factory(**options)


def _options_fix(factory: Callable[..., KeyProvider]) -> str:
    names = ", ".join(inspect.signature(factory).parameters)
    return f"it takes: {names}"
