"""Signed checkpoints: the C2SP signed-note format, Ed25519 keys and their serialisation."""

from __future__ import annotations

import base64
import hashlib

import pytest

from mlwarden.errors import UsageError
from mlwarden.ledger.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    CheckpointError,
    LedgerSigner,
    LedgerVerifier,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)

ORIGIN = "ledger.test.example/audit"
ROOT = hashlib.sha256(b"root").digest()

# The example key and note of Go's golang.org/x/mod/sumdb/note documentation and tests.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)


def test_keys_and_signatures_match_the_go_signed_note_reference() -> None:
    seed = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])[1:]
    signer = LedgerSigner.from_raw(seed, "PeterNeumann")
    assert signer.verifier().to_vkey() == GO_VERIFIER_KEY
    assert signer.key_id == 0xC74F20A3
    blob = signer.key_id.to_bytes(4, "big") + signer.sign(GO_TEXT.encode())
    assert base64.b64encode(blob).decode() == GO_SIGNATURE
    verifier = LedgerVerifier.from_vkey(GO_VERIFIER_KEY)
    assert verifier.verify(GO_TEXT.encode(), blob[4:])
    assert not verifier.verify(GO_TEXT.replace("problem", "Problem").encode(), blob[4:])


def test_a_signed_checkpoint_reads_as_a_c2sp_checkpoint_note(signer: LedgerSigner) -> None:
    checkpoint = sign_checkpoint(signer, ORIGIN, 42, ROOT)
    text, signature_line = checkpoint.note.split("\n\n")
    assert text == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}"
    dash, name, blob = signature_line.rstrip("\n").split(" ")
    assert (dash, name) == ("\u2014", ORIGIN)
    raw = base64.b64decode(blob)
    assert raw[:4] == signer.key_id.to_bytes(4, "big")
    assert signer.verifier().verify((text + "\n").encode(), raw[4:])
    verified = verify_checkpoint(checkpoint.note, signer.verifier(), origin=ORIGIN)
    assert (verified.origin, verified.tree_size, verified.root_hash) == (ORIGIN, 42, ROOT)
    assert verified.note == checkpoint.note


def test_extension_lines_are_signed_and_returned(signer: LedgerSigner) -> None:
    checkpoint = sign_checkpoint(signer, ORIGIN, 1, ROOT, extensions=["time 2026-11-27T22:00Z"])
    verified = verify_checkpoint(checkpoint.note, signer.verifier())
    assert verified.extensions == ("time 2026-11-27T22:00Z",)
    altered = checkpoint.note.replace("22:00Z", "23:00Z")
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(altered, signer.verifier())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("\n42\n", "\n43\n"),  # the tree size
        (f"{ORIGIN}\n", "ledger.test.example/audiT\n"),  # the origin, signed text only
    ],
)
def test_an_altered_note_is_rejected(signer: LedgerSigner, old: str, new: str) -> None:
    note = sign_checkpoint(signer, ORIGIN, 42, ROOT).note
    altered = note.replace(old, new, 1)
    assert altered != note
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(altered, signer.verifier())


def test_an_altered_root_is_rejected(signer: LedgerSigner) -> None:
    note = sign_checkpoint(signer, ORIGIN, 42, ROOT).note
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    altered = note.replace(base64.b64encode(ROOT).decode(), other_root)
    with pytest.raises(CheckpointError, match="altered or forged"):
        verify_checkpoint(altered, signer.verifier())


def test_a_checkpoint_signed_by_another_key_is_rejected(signer: LedgerSigner) -> None:
    forger = LedgerSigner.generate(signer.name)  # same name, different key
    note = sign_checkpoint(forger, ORIGIN, 42, ROOT).note
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint(note, signer.verifier())
    assert "no signature by the key" in caught.value.problem
    assert isinstance(caught.value, UsageError) and caught.value.fix


def test_a_forged_signature_under_the_right_key_id_is_rejected(signer: LedgerSigner) -> None:
    forger = LedgerSigner.generate(signer.name)
    text = Checkpoint(ORIGIN, 42, ROOT).text()
    blob = signer.key_id.to_bytes(4, "big") + forger.sign(text.encode())
    note = f"{text}\n\u2014 {signer.name} {base64.b64encode(blob).decode()}\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(note, signer.verifier())


def test_signatures_by_unknown_keys_are_ignored(signer: LedgerSigner) -> None:
    witness = LedgerSigner.generate("witness.example/w1")
    note = sign_checkpoint(signer, ORIGIN, 7, ROOT).note
    cosignature = sign_checkpoint(witness, ORIGIN, 7, ROOT).note.split("\n\n")[1]
    cosigned = note + cosignature
    assert verify_checkpoint(cosigned, signer.verifier()).tree_size == 7
    assert verify_checkpoint(cosigned, witness.verifier()).tree_size == 7


def test_a_checkpoint_of_another_log_is_rejected(signer: LedgerSigner) -> None:
    note = sign_checkpoint(signer, "other.example/log", 3, ROOT).note
    with pytest.raises(CheckpointError, match="belongs to the log"):
        verify_checkpoint(note, signer.verifier(), origin=ORIGIN)


def _note_with(text: str, signer: LedgerSigner) -> str:
    blob = signer.key_id.to_bytes(4, "big") + signer.sign(text.encode())
    return f"{text}\n\u2014 {signer.name} {base64.b64encode(blob).decode()}\n"


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n042\n{base64.b64encode(ROOT).decode()}\n",  # leading zero
        f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n99999999999999999999\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n1\n{base64.b64encode(ROOT[:31]).decode()}\n",  # short root
        f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",  # no padding
        f"{ORIGIN}\n1\n",  # no root line
        f"bad origin\n1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}\n\nextension after a blank line\n",
    ],
)
def test_malformed_checkpoint_text_is_rejected_even_when_signed(
    signer: LedgerSigner, text: str
) -> None:
    with pytest.raises(CheckpointError):
        verify_checkpoint(_note_with(text, signer), signer.verifier())


def test_malformed_notes_are_rejected(signer: LedgerSigner) -> None:
    note = sign_checkpoint(signer, ORIGIN, 1, ROOT).note
    text, signature = note.split("\n\n")
    extra = "\n".join([signature.rstrip("\n")] * (MAX_SIGNATURES + 1)) + "\n"
    for bad in [
        note.replace("\n\n", "\n"),  # no blank line
        note.rstrip("\n"),  # no final newline
        note.replace("\u2014", "-"),  # not an em dash
        note.replace(ORIGIN, ORIGIN + "\x07", 1),  # control character
        note + "\ud800",  # not encodable as UTF-8
        f"{text}\n\n{extra}",  # too many signatures
        "x" * 70_000,
        note.replace(signature.split(" ")[2], "@@@@"),
    ]:
        with pytest.raises(CheckpointError):
            verify_checkpoint(bad, signer.verifier())


def test_parse_checkpoint_reads_without_a_key_and_sign_refuses_bad_heads(
    signer: LedgerSigner,
) -> None:
    note = sign_checkpoint(signer, ORIGIN, 9, ROOT).note
    assert parse_checkpoint(note).tree_size == 9
    for origin, size, root in [("has space", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, 1, b"x")]:
        with pytest.raises(ValueError):
            sign_checkpoint(signer, origin, size, root)


def test_keys_round_trip_through_pem_and_raw(signer: LedgerSigner) -> None:
    pem = signer.to_pem(password=b"correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    restored = LedgerSigner.from_pem(pem, signer.name, password=b"correct horse")
    assert restored.to_raw() == signer.to_raw()
    with pytest.raises(ValueError):
        LedgerSigner.from_pem(pem, signer.name, password=b"wrong")
    plain = LedgerSigner.from_pem(signer.to_pem(), signer.name)
    assert plain.key_id == signer.key_id
    verifier = LedgerVerifier.from_pem(signer.verifier().to_pem(), signer.name)
    assert verifier.to_raw() == signer.verifier().to_raw()
    assert LedgerVerifier.from_raw(verifier.to_raw(), signer.name).key_id == signer.key_id
    assert LedgerVerifier.from_vkey(verifier.to_vkey()).key_id == signer.key_id


def test_key_material_never_shows_in_reprs(signer: LedgerSigner) -> None:
    raw = signer.to_raw()
    shown = repr(signer)
    assert raw.hex() not in shown and base64.b64encode(raw).decode() not in shown
    assert signer.name in shown


def test_verifier_keys_with_a_wrong_id_or_type_are_refused() -> None:
    name, key_id, material = GO_VERIFIER_KEY.split("+", 2)
    with pytest.raises(ValueError, match="id does not match"):
        LedgerVerifier.from_vkey(f"{name}+00000000+{material}")
    wrong_type = base64.b64encode(b"\x02" + base64.b64decode(material)[1:]).decode()
    with pytest.raises(ValueError, match="not an Ed25519"):
        LedgerVerifier.from_vkey(f"{name}+{key_id}+{wrong_type}")
    with pytest.raises(ValueError):
        LedgerVerifier.from_vkey("no-plus-signs")
