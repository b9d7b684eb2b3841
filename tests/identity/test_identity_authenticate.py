"""Authenticator: which credential a request carries, and who it proves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from identity.identity_support import Clock, OidcProvider, client_cert

from mlwarden.identity.authenticate import Authenticator
from mlwarden.identity.model import Authenticated, AuthenticationError
from mlwarden.identity.oidc import OidcVerifier
from mlwarden.identity.store import IdentityStore
from mlwarden.identity.tokens import TokenIssuer

SEED = b"\x05" * 32


@pytest.fixture
def provider() -> OidcProvider:
    return OidcProvider()


@pytest.fixture
def authenticator(
    store: IdentityStore, clock: Clock, provider: OidcProvider, tmp_path: Path
) -> Iterator[Authenticator]:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    oidc = OidcVerifier(provider.issuer, provider.audience, jwks_file=jwks)
    store.create_principal("alice")
    yield Authenticator(store, TokenIssuer(SEED, clock=clock), oidc)


def _auth(
    authenticator: Authenticator,
    authorization: str | None = None,
    api_key: str | None = None,
    cert: bytes | None = None,
    session: str | None = None,
) -> Authenticated:
    return authenticator.authenticate(authorization, api_key, cert, session)


def test_api_keys_in_either_header(authenticator: Authenticator) -> None:
    plaintext, info = authenticator.store.issue_api_key("alice")
    for auth in (
        _auth(authenticator, authorization=f"Bearer {plaintext}"),
        _auth(authenticator, authorization=f"bearer  {plaintext} "),
        _auth(authenticator, api_key=plaintext),
    ):
        assert (auth.principal.name, auth.method, auth.factors, auth.credential_id) == (
            "alice",
            "api_key",
            frozenset({"key"}),
            info.key_id,
        )


def test_own_tokens_as_bearer_or_session_cookie_keep_their_factors(
    authenticator: Authenticator,
) -> None:
    plaintext, _ = authenticator.store.issue_api_key("alice")
    stepped_up = _auth(authenticator, api_key=plaintext)
    token = authenticator.tokens.issue(
        Authenticated(stepped_up.principal, "api_key", frozenset({"key", "otp"}), None)
    )
    bearer = _auth(authenticator, authorization=f"Bearer {token}")
    session = _auth(authenticator, session=token)
    jti = authenticator.tokens.verify(token)[2]
    assert (bearer.method, bearer.factors, bearer.credential_id) == (
        "token",
        frozenset({"key", "otp"}),
        jti,
    )
    assert (session.method, session.factors) == ("session", frozenset({"key", "otp"}))


def test_oidc_tokens_map_by_subject_or_name_claim(
    authenticator: Authenticator, provider: OidcProvider
) -> None:
    by_name = _auth(authenticator, authorization=f"Bearer {provider.token(jti='t-1')}")
    assert (by_name.principal.name, by_name.method, by_name.factors, by_name.credential_id) == (
        "alice",
        "oidc",
        frozenset({"oidc"}),
        "t-1",
    )
    authenticator.store.create_principal("etl-bot", kind="service", oidc_subject="svc-etl")
    token = provider.token(sub="svc-etl", preferred_username="alice")
    assert _auth(authenticator, authorization=f"Bearer {token}").principal.name == "etl-bot"


def test_unknown_oidc_subjects_are_not_admitted(
    authenticator: Authenticator, provider: OidcProvider
) -> None:
    for token in (
        provider.token(sub="sub-mallory", preferred_username="mallory"),
        provider.token(sub="sub-mallory", preferred_username=None),
        provider.token(aud="another-api"),
    ):
        with pytest.raises(AuthenticationError, match="invalid credentials"):
            _auth(authenticator, authorization=f"Bearer {token}")


def test_jwts_are_refused_when_no_provider_is_configured(
    store: IdentityStore, clock: Clock, provider: OidcProvider
) -> None:
    store.create_principal("alice")
    authenticator = Authenticator(store, TokenIssuer(SEED, clock=clock))
    with pytest.raises(AuthenticationError):
        _auth(authenticator, authorization=f"Bearer {provider.token()}")


def test_client_certificates_name_a_principal(authenticator: Authenticator) -> None:
    der = client_cert(("alice",))
    auth = _auth(authenticator, cert=der)
    assert (auth.principal.name, auth.method, auth.factors) == (
        "alice",
        "mtls",
        frozenset({"cert"}),
    )
    assert auth.credential_id is not None and auth.credential_id.startswith("sha256:")
    with pytest.raises(AuthenticationError):
        _auth(authenticator, cert=client_cert(("nobody",)))


def test_disabled_principals_are_refused_by_every_method(
    authenticator: Authenticator, provider: OidcProvider
) -> None:
    plaintext, _ = authenticator.store.issue_api_key("alice")
    token = authenticator.tokens.issue(_auth(authenticator, api_key=plaintext))
    authenticator.store.disable("alice")
    attempts = [
        {"authorization": f"Bearer {plaintext}"},
        {"api_key": plaintext},
        {"authorization": f"Bearer {token}"},
        {"session": token},
        {"authorization": f"Bearer {provider.token()}"},
        {"cert": client_cert(("alice",))},
    ]
    for attempt in attempts:
        with pytest.raises(AuthenticationError, match="invalid credentials"):
            _auth(authenticator, **attempt)  # type: ignore[arg-type]


def test_missing_and_malformed_credentials(authenticator: Authenticator) -> None:
    with pytest.raises(AuthenticationError, match="missing credentials"):
        _auth(authenticator)
    with pytest.raises(AuthenticationError, match="missing credentials"):
        _auth(authenticator, authorization="", api_key=" ", session="", cert=b"")
    plaintext, _ = authenticator.store.issue_api_key("alice")
    for attempt in (
        {"authorization": f"Basic {plaintext}"},
        {"authorization": "Bearer"},
        {"authorization": "Bearer not-a-jwt"},
        {"authorization": f"Bearer {plaintext}", "api_key": plaintext},  # two at once
    ):
        with pytest.raises(AuthenticationError, match="invalid credentials"):
            _auth(authenticator, **attempt)  # type: ignore[arg-type]


def test_a_failing_header_does_not_fall_back_to_the_certificate(
    authenticator: Authenticator,
) -> None:
    with pytest.raises(AuthenticationError):
        _auth(authenticator, authorization="Bearer mlw_wrong", cert=client_cert(("alice",)))
