"""Ed25519 device attestation headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlwarden.policy.attestation import Ed25519Attestation, header, message
from mlwarden.policy.risk import RequestSignals

WHEN = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
SECONDS = int(WHEN.timestamp())


def signals(attestation: str | None, device: str | None = "laptop", **kw: object) -> RequestSignals:
    values: dict[str, object] = {
        "principal": "alice",
        "ip": "203.0.113.1",
        "user_agent": "cli",
        "device_id": device,
        "attestation": attestation,
        "when": WHEN,
        "bytes_in": 0,
    }
    return RequestSignals(**{**values, **kw})  # type: ignore[arg-type]


def signed(principal: str = "alice", device: str = "laptop", seconds: int = SECONDS) -> str:
    return header(KEY.sign(message(principal, device, seconds)), seconds)


VERIFIER = Ed25519Attestation({"laptop": KEY.public_key()}, max_skew=300)


def test_a_fresh_signature_by_the_enrolled_key_verifies() -> None:
    assert VERIFIER.verify(signals(signed()))
    assert VERIFIER.verify(signals(signed(), when=WHEN.replace(tzinfo=None)))  # naive = UTC


@pytest.mark.parametrize(
    "case",
    [
        signals(signed(principal="mallory")),  # signed for someone else
        signals(signed(device="phone"), device="phone"),  # device not enrolled
        signals(signed(), device=None),
        signals(signed(), when=WHEN + timedelta(minutes=6)),  # replayed too late
        signals(signed(seconds=SECONDS + 301)),  # from the future
        signals(signed().replace("v1.", "v2.", 1)),
        signals("v1.notanumber.AAAA"),
        signals(f"v1.{SECONDS}.!!!"),
        signals(f"v1.{SECONDS}"),
        signals(None),
    ],
)
def test_anything_else_does_not(case: RequestSignals) -> None:
    assert not VERIFIER.verify(case)
