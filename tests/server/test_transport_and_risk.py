"""Credentials beyond API keys (mTLS over a real socket, OIDC), and adaptive authentication
through the server: step-up on risk, denial with an alert."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pyotp
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from server_fixtures import ServerWorld, make_world

from mlwarden.server.settings import OidcSetting, ServerSettings
from mlwarden.server.tls import client_cert_protocol, dev_certificate


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _issue(
    subject: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, ca: bool = False
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer if issuer else (name, key)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert, key


def _write_pair(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[str, str]:
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@contextmanager
def _serving(world: ServerWorld, client_ca: Path) -> Iterator[str]:
    cert, key = dev_certificate(world.root)
    port = _free_port()
    config = uvicorn.Config(
        world.app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        ssl_ca_certs=str(client_ca),
        ssl_cert_reqs=ssl.CERT_OPTIONAL,
        http=client_cert_protocol(),
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_client_certificates_authenticate_over_mtls(world: ServerWorld, tmp_path: Path) -> None:
    ca_cert, ca_key = _issue("mlwarden test CA", None, ca=True)
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    vera = _write_pair(tmp_path, "vera", *_issue("vera", (ca_cert.subject, ca_key)))
    rogue_ca = _issue("rogue CA", None, ca=True)
    rogue = _write_pair(tmp_path, "rogue", *_issue("vera", (rogue_ca[0].subject, rogue_ca[1])))
    server_cert = str(dev_certificate(world.root)[0])
    with _serving(world, tmp_path / "ca.pem") as url:
        with httpx.Client(verify=_context(server_cert, vera), timeout=10) as client:
            me = client.get(f"{url}/api/v1/auth/whoami")
        assert me.status_code == 200, me.text
        assert me.json()["name"] == "vera" and me.json()["method"] == "mtls"
        with httpx.Client(verify=_context(server_cert, None), timeout=10) as client:
            assert client.get(f"{url}/api/v1/auth/whoami").status_code == 401
        with httpx.Client(verify=_context(server_cert, rogue), timeout=10) as client:
            try:
                status = client.get(f"{url}/api/v1/auth/whoami").status_code
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                status = 0  # the handshake refused the certificate
        assert status in (0, 401)


def _context(server_cert: str, pair: tuple[str, str] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=server_cert)
    if pair is not None:
        context.load_cert_chain(*pair)
    return context


def test_oidc_bearer_tokens_from_the_configured_issuer(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    settings = ServerSettings(
        oidc=OidcSetting(issuer="https://login.test/", audience="mlwarden", jwks_file=str(jwks))
    )
    world = make_world(tmp_path / "ws", settings)
    try:
        now = int(time.time())
        claims = {
            "iss": "https://login.test/",
            "aud": "mlwarden",
            "sub": "u-123",
            "preferred_username": "vera",
            "iat": now,
            "exp": now + 300,
        }
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        me = world.client(None, Authorization=f"Bearer {token}").get("/api/v1/auth/whoami")
        assert me.status_code == 200, me.text
        assert me.json()["method"] == "oidc" and me.json()["name"] == "vera"
        wrong_audience = jwt.encode(
            {**claims, "aud": "other"}, key, algorithm="RS256", headers={"kid": "k1"}
        )
        assert (
            world.client(None, Authorization=f"Bearer {wrong_audience}")
            .get("/api/v1/auth/whoami")
            .status_code
            == 401
        )
        stranger = jwt.encode(
            {**claims, "sub": "u-9", "preferred_username": "mallory"},
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        assert (
            world.client(None, Authorization=f"Bearer {stranger}")
            .get("/api/v1/auth/whoami")
            .status_code
            == 401
        )
    finally:
        world.close()


def test_risky_requests_need_a_second_factor(tmp_path: Path) -> None:
    world = make_world(tmp_path / "ws", ServerSettings(risk={"require_attestation": True}))
    try:
        asked = world.client("vera").get("/api/v1/projects/fraud/artifacts")
        assert asked.status_code == 401
        assert asked.json()["detail"] == "step_up_required"
        uri = world.client("vera").post("/api/v1/auth/totp").json()["provisioning_uri"]
        code = pyotp.parse_uri(uri).now()  # type: ignore[attr-defined]
        token = world.client("vera").post("/api/v1/auth/step-up", json={"otp": code}).json()
        stepped = world.client(None, Authorization=f"Bearer {token['access_token']}")
        assert stepped.get("/api/v1/projects/fraud/artifacts").status_code == 200
        world.ctx.ledger_writer.flush()
        decisions = [json.loads(e.body) for e in world.ctx.vault.ledger.entries()]
        step_ups = [e for e in decisions if e["decision"] == "step_up" and e["actor"] == "vera"]
        assert step_ups and "attestation" in json.dumps(step_ups[0]["details"])
    finally:
        world.close()


def test_very_risky_requests_are_denied_and_alerted(tmp_path: Path) -> None:
    settings = ServerSettings(risk={"require_attestation": True, "weights": {"attestation": 90}})
    world = make_world(tmp_path / "ws", settings)
    try:
        denied = world.client("vera").get("/api/v1/projects/fraud/artifacts")
        assert denied.status_code == 403
        alerts = world.client("olga", **{"X-Device-Attestation": ""}).get("/api/v1/access/alerts")
        # olga is refused for the same reason; the alert list is in the context either way
        assert alerts.status_code == 403
        assert any(a.rule == "MLW-ACC-001" for a in world.ctx.recent_alerts)
        assert "vera" in world.ctx.recent_alerts[0].message
    finally:
        world.close()


def test_attested_devices_pass_without_a_second_factor(tmp_path: Path) -> None:
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from server_fixtures import NOON

    from mlwarden.policy.attestation import header, message

    device = Ed25519PrivateKey.generate()
    raw = device.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    keys = tmp_path / "devices.json"
    keys.write_text(json.dumps({"laptop-7": base64.b64encode(raw).decode()}))
    settings = ServerSettings(risk={"require_attestation": True}, device_keys=keys)
    world = make_world(tmp_path / "ws", settings)
    try:
        seconds = int(NOON.timestamp())
        proof = header(device.sign(message("vera", "laptop-7", seconds)), seconds)
        attested = world.client(
            "vera", **{"X-Device-Id": "laptop-7", "X-Device-Attestation": proof}
        )
        assert attested.get("/api/v1/projects/fraud/artifacts").status_code == 200
        forged = world.client(
            "vera", **{"X-Device-Id": "laptop-7", "X-Device-Attestation": proof[:-4] + "AAAA"}
        )
        assert forged.get("/api/v1/projects/fraud/artifacts").status_code == 401
        stolen = world.client("dana", **{"X-Device-Id": "laptop-7", "X-Device-Attestation": proof})
        assert stolen.get("/api/v1/projects/fraud/artifacts").status_code == 401
    finally:
        world.close()


def test_a_broken_device_key_file_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from mlwarden.errors import ConfigError
    from mlwarden.server.device_keys import load_device_keys

    bad = tmp_path / "devices.json"
    bad.write_text(json.dumps({"laptop": "not base64!"}))
    with pytest.raises(ConfigError, match="laptop"):
        load_device_keys(bad)
