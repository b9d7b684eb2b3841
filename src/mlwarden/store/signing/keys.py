"""Signing keys: generation, bounded PEM loading, fingerprints and signature primitives.

One key serves both signature kinds mlwarden writes: ECDSA P-256 keys sign model bundles
(the only family the model-signing format accepts: P-256, P-384, P-521) and DSSE
provenance envelopes; Ed25519 keys sign envelopes only.

A key's fingerprint is the SHA-256 of its PEM SubjectPublicKeyInfo, in lowercase hex:
exactly the ``publicKey.hint`` model-signing writes into its bundles, and the ``keyid``
of mlwarden's DSSE envelopes, so one string identifies the key everywhere.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from mlwarden.errors import UsageError
from mlwarden.store.atomic_file import write_atomically
from mlwarden.store.signing.bounded_reading import read_bounded

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
"""A private key mlwarden signs with."""
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
"""A public key mlwarden verifies with."""

MAX_KEY_FILE_BYTES = 64 * 1024
"""Largest PEM file read; real EC and Ed25519 keys are a few hundred bytes."""

_CURVE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}

_FIX_KEY = "give a PEM ECDSA (P-256, P-384, P-521) or Ed25519 key, e.g. from generate_signing_key"


def generate_signing_key(
    private_path: Path | str,
    public_path: Path | str,
    passphrase: str | bytes | None = None,
    *,
    overwrite: bool = False,
) -> str:
    """Create an ECDSA P-256 key pair and return its fingerprint.

    The private key is written as PKCS#8 PEM with mode 0600, encrypted with
    ``passphrase`` when one is given; the public key as SubjectPublicKeyInfo PEM (0644).
    Both writes are atomic. Existing files are kept (:class:`UsageError`) unless
    ``overwrite`` is true, so an old key is never lost by accident.
    """
    private_path, public_path = Path(private_path), Path(public_path)
    if private_path.resolve() == public_path.resolve():
        raise UsageError(
            str(private_path), "is given for both the private and the public key", "use two paths"
        )
    if not overwrite:
        for path in (private_path, public_path):
            if path.exists() or path.is_symlink():
                raise UsageError(
                    str(path), "already exists", "choose another path or pass overwrite=True"
                )
    key = ec.generate_private_key(ec.SECP256R1())
    secret = _passphrase_bytes(passphrase)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    write_atomically(private_path, private_pem, mode=0o600, overwrite=overwrite)
    write_atomically(public_path, public_pem(key.public_key()), mode=0o644, overwrite=overwrite)
    return key_fingerprint(key.public_key())


def load_private_key(path: Path | str, passphrase: str | bytes | None = None) -> PrivateKey:
    """Read a PEM private key (ECDSA or Ed25519), decrypting it with ``passphrase``.

    A missing, oversized or unreadable file, a wrong or missing passphrase and an
    unsupported key type are :class:`UsageError`; the passphrase never appears in messages.
    """
    path = Path(path)
    data = read_bounded(path, MAX_KEY_FILE_BYTES, "private key")
    try:
        key = serialization.load_pem_private_key(data, _passphrase_bytes(passphrase) or None)
    except TypeError:
        # cryptography raises TypeError when encryption and passphrase presence disagree.
        if passphrase:
            raise UsageError(
                str(path),
                "the private key is not encrypted but a passphrase was given",
                "drop the passphrase",
            ) from None
        raise UsageError(str(path), "the private key is encrypted", "give its passphrase") from None
    except ValueError:
        problem = (
            "the passphrase is wrong or the file is not a PEM private key"
            if passphrase
            else "the file is not a PEM private key"
        )
        raise UsageError(str(path), problem, _FIX_KEY) from None
    except UnsupportedAlgorithm:
        raise UsageError(str(path), "the key type is not supported", _FIX_KEY) from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        _check_curve(key.public_key(), str(path))
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise UsageError(str(path), f"a {type(key).__name__} cannot sign here", _FIX_KEY)


def load_public_key(path: Path | str) -> PublicKey:
    """Read a PEM public key (ECDSA on P-256/384/521, or Ed25519); else :class:`UsageError`."""
    path = Path(path)
    return public_key_from_pem(read_bounded(path, MAX_KEY_FILE_BYTES, "public key"), str(path))


def public_key_from_pem(data: bytes, subject: str) -> PublicKey:
    """Parse PEM SubjectPublicKeyInfo bytes; ``subject`` names their source in errors."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(subject, "is not a PEM public key", _FIX_KEY) from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        _check_curve(key, subject)
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise UsageError(subject, f"a {type(key).__name__} is not supported", _FIX_KEY)


def public_pem(key: PublicKey) -> bytes:
    """The key as PEM SubjectPublicKeyInfo, the form fingerprints are computed over."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_fingerprint(key: PublicKey | PrivateKey) -> str:
    """SHA-256 (lowercase hex) of the public key's PEM: the model-signing hint and DSSE keyid."""
    public = key.public_key() if isinstance(key, PrivateKey) else key
    return hashlib.sha256(public_pem(public)).hexdigest()


def sign_bytes(key: PrivateKey, message: bytes) -> bytes:
    """Sign ``message``: Ed25519, or DER-encoded ECDSA with the curve's matching hash."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    return key.sign(message, ec.ECDSA(_curve_hash(key.public_key())))


def signature_verifies(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` (as :func:`sign_bytes` makes it) is valid for ``message``."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(_curve_hash(key)))
    except InvalidSignature:
        return False
    return True


def _curve_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    # The hash grows with the curve, as model-signing (and Sigstore) pair them.
    return _CURVE_HASHES[key.curve.name]()


def _check_curve(key: ec.EllipticCurvePublicKey, subject: str) -> None:
    if key.curve.name not in _CURVE_HASHES:
        raise UsageError(subject, f"the curve {key.curve.name} is not supported", _FIX_KEY)


def _passphrase_bytes(passphrase: str | bytes | None) -> bytes:
    if passphrase is None:
        return b""
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
