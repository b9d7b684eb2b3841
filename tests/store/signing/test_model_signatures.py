"""Model signatures: round trips, every tampering a user must be told about, interop."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import model_signing
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from signing_fixtures import KeyPair

from mlwarden.errors import UsageError
from mlwarden.store.signing import (
    CoveredFile,
    SignatureError,
    SignatureFailure,
    sign_artifact_bytes,
    sign_model,
    sign_model_bundle,
    verify_artifact_bytes,
    verify_model,
    verify_model_bundle,
)
from mlwarden.store.signing.model_bundle import MAX_BUNDLE_BYTES

WEIGHTS = bytes(range(256)) * 256


def make_model_folder(root: Path) -> Path:
    model = root / "resnet"
    (model / "weights").mkdir(parents=True)
    (model / "config.json").write_text('{"layers": 50}')
    (model / "weights" / "part-0.bin").write_bytes(WEIGHTS)
    (model / "weights" / "part-1.bin").write_bytes(WEIGHTS[::-1])
    return model


def library_verify(model: Path, signature: Path, public_key: Path) -> None:
    """Verify with model_signing's own public API, not through mlwarden."""
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public_key).verify(
        model, signature
    )


def rewrite_bundle(
    bundle: bytes, edit_statement: Callable[[Any], None] | None = None, **top: object
) -> bytes:
    document = json.loads(bundle)
    if edit_statement is not None:
        envelope = document["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"]))
        edit_statement(statement)
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    document.update(top)
    return json.dumps(document).encode()


# Round trips ---------------------------------------------------------------------------


def test_single_file_round_trip_reports_digest_and_key(
    tmp_path: Path, signer_keys: KeyPair
) -> None:
    model = tmp_path / "classifier.safetensors"
    model.write_bytes(WEIGHTS)
    info = sign_model(model, signer_keys.private, tmp_path / "classifier.sig")

    assert (tmp_path / "classifier.sig").read_bytes() == info.bundle
    verified = verify_model(model, tmp_path / "classifier.sig", signer_keys.public)
    assert verified.key_fingerprint == signer_keys.fingerprint == info.key_fingerprint
    assert verified.manifest.model_name == "classifier.safetensors"
    assert verified.manifest.files == (
        CoveredFile(".", "sha256", hashlib.sha256(WEIGHTS).hexdigest()),
    )
    expected_root = hashlib.sha256(hashlib.sha256(WEIGHTS).digest()).hexdigest()
    assert verified.manifest.root_digest == expected_root


def test_folder_round_trip_with_signature_inside_the_folder(
    tmp_path: Path, signer_keys: KeyPair
) -> None:
    model = make_model_folder(tmp_path)
    info = sign_model(model, signer_keys.private, model / "model.sig")

    verified = verify_model(model, model / "model.sig", signer_keys.public)
    assert [f.name for f in verified.manifest.files] == [
        "config.json",
        "weights/part-0.bin",
        "weights/part-1.bin",
    ]
    assert "model.sig" in verified.manifest.ignored_paths
    assert verified.manifest == info.manifest
    assert sorted(p.name for p in model.iterdir()) == ["config.json", "model.sig", "weights"]


def test_resigning_replaces_the_old_bundle(tmp_path: Path, signer_keys: KeyPair) -> None:
    model = make_model_folder(tmp_path)
    signature = tmp_path / "model.sig"
    signature.write_text("stale")
    sign_model(model, signer_keys.private, signature)
    verify_model(model, signature, signer_keys.public)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_ignored_paths_are_recorded_and_not_covered(tmp_path: Path, signer_keys: KeyPair) -> None:
    model = make_model_folder(tmp_path)
    (model / "notes.txt").write_text("draft")
    sign_model(model, signer_keys.private, tmp_path / "m.sig", ignore_paths=["notes.txt"])
    (model / "notes.txt").write_text("edited later")

    verified = verify_model(model, tmp_path / "m.sig", signer_keys.public)
    assert "notes.txt" in verified.manifest.ignored_paths
    assert "notes.txt" not in [f.name for f in verified.manifest.files]


def test_bundle_bytes_round_trip_without_files(tmp_path: Path, signer_keys: KeyPair) -> None:
    model = make_model_folder(tmp_path)
    info = sign_model_bundle(model, signer_keys.private)
    assert info.signature_path is None
    verified = verify_model_bundle(model, info.bundle, signer_keys.public)
    assert verified.manifest.root_digest == info.manifest.root_digest


# Tampering with the model ----------------------------------------------------------------


@pytest.fixture
def signed_folder(tmp_path: Path, signer_keys: KeyPair) -> tuple[Path, Path]:
    model = make_model_folder(tmp_path)
    sign_model(model, signer_keys.private, tmp_path / "model.sig")
    return model, tmp_path / "model.sig"


def test_one_modified_byte_is_named(signed_folder: tuple[Path, Path], signer_keys: KeyPair) -> None:
    model, signature = signed_folder
    target = model / "weights" / "part-1.bin"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))

    with pytest.raises(SignatureError) as caught:
        verify_model(model, signature, signer_keys.public)
    assert caught.value.failure is SignatureFailure.MODIFIED
    assert caught.value.modified == ("weights/part-1.bin",)
    assert "weights/part-1.bin" in str(caught.value)


def test_an_added_file_is_named(signed_folder: tuple[Path, Path], signer_keys: KeyPair) -> None:
    model, signature = signed_folder
    (model / "weights" / "loader.py").write_text("import os")

    with pytest.raises(SignatureError) as caught:
        verify_model(model, signature, signer_keys.public)
    assert caught.value.failure is SignatureFailure.EXTRA_FILES
    assert caught.value.extra == ("weights/loader.py",)


def test_a_removed_file_is_named(signed_folder: tuple[Path, Path], signer_keys: KeyPair) -> None:
    model, signature = signed_folder
    (model / "config.json").unlink()

    with pytest.raises(SignatureError) as caught:
        verify_model(model, signature, signer_keys.public)
    assert caught.value.failure is SignatureFailure.MISSING_FILES
    assert caught.value.missing == ("config.json",)


def test_a_symlink_planted_after_signing_is_refused(
    signed_folder: tuple[Path, Path], signer_keys: KeyPair
) -> None:
    model, signature = signed_folder
    (model / "config.json").unlink()
    (model / "config.json").symlink_to(model / "weights" / "part-0.bin")

    with pytest.raises(SignatureError) as caught:
        verify_model(model, signature, signer_keys.public)
    assert caught.value.failure is SignatureFailure.UNREADABLE_MODEL


def test_the_wrong_public_key_is_reported(
    signed_folder: tuple[Path, Path], other_keys: KeyPair
) -> None:
    model, signature = signed_folder
    with pytest.raises(SignatureError) as caught:
        verify_model(model, signature, other_keys.public)
    assert caught.value.failure is SignatureFailure.WRONG_KEY


def test_a_bundle_claiming_another_key_fails_the_signature_check(
    signed_folder: tuple[Path, Path], other_keys: KeyPair
) -> None:
    # The hint is not trusted: naming the verifier's key does not make the bundle valid.
    model, signature = signed_folder
    forged = rewrite_bundle(
        signature.read_bytes(),
        verificationMaterial={"publicKey": {"hint": other_keys.fingerprint}, "tlogEntries": []},
    )
    with pytest.raises(SignatureError) as caught:
        verify_model_bundle(model, forged, other_keys.public)
    assert caught.value.failure is SignatureFailure.BAD_SIGNATURE


# Damaged bundles -----------------------------------------------------------------------


def _rename_subject(statement: Any) -> None:
    statement["subject"][0]["name"] = "someone-else"


def _drop_resource(statement: Any) -> None:
    statement["predicate"]["resources"].pop()


def _flip_signature(bundle: bytes) -> bytes:
    document = json.loads(bundle)
    sig = bytearray(base64.b64decode(document["dsseEnvelope"]["signatures"][0]["sig"]))
    sig[-1] ^= 0x01
    document["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    return json.dumps(document).encode()


DAMAGES = {
    "truncated": (lambda b: b[: len(b) // 2], SignatureFailure.MALFORMED),
    "empty": (lambda b: b"", SignatureFailure.MALFORMED),
    "not json": (lambda b: b"\x00\xffnot json", SignatureFailure.MALFORMED),
    "json list": (lambda b: b"[1, 2]", SignatureFailure.MALFORMED),
    "duplicate key": (
        lambda b: b'{"mediaType": "x", ' + b[1:],
        SignatureFailure.MALFORMED,
    ),
    "other media type": (
        lambda b: rewrite_bundle(b, mediaType="application/json"),
        SignatureFailure.MALFORMED,
    ),
    "garbled payload": (
        lambda b: b.replace(json.loads(b)["dsseEnvelope"]["payload"][:12].encode(), b"!!!!"),
        SignatureFailure.MALFORMED,
    ),
    "inconsistent manifest": (
        lambda b: rewrite_bundle(b, _drop_resource),
        SignatureFailure.MALFORMED,
    ),
    "altered statement": (
        lambda b: rewrite_bundle(b, _rename_subject),
        SignatureFailure.BAD_SIGNATURE,
    ),
    "altered signature": (_flip_signature, SignatureFailure.BAD_SIGNATURE),
    "certificate bundle": (
        lambda b: rewrite_bundle(b, verificationMaterial={"certificate": {"rawBytes": "AA=="}}),
        SignatureFailure.UNSUPPORTED,
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_bundles_are_refused(
    damage: str, signed_folder: tuple[Path, Path], signer_keys: KeyPair
) -> None:
    model, signature = signed_folder
    edit, failure = DAMAGES[damage]
    signature.write_bytes(edit(signature.read_bytes()))

    with pytest.raises(SignatureError) as caught:
        verify_model(model, signature, signer_keys.public)
    assert caught.value.failure is failure
    assert str(signature) in str(caught.value)


def test_oversized_bundles_are_refused_before_parsing(
    signed_folder: tuple[Path, Path], signer_keys: KeyPair
) -> None:
    model, signature = signed_folder
    signature.write_bytes(b" " * (MAX_BUNDLE_BYTES + 1))
    with pytest.raises(SignatureError) as caught:
        verify_model(model, signature, signer_keys.public)
    assert caught.value.failure is SignatureFailure.MALFORMED
    assert "larger than" in caught.value.problem


# Interoperability with model_signing itself ----------------------------------------------


def test_model_signing_verifies_our_folder_bundle(tmp_path: Path, signer_keys: KeyPair) -> None:
    model = make_model_folder(tmp_path)
    sign_model(model, signer_keys.private, model / "model.sig")
    library_verify(model, model / "model.sig", signer_keys.public)

    (model / "config.json").write_text('{"layers": 51}')
    with pytest.raises(ValueError, match=r"config\.json"):
        library_verify(model, model / "model.sig", signer_keys.public)


def test_model_signing_verifies_our_artifact_bundle(tmp_path: Path, signer_keys: KeyPair) -> None:
    info = sign_artifact_bytes(WEIGHTS, "model.safetensors", signer_keys.private)
    downloaded = tmp_path / "download.bin"  # a single file verifies under any local name
    downloaded.write_bytes(WEIGHTS)
    (tmp_path / "model.sig").write_bytes(info.bundle)
    library_verify(downloaded, tmp_path / "model.sig", signer_keys.public)


def test_we_verify_bundles_made_by_model_signing(tmp_path: Path, signer_keys: KeyPair) -> None:
    model = make_model_folder(tmp_path)
    model_signing.signing.Config().use_elliptic_key_signer(private_key=signer_keys.private).sign(
        model, tmp_path / "theirs.sig"
    )
    verified = verify_model(model, tmp_path / "theirs.sig", signer_keys.public)
    assert len(verified.manifest.files) == 3


# Artifacts held in memory (the vault's path) ----------------------------------------------


def test_artifact_bytes_round_trip_names_the_artifact(signer_keys: KeyPair) -> None:
    info = sign_artifact_bytes(WEIGHTS, "fraud-model-v3.pt", signer_keys.private)
    assert info.manifest.model_name == "fraud-model-v3.pt"
    verified = verify_artifact_bytes(WEIGHTS, "fraud-model-v3.pt", info.bundle, signer_keys.public)
    assert verified.manifest.files[0].digest == hashlib.sha256(WEIGHTS).hexdigest()


def test_artifact_bundle_does_not_verify_other_content_or_name(signer_keys: KeyPair) -> None:
    info = sign_artifact_bytes(WEIGHTS, "a.pt", signer_keys.private)
    with pytest.raises(SignatureError) as caught:
        verify_artifact_bytes(WEIGHTS + b"\x00", "a.pt", info.bundle, signer_keys.public)
    assert caught.value.failure is SignatureFailure.MODIFIED
    with pytest.raises(SignatureError) as caught:
        verify_artifact_bytes(WEIGHTS, "b.pt", info.bundle, signer_keys.public)
    assert caught.value.failure is SignatureFailure.SUBJECT_MISMATCH


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "..\\x", "new\nline", "x" * 300])
def test_artifact_names_must_be_plain_file_names(name: str, signer_keys: KeyPair) -> None:
    with pytest.raises(UsageError):
        sign_artifact_bytes(b"data", name, signer_keys.private)


# Keys --------------------------------------------------------------------------------------


def test_passphrase_protected_keys(tmp_path: Path) -> None:
    from mlwarden.store.signing import generate_signing_key

    generate_signing_key(tmp_path / "k.pem", tmp_path / "k.pub", passphrase="correct horse")
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in (tmp_path / "k.pem").read_bytes()
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")

    sign_model(model, tmp_path / "k.pem", tmp_path / "m.sig", passphrase="correct horse")
    verify_model(model, tmp_path / "m.sig", tmp_path / "k.pub")
    for wrong in ("wrong horse", None):
        with pytest.raises(UsageError) as caught:
            sign_model(model, tmp_path / "k.pem", tmp_path / "m2.sig", passphrase=wrong)
        assert "horse" not in str(caught.value)
    assert not (tmp_path / "m2.sig").exists()


def test_key_generation_never_overwrites_by_default(tmp_path: Path) -> None:
    from mlwarden.store.signing import generate_signing_key

    first = generate_signing_key(tmp_path / "k.pem", tmp_path / "k.pub")
    before = (tmp_path / "k.pem").read_bytes()
    with pytest.raises(UsageError, match="already exists"):
        generate_signing_key(tmp_path / "k.pem", tmp_path / "k.pub")
    assert (tmp_path / "k.pem").read_bytes() == before
    assert generate_signing_key(tmp_path / "k.pem", tmp_path / "k.pub", overwrite=True) != first


def test_ed25519_keys_cannot_make_model_bundles(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "ed.pem").write_bytes(pem)
    (tmp_path / "m.bin").write_bytes(b"weights")
    with pytest.raises(UsageError, match="ECDSA"):
        sign_model(tmp_path / "m.bin", tmp_path / "ed.pem", tmp_path / "m.sig")


def test_missing_inputs_are_usage_errors(tmp_path: Path, signer_keys: KeyPair) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        sign_model(tmp_path / "absent", signer_keys.private, tmp_path / "m.sig")
    (tmp_path / "m.bin").write_bytes(b"w")
    with pytest.raises(UsageError, match="does not exist"):
        verify_model(tmp_path / "m.bin", tmp_path / "absent.sig", signer_keys.public)


def test_signing_refuses_symlinks_inside_the_model(tmp_path: Path, signer_keys: KeyPair) -> None:
    model = make_model_folder(tmp_path)
    os.symlink("/etc/hostname", model / "link")
    with pytest.raises(UsageError, match="symlink"):
        sign_model(model, signer_keys.private, tmp_path / "m.sig")
    assert not (tmp_path / "m.sig").exists()


def test_signing_and_verifying_stay_offline(
    tmp_path: Path, signer_keys: KeyPair, audit: Any
) -> None:
    model = make_model_folder(tmp_path)
    sign_model(model, signer_keys.private, tmp_path / "m.sig")
    verify_model(model, tmp_path / "m.sig", signer_keys.public)
    assert [e for e in audit.events if e[0] in ("socket.connect", "subprocess.Popen")] == []


def test_a_model_with_nothing_to_sign_is_refused(tmp_path: Path, signer_keys: KeyPair) -> None:
    model = tmp_path / "empty"
    model.mkdir()
    (model / "only.txt").write_text("x")
    with pytest.raises(UsageError, match="no files"):
        sign_model(model, signer_keys.private, tmp_path / "m.sig", ignore_paths=["only.txt"])


def test_a_signature_covering_no_files_proves_nothing(tmp_path: Path, signer_keys: KeyPair) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    model_signing.signing.Config().use_elliptic_key_signer(private_key=signer_keys.private).sign(
        empty, tmp_path / "empty.sig"
    )
    (empty / "anything.bin").write_bytes(b"x")
    with pytest.raises(SignatureError) as caught:
        verify_model(empty, tmp_path / "empty.sig", signer_keys.public)
    assert caught.value.failure is SignatureFailure.UNSUPPORTED
