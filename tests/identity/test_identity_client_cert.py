"""Mapping a verified TLS client certificate to a principal name."""

from __future__ import annotations

import pytest
from identity.identity_support import client_cert

from mlwarden.identity.client_cert import principal_name_from_cert
from mlwarden.identity.model import AuthenticationError


def test_the_san_uri_names_the_principal_before_the_common_name() -> None:
    der = client_cert(("ci-runner.example.test",), ("mlwarden://principal/etl-bot",))
    assert principal_name_from_cert(der) == "etl-bot"


def test_the_common_name_is_used_without_a_principal_uri() -> None:
    assert principal_name_from_cert(client_cert(("alice",))) == "alice"
    other_uri = client_cert(("alice",), ("spiffe://example.test/ns/ml/sa/trainer",))
    assert principal_name_from_cert(other_uri) == "alice"


def test_the_same_principal_twice_is_not_ambiguous() -> None:
    uri = "mlwarden://principal/etl-bot"
    assert principal_name_from_cert(client_cert((), (uri, uri))) == "etl-bot"


@pytest.mark.parametrize(
    ("common_names", "uris"),
    [
        pytest.param((), (), id="no-name"),
        pytest.param(("alice", "bob"), (), id="two-common-names"),
        pytest.param(("Alice Smith",), (), id="cn-not-a-principal-name"),
        pytest.param((), ("mlwarden://principal/Admin",), id="uri-not-a-principal-name"),
        pytest.param((), ("mlwarden://principal/a/b",), id="uri-with-a-path"),
        pytest.param(
            (), ("mlwarden://principal/alice", "mlwarden://principal/bob"), id="two-principals"
        ),
    ],
)
def test_certificates_without_one_valid_name_are_refused(
    common_names: tuple[str, ...], uris: tuple[str, ...]
) -> None:
    with pytest.raises(AuthenticationError, match="invalid credentials"):
        principal_name_from_cert(client_cert(common_names, uris))


def test_garbage_is_refused() -> None:
    for der in (b"", b"\x30\x03\x02\x01\x01", b"-----BEGIN CERTIFICATE-----"):
        with pytest.raises(AuthenticationError):
            principal_name_from_cert(der)
