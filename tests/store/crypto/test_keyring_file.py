"""The local keyring file: sealing, wrapping, rotation, retirement, derivation, hostile files."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from mlwarden.errors import UsageError
from mlwarden.store.crypto.envelope import IntegrityError, new_blob_id, new_data_key
from mlwarden.store.crypto.keyring_file import FileKeyring
from mlwarden.store.crypto.keyring_seal import Argon2Params, parse_secret
from mlwarden.store.crypto.keys import KeyUnavailableError, WrappedKey, blob_aad

# Cheap Argon2id costs so passphrase tests stay fast; one test below uses the defaults.
CHEAP = Argon2Params(iterations=1, lanes=1, memory_cost_kib=64)
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def secret() -> bytes:
    return os.urandom(32)


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


@pytest.fixture
def ring(ring_path: Path, secret: bytes) -> FileKeyring:
    return FileKeyring.create(ring_path, secret=secret)


def aad() -> bytes:
    return blob_aad("ab" * 32, new_blob_id())


def secrets_in(keyring: FileKeyring) -> list[bytes]:
    """Every KEK and the derivation secret (read from internals: nothing public shows them)."""
    contents = keyring._contents
    return [v.key for v in contents.versions if v.key] + [contents.derivation_secret]


def encodings(value: bytes) -> list[bytes]:
    return [
        value,
        value.hex().encode(),
        base64.b64encode(value),
        base64.urlsafe_b64encode(value).rstrip(b"="),
    ]


def test_wrap_and_unwrap_across_reopening(
    ring: FileKeyring, ring_path: Path, secret: bytes
) -> None:
    dek, context = new_data_key(), aad()
    wrapped = ring.wrap(dek, context)
    assert (wrapped.provider, wrapped.key_id, wrapped.version) == ("keyring", ring.key_id, "1")
    reopened = FileKeyring.open(ring_path, secret=secret)
    assert reopened.key_id == ring.key_id
    assert reopened.unwrap(wrapped, context) == dek


def test_passphrase_keyring_round_trip(ring_path: Path) -> None:
    ring = FileKeyring.create(ring_path, passphrase=PASSPHRASE, argon2=CHEAP)
    dek, context = new_data_key(), aad()
    wrapped = ring.wrap(dek, context)
    assert FileKeyring.open(ring_path, passphrase=PASSPHRASE).unwrap(wrapped, context) == dek


def test_default_argon2_costs_are_stored_in_the_file(ring_path: Path) -> None:
    FileKeyring.create(ring_path, passphrase=PASSPHRASE)
    kdf = json.loads(ring_path.read_text())["kdf"]
    assert (kdf["name"], kdf["iterations"], kdf["lanes"], kdf["memory_cost_kib"]) == (
        "argon2id",
        3,
        4,
        65536,
    )
    info = FileKeyring.open(ring_path, passphrase=PASSPHRASE).export_public_info()
    assert info.kdf == {"name": "argon2id", "iterations": 3, "lanes": 4, "memory_cost_kib": 65536}


def test_wrong_passphrase_or_secret_gives_a_clear_error(ring_path: Path, secret: bytes) -> None:
    FileKeyring.create(ring_path, passphrase=PASSPHRASE, argon2=CHEAP)
    with pytest.raises(UsageError, match="wrong passphrase") as caught:
        FileKeyring.open(ring_path, passphrase=PASSPHRASE + "!")
    assert str(ring_path) in str(caught.value)
    with pytest.raises(UsageError, match="sealed with a passphrase, but a secret"):
        FileKeyring.open(ring_path, secret=secret)
    other = ring_path.with_name("other.json")
    FileKeyring.create(other, secret=secret)
    with pytest.raises(UsageError, match="wrong passphrase or secret"):
        FileKeyring.open(other, secret=os.urandom(32))
    with pytest.raises(UsageError, match="exactly one of a passphrase or a secret"):
        FileKeyring.open(other)


def test_create_never_overwrites(ring: FileKeyring, ring_path: Path, secret: bytes) -> None:
    before = ring_path.read_bytes()
    with pytest.raises(UsageError, match="already exists"):
        FileKeyring.create(ring_path, secret=secret)
    assert ring_path.read_bytes() == before
    assert [p.name for p in ring_path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_short_passphrases_are_refused(ring_path: Path) -> None:
    with pytest.raises(UsageError, match="shorter than 12"):
        FileKeyring.create(ring_path, passphrase="hunter2")
    assert not ring_path.exists()


def test_file_is_private_and_holds_no_secret_in_the_clear(
    ring: FileKeyring, ring_path: Path, secret: bytes
) -> None:
    ring.rotate()
    ring.rotate()
    assert stat.S_IMODE(ring_path.stat().st_mode) == 0o600
    lock = ring_path.with_name(ring_path.name + ".lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    raw = ring_path.read_bytes()
    hidden = secrets_in(ring)
    assert len(hidden) == 4  # three KEK versions and the derivation secret
    for value in [*hidden, secret]:
        for form in encodings(value):
            assert form not in raw


def test_passphrase_file_holds_no_passphrase(ring_path: Path) -> None:
    FileKeyring.create(ring_path, passphrase=PASSPHRASE, argon2=CHEAP)
    assert PASSPHRASE.encode() not in ring_path.read_bytes()


def test_rotation_keeps_old_keys_unwrappable(
    ring: FileKeyring, ring_path: Path, secret: bytes
) -> None:
    dek, context = new_data_key(), aad()
    old = ring.wrap(dek, context)
    created = ring.rotate()
    assert (created.version, created.state) == ("2", "active")
    assert [(v.version, v.state) for v in ring.versions()] == [
        ("1", "decrypt-only"),
        ("2", "active"),
    ]
    new = ring.wrap(dek, context)
    assert new.version == "2"
    reopened = FileKeyring.open(ring_path, secret=secret)
    assert reopened.unwrap(old, context) == dek
    assert reopened.unwrap(new, context) == dek


def test_a_retired_version_can_no_longer_unwrap(
    ring: FileKeyring, ring_path: Path, secret: bytes
) -> None:
    dek, context = new_data_key(), aad()
    old = ring.wrap(dek, context)
    ring.rotate()
    ring.retire("1")
    assert [(v.version, v.state) for v in ring.versions()] == [("1", "retired"), ("2", "active")]
    with pytest.raises(KeyUnavailableError, match="version 1 is retired"):
        ring.unwrap(old, context)
    with pytest.raises(KeyUnavailableError, match="version 1 is retired"):
        FileKeyring.open(ring_path, secret=secret).unwrap(old, context)
    ring.retire("1")  # retiring again changes nothing
    assert len(secrets_in(FileKeyring.open(ring_path, secret=secret))) == 2


def test_the_current_or_an_unknown_version_cannot_be_retired(ring: FileKeyring) -> None:
    with pytest.raises(UsageError, match="current one and cannot be retired"):
        ring.retire("1")
    with pytest.raises(UsageError, match="no key version '7'"):
        ring.retire("7")
    assert [v.state for v in ring.versions()] == ["active"]


def test_a_wrapped_key_only_unwraps_with_its_own_aad(ring: FileKeyring) -> None:
    dek = new_data_key()
    digest = "cd" * 32
    blob_id = new_blob_id()
    wrapped = ring.wrap(dek, blob_aad(digest, blob_id))
    assert ring.unwrap(wrapped, blob_aad(digest, blob_id)) == dek
    with pytest.raises(IntegrityError, match="does not authenticate"):
        ring.unwrap(wrapped, blob_aad(digest, new_blob_id()))
    with pytest.raises(IntegrityError):
        ring.unwrap(wrapped, blob_aad("ef" * 32, blob_id))


def test_relabelled_or_altered_wrapped_keys_fail(ring: FileKeyring) -> None:
    dek, context = new_data_key(), aad()
    wrapped = ring.wrap(dek, context)
    ring.rotate()
    relabelled = WrappedKey(wrapped.provider, wrapped.key_id, "2", wrapped.ciphertext)
    with pytest.raises(IntegrityError):
        ring.unwrap(relabelled, context)
    flipped = bytearray(wrapped.ciphertext)
    flipped[20] ^= 1
    with pytest.raises(IntegrityError):
        ring.unwrap(WrappedKey("keyring", ring.key_id, "1", bytes(flipped)), context)
    with pytest.raises(IntegrityError, match="wrong length"):
        ring.unwrap(WrappedKey("keyring", ring.key_id, "1", wrapped.ciphertext[:-1]), context)
    with pytest.raises(KeyUnavailableError, match="no key version '9'"):
        ring.unwrap(WrappedKey("keyring", ring.key_id, "9", wrapped.ciphertext), context)


def test_a_key_wrapped_by_another_keyring_is_refused(ring: FileKeyring, tmp_path: Path) -> None:
    other = FileKeyring.create(tmp_path / "other.json", secret=os.urandom(32))
    context = aad()
    with pytest.raises(KeyUnavailableError, match="not by this keyring"):
        ring.unwrap(other.wrap(new_data_key(), context), context)


def test_changes_by_another_process_are_picked_up(
    ring: FileKeyring, ring_path: Path, secret: bytes
) -> None:
    other = FileKeyring.open(ring_path, secret=secret)
    dek, context = new_data_key(), aad()
    old = ring.wrap(dek, context)
    other.rotate()
    assert ring.wrap(dek, context).version == "2"  # never wraps under a stale current version
    assert ring.rotate().version == "3"  # a rotation elsewhere is never lost
    other.retire("1")
    with pytest.raises(KeyUnavailableError, match="retired"):
        ring.unwrap(old, context)
    assert [v.state for v in other.versions()] == ["retired", "decrypt-only", "active"]


def test_reseal_changes_the_credential_but_not_the_keys(ring_path: Path) -> None:
    ring = FileKeyring.create(ring_path, passphrase=PASSPHRASE, argon2=CHEAP)
    dek, context = new_data_key(), aad()
    wrapped = ring.wrap(dek, context)
    stronger = Argon2Params(iterations=2, lanes=2, memory_cost_kib=128)
    ring.reseal(passphrase="a brand new passphrase", argon2=stronger)
    with pytest.raises(UsageError, match="wrong passphrase"):
        FileKeyring.open(ring_path, passphrase=PASSPHRASE)
    reopened = FileKeyring.open(ring_path, passphrase="a brand new passphrase")
    assert reopened.unwrap(wrapped, context) == dek
    assert reopened.export_public_info().kdf["memory_cost_kib"] == 128


def test_derived_keys_are_stable_and_separate(
    ring: FileKeyring, ring_path: Path, secret: bytes
) -> None:
    first = ring.derive_key("masking/pseudonym")
    assert len(first) == 32
    ring.rotate()
    ring.retire("1")
    assert FileKeyring.open(ring_path, secret=secret).derive_key("masking/pseudonym") == first
    assert ring.derive_key("masking/tokens") != first
    longer = ring.derive_key("masking/pseudonym", 64)
    assert len(longer) == 64 and longer[:32] != first
    other = FileKeyring.create(ring_path.with_name("other.json"), secret=secret)
    assert other.derive_key("masking/pseudonym") != first
    with pytest.raises(ValueError):
        ring.derive_key("")
    with pytest.raises(ValueError):
        ring.derive_key("x", 8)


def test_public_info_lists_versions_without_secrets(ring: FileKeyring) -> None:
    ring.rotate()
    ring.retire("1")
    info = ring.export_public_info()
    as_json = json.dumps(info.as_dict()).encode()
    assert [(v["version"], v["state"]) for v in info.as_dict()["versions"]] == [
        ("1", "retired"),
        ("2", "active"),
    ]
    assert info.kdf == {"name": "hkdf-sha256"}
    assert info.key_id == ring.key_id
    for value in secrets_in(ring):
        for form in encodings(value):
            assert form not in as_json


# -- hostile and damaged files -------------------------------------------------------------


def test_a_missing_keyring_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(UsageError, match="no keyring here") as caught:
        FileKeyring.open(path, secret=os.urandom(32))
    assert caught.value.subject == str(path)


def test_a_keyring_readable_by_others_is_refused(
    ring_path: Path, secret: bytes, ring: FileKeyring
) -> None:
    ring_path.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        FileKeyring.open(ring_path, secret=secret)


def _rewrite(path: Path, edit: object) -> None:
    doc = json.loads(path.read_text())
    edit(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(b"\x00\xff garbage"), "not an mlwarden keyring"),
        (lambda p: p.write_text("[]"), "not an mlwarden keyring"),
        (lambda p: p.write_text(p.read_text()[:-40]), "not an mlwarden keyring"),
        (lambda p: _rewrite(p, lambda d: d.pop("nonce")), "not an mlwarden keyring"),
        (lambda p: _rewrite(p, lambda d: d["kdf"].update(name="scrypt")), "unknown KDF"),
        (lambda p: _rewrite(p, lambda d: d.update(key_id="kr-other")), "wrong passphrase"),
        (
            lambda p: _rewrite(
                p, lambda d: d.update(sealed=base64.b64encode(os.urandom(80)).decode())
            ),
            "wrong passphrase",
        ),
        (lambda p: p.write_bytes(b" " * (5 << 20)), "larger than"),
    ],
    ids=["binary", "json-array", "cut", "no-nonce", "kdf", "relabelled", "resealed", "huge"],
)
def test_a_damaged_keyring_gives_a_clear_error(
    ring: FileKeyring, ring_path: Path, secret: bytes, damage: object, message: str
) -> None:
    damage(ring_path)  # type: ignore[operator]
    with pytest.raises(UsageError, match=message) as caught:
        FileKeyring.open(ring_path, secret=secret)
    assert caught.value.subject == str(ring_path)
    assert caught.value.fix


def test_flipping_any_sealed_byte_is_detected(
    ring: FileKeyring, ring_path: Path, secret: bytes
) -> None:
    doc = json.loads(ring_path.read_text())
    sealed = base64.b64decode(doc["sealed"])
    for position in range(0, len(sealed), 7):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x40
        doc["sealed"] = base64.b64encode(bytes(damaged)).decode()
        ring_path.write_text(json.dumps(doc))
        with pytest.raises(UsageError, match="corrupted keyring"):
            FileKeyring.open(ring_path, secret=secret)


def test_crafted_argon2_costs_are_refused_before_deriving(ring_path: Path) -> None:
    FileKeyring.create(ring_path, passphrase=PASSPHRASE, argon2=CHEAP)
    _rewrite(ring_path, lambda d: d["kdf"].update(memory_cost_kib=1 << 40))
    with pytest.raises(UsageError, match="Argon2id parameters out of bounds"):
        FileKeyring.open(ring_path, passphrase=PASSPHRASE)


def test_weakened_argon2_costs_do_not_open_the_keyring(ring_path: Path) -> None:
    FileKeyring.create(ring_path, passphrase=PASSPHRASE, argon2=Argon2Params(2, 1, 64))
    _rewrite(ring_path, lambda d: d["kdf"].update(iterations=1))
    with pytest.raises(UsageError, match="wrong passphrase"):
        FileKeyring.open(ring_path, passphrase=PASSPHRASE)


def test_a_replaced_file_is_noticed_by_an_open_keyring(
    ring: FileKeyring, ring_path: Path, secret: bytes, tmp_path: Path
) -> None:
    other = tmp_path / "other.json"
    FileKeyring.create(other, secret=secret)
    os.replace(other, ring_path)
    with pytest.raises(UsageError, match="replaced by another keyring"):
        ring.wrap(new_data_key(), aad())


# -- secrets from the environment ------------------------------------------------------------


def test_secret_parsing_accepts_hex_and_base64() -> None:
    value = os.urandom(32)
    for text in (
        value.hex(),
        value.hex().upper(),
        base64.b64encode(value).decode(),
        base64.urlsafe_b64encode(value).decode().rstrip("="),
        f"  {base64.b64encode(value).decode()}\n",
    ):
        assert parse_secret(text) == value


@pytest.mark.parametrize("text", ["", "short", "00" * 31, "00" * 33, "!" * 44])
def test_bad_secrets_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(UsageError, match="MLWARDEN_KEYRING_SECRET") as caught:
        parse_secret(text)
    if text:
        assert text not in str(caught.value)
