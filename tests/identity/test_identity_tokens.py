"""mlwarden's own tokens: what they carry, and every way a bad one is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from identity.identity_support import Clock, b64url, handmade_token

from mlwarden.identity.model import Authenticated, AuthenticationError, Principal
from mlwarden.identity.tokens import TokenIssuer

SEED = b"\x07" * 32


def _auth(factors: frozenset[str] = frozenset({"key", "otp"})) -> Authenticated:
    alice = Principal(
        id="p1",
        name="alice",
        kind="user",
        disabled=False,
        groups=(),
        bindings=(),
        totp_enrolled=True,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Authenticated(alice, "api_key", factors, "k1")


def _payload(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_a_token_carries_the_principal_and_factors(clock: Clock) -> None:
    issuer = TokenIssuer(SEED, clock=clock)
    token = issuer.issue(_auth())
    name, factors, jti = issuer.verify(token)
    assert (name, factors) == ("alice", frozenset({"key", "otp"}))
    claims = _payload(token)
    assert claims["jti"] == jti
    assert (claims["iss"], claims["aud"], claims["exp"]) == (
        "mlwarden",
        "mlwarden",
        int((clock.now + timedelta(minutes=15)).timestamp()),
    )
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert issuer.is_own(token)
    assert TokenIssuer(SEED, clock=clock).verify(token)[0] == "alice"  # another process


def test_tokens_expire(clock: Clock) -> None:
    issuer = TokenIssuer(SEED, ttl=timedelta(minutes=5), clock=clock)
    token = issuer.issue(_auth())
    clock.advance(timedelta(minutes=4))
    issuer.verify(token)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(AuthenticationError, match="invalid credentials"):
        issuer.verify(token)


def test_tampered_tokens_are_refused(clock: Clock) -> None:
    issuer = TokenIssuer(SEED, clock=clock)
    header, payload, signature = issuer.issue(_auth(frozenset({"key"}))).split(".")
    claims = _payload(f"{header}.{payload}.{signature}")
    forged = [
        {**claims, "sub": "admin"},
        {**claims, "amr": ["key", "otp"]},
        {**claims, "exp": claims["exp"] + 3600},  # type: ignore[operator]
    ]
    for changed in forged:
        token = f"{header}.{b64url(json.dumps(changed).encode())}.{signature}"
        with pytest.raises(AuthenticationError):
            issuer.verify(token)
    with pytest.raises(AuthenticationError):
        issuer.verify(f"{header}.{payload}.{_flip(signature)}")


def _flip(part: str) -> str:
    return ("B" if part[0] == "A" else "A") + part[1:]


def test_tokens_of_other_keys_issuers_and_algorithms_are_refused(clock: Clock) -> None:
    issuer = TokenIssuer(SEED, clock=clock)
    for other in (TokenIssuer(b"\x08" * 32, clock=clock), TokenIssuer(SEED, "other", clock=clock)):
        with pytest.raises(AuthenticationError):
            issuer.verify(other.issue(_auth()))
    claims = _payload(issuer.issue(_auth()))
    unsigned = handmade_token({"alg": "none", "typ": "JWT"}, claims, None)
    hmac_signed = jwt.encode(claims, "a-guessable-secret-" * 2, algorithm="HS256")
    for token in (unsigned, hmac_signed, "", "not.a.token"):
        with pytest.raises(AuthenticationError):
            issuer.verify(token)


def test_properly_signed_tokens_with_wrong_claims_are_refused(clock: Clock) -> None:
    issuer = TokenIssuer(SEED, clock=clock)
    claims = _payload(issuer.issue(_auth()))
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    assert issuer.verify(jwt.encode(claims, key, algorithm="EdDSA"))[0] == "alice"
    without_id = {name: value for name, value in claims.items() if name != "jti"}
    for changed in (
        {**claims, "aud": "another-service"},
        {**claims, "iss": "another-issuer"},
        {**claims, "sub": "Not A Name"},
        {**claims, "amr": "otp"},
        without_id,
    ):
        with pytest.raises(AuthenticationError):
            issuer.verify(jwt.encode(changed, key, algorithm="EdDSA"))


def test_revoked_tokens_are_refused(clock: Clock) -> None:
    issuer = TokenIssuer(SEED, clock=clock)
    kept, dropped = issuer.issue(_auth()), issuer.issue(_auth())
    issuer.revoke(issuer.verify(dropped)[2])
    with pytest.raises(AuthenticationError):
        issuer.verify(dropped)
    assert issuer.verify(kept)[0] == "alice"


def test_the_seed_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenIssuer(b"short")
