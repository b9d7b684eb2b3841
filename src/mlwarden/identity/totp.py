"""TOTP (RFC 6238) seeds: generation, sealing at rest, and which time step a code is for.

Seeds are sealed with AES-GCM under a key derived from the server secret, with the
principal's id as associated data, so a seed copied onto another principal's row does not
open. Replay protection (each step accepted once) is the store's job.
"""

from __future__ import annotations

import hmac
import os
import re
from datetime import datetime

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
"""Codes of the previous and next step are accepted too, for clock drift (RFC 6238 §5.2)."""

_CODE = re.compile(r"[0-9]{6}")
_NONCE_BYTES = 12


def new_seed() -> str:
    """A fresh base32 seed (160 bits, the RFC 4226 recommendation)."""
    return pyotp.random_base32()


def provisioning_uri(seed: str, name: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports (usually shown as a QR code)."""
    return pyotp.TOTP(seed, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=name, issuer_name=issuer
    )


def matching_step(seed: str, code: str, now: datetime) -> int | None:
    """The time step (within the drift window) whose code equals ``code``, else None."""
    if _CODE.fullmatch(code) is None:
        return None
    totp = pyotp.TOTP(seed, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    matched = None
    # Every candidate is compared in constant time; the newest match wins.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


class SeedSeal:
    """Encrypts TOTP seeds for storage (nonce, then AES-256-GCM ciphertext and tag)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, seed: str, principal_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, seed.encode(), _aad(principal_id))

    def open(self, sealed: bytes, principal_id: str) -> str | None:
        """The seed, or None when ``sealed`` was not sealed by this key for this principal."""
        try:
            plain = self._aead.decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _aad(principal_id)
            )
        except (InvalidTag, ValueError):
            return None
        return plain.decode()


def _aad(principal_id: str) -> bytes:
    return b"mlwarden totp seed v1\x00" + principal_id.encode()
