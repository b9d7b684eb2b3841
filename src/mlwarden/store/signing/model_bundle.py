"""Reading OpenSSF model-signing bundles (key-based): structure, statement, manifest.

A bundle is a Sigstore bundle v0.3 whose ``dsseEnvelope`` carries an in-toto Statement
with predicate ``https://model_signing/signature/v1.0``: one subject (the model name and
a SHA-256 over every file digest, in order) and a ``resources`` list of file digests.
This module reads one strictly, so that the verifier never meets a bundle it cannot
explain; it does not check the signature (``model_signatures`` does).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from mlwarden.store.signing.bounded_reading import check_size, parse_json_object
from mlwarden.store.signing.dsse import Envelope, envelope_from_dict
from mlwarden.store.signing.errors import SignatureError, SignatureFailure
from mlwarden.store.signing.statement import (
    IN_TOTO_PAYLOAD_TYPE,
    malformed,
    parse_statement,
)

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
"""The Sigstore bundle version model-signing writes for key-based signatures."""
MODEL_SIGNATURE_PREDICATE = "https://model_signing/signature/v1.0"
"""The predicate type of a model-signing v1.0 statement."""
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
"""Largest bundle read; a bundle for 100 000 files is about 15 MB."""

_HASH_HEX_LENGTHS = {"sha256": 64, "blake2": 128, "blake3": 64}
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_FIX_RESIGN = "sign the model again with mlwarden or model-signing (key mode)"


@dataclass(frozen=True)
class CoveredFile:
    """One file, or one shard of a file, that a signature covers."""

    name: str
    """Path relative to the model folder (``.`` for a single-file model); for shards,
    ``path:start:end``."""
    algorithm: str
    """``sha256``, ``blake2`` or ``blake3``."""
    digest: str
    """Lowercase hex digest of the content."""


@dataclass(frozen=True)
class SignedManifest:
    """What a model signature covers, as recorded in its statement."""

    model_name: str
    """The subject name: the model's file or folder name when signed (informative)."""
    root_digest: str
    """The subject's SHA-256: over the file digests in order; names the whole model."""
    files: tuple[CoveredFile, ...]
    """Every covered file (or shard), sorted by name."""
    serialization: str
    """``files`` (one digest per file) or ``shards``."""
    hash_algorithm: str
    ignored_paths: tuple[str, ...]
    """Paths left out of the signature (relative to the model folder), e.g. ``.git``."""
    allow_symlinks: bool
    """Whether symbolic links were followed when hashing."""
    shard_size: int | None
    """Bytes per shard for ``shards`` serialization, else ``None``."""


@dataclass(frozen=True)
class ModelBundle:
    """A parsed key-based model-signing bundle (signature not yet checked)."""

    key_hint: str
    """SHA-256 of the signer's PEM public key, as the bundle records it."""
    envelope: Envelope
    """The DSSE envelope whose one signature covers the statement."""
    manifest: SignedManifest


def parse_model_bundle(data: bytes, subject: str) -> ModelBundle:
    """Parse bundle bytes; ``subject`` names their source in errors.

    Raises :class:`SignatureError`: ``MALFORMED`` for bad JSON or structure (including a
    manifest whose root digest does not match its files), ``UNSUPPORTED`` for Sigstore
    keyless, certificate and pre-1.0 bundles, which mlwarden does not verify.
    """
    check_size(data, MAX_BUNDLE_BYTES, subject, "signature bundle")
    document = parse_json_object(data, subject, "signature bundle")
    media_type = document.get("mediaType")
    if media_type != BUNDLE_MEDIA_TYPE:
        if isinstance(media_type, str) and media_type.startswith("application/vnd.dev.sigstore"):
            raise _unsupported(subject, f"a Sigstore bundle of type {media_type}")
        raise malformed(subject, "this is not a model-signing bundle (no Sigstore media type)")
    material = document.get("verificationMaterial")
    if not isinstance(material, dict):
        raise malformed(subject, "the bundle has no verificationMaterial")
    key_hint = _key_hint(material, subject)
    raw_envelope = document.get("dsseEnvelope")
    if not isinstance(raw_envelope, dict):
        raise malformed(subject, "the bundle has no dsseEnvelope")
    envelope = envelope_from_dict(raw_envelope, subject)
    if len(envelope.signatures) != 1:
        raise malformed(subject, f"the envelope has {len(envelope.signatures)} signatures, not 1")
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise malformed(subject, f"the payload type is {envelope.payload_type!r}, not in-toto")
    return ModelBundle(
        key_hint=key_hint,
        envelope=envelope,
        manifest=manifest_from_statement(envelope.payload, subject),
    )


def manifest_from_statement(payload: bytes, subject: str) -> SignedManifest:
    """Read the model-signing v1.0 predicate of a statement into a :class:`SignedManifest`."""
    statement = parse_statement(payload, subject)
    if statement.predicate_type != MODEL_SIGNATURE_PREDICATE:
        raise _unsupported(subject, f"a statement of type {statement.predicate_type}")
    if len(statement.subjects) != 1 or "sha256" not in statement.subjects[0].digest:
        raise malformed(subject, "the statement must have one subject with a sha256 digest")
    model = statement.subjects[0]
    predicate = statement.predicate
    serialization = _object(predicate.get("serialization"), subject, "predicate.serialization")
    method = serialization.get("method")
    if method not in ("files", "shards"):
        raise malformed(subject, f"serialization method {method!r} is unknown")
    hash_algorithm = serialization.get("hash_type")
    if hash_algorithm not in _HASH_HEX_LENGTHS:
        raise malformed(subject, f"hash_type {hash_algorithm!r} is unknown")
    if not isinstance(serialization.get("allow_symlinks"), bool):
        raise malformed(subject, "serialization.allow_symlinks is not a boolean")
    shard_size = serialization.get("shard_size") if method == "shards" else None
    if method == "shards" and not _positive_int(shard_size):
        raise malformed(subject, "serialization.shard_size is not a positive integer")
    ignored = serialization.get("ignore_paths", [])
    if not isinstance(ignored, list) or not all(isinstance(p, str) for p in ignored):
        raise malformed(subject, "serialization.ignore_paths is not a list of strings")
    resources = predicate.get("resources")
    if not isinstance(resources, list):
        raise malformed(subject, "predicate.resources is not a list")
    files = tuple(
        _covered_file(raw, subject, f"predicate.resources[{index}]")
        for index, raw in enumerate(resources)
    )
    _check_root_digest(files, model.digest["sha256"], subject)
    return SignedManifest(
        model_name=model.name,
        root_digest=model.digest["sha256"],
        files=tuple(sorted(files, key=lambda f: f.name)),
        serialization=method,
        hash_algorithm=hash_algorithm,
        ignored_paths=tuple(sorted(ignored)),
        allow_symlinks=serialization["allow_symlinks"],
        shard_size=shard_size,
    )


def _key_hint(material: dict[str, Any], subject: str) -> str:
    if "certificate" in material or "x509CertificateChain" in material:
        raise _unsupported(subject, "a certificate-based bundle")
    public_key = material.get("publicKey")
    if not isinstance(public_key, dict):
        raise malformed(subject, "verificationMaterial has no publicKey")
    hint = public_key.get("hint")
    if hint is None:
        raise _unsupported(subject, "a bundle that does not name its public key (pre-1.0 format)")
    if not isinstance(hint, str) or not _FINGERPRINT.fullmatch(hint):
        raise malformed(subject, "publicKey.hint is not a SHA-256 hex fingerprint")
    return hint


def _covered_file(value: object, subject: str, where: str) -> CoveredFile:
    entry = _object(value, subject, where)
    name, algorithm, digest = entry.get("name"), entry.get("algorithm"), entry.get("digest")
    if not isinstance(name, str) or not name:
        raise malformed(subject, f"{where}.name is not a path")
    if algorithm not in _HASH_HEX_LENGTHS:
        raise malformed(subject, f"{where}.algorithm {algorithm!r} is unknown")
    if (
        not isinstance(digest, str)
        or len(digest) != _HASH_HEX_LENGTHS[algorithm]
        or not re.fullmatch(r"[0-9a-f]+", digest)
    ):
        raise malformed(subject, f"{where}.digest is not a lowercase hex {algorithm} digest")
    return CoveredFile(name=name, algorithm=algorithm, digest=digest)


def _check_root_digest(files: tuple[CoveredFile, ...], expected: str, subject: str) -> None:
    # model-signing defines the subject digest as SHA-256 over the resource digests in the
    # order listed; a mismatch means the statement contradicts itself.
    root = hashlib.sha256()
    for covered in files:
        root.update(bytes.fromhex(covered.digest))
    if root.hexdigest() != expected:
        raise malformed(subject, "the subject digest does not match the listed file digests")


def _object(value: object, subject: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise malformed(subject, f"{where} is not an object")
    return value


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _unsupported(subject: str, what: str) -> SignatureError:
    return SignatureError(
        subject,
        f"this is {what}; mlwarden verifies only key-based model-signing v1.0 bundles",
        _FIX_RESIGN,
        failure=SignatureFailure.UNSUPPORTED,
    )
