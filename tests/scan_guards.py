"""Test support shared across folders: the audit guard and the corpus record.

Kept out of ``conftest.py`` so tests can import them by a name no other folder's
conftest shadows.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Corpus:
    root: Path
    marker: Path
    malicious: list[Sample]
    benign: list[Sample]
