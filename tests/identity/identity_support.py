"""Helpers shared by the identity tests: a settable clock, stores, an OpenID provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from argon2 import PasswordHasher
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from mlwarden.identity.store import IdentityStore

SECRET = bytes(range(32))
# Production keeps argon2's defaults; the tests only need the same algorithm, faster.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_store(engine: Engine, clock: Clock, secret: bytes = SECRET) -> IdentityStore:
    """An identity store with cheap argon2 costs and the test clock."""
    return IdentityStore(engine, secret, hasher=CHEAP_HASHER, clock=clock)


# ------------------------------------------------------------------------ OpenID provider

_RSA_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def rsa_key(kid: str) -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key per ``kid``, made once per test process (key generation is slow)."""
    if kid not in _RSA_KEYS:
        _RSA_KEYS[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _RSA_KEYS[kid]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
    """A JWT built by hand: unsigned (``alg: none``) or HMAC-SHA256 signed with any bytes,
    such as a public key's PEM (what PyJWT itself refuses to produce)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    mac = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


class OidcProvider:
    """An OpenID provider in miniature: RSA keys, a JWKS document and signed tokens."""

    issuer = "https://idp.example.test/realms/ml"
    audience = "mlwarden-api"

    def __init__(self, kids: tuple[str, ...] = ("k1",)) -> None:
        self.kids = list(kids)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.kids:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(kid).public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "f3b1c2d4-alice",
            "preferred_username": "alice",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        """A token signed with key ``kid`` (which need not be published)."""
        return jwt.encode(
            self.claims(**overrides), rsa_key(kid), algorithm="RS256", headers={"kid": kid}
        )


class JwksServer:
    """A loopback HTTP server publishing a provider's JWKS, counting requests."""

    def __init__(self, provider: OidcProvider) -> None:
        self.provider = provider
        self.hits = 0
        self.body: bytes | None = None
        """Served instead of the provider's JWKS when set."""
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.hits += 1
                body = served.body or json.dumps(served.provider.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks.json"

    @contextmanager
    def running(self) -> Iterator[JwksServer]:
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)


# ------------------------------------------------------------------- client certificates


def client_cert(common_names: tuple[str, ...] = (), uris: tuple[str, ...] = ()) -> bytes:
    """A self-signed DER certificate with these subject CNs and SAN URIs (TLS would have
    checked a real chain; the mapping only reads names)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mlwarden tests")]
        + [x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in common_names]
    )
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if uris:
        names = [x509.UniformResourceIdentifier(uri) for uri in uris]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)
