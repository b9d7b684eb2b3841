"""Envelope encryption for the vault: per-blob data keys wrapped by versioned KEKs.

- :mod:`~mlwarden.store.crypto.envelope`: streaming, chunked AES-256-GCM of blobs.
- :mod:`~mlwarden.store.crypto.keys`: the key-provider interface and registry.
- :mod:`~mlwarden.store.crypto.keyring_file`: the default provider, a sealed local keyring.
- :mod:`~mlwarden.store.crypto.vault_transit`: HashiCorp Vault transit (needs ``hvac``).

Crypto-shredding a blob is deleting its wrapped data key from the catalog.
"""

from mlwarden.store.crypto.envelope import (
    DecryptedInfo,
    EncryptedInfo,
    EnvelopeCipher,
    IntegrityError,
    new_blob_id,
    new_data_key,
)
from mlwarden.store.crypto.keys import (
    KeyProvider,
    KeyUnavailableError,
    KeyVersion,
    WrappedKey,
    blob_aad,
    provider_from_config,
)

__all__ = [
    "DecryptedInfo",
    "EncryptedInfo",
    "EnvelopeCipher",
    "IntegrityError",
    "KeyProvider",
    "KeyUnavailableError",
    "KeyVersion",
    "WrappedKey",
    "blob_aad",
    "new_blob_id",
    "new_data_key",
    "provider_from_config",
]
