"""OidcVerifier against a local provider: keys from a loopback JWKS server or a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from identity.identity_support import JwksServer, OidcProvider, handmade_token, rsa_key

from mlwarden.errors import UsageError
from mlwarden.identity.model import AuthenticationError
from mlwarden.identity.oidc import MAX_JWKS_BYTES, OidcVerifier


class Ticks:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> OidcProvider:
    return OidcProvider()


@pytest.fixture
def server(provider: OidcProvider) -> Iterator[JwksServer]:
    with JwksServer(provider).running() as running:
        yield running


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture(params=["url", "file"])
def verifier(
    request: pytest.FixtureRequest, provider: OidcProvider, tmp_path: Path, ticks: Ticks
) -> OidcVerifier:
    """A verifier for ``provider``, with keys from the JWKS server, then from a file."""
    if request.param == "url":
        server: JwksServer = request.getfixturevalue("server")
        return OidcVerifier(provider.issuer, provider.audience, jwks_url=server.url, clock=ticks)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(provider.jwks()))
    return OidcVerifier(provider.issuer, provider.audience, jwks_file=path, clock=ticks)


def _url_verifier(provider: OidcProvider, server: JwksServer, ticks: Ticks) -> OidcVerifier:
    return OidcVerifier(provider.issuer, provider.audience, jwks_url=server.url, clock=ticks)


def test_a_valid_token_yields_its_claims(verifier: OidcVerifier, provider: OidcProvider) -> None:
    claims = verifier.verify(provider.token())
    assert (claims["sub"], claims["preferred_username"]) == ("f3b1c2d4-alice", "alice")


def _past(minutes: int) -> int:
    return int((datetime.now(UTC) - timedelta(minutes=minutes)).timestamp())


def _future(minutes: int) -> int:
    return int((datetime.now(UTC) + timedelta(minutes=minutes)).timestamp())


@pytest.mark.parametrize(
    "overrides",
    [
        # Times are minutes from now, resolved when the test runs: a value computed at
        # collection would drift into validity on a long run.
        pytest.param({"exp": -5}, id="expired"),
        pytest.param({"nbf": 5}, id="not-yet-valid"),
        pytest.param({"iss": "https://evil.example.test/realms/ml"}, id="wrong-issuer"),
        pytest.param({"aud": "another-api"}, id="wrong-audience"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"sub": None}, id="no-subject"),
    ],
)
def test_tokens_with_bad_claims_are_refused(
    verifier: OidcVerifier, provider: OidcProvider, overrides: dict[str, Any]
) -> None:
    claims = dict(overrides)
    for field in ("exp", "nbf"):
        if isinstance(claims.get(field), int):
            minutes = claims[field]
            claims[field] = _future(minutes) if minutes > 0 else _past(-minutes)
    with pytest.raises(AuthenticationError, match="invalid credentials"):
        verifier.verify(provider.token(**claims))


def test_expiry_within_the_leeway_is_tolerated(
    verifier: OidcVerifier, provider: OidcProvider
) -> None:
    verifier.verify(provider.token(exp=_past(0) - 10))  # leeway is 30 s


def test_tokens_signed_by_unknown_keys_are_refused(
    verifier: OidcVerifier, provider: OidcProvider
) -> None:
    with pytest.raises(AuthenticationError):
        verifier.verify(provider.token(kid="unpublished"))
    # The published kid, but signed by another key.
    forged = jwt.encode(provider.claims(), rsa_key("unpublished"), "RS256", {"kid": "k1"})
    with pytest.raises(AuthenticationError):
        verifier.verify(forged)


def test_alg_none_is_refused(verifier: OidcVerifier, provider: OidcProvider) -> None:
    token = handmade_token({"alg": "none", "kid": "k1"}, provider.claims(), None)
    with pytest.raises(AuthenticationError):
        verifier.verify(token)


def test_hmac_signed_with_the_public_key_is_refused(
    verifier: OidcVerifier, provider: OidcProvider
) -> None:
    # Algorithm confusion: an HS256 MAC keyed with the provider's public key, in every form
    # a confused verifier might use as the HMAC secret.
    public = rsa_key("k1").public_key()
    secrets = [
        public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        public.public_bytes(Encoding.PEM, PublicFormat.PKCS1),
        json.dumps(provider.jwks()["keys"][0]).encode(),
    ]
    for secret in secrets:
        token = handmade_token({"alg": "HS256", "kid": "k1"}, provider.claims(), secret)
        with pytest.raises(AuthenticationError):
            verifier.verify(token)


def test_a_key_is_used_only_with_its_own_algorithm(
    provider: OidcProvider, server: JwksServer, ticks: Ticks
) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    server.body = json.dumps({"keys": [*provider.jwks()["keys"], {**ec_jwk, "kid": "e1"}]}).encode()
    verifier = _url_verifier(provider, server, ticks)
    assert verifier.verify(jwt.encode(provider.claims(), ec_key, "ES256", {"kid": "e1"}))
    # An RS256 header pointing at the EC key, an ES256 header pointing at the RSA key.
    rs_on_ec = jwt.encode(provider.claims(), rsa_key("k1"), "RS256", {"kid": "e1"})
    es_on_rsa = jwt.encode(provider.claims(), ec_key, "ES256", {"kid": "k1"})
    for token in (rs_on_ec, es_on_rsa):
        with pytest.raises(AuthenticationError):
            verifier.verify(token)
    # RS512 is a fine algorithm, but not one this verifier was configured for.
    with pytest.raises(AuthenticationError):
        verifier.verify(jwt.encode(provider.claims(), rsa_key("k1"), "RS512", {"kid": "k1"}))


def test_keys_are_fetched_once_and_cached_for_ten_minutes(
    provider: OidcProvider, server: JwksServer, ticks: Ticks
) -> None:
    verifier = _url_verifier(provider, server, ticks)
    assert server.hits == 0  # fetched on first use, so a provider outage cannot stop startup
    for _ in range(3):
        verifier.verify(provider.token())
    assert server.hits == 1
    ticks.now += 600
    verifier.verify(provider.token())
    assert server.hits == 2


def test_a_rotated_key_is_fetched_once_and_refetches_are_rate_limited(
    provider: OidcProvider, server: JwksServer, ticks: Ticks
) -> None:
    verifier = _url_verifier(provider, server, ticks)
    verifier.verify(provider.token())
    ticks.now += 60
    provider.kids.append("k2")  # the provider rotates
    assert verifier.verify(provider.token(kid="k2"))
    assert server.hits == 2
    # Tokens naming keys nobody publishes do not make the verifier hammer the provider.
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            verifier.verify(provider.token(kid="bogus"))
    assert server.hits == 2
    ticks.now += 31
    with pytest.raises(AuthenticationError):
        verifier.verify(provider.token(kid="bogus"))
    assert server.hits == 3


def test_an_oversized_or_broken_jwks_yields_no_keys(
    provider: OidcProvider, server: JwksServer, ticks: Ticks
) -> None:
    for body in (b" " * (MAX_JWKS_BYTES + 1), b"<html>", b'{"keys": "none"}'):
        server.body = body
        with pytest.raises(AuthenticationError):
            _url_verifier(provider, server, ticks).verify(provider.token())


def test_keys_survive_a_provider_outage(provider: OidcProvider, ticks: Ticks) -> None:
    with JwksServer(provider).running() as server:
        verifier = _url_verifier(provider, server, ticks)
        verifier.verify(provider.token())
    ticks.now += 601  # the cache is stale, and the server is gone
    assert verifier.verify(provider.token())["sub"] == "f3b1c2d4-alice"


def test_configuration_mistakes_are_usage_errors(provider: OidcProvider, tmp_path: Path) -> None:
    issuer, audience = provider.issuer, provider.audience
    with pytest.raises(UsageError, match="exactly one"):
        OidcVerifier(issuer, audience)
    with pytest.raises(UsageError, match="https"):
        OidcVerifier(issuer, audience, jwks_url="http://idp.example.test/jwks")
    with pytest.raises(UsageError, match="not supported"):
        OidcVerifier(issuer, audience, jwks_url="https://idp/jwks", algorithms=("HS256",))
    with pytest.raises(UsageError, match="not a readable JWKS"):
        OidcVerifier(issuer, audience, jwks_file=tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(UsageError, match="not a readable JWKS"):
        OidcVerifier(issuer, audience, jwks_file=tmp_path / "bad.json")
