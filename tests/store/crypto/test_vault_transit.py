"""The Vault transit provider, against a fake transit server on 127.0.0.1 (always) and a real
Vault dev server when ``VAULT_ADDR`` is set."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator

import pytest
from fake_transit import FakeTransit

from mlwarden.errors import ConfigError, UsageError
from mlwarden.store.crypto.envelope import IntegrityError, new_blob_id, new_data_key
from mlwarden.store.crypto.keys import KeyUnavailableError, WrappedKey, blob_aad
from mlwarden.store.crypto.vault_transit import VaultTransitProvider, check_url, from_config

pytest.importorskip("hvac")

TOKEN = "s.test-token-" + os.urandom(4).hex()


@pytest.fixture
def fake() -> Iterator[FakeTransit]:
    server = FakeTransit(TOKEN)
    server.create_key("models")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def provider(fake: FakeTransit, monkeypatch: pytest.MonkeyPatch) -> VaultTransitProvider:
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    return from_config(url=fake.url, key="models")


def aad() -> bytes:
    return blob_aad("ab" * 32, new_blob_id())


def test_wrap_and_unwrap_through_transit(provider: VaultTransitProvider, fake: FakeTransit) -> None:
    dek, context = new_data_key(), aad()
    wrapped = provider.wrap(dek, context)
    assert (wrapped.provider, wrapped.key_id, wrapped.version) == (
        "vault-transit",
        "transit/models",
        "1",
    )
    assert wrapped.ciphertext.startswith(b"vault:v1:")
    assert provider.unwrap(wrapped, context) == dek
    encrypt = next(r for r in fake.requests if r.path == "/v1/transit/encrypt/models")
    assert encrypt.token == TOKEN
    assert base64.b64decode(encrypt.body["associated_data"]) == context


@pytest.mark.parametrize("associated_data", [True, False])
def test_a_wrapped_key_only_unwraps_for_its_blob(fake: FakeTransit, associated_data: bool) -> None:
    provider = VaultTransitProvider(
        url=fake.url, key="models", token=TOKEN, associated_data=associated_data
    )
    dek, context = new_data_key(), aad()
    wrapped = provider.wrap(dek, context)
    # Refused by Vault itself (associated data) or by the hash inside the plaintext.
    expected = "Vault refused to decrypt" if associated_data else "wrapped for another blob"
    with pytest.raises(IntegrityError, match=expected):
        provider.unwrap(wrapped, aad())
    assert ("associated_data" in fake.requests[-1].body) is associated_data


def test_rotate_then_old_keys_still_unwrap(provider: VaultTransitProvider) -> None:
    dek, context = new_data_key(), aad()
    old = provider.wrap(dek, context)
    created = provider.rotate()
    assert (created.version, created.state) == ("2", "active")
    assert created.created_at is not None
    assert [(v.version, v.state) for v in provider.versions()] == [
        ("1", "decrypt-only"),
        ("2", "active"),
    ]
    assert provider.wrap(dek, context).version == "2"
    assert provider.unwrap(old, context) == dek


def test_retire_raises_the_minimum_decryption_version(
    provider: VaultTransitProvider, fake: FakeTransit
) -> None:
    dek, context = new_data_key(), aad()
    old = provider.wrap(dek, context)
    provider.rotate()
    provider.rotate()
    provider.retire("1")
    assert fake.keys["models"].min_decryption_version == 2
    assert [(v.version, v.state) for v in provider.versions()] == [
        ("1", "retired"),
        ("2", "decrypt-only"),
        ("3", "active"),
    ]
    assert provider.versions()[0].created_at is None  # Vault no longer reports it
    with pytest.raises(KeyUnavailableError, match="retired"):
        provider.unwrap(old, context)
    provider.retire("1")  # already retired: no request changes anything
    assert fake.keys["models"].min_decryption_version == 2


def test_the_current_or_an_unknown_version_cannot_be_retired(
    provider: VaultTransitProvider,
) -> None:
    with pytest.raises(UsageError, match="current one"):
        provider.retire("1")
    with pytest.raises(UsageError, match="no version 5"):
        provider.retire("5")
    with pytest.raises(UsageError, match="not a key version"):
        provider.retire("v1")


def test_relabelled_or_foreign_wrapped_keys_are_refused(provider: VaultTransitProvider) -> None:
    dek, context = new_data_key(), aad()
    wrapped = provider.wrap(dek, context)
    with pytest.raises(IntegrityError, match="relabelled"):
        provider.unwrap(
            WrappedKey(wrapped.provider, wrapped.key_id, "2", wrapped.ciphertext), context
        )
    with pytest.raises(IntegrityError):
        provider.unwrap(
            WrappedKey(wrapped.provider, wrapped.key_id, "1", b"vault:v1:AAAA" + b"\xff"), context
        )
    with pytest.raises(KeyUnavailableError, match="wrapped by keyring"):
        provider.unwrap(WrappedKey("keyring", "kr-1", "1", wrapped.ciphertext), context)


def test_a_bad_token_is_reported_without_the_token(fake: FakeTransit) -> None:
    provider = VaultTransitProvider(url=fake.url, key="models", token="s.wrong-token")
    with pytest.raises(KeyUnavailableError, match="VAULT_TOKEN") as caught:
        provider.wrap(new_data_key(), aad())
    assert "s.wrong-token" not in str(caught.value)
    assert fake.requests[-1].token == "s.wrong-token"


def test_an_unknown_key_and_an_unreachable_vault_are_reported(fake: FakeTransit) -> None:
    with pytest.raises(KeyUnavailableError, match="no such transit mount or key"):
        VaultTransitProvider(url=fake.url, key="absent", token=TOKEN).versions()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = VaultTransitProvider(
        url=f"http://127.0.0.1:{port}", key="models", token=TOKEN, timeout=2
    )
    with pytest.raises(KeyUnavailableError, match="cannot reach Vault"):
        down.wrap(new_data_key(), aad())


def test_a_malformed_answer_is_not_trusted(
    provider: VaultTransitProvider, fake: FakeTransit
) -> None:
    fake.garble_ciphertext = True
    with pytest.raises(KeyUnavailableError, match="not in Vault's format"):
        provider.wrap(new_data_key(), aad())


@pytest.mark.parametrize(
    "url",
    [
        "http://vault.example:8200",
        "http://10.0.0.5:8200",
        "ftp://127.0.0.1",
        "https://user:pw@vault.example",
        "https://vault.example/ui",
        "https://vault.example?x=1",
        "vault.example:8200",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://vault.example:8200/", "http://127.0.0.1:8200", "http://localhost", "http://[::1]:1"],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert check_url(url) == url.rstrip("/")


def test_configuration_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="VAULT_TOKEN: is not set"):
        from_config(url="https://vault.example", key="models")
    with pytest.raises(ConfigError, match="transit key name"):
        VaultTransitProvider(url="https://vault.example", key="../sys", token=TOKEN)
    with pytest.raises(ConfigError, match="mount path"):
        VaultTransitProvider(url="https://vault.example", key="k", mount="a/../b", token=TOKEN)
    with pytest.raises(ConfigError, match="cannot be switched off"):
        VaultTransitProvider(url="https://vault.example", key="k", token=TOKEN, verify=False)


# -- a real Vault (dev server), only when one is configured --------------------------------


@pytest.fixture
def real_vault() -> Iterator[VaultTransitProvider]:
    address = os.environ.get("VAULT_ADDR")
    token = os.environ.get("VAULT_TOKEN")
    if not address or not token:
        pytest.skip("VAULT_ADDR and VAULT_TOKEN are not set")
    import hvac

    client = hvac.Client(url=address, token=token)
    if "transit/" not in client.sys.list_mounted_secrets_engines()["data"]:
        client.sys.enable_secrets_engine("transit")
    name = "mlwarden-test-" + os.urandom(4).hex()
    client.secrets.transit.create_key(name)
    yield VaultTransitProvider(url=address, key=name, token=token)
    client.secrets.transit.update_key_configuration(name, deletion_allowed=True)
    client.secrets.transit.delete_key(name)


def test_against_a_real_vault(real_vault: VaultTransitProvider) -> None:
    dek, context = new_data_key(), aad()
    old = real_vault.wrap(dek, context)
    assert real_vault.unwrap(old, context) == dek
    with pytest.raises(IntegrityError):
        real_vault.unwrap(old, aad())
    assert real_vault.rotate().version == "2"
    assert real_vault.unwrap(old, context) == dek
    real_vault.retire("1")
    with pytest.raises(KeyUnavailableError):
        real_vault.unwrap(old, context)
    assert [v.state for v in real_vault.versions()] == ["retired", "active"]
