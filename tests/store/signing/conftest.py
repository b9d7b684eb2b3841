"""Key pairs shared by the signing tests (generated once per test session)."""

from __future__ import annotations

import pytest
from signing_fixtures import KeyPair, make_key_pair


@pytest.fixture(scope="session")
def signer_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("signer"))


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("other"))
