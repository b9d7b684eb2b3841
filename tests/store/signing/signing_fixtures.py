"""Key pairs for the signing tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlwarden.store.signing import generate_signing_key


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    fingerprint: str


def make_key_pair(folder: Path) -> KeyPair:
    fingerprint = generate_signing_key(folder / "key.pem", folder / "key.pub")
    return KeyPair(folder / "key.pem", folder / "key.pub", fingerprint)
