"""Enrolled devices' attestation keys: a JSON file of device id -> Ed25519 public key.

The file is the operator's list of managed devices (``[server] device_keys``); each value
is the raw 32-byte public key in base64, or a PEM public key. The risk engine's attestation
signal then accepts ``X-Device-Attestation`` headers signed by those keys.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from mlwarden.errors import ConfigError

MAX_FILE_BYTES = 4 << 20
MAX_DEVICES = 100_000


def load_device_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """The keys in ``path``; :class:`ConfigError` naming the file and entry otherwise."""
    try:
        raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read ({exc.strerror})", "check the path") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(str(path), "is larger than 4 MiB", "split the device list")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise ConfigError(str(path), "is not JSON", 'write {"device-id": "<base64 key>"}') from None
    if not isinstance(doc, dict) or len(doc) > MAX_DEVICES:
        raise ConfigError(str(path), "must be an object of device id -> key", "fix the file")
    keys: dict[str, Ed25519PublicKey] = {}
    for device, value in doc.items():
        if not isinstance(value, str) or not 1 <= len(device) <= 200:
            raise ConfigError(f"{path} [{device[:40]!r}]", "is not a key string", "fix the entry")
        keys[device] = _key(path, device, value)
    return keys


def _key(path: Path, device: str, value: str) -> Ed25519PublicKey:
    where = f"{path} [{device[:40]!r}]"
    if value.lstrip().startswith("-----BEGIN"):
        try:
            key = load_pem_public_key(value.encode())
        except ValueError:
            raise ConfigError(where, "is not a PEM public key", "export it again") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(where, "is not an Ed25519 key", "enrol an Ed25519 device key")
        return key
    try:
        data = base64.b64decode(value, validate=True)
        return Ed25519PublicKey.from_public_bytes(data)
    except (binascii.Error, ValueError):
        raise ConfigError(
            where, "is not a base64 raw Ed25519 key", "give 32 bytes in base64"
        ) from None
