"""Shared fixtures: the generated corpus (built once per test process) and an audit guard."""

from __future__ import annotations

from collections.abc import Iterator

import corpus
import pytest
from scan_guards import AuditGuard, Corpus

_GUARD = AuditGuard()


@pytest.fixture
def audit() -> Iterator[AuditGuard]:
    _GUARD.events.clear()
    _GUARD.armed = True
    try:
        yield _GUARD
    finally:
        _GUARD.armed = False


@pytest.fixture(scope="session")
def built_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("corpus")
    marker = root / "MARKER-payload-ran"
    malicious = corpus.build_malicious(root / "malicious", marker)
    benign = corpus.build_benign(root / "benign")
    return Corpus(root, marker, malicious, benign)


@pytest.fixture(autouse=True)
def _isolated_workspace(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the developer's real ~/.mlwarden."""
    monkeypatch.setenv("MLWARDEN_HOME", str(tmp_path_factory.mktemp("home") / "mlwarden"))
