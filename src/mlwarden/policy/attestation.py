"""Device attestation: proof that a request comes from an enrolled device.

The risk engine only asks an :class:`AttestationVerifier` yes or no. The bundled
:class:`Ed25519Attestation` expects the ``X-Device-Attestation`` header to be
``v1.<unix seconds>.<base64url signature>``, signed by the device's Ed25519 key over
``message(principal, device_id, seconds)``. The timestamp bounds replay to ``max_skew``
seconds; attestation is a risk signal, not the credential, so that window is acceptable.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:
    from mlwarden.policy.risk import RequestSignals

_VERSION = "v1"


class AttestationVerifier(Protocol):
    """Decides whether a request's attestation header proves its device."""

    def verify(self, signals: RequestSignals) -> bool:
        """True only when ``signals.attestation`` is a valid proof for ``signals.device_id``."""
        ...


def message(principal: str, device_id: str, seconds: int) -> bytes:
    """The bytes a device signs."""
    return f"mlwarden-device-attestation:{_VERSION}\n{principal}\n{device_id}\n{seconds}".encode()


def header(signature: bytes, seconds: int) -> str:
    """The header value carrying ``signature`` made at ``seconds``."""
    encoded = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    return f"{_VERSION}.{seconds}.{encoded}"


class Ed25519Attestation:
    """Verifies headers against enrolled devices' Ed25519 public keys (device id → key)."""

    def __init__(self, device_keys: Mapping[str, Ed25519PublicKey], max_skew: int = 300) -> None:
        self._keys = dict(device_keys)
        self._max_skew = max_skew

    def verify(self, signals: RequestSignals) -> bool:
        key = self._keys.get(signals.device_id or "")
        if key is None or not signals.attestation or signals.device_id is None:
            return False
        parts = signals.attestation.split(".")
        if len(parts) != 3 or parts[0] != _VERSION or not parts[1].isdigit():
            return False
        seconds = int(parts[1])
        if abs(_unix(signals.when) - seconds) > self._max_skew:
            return False
        try:
            signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
            key.verify(signature, message(signals.principal, signals.device_id, seconds))
        except (binascii.Error, ValueError, InvalidSignature):
            return False
        return True


def _unix(when: datetime) -> int:
    # Naive times are UTC throughout mlwarden, never the server's local zone.
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
