"""DSSE: PAE as the specification defines it, envelopes, signature checking."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from mlwarden.store.signing import (
    Envelope,
    EnvelopeSignature,
    SignatureError,
    SignatureFailure,
    key_fingerprint,
    pae,
)
from mlwarden.store.signing.dsse import (
    MAX_ENVELOPE_BYTES,
    MAX_SIGNATURES,
    check_envelope_signature,
    sign_envelope,
)


def pae_from_the_definition(payload_type: str, body: bytes) -> bytes:
    """protocol.md: PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body)
    + SP + body, with LEN the ASCII decimal byte length (no leading zeros), type UTF-8."""
    sp = bytes([0x20])
    dssev1 = bytes([0x44, 0x53, 0x53, 0x45, 0x76, 0x31])
    type_bytes = payload_type.encode("utf-8")

    def length(data: bytes) -> bytes:
        return f"{len(data):d}".encode("ascii")

    return dssev1 + sp + length(type_bytes) + sp + type_bytes + sp + length(body) + sp + body


def test_pae_matches_the_specification_worked_example() -> None:
    # protocol.md "Test Vectors": SERIALIZED_BODY "hello world",
    # PAYLOAD_TYPE "http://example.com/HelloWorld".
    encoded = pae("http://example.com/HelloWorld", b"hello world")
    assert encoded == pae_from_the_definition("http://example.com/HelloWorld", b"hello world")
    assert encoded == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_the_specification_signature_verifies_over_our_pae() -> None:
    # The spec's example signature (ECDSA P-256/SHA-256, raw r||s) was made over the
    # reference PAE bytes; it verifies over ours only if they are the same bytes.
    x = 46950820868899156662930047687818585632848591499744589407958293238635476079160
    y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    raw = base64.b64decode(
        "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="
    )
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    envelope = Envelope(
        payload_type="http://example.com/HelloWorld",
        payload=b"hello world",
        signatures=(EnvelopeSignature(sig=der),),
    )
    check_envelope_signature(envelope, public, "spec example")


@pytest.mark.parametrize(
    ("payload_type", "body"),
    [
        ("application/vnd.in-toto+json", b'{"a": 1}'),
        ("", b""),
        ("tÿpe/ünïcode", b"x" * 1000),  # LEN counts UTF-8 bytes, not characters
        ("t", bytes(range(256))),
    ],
)
def test_pae_follows_the_definition(payload_type: str, body: bytes) -> None:
    assert pae(payload_type, body) == pae_from_the_definition(payload_type, body)


@pytest.mark.parametrize(
    "key", [ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()]
)
def test_envelope_json_round_trip_verifies(key: ec.EllipticCurvePrivateKey) -> None:
    envelope = sign_envelope("application/example", b"payload", key)
    assert envelope.signatures[0].keyid == key_fingerprint(key)
    parsed = Envelope.from_json(envelope.to_json())
    assert parsed == envelope
    check_envelope_signature(parsed, key.public_key(), "test")


def test_url_safe_unpadded_base64_is_accepted() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    payload = bytes([0xFB, 0xFF, 0xFE]) * 7  # encodes to "+" and "/" in standard base64
    envelope = sign_envelope("t", payload, key)
    document = {
        "payload": base64.urlsafe_b64encode(payload).decode().rstrip("="),
        "payloadType": "t",
        "signatures": [{"sig": base64.urlsafe_b64encode(envelope.signatures[0].sig).decode()}],
    }
    parsed = Envelope.from_json(json.dumps(document).encode())
    assert parsed.payload == payload
    check_envelope_signature(parsed, key.public_key(), "test")


def test_one_valid_signature_among_others_is_enough() -> None:
    signer, stranger = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    good = sign_envelope("t", b"p", signer).signatures[0]
    foreign = sign_envelope("t", b"p", stranger).signatures[0]
    broken = EnvelopeSignature(sig=b"\x00" * 64, keyid="")
    envelope = Envelope("t", b"p", (foreign, broken, good))
    check_envelope_signature(envelope, signer.public_key(), "test")


def test_signatures_from_other_keys_only_are_refused() -> None:
    signer, verifier = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    envelope = sign_envelope("t", b"p", signer)
    with pytest.raises(SignatureError) as caught:
        check_envelope_signature(envelope, verifier.public_key(), "test")
    assert caught.value.failure is SignatureFailure.WRONG_KEY
    # A keyid is only a hint: claiming the verifier's key does not help.
    claimed = Envelope("t", b"p", (EnvelopeSignature(envelope.signatures[0].sig, ""),))
    with pytest.raises(SignatureError) as caught:
        check_envelope_signature(claimed, verifier.public_key(), "test")
    assert caught.value.failure is SignatureFailure.BAD_SIGNATURE


def test_payload_type_is_authenticated() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    envelope = sign_envelope("application/one", b"p", key)
    swapped = Envelope("application/two", envelope.payload, envelope.signatures)
    with pytest.raises(SignatureError) as caught:
        check_envelope_signature(swapped, key.public_key(), "test")
    assert caught.value.failure is SignatureFailure.BAD_SIGNATURE


@pytest.mark.parametrize(
    "document",
    [
        b"[]",
        b'{"payloadType": "t", "signatures": [{"sig": "AA=="}]}',
        b'{"payload": "!!", "payloadType": "t", "signatures": [{"sig": "AA=="}]}',
        b'{"payload": "", "payloadType": "t", "signatures": []}',
        b'{"payload": "", "payloadType": "t", "signatures": [{"sig": ""}]}',
        b'{"payload": "", "payloadType": "t", "signatures": [{"sig": "AA==", "keyid": 5}]}',
        b'{"payload": "", "payload": "", "payloadType": "t", "signatures": [{"sig": "AA=="}]}',
        b'{"payload": "", "payloadType": "t", "signatures": [{"sig": "AA=="}], "x": NaN}',
    ],
)
def test_malformed_envelopes_are_refused(document: bytes) -> None:
    with pytest.raises(SignatureError) as caught:
        Envelope.from_json(document)
    assert caught.value.failure is SignatureFailure.MALFORMED


def test_envelope_bounds() -> None:
    with pytest.raises(SignatureError, match="larger than"):
        Envelope.from_json(b" " * (MAX_ENVELOPE_BYTES + 1))
    many = {
        "payload": "",
        "payloadType": "t",
        "signatures": [{"sig": "AA=="}] * (MAX_SIGNATURES + 1),
    }
    with pytest.raises(SignatureError, match="signatures"):
        Envelope.from_json(json.dumps(many).encode())
    with pytest.raises(SignatureError, match="nests too deeply"):
        Envelope.from_json(b"[" * 100_000)
