"""Fixtures for server tests: a fresh workspace and server per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_fixtures import ServerWorld, make_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ServerWorld]:
    built = make_world(tmp_path / "ws")
    try:
        yield built
    finally:
        built.close()
