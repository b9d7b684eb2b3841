"""Signed tree heads: checkpoints in the C2SP ``tlog-checkpoint`` / ``signed-note`` format.

A checkpoint note reads::

    <origin>
    <tree size>
    <base64 root hash>

    — <key name> <base64(4-byte key id || Ed25519 signature)>

The signature covers the text above the blank line. Key ids follow ``signed-note``:
the first four bytes of ``SHA-256(key name || "\\n" || 0x01 || public key)``, so notes
written here verify with Go's ``golang.org/x/mod/sumdb/note`` and other implementations.
The private key stays with the caller: :class:`LedgerSigner` only converts it to and from
PEM or raw bytes, it never stores or logs it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mlwarden.errors import UsageError
from mlwarden.ledger.merkle import HASH_SIZE, MAX_TREE_SIZE

MAX_NOTE_BYTES = 64 * 1024
"""Largest signed note accepted."""

MAX_SIGNATURES = 64
"""Most signature lines accepted in one note (``signed-note`` asks for at least 16)."""

MAX_NAME = 256
"""Longest origin or key name (characters)."""

_ED25519 = b"\x01"  # signed-note signature type for Ed25519
_DASH = "\u2014"
_SIGNATURE_BYTES = 64
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
# Key names may not hold Unicode spaces or '+'; `str.split()` splits on every Unicode space.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class CheckpointError(UsageError):
    """A checkpoint that is malformed, for another log, or not validly signed by the key."""


def _check_name(value: str, what: str) -> None:
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_NAME
        or "+" in value
        or len(value.split()) != 1
        or value.split()[0] != value
        or _CONTROL.search(value)
    ):
        raise ValueError(
            f"{what} must be 1..{MAX_NAME} characters without spaces, '+' or control "
            f"characters, got {value!r:.80}"
        )


def check_origin(origin: str) -> None:
    """Raise ``ValueError`` unless ``origin`` can name a log in a checkpoint."""
    _check_name(origin, "the origin")


def _b64decode(text: str) -> bytes:
    """Strict standard base64: padding required, nothing outside the alphabet."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"{text!r:.60} is not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError(f"{text!r:.60} is not canonical base64")
    return raw


def _key_id(name: str, public_raw: bytes) -> int:
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519 + public_raw).digest()
    return int.from_bytes(digest[:4], "big")


class LedgerVerifier:
    """An Ed25519 public key with its ``signed-note`` name: checks checkpoint signatures."""

    __slots__ = ("_key", "_name", "_raw")

    def __init__(self, public_key: Ed25519PublicKey, name: str) -> None:
        _check_name(name, "the key name")
        self._key = public_key
        self._name = name
        self._raw = public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def from_raw(cls, raw: bytes, name: str) -> LedgerVerifier:
        """From the 32-byte raw public key."""
        if len(raw) != 32:
            raise ValueError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
        return cls(Ed25519PublicKey.from_public_bytes(raw), name)

    @classmethod
    def from_pem(cls, data: bytes, name: str) -> LedgerVerifier:
        """From a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo); ``ValueError`` if not Ed25519."""
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM data is not an Ed25519 public key")
        return cls(key, name)

    @classmethod
    def from_vkey(cls, vkey: str) -> LedgerVerifier:
        """From a ``signed-note`` verifier key, ``<name>+<hex key id>+<base64(0x01 || key)>``."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise ValueError("a verifier key reads <name>+<8 hex digits>+<base64 key>")
        material = _b64decode(parts[2])
        if len(material) != 33 or material[:1] != _ED25519:
            raise ValueError("the verifier key is not an Ed25519 key")
        verifier = cls.from_raw(material[1:], parts[0])
        if verifier.key_id != int(parts[1], 16):
            raise ValueError("the verifier key's id does not match its name and key")
        return verifier

    @property
    def name(self) -> str:
        """The key name written on signature lines."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit ``signed-note`` key id."""
        return _key_id(self._name, self._raw)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key

    def to_raw(self) -> bytes:
        """The 32-byte raw public key."""
        return self._raw

    def to_pem(self) -> bytes:
        """PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo)."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_vkey(self) -> str:
        """The ``signed-note`` verifier key string, for publishing next to the log."""
        material = base64.b64encode(_ED25519 + self._raw).decode("ascii")
        return f"{self._name}+{self.key_id:08x}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"LedgerVerifier({self.to_vkey()!r})"


class LedgerSigner:
    """An Ed25519 private key with its ``signed-note`` name: signs checkpoints.

    The caller stores the key (:meth:`to_pem` with a password, or a key service); the
    repr shows only the name and key id.
    """

    __slots__ = ("_key", "_verifier")

    def __init__(self, private_key: Ed25519PrivateKey, name: str) -> None:
        self._key = private_key
        self._verifier = LedgerVerifier(private_key.public_key(), name)

    @classmethod
    def generate(cls, name: str) -> LedgerSigner:
        """A new random key."""
        return cls(Ed25519PrivateKey.generate(), name)

    @classmethod
    def from_raw(cls, seed: bytes, name: str) -> LedgerSigner:
        """From the 32-byte raw private key (the RFC 8032 seed)."""
        if len(seed) != 32:
            raise ValueError(f"an Ed25519 private key is 32 bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed), name)

    @classmethod
    def from_pem(cls, data: bytes, name: str, password: bytes | None = None) -> LedgerSigner:
        """From a PEM ``PRIVATE KEY`` (PKCS #8), encrypted when ``password`` is given.

        ``ValueError`` when the password is wrong or the key is not Ed25519.
        """
        key = serialization.load_pem_private_key(data, password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM data is not an Ed25519 private key")
        return cls(key, name)

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def verifier(self) -> LedgerVerifier:
        """The matching public key, to hand to auditors."""
        return self._verifier

    def to_raw(self) -> bytes:
        """The 32-byte raw private key. Keep it secret."""
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def to_pem(self, password: bytes | None = None) -> bytes:
        """PEM PKCS #8, encrypted with the best available scheme when ``password`` is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"LedgerSigner(name={self.name!r}, key_id={self.key_id:08x})"


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log ``origin`` had ``tree_size`` entries with root ``root_hash``."""

    origin: str
    """Names the log (a schema-less URL such as ``mlwarden.example/ledger``)."""
    tree_size: int
    root_hash: bytes
    """RFC 6962 root of the first ``tree_size`` entries."""
    extensions: tuple[str, ...] = ()
    """Extra text lines after the root (``tlog-checkpoint`` extension lines)."""
    note: str = ""
    """The complete signed note, as stored and exported; empty for an unsigned head."""

    def text(self) -> str:
        """The note text the signature covers."""
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode()]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions))


def _check_head(origin: str, tree_size: int, root_hash: bytes, extensions: Sequence[str]) -> None:
    _check_name(origin, "the origin")
    if type(tree_size) is not int or not 0 <= tree_size <= MAX_TREE_SIZE:
        raise ValueError(f"tree size {tree_size!r} is out of range")
    if not isinstance(root_hash, bytes) or len(root_hash) != HASH_SIZE:
        raise ValueError(f"the root hash must be {HASH_SIZE} bytes")
    for line in extensions:
        if not isinstance(line, str) or not line or "\n" in line or _CONTROL.search(line):
            raise ValueError(f"extension line {line!r:.60} is empty or has control characters")


def sign_checkpoint(
    signer: LedgerSigner,
    origin: str,
    tree_size: int,
    root_hash: bytes,
    extensions: Sequence[str] = (),
) -> Checkpoint:
    """Sign the tree head ``(origin, tree_size, root_hash)``; the result carries the note."""
    _check_head(origin, tree_size, root_hash, extensions)
    head = Checkpoint(origin, tree_size, root_hash, tuple(extensions))
    text = head.text()
    signature = signer.key_id.to_bytes(4, "big") + signer.sign(text.encode("utf-8"))
    line = f"{_DASH} {signer.name} {base64.b64encode(signature).decode('ascii')}\n"
    return Checkpoint(origin, tree_size, root_hash, tuple(extensions), f"{text}\n{line}")


def _parse_text(text: str) -> Checkpoint:
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise ValueError("a checkpoint needs an origin, a tree size and a root hash line")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text):
        raise ValueError(f"tree size {size_text!r:.40} is not a decimal number")
    root_hash = _b64decode(root_text)
    _check_head(origin, int(size_text), root_hash, extensions)
    return Checkpoint(origin, int(size_text), root_hash, tuple(extensions))


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a note into its text and its (key name, signature blob) lines."""
    if len(note) > MAX_NOTE_BYTES:
        raise ValueError(f"the note is over {MAX_NOTE_BYTES} characters")
    try:
        size = len(note.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("the note is not valid UTF-8 text") from None
    if size > MAX_NOTE_BYTES:
        raise ValueError(f"the note is over {MAX_NOTE_BYTES} bytes")
    if _CONTROL.search(note) or not note.endswith("\n"):
        raise ValueError("the note has control characters or does not end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise ValueError("the note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    signatures: list[tuple[str, bytes]] = []
    for line in signature_block[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH:
            raise ValueError(f"{line!r:.80} is not a signature line")
        _check_name(parts[1], "the key name")
        blob = _b64decode(parts[2])
        if len(blob) < 5:
            raise ValueError(f"the signature by {parts[1]!r:.60} is too short")
        signatures.append((parts[1], blob))
        if len(signatures) > MAX_SIGNATURES:
            raise ValueError(f"the note has more than {MAX_SIGNATURES} signatures")
    return text, signatures


def parse_checkpoint(note: str) -> Checkpoint:
    """Parse a signed note WITHOUT checking any signature (for display and indexing only).

    Raises :class:`CheckpointError` when the note or its text is malformed.
    """
    try:
        text, _ = _split_note(note)
        head = _parse_text(text)
    except ValueError as exc:
        raise CheckpointError("checkpoint", str(exc), "use the note exactly as signed") from None
    return Checkpoint(head.origin, head.tree_size, head.root_hash, head.extensions, note)


def verify_checkpoint(
    note: str, verifier: LedgerVerifier, *, origin: str | None = None
) -> Checkpoint:
    """Check ``note``'s signature by ``verifier`` (and its origin, when given); return the head.

    Signatures by other keys are ignored, as ``signed-note`` requires. Raises
    :class:`CheckpointError` when the note is malformed, names another origin, carries no
    signature by this key, or carries one that does not verify (altered or forged).
    """
    subject = "checkpoint"
    try:
        text, signatures = _split_note(note)
        head = _parse_text(text)
    except ValueError as exc:
        raise CheckpointError(subject, str(exc), "use the note exactly as signed") from None
    subject = f"checkpoint of {head.origin!r} at tree size {head.tree_size}"
    if origin is not None and head.origin != origin:
        raise CheckpointError(
            subject,
            f"it belongs to the log {head.origin!r}, not {origin!r}",
            "verify each log with its own checkpoints",
        )
    key_id = verifier.key_id.to_bytes(4, "big")
    mine = [blob for name, blob in signatures if name == verifier.name and blob[:4] == key_id]
    if not mine:
        raise CheckpointError(
            subject,
            f"it carries no signature by the key {verifier.name!r} ({verifier.key_id:08x})",
            "it was signed by another key or forged; check which key the log operator publishes",
        )
    message = text.encode("utf-8")
    for blob in mine:
        if len(blob) != 4 + _SIGNATURE_BYTES or not verifier.verify(message, blob[4:]):
            raise CheckpointError(
                subject,
                f"its signature by {verifier.name!r} does not verify: "
                "the note was altered or forged",
                "treat the log as tampered with and compare it with a trusted copy",
            )
    return Checkpoint(head.origin, head.tree_size, head.root_hash, head.extensions, note)
