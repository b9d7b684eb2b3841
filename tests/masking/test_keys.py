"""Masking keys: accepted encodings, refused weak keys, sources, and no leaks in reprs."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from mlwarden.errors import UsageError
from mlwarden.masking.keys import (
    ENV_VAR,
    MaskKey,
    choose_key_source,
    derive_subkey,
    derived_key_source,
    env_key_source,
    file_key_source,
    parse_key_text,
)

KEY_BYTES = bytes.fromhex("5f1c9a0b7e3d42a6c8b1f0e9d7a65c4b3a291807f6e5d4c3b2a1908f7e6d5c4b")


def test_hex_and_base64_spell_the_same_key() -> None:
    from_hex = parse_key_text(KEY_BYTES.hex(), subject="t")
    from_b64 = parse_key_text(base64.b64encode(KEY_BYTES).decode(), subject="t")
    from_url = parse_key_text(base64.urlsafe_b64encode(KEY_BYTES).decode().rstrip("="), subject="t")
    assert from_hex.secret == from_b64.secret == from_url.secret == KEY_BYTES


def test_short_and_patterned_keys_are_refused() -> None:
    with pytest.raises(UsageError, match="at least 32"):
        parse_key_text(KEY_BYTES[:31].hex(), subject="t")
    with pytest.raises(UsageError, match="repeated pattern"):
        parse_key_text("00" * 32, subject="t")
    with pytest.raises(UsageError, match="neither hex nor base64"):
        parse_key_text("not a key!", subject="t")


def test_the_key_never_appears_in_reprs_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    key = MaskKey(KEY_BYTES)
    assert KEY_BYTES.hex() not in repr(key) and str(KEY_BYTES) not in repr(key)
    monkeypatch.setenv(ENV_VAR, KEY_BYTES[:20].hex())
    with pytest.raises(UsageError) as caught:
        env_key_source()()
    assert KEY_BYTES[:20].hex() not in str(caught.value)


def test_env_source_reads_the_variable_only_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    source = env_key_source()  # no key yet: building the source must not fail
    with pytest.raises(UsageError, match=ENV_VAR):
        source()
    monkeypatch.setenv(ENV_VAR, KEY_BYTES.hex())
    assert source().secret == KEY_BYTES


def test_key_file_holds_text_or_raw_bytes(tmp_path: Path) -> None:
    text_file = tmp_path / "mask.key"
    text_file.write_text(KEY_BYTES.hex() + "\n")
    raw_file = tmp_path / "mask.bin"
    raw = bytes([0x80 | b for b in KEY_BYTES])  # not ASCII: read as raw bytes
    raw_file.write_bytes(raw)
    assert file_key_source(text_file)().secret == KEY_BYTES
    assert file_key_source(raw_file)().secret == raw
    assert choose_key_source(text_file)().secret == KEY_BYTES


def test_key_file_problems_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"missing\.key"):
        file_key_source(tmp_path / "missing.key")()
    big = tmp_path / "big.key"
    big.write_bytes(os.urandom(5000))
    with pytest.raises(UsageError, match="larger than"):
        file_key_source(big)()
    with pytest.raises(UsageError, match="not a regular file"):
        file_key_source(tmp_path)()


def test_keyring_seam_wraps_a_derive_function() -> None:
    asked: list[str] = []

    def derive(purpose: str) -> bytes:
        asked.append(purpose)
        return KEY_BYTES

    assert derived_key_source(derive)().secret == KEY_BYTES
    assert asked == ["mask"]


def test_subkeys_differ_per_purpose_and_from_the_key() -> None:
    key = MaskKey(KEY_BYTES)
    a, b = derive_subkey(key, "pseudonym"), derive_subkey(key, "card-surrogate")
    assert len(a) == len(b) == 32
    assert len({a, b, KEY_BYTES}) == 3
    assert derive_subkey(MaskKey(KEY_BYTES), "pseudonym") == a
