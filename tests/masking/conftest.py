"""Fixtures for masking tests: keys and policy files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlwarden.masking.keys import MaskKey

KEY_HEX = "5f1c9a0b7e3d42a6c8b1f0e9d7a65c4b3a291807f6e5d4c3b2a1908f7e6d5c4b"
OTHER_KEY_HEX = "a0b1c2d3e4f5061728394a5b6c7d8e9fa1b2c3d4e5f60718293a4b5c6d7e8f90"


@pytest.fixture
def key() -> MaskKey:
    return MaskKey(bytes.fromhex(KEY_HEX))


@pytest.fixture
def other_key() -> MaskKey:
    return MaskKey(bytes.fromhex(OTHER_KEY_HEX))


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[[str], Path]:
    """Writes policy text to a file in the test's folder and returns its path."""

    def write(text: str, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
