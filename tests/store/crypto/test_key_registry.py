"""Building key providers from configuration, and the provider contract they share."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from mlwarden.errors import ConfigError, UsageError
from mlwarden.store.crypto.keyring_file import FileKeyring
from mlwarden.store.crypto.keys import KeyProvider, blob_aad, provider_from_config


def test_keyring_from_config_reads_the_secret_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = os.urandom(32)
    path = tmp_path / "keyring.json"
    created = FileKeyring.create(path, secret=secret)
    monkeypatch.setenv("MLWARDEN_KEYRING_SECRET", base64.b64encode(secret).decode())
    provider = provider_from_config("keyring", path=str(path))
    assert isinstance(provider, KeyProvider)
    assert (provider.name, provider.key_id) == ("keyring", created.key_id)
    context = blob_aad("00" * 32, os.urandom(16))
    dek = os.urandom(32)
    assert created.unwrap(provider.wrap(dek, context), context) == dek


def test_keyring_from_config_without_a_credential_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLWARDEN_KEYRING_SECRET", raising=False)
    with pytest.raises(UsageError, match="MLWARDEN_KEYRING_SECRET is not set"):
        provider_from_config("keyring", path=str(tmp_path / "keyring.json"))


def test_unknown_kinds_and_options_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="keyring, vault-transit"):
        provider_from_config("kms-of-my-dreams")
    with pytest.raises(ConfigError, match="bad options") as caught:
        provider_from_config("keyring", path="x", colour="blue")
    assert "path" in caught.value.fix
    with pytest.raises(ConfigError, match="bad options"):
        provider_from_config("vault-transit", url="https://vault.example:8200")


def test_blob_aad_binds_digest_and_blob_id() -> None:
    blob_id = os.urandom(16)
    assert blob_aad("AB" * 32, blob_id) == blob_aad("ab" * 32, blob_id)
    assert blob_aad("ab" * 32, blob_id) != blob_aad("ab" * 32, os.urandom(16))
    assert blob_aad("ab" * 32, blob_id) != blob_aad("ac" * 32, blob_id)
