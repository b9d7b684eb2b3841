"""A small fake of Vault's transit HTTP API on 127.0.0.1, for the endpoints mlwarden uses.

It behaves like Vault where mlwarden depends on it: the ``X-Vault-Token`` header, versioned
``vault:vN:`` ciphertexts, ``associated_data`` authenticated with AES-GCM, the
``min_decryption_version`` floor and its error text, 204 answers to rotate and config.
Every request is recorded so tests can check what was sent.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@dataclass
class TransitKey:
    versions: dict[int, bytes] = field(default_factory=dict)
    created: dict[int, int] = field(default_factory=dict)
    min_decryption_version: int = 1

    def add_version(self) -> None:
        number = len(self.versions) + 1
        self.versions[number] = AESGCM.generate_key(bit_length=256)
        self.created[number] = int(time.time())

    @property
    def latest(self) -> int:
        return max(self.versions)


@dataclass
class Recorded:
    method: str
    path: str
    token: str | None
    body: dict[str, Any]


class FakeTransit:
    """State of the fake server: one mount, its keys, the accepted token."""

    def __init__(self, token: str, mount: str = "transit") -> None:
        self.token = token
        self.mount = mount
        self.keys: dict[str, TransitKey] = {}
        self.requests: list[Recorded] = []
        self.garble_ciphertext = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def create_key(self, name: str) -> None:
        key = TransitKey()
        key.add_version()
        self.keys[name] = key

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_PUT(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                with fake._lock:
                    status, answer = fake.handle(
                        method, self.path, self.headers.get("X-Vault-Token"), body
                    )
                payload = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def handle(
        self, method: str, path: str, token: str | None, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        self.requests.append(Recorded(method, path, token, body))
        if token != self.token:
            return 403, {"errors": ["permission denied"]}
        prefix = f"/v1/{self.mount}/"
        if not path.startswith(prefix):
            return 404, {"errors": ["no handler for route"]}
        parts = path[len(prefix) :].split("/")
        match parts:
            case ["keys", name] if method == "GET":
                return self._read(name)
            case ["keys", name, "rotate"] if method == "POST":
                return self._with_key(name, self._rotate)
            case ["keys", name, "config"] if method == "POST":
                return self._with_key(name, lambda key: self._config(key, body))
            case ["encrypt", name] if method == "POST":
                return self._with_key(name, lambda key: self._encrypt(key, body))
            case ["decrypt", name] if method == "POST":
                return self._with_key(name, lambda key: self._decrypt(key, body))
        return 404, {"errors": ["no handler for route"]}

    def _with_key(self, name: str, action: Any) -> tuple[int, dict[str, Any] | None]:
        key = self.keys.get(name)
        if key is None:
            return 400, {"errors": ["encryption key not found"]}
        result: tuple[int, dict[str, Any] | None] = action(key)
        return result

    def _read(self, name: str) -> tuple[int, dict[str, Any] | None]:
        key = self.keys.get(name)
        if key is None:
            return 404, {"errors": []}
        live = {str(n): t for n, t in key.created.items() if n >= key.min_decryption_version}
        return 200, {
            "data": {
                "name": name,
                "type": "aes256-gcm96",
                "keys": live,
                "latest_version": key.latest,
                "min_decryption_version": key.min_decryption_version,
                "min_encryption_version": 0,
            }
        }

    def _rotate(self, key: TransitKey) -> tuple[int, None]:
        key.add_version()
        return 204, None

    def _config(self, key: TransitKey, body: dict[str, Any]) -> tuple[int, None]:
        if "min_decryption_version" in body:
            key.min_decryption_version = int(body["min_decryption_version"])
        return 204, None

    def _encrypt(self, key: TransitKey, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        plaintext = base64.b64decode(body["plaintext"])
        aad = base64.b64decode(body.get("associated_data") or "")
        nonce = os.urandom(12)
        sealed = AESGCM(key.versions[key.latest]).encrypt(nonce, plaintext, aad)
        text = f"vault:v{key.latest}:" + base64.b64encode(nonce + sealed).decode()
        if self.garble_ciphertext:
            text = "not-a-vault-ciphertext"
        return 200, {"data": {"ciphertext": text, "key_version": key.latest}}

    def _decrypt(self, key: TransitKey, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _, version_text, encoded = body["ciphertext"].split(":", 2)
        version = int(version_text[1:])
        if version < key.min_decryption_version:
            return 400, {
                "errors": ["ciphertext or signature version is disallowed by policy (too old)"]
            }
        raw = base64.b64decode(encoded)
        aad = base64.b64decode(body.get("associated_data") or "")
        try:
            plaintext = AESGCM(key.versions[version]).decrypt(raw[:12], raw[12:], aad)
        except (InvalidTag, KeyError):
            return 400, {"errors": ["cipher: message authentication failed"]}
        return 200, {"data": {"plaintext": base64.b64encode(plaintext).decode()}}
