"""Structure and checksum checks of credential formats that carry one.

A pattern match only says a string has the right shape; these checks say whether it
could have been issued. Tokens whose checksum fails are typos, truncations or made-up
examples, and are not reported as that token. Every function takes the candidate as
``bytes`` (the scanner works on raw file bytes) and never raises on bad input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib

BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE36 = b"0123456789abcdefghijklmnopqrstuvwxyz"


def encode_base(value: int, alphabet: bytes, width: int) -> bytes:
    """``value`` in the positional base of ``alphabet``, left-padded with its zero digit."""
    base = len(alphabet)
    digits = bytearray()
    while value:
        value, digit = divmod(value, base)
        digits.append(alphabet[digit])
    digits.reverse()
    return bytes(digits).rjust(width, alphabet[:1])


def crc32_base62(payload: bytes) -> bytes:
    """The six-character checksum GitHub and npm append to their tokens."""
    return encode_base(zlib.crc32(payload), BASE62, 6)


def github_classic_ok(token: bytes) -> bool:
    """``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_`` and ``npm_`` tokens: the last six
    characters are the base62 CRC32 of the random part between prefix and checksum."""
    _, sep, body = token.partition(b"_")
    if not sep or len(body) <= 6 or not body.isalnum():
        return False
    return crc32_base62(body[:-6]) == body[-6:]


FINE_GRAINED_BODY = 11 + 22 + 1 + 43
"""Characters of a ``github_pat_`` token covered by its checksum (prefix included)."""


def github_fine_grained_ok(token: bytes) -> bool:
    """``github_pat_`` tokens (93 characters): characters 78-85 are the first eight
    base32 characters of the SHA-256 of the 77 before them."""
    if len(token) != 93 or not token.startswith(b"github_pat_"):
        return False
    body = token[:FINE_GRAINED_BODY]
    expected = base64.b32encode(hashlib.sha256(body).digest())[:8]
    return token[FINE_GRAINED_BODY : FINE_GRAINED_BODY + 8] == expected


def gitlab_routable_ok(prefix: bytes, payload: bytes, version: bytes, length: bytes) -> bytes:
    """The seven-character base36 CRC32 of a versioned routable GitLab token.

    The checksum covers ``<prefix><payload>.<version>.<length>``; returns what the
    token's last seven characters must be.
    """
    return encode_base(zlib.crc32(prefix + payload + b"." + version + b"." + length), _BASE36, 7)


def b64decode_loose(text: bytes) -> bytes | None:
    """Decode standard or URL-safe base64 with or without padding; None if it is not."""
    cleaned = text.strip().replace(b"-", b"+").replace(b"_", b"/")
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return None


def json_object(raw: bytes | None) -> dict[str, object] | None:
    """``raw`` parsed as a JSON object (small inputs only); None for anything else."""
    if raw is None or len(raw) > 65_536:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def jwt_ok(token: bytes) -> bool:
    """Three base64url parts whose header is a JSON object naming an ``alg`` and whose
    payload is a JSON object."""
    parts = token.split(b".")
    if len(parts) != 3:
        return False
    header = json_object(b64decode_loose(parts[0]))
    if header is None or not isinstance(header.get("alg"), str):
        return False
    return json_object(b64decode_loose(parts[1])) is not None


def neptune_token_ok(token: bytes) -> bool:
    """Neptune API tokens are base64 of a JSON object with ``api_address`` (and the key)."""
    decoded = json_object(b64decode_loose(token))
    return decoded is not None and isinstance(decoded.get("api_address"), str)


def azure_account_key_ok(key: bytes) -> bool:
    """Azure storage account keys are 64 random bytes in standard base64."""
    decoded = b64decode_loose(key)
    return decoded is not None and len(decoded) == 64


_OPENSSH_MAGIC = b"openssh-key-v1\x00"


def base64_text(body: bytes) -> bytes:
    """The base64 characters of a PEM body, without line breaks, also escaped ones
    (``\\n`` inside a JSON or Python string literal)."""
    unescaped = body.replace(b"\\n", b"\n").replace(b"\\r", b"\n")
    return bytes(b for b in unescaped if b not in b" \t\r\n")


def openssh_cipher(body: bytes) -> str | None:
    """The cipher name of an OpenSSH private key from the start of its base64 body.

    Returns ``none`` for an unencrypted key, a cipher such as ``aes256-ctr`` for an
    encrypted one, and None when the body is not an OpenSSH key.
    """
    chunk = base64_text(body)
    decoded = b64decode_loose(chunk[: (len(chunk) // 4) * 4][:96])
    if decoded is None or not decoded.startswith(_OPENSSH_MAGIC):
        return None
    rest = decoded[len(_OPENSSH_MAGIC) :]
    if len(rest) < 4:
        return None
    size = int.from_bytes(rest[:4], "big")
    name = rest[4 : 4 + size]
    if size > 64 or len(name) != size:
        return None
    return name.decode("ascii", "replace")
