"""TLS for the server: a self-signed pair for ``--dev``, and client-certificate capture.

The dev pair is made once per workspace (``dev-tls/``), for loopback names only, and reused
until a week before it expires. Client certificates (mTLS) are verified by the TLS layer
against the configured CA; :class:`ClientCertProtocol` hands the verified leaf to the app
through the per-connection ``state`` mapping, since the ASGI server does not expose it.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mlwarden.store.atomic_file import write_atomically

DEV_DAYS = 30


def dev_certificate(workspace: Path) -> tuple[Path, Path]:
    """``(cert.pem, key.pem)`` for localhost, 127.0.0.1 and ::1, made if missing or old."""
    folder = workspace / "dev-tls"
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if cert_path.is_file() and key_path.is_file():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.not_valid_after_utc - datetime.now(UTC) > timedelta(days=7):
            return cert_path, key_path
    folder.mkdir(mode=0o700, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=DEV_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomically(key_path, key_pem, mode=0o600, overwrite=True)
    write_atomically(
        cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644, overwrite=True
    )
    os.chmod(folder, 0o700)
    return cert_path, key_path


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def client_cert_protocol() -> type[Any]:
    """uvicorn's HTTP protocol, also putting the verified client certificate (DER) into
    the connection's state as ``mlwarden_client_cert``."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class ClientCertProtocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            if der:
                # A per-connection copy: the shared lifespan state must not carry it.
                self.app_state = {**self.app_state, "mlwarden_client_cert": der}

    return ClientCertProtocol
