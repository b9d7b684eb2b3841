"""Access decisions reach the ledger in batches, off the request path.

Appending one entry is a database transaction and a signed checkpoint; doing that inside
every prediction would put milliseconds of disk latency on the hot path. Requests enqueue
entries instead and a writer thread appends whatever has queued (one transaction per batch),
then signs a checkpoint at most once a second. ``close`` drains the queue, so a clean
shutdown loses nothing; a crash can lose at most the last batch interval of decisions.

Repeated denials of unauthenticated or throttled requests are folded into one entry per
(address, reason) per window, so a flood cannot bloat the ledger.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from typing import Any

from mlwarden.ledger.entry import LedgerEntry
from mlwarden.store.vault import Vault

_log = logging.getLogger("mlwarden.server.ledger")

MAX_BATCH = 512
FLUSH_SECONDS = 0.05
CHECKPOINT_SECONDS = 1.0
FOLD_SECONDS = 10.0
MAX_QUEUE = 100_000

_Item = LedgerEntry | threading.Event | None
"""An entry, a flush request (set once everything before it is written), or stop."""


class LedgerWriter:
    """A background thread appending queued entries to the vault's ledger."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._queue: queue.Queue[_Item] = queue.Queue(MAX_QUEUE)
        self._folded: Counter[tuple[str, str, str]] = Counter()
        self._fold_lock = threading.Lock()
        self._last_fold = time.monotonic()
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="mlwarden-ledger", daemon=True)
        self._thread.start()

    def submit(self, entry: LedgerEntry) -> None:
        """Queue one entry. A full queue means the database is down: count, do not block."""
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self._dropped += 1

    def fold(self, actor: str, action: str, reason: str) -> None:
        """Count an anonymous or throttled denial; one summary entry per window.

        ``actor`` is ``address:<ip>`` for requests nobody authenticated, else the principal.
        """
        with self._fold_lock:
            self._folded[(actor[:500], action, reason)] += 1

    def _drain_folded(self) -> list[LedgerEntry]:
        with self._fold_lock:
            folded, self._folded = self._folded, Counter()
            self._last_fold = time.monotonic()
        return [
            LedgerEntry(
                actor=actor,
                action=action,
                decision="deny",
                artifact=None,
                details={"reason": reason, "count": count, "window_seconds": FOLD_SECONDS},
            )
            for (actor, action, reason), count in folded.items()
        ]

    def _run(self) -> None:
        last_checkpoint = 0.0
        stopping = False
        while not stopping:
            items: list[_Item] = []
            with contextlib.suppress(queue.Empty):
                items.append(self._queue.get(timeout=FOLD_SECONDS))
            # Gather for a moment: one transaction per batch, not per request.
            deadline = time.monotonic() + FLUSH_SECONDS
            while items and len(items) < MAX_BATCH and not _urgent(items):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    items.append(self._queue.get(timeout=remaining))
                except queue.Empty:
                    break
            stopping = any(item is None for item in items)
            batch = [item for item in items if isinstance(item, LedgerEntry)]
            waiters = [item for item in items if isinstance(item, threading.Event)]
            if stopping or waiters or time.monotonic() - self._last_fold >= FOLD_SECONDS:
                batch.extend(self._drain_folded())
            if batch:
                self._append(batch)
            now = time.monotonic()
            if batch and (stopping or waiters or now - last_checkpoint >= CHECKPOINT_SECONDS):
                self._checkpoint()
                last_checkpoint = now
            for waiter in waiters:
                waiter.set()

    def _append(self, batch: list[LedgerEntry]) -> None:
        try:
            self._vault.ledger.append_many(batch)
        except Exception:  # the writer must survive a database outage
            _log.exception("could not append %d ledger entries", len(batch))
            self._dropped += len(batch)

    def _checkpoint(self) -> None:
        try:
            self._vault.checkpoint()
        except Exception:
            _log.exception("could not sign a ledger checkpoint")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is appended and checkpointed."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    @property
    def dropped(self) -> int:
        """Entries lost to a full queue or a failed append (exported as a metric)."""
        return self._dropped

    def close(self) -> None:
        """Drain everything queued (folded counts included), then stop."""
        self._queue.put(None)
        self._thread.join(timeout=30)


def _urgent(items: list[_Item]) -> bool:
    """A flush request or stop ends the gathering at once."""
    return not isinstance(items[-1], LedgerEntry)


def decision_entry(
    actor: str, action: str, decision: str, artifact: str | None, details: dict[str, Any]
) -> LedgerEntry:
    """A ledger entry for one access decision (``decision`` is allow, deny or step_up)."""
    return LedgerEntry(
        actor=actor, action=action, decision=decision, artifact=artifact, details=details
    )
