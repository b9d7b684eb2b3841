"""DSSE (Dead Simple Signing Envelope) v1: the PAE encoding, envelopes, signing, checking.

Specification: https://github.com/secure-systems-lab/dsse (protocol.md, envelope.md).
The signature covers ``PAE(payloadType, payload)``, never the JSON around it, so the
envelope can be re-serialised freely while the signed bytes stay fixed.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlwarden.store.atomic_file import write_atomically
from mlwarden.store.signing.bounded_reading import (
    check_size,
    parse_json_object,
    read_signed_document,
)
from mlwarden.store.signing.errors import SignatureError, SignatureFailure
from mlwarden.store.signing.keys import (
    PrivateKey,
    PublicKey,
    key_fingerprint,
    sign_bytes,
    signature_verifies,
)

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
"""Largest serialised envelope read."""
MAX_SIGNATURES = 16
"""Most signatures examined in one envelope (each costs a public-key operation)."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 Pre-Authentication Encoding of a payload and its type.

    ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, where ``type`` is the UTF-8
    encoding of ``payload_type`` and ``LEN`` the ASCII decimal byte length.
    """
    type_bytes = payload_type.encode("utf-8")
    return b" ".join(
        [
            b"DSSEv1",
            str(len(type_bytes)).encode("ascii"),
            type_bytes,
            str(len(payload)).encode("ascii"),
            payload,
        ]
    )


@dataclass(frozen=True)
class EnvelopeSignature:
    """One signature in an envelope."""

    sig: bytes
    """The raw signature bytes (DER for ECDSA, 64 bytes for Ed25519)."""
    keyid: str = ""
    """Unauthenticated hint naming the key; mlwarden writes the key fingerprint."""


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: a typed payload and signatures over its PAE encoding."""

    payload_type: str
    """How to interpret ``payload`` (``application/vnd.in-toto+json`` for attestations)."""
    payload: bytes
    """The signed bytes, exactly as signed."""
    signatures: tuple[EnvelopeSignature, ...]

    def to_json(self) -> bytes:
        """The standard JSON form (standard base64, as most DSSE tools write it)."""
        document = {
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "payloadType": self.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode("ascii")}
                for s in self.signatures
            ],
        }
        return json.dumps(document, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, subject: str = "envelope") -> Envelope:
        """Parse the JSON form, bounded in size; bad input is a ``MALFORMED`` SignatureError.

        ``subject`` names the source (a file name) in errors. Standard and URL-safe base64
        are both accepted, as the specification requires of verifiers.
        """
        check_size(data, MAX_ENVELOPE_BYTES, subject, "DSSE envelope")
        document = parse_json_object(data, subject, "DSSE envelope")
        return envelope_from_dict(document, subject)


def load_envelope(path: Path | str) -> Envelope:
    """Read an envelope's JSON file (bounded); see :meth:`Envelope.from_json`."""
    path = Path(path)
    return Envelope.from_json(read_signed_document(path, MAX_ENVELOPE_BYTES, "envelope"), str(path))


def save_envelope(envelope: Envelope, path: Path | str) -> None:
    """Write an envelope's JSON file atomically (replacing any previous one)."""
    write_atomically(Path(path), envelope.to_json())


def envelope_from_dict(document: dict[str, Any], subject: str) -> Envelope:
    """Build an :class:`Envelope` from its parsed JSON object, checking every field."""
    payload_type = document.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise _malformed(subject, "the envelope has no payloadType string")
    payload = decode_base64(document.get("payload"), subject, "payload")
    raw_signatures = document.get("signatures")
    if not isinstance(raw_signatures, list) or not raw_signatures:
        raise _malformed(subject, "the envelope has no signatures")
    if len(raw_signatures) > MAX_SIGNATURES:
        raise _malformed(
            subject, f"the envelope has {len(raw_signatures)} signatures, over {MAX_SIGNATURES}"
        )
    signatures = []
    for index, raw in enumerate(raw_signatures):
        if not isinstance(raw, dict):
            raise _malformed(subject, f"signature {index} is not an object")
        keyid = raw.get("keyid", "")
        if not isinstance(keyid, str):
            raise _malformed(subject, f"signature {index} has a keyid that is not a string")
        sig = decode_base64(raw.get("sig"), subject, f"signature {index}")
        if not sig:
            raise _malformed(subject, f"signature {index} is empty")
        signatures.append(EnvelopeSignature(sig=sig, keyid=keyid))
    return Envelope(payload_type=payload_type, payload=payload, signatures=tuple(signatures))


def decode_base64(value: object, subject: str, what: str) -> bytes:
    """Decode standard or URL-safe base64 strictly (no stray characters are skipped)."""
    if not isinstance(value, str):
        raise _malformed(subject, f"the {what} is not a base64 string")
    text = value.replace("-", "+").replace("_", "/")
    if "=" not in text and len(text) % 4:
        text += "=" * (-len(text) % 4)  # URL-safe encoders often drop the padding
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed(subject, f"the {what} is not valid base64") from None


def sign_envelope(payload_type: str, payload: bytes, key: PrivateKey) -> Envelope:
    """Sign ``payload`` as a one-signature envelope; keyid is the key's fingerprint."""
    signature = sign_bytes(key, pae(payload_type, payload))
    return Envelope(
        payload_type=payload_type,
        payload=payload,
        signatures=(EnvelopeSignature(sig=signature, keyid=key_fingerprint(key)),),
    )


def check_envelope_signature(envelope: Envelope, key: PublicKey, subject: str) -> None:
    """Succeed when at least one signature is valid for ``key``; else ``BAD_SIGNATURE``.

    Keyids are hints only (the specification forbids trusting them): a signature whose
    keyid names another key is skipped to save work, but a matching keyid proves nothing.
    """
    fingerprint = key_fingerprint(key)
    message = pae(envelope.payload_type, envelope.payload)
    candidates = [s for s in envelope.signatures if s.keyid in ("", fingerprint)]
    if any(signature_verifies(key, s.sig, message) for s in candidates):
        return
    if not candidates:
        raise SignatureError(
            subject,
            f"no signature in the envelope is from the key {fingerprint[:16]}… "
            f"(it names {', '.join(sorted({s.keyid[:16] + '…' for s in envelope.signatures}))})",
            "verify with the public key of the signer, or re-sign with this key",
            failure=SignatureFailure.WRONG_KEY,
        )
    raise SignatureError(
        subject,
        "the signature does not verify: the payload or signature was altered, "
        "or another key signed it",
        "obtain an unaltered copy from the signer, and check the public key",
        failure=SignatureFailure.BAD_SIGNATURE,
    )


def _malformed(subject: str, problem: str) -> SignatureError:
    return SignatureError(
        subject,
        problem,
        "regenerate it with the signer, or check that the right file was given",
        failure=SignatureFailure.MALFORMED,
    )
