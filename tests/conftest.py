"""Shared fixtures: the generated corpus (built once per test process) and an audit guard."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import corpus
import pytest
from corpus.sample import Sample

# Audit events that mean something was unpickled, executed or spawned.
FORBIDDEN_EVENTS = frozenset(
    {
        "pickle.find_class",
        "marshal.loads",
        "exec",
        "os.system",
        "os.exec",
        "os.spawn",
        "os.posix_spawn",
        "os.fork",
        "subprocess.Popen",
        "pty.spawn",
        "ctypes.dlopen",
        "webbrowser.open",
        "socket.connect",
    }
)


class AuditGuard:
    """Records forbidden audit events while armed (audit hooks cannot be removed)."""

    def __init__(self) -> None:
        self.armed = False
        self.events: list[tuple[str, str]] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[object, ...]) -> None:
        if not self.armed or event not in FORBIDDEN_EVENTS:
            return
        if event in ("exec", "marshal.loads") and _inside_import_system():
            return  # a lazily imported installed module (a codec, a scanner), not the artifact
        self.events.append((event, repr(args)[:200]))


def _inside_import_system() -> bool:
    frame = sys._getframe(2)
    for _ in range(64):
        if frame is None:
            return False
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


_GUARD = AuditGuard()


@pytest.fixture
def audit() -> Iterator[AuditGuard]:
    _GUARD.events.clear()
    _GUARD.armed = True
    try:
        yield _GUARD
    finally:
        _GUARD.armed = False


@dataclass(frozen=True)
class Corpus:
    root: Path
    marker: Path
    malicious: list[Sample]
    benign: list[Sample]


@pytest.fixture(scope="session")
def built_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("corpus")
    marker = root / "MARKER-payload-ran"
    malicious = corpus.build_malicious(root / "malicious", marker)
    benign = corpus.build_benign(root / "benign")
    return Corpus(root, marker, malicious, benign)
