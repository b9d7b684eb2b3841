"""Access decisions reach the ledger in batches, off the request path.

Appending one entry is a database transaction and a signed checkpoint; doing that inside
every prediction would put milliseconds of disk latency on the hot path. Requests enqueue
entries instead and a writer thread appends whatever has queued (one transaction per batch),
then signs a checkpoint at most once a second. ``close`` drains the queue, so a clean
shutdown loses nothing; a crash can lose at most the last batch interval of decisions.

Repeated denials of unauthenticated or throttled requests are folded into one entry per
(address, reason) per window, so a flood cannot bloat the ledger.

Allowed predictions are tallied: one entry per (principal, action, model version, decision
details: method, address, risk score and signals, policy reasons) per ``TALLY_SECONDS``,
carrying how many predictions it stands for, the first and last of their times and one
traffic summary over all their rows. Building and validating an entry per prediction cost
more than the guard's every other step together; a tally costs a dictionary lookup and two
list appends, and its summary is computed on the writer thread, vectorised over the
interval's rows. ``flush`` and ``close`` close every open tally, so nothing is lost at
shutdown. Denials and step-up demands are never tallied: each keeps its own entry.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Hashable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlwarden.gateway.traffic_summary import TrafficTally
from mlwarden.ledger.entry import LedgerEntry
from mlwarden.store.vault import Vault

if TYPE_CHECKING:
    import numpy.typing as npt

    from mlwarden.gateway.prediction import Prediction

_log = logging.getLogger("mlwarden.server.ledger")

MAX_BATCH = 512
FLUSH_SECONDS = 0.05
CHECKPOINT_SECONDS = 1.0
FOLD_SECONDS = 10.0
TALLY_SECONDS = 1.0
"""How long a tally of allowed predictions stays open before its entry is written."""
MAX_QUEUE = 100_000

_Item = LedgerEntry | threading.Event | None
"""An entry, a flush request (set once everything before it is written), or stop."""


class _Tally:
    """Allowed predictions of one (actor, action, artifact, details) in one interval."""

    __slots__ = (
        "action",
        "actor",
        "artifact",
        "count",
        "details",
        "first",
        "last",
        "opened",
        "traffic",
    )

    def __init__(
        self, actor: str, action: str, artifact: str | None, details: Mapping[str, Any]
    ) -> None:
        self.actor = actor
        self.action = action
        self.artifact = artifact
        self.details = details
        self.count = 0
        self.first = time.time()
        self.last = self.first
        self.opened = time.monotonic()
        self.traffic = TrafficTally()


def _details_key(details: Mapping[str, Any]) -> Hashable:
    """``details`` as a hashable value (its values are scalars or lists of scalars)."""
    return (
        tuple(details),
        *[tuple(value) if type(value) is list else value for value in details.values()],
    )


def _stamp(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="microseconds")


class LedgerWriter:
    """A background thread appending queued entries to the vault's ledger."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._queue: queue.Queue[_Item] = queue.Queue(MAX_QUEUE)
        self._folded: Counter[tuple[str, str, str]] = Counter()
        self._fold_lock = threading.Lock()
        self._last_fold = time.monotonic()
        self._tallies: dict[Hashable, _Tally] = {}
        self._tally_lock = threading.Lock()
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

    def tally(
        self,
        actor: str,
        action: str,
        artifact: str | None,
        details: Mapping[str, Any],
        inputs: npt.NDArray[Any],
        prediction: Prediction,
    ) -> None:
        """Count one allowed prediction (with its rows and answer for the traffic summary)
        in the open tally of its actor, action, artifact and decision ``details``."""
        key = (actor, action, artifact, _details_key(details))
        with self._tally_lock:
            found = self._tallies.get(key)
            if found is None:
                found = self._tallies[key] = _Tally(actor, action, artifact, details)
            else:
                found.last = time.time()
            found.count += 1
            found.traffic.add(inputs, prediction)

    def _close_tallies(self, everything: bool) -> list[LedgerEntry]:
        """Entries for the tallies open for ``TALLY_SECONDS`` (or all of them)."""
        due_before = time.monotonic() - TALLY_SECONDS
        with self._tally_lock:
            if not self._tallies:
                return []
            if everything:
                closed, self._tallies = list(self._tallies.values()), {}
            else:
                keys = [k for k, t in self._tallies.items() if t.opened <= due_before]
                closed = [self._tallies.pop(k) for k in keys]
        entries = []
        for tally in closed:
            try:
                entries.append(
                    LedgerEntry(
                        actor=tally.actor,
                        action=tally.action,
                        decision="allow",
                        artifact=tally.artifact,
                        details={
                            **tally.details,
                            "count": tally.count,
                            "first": _stamp(tally.first),
                            "last": _stamp(tally.last),
                            "window_seconds": TALLY_SECONDS,
                            "traffic": tally.traffic.summary(),
                        },
                        time=datetime.fromtimestamp(tally.last, UTC),
                    )
                )
            except Exception:  # the writer must survive one bad tally
                _log.exception("could not summarise %d predictions", tally.count)
                self._dropped += 1
        return entries

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
                items.append(self._queue.get(timeout=TALLY_SECONDS))
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
            batch.extend(self._close_tallies(everything=stopping or bool(waiters)))
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
        """Wait until everything queued or tallied so far is appended and checkpointed."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    @property
    def dropped(self) -> int:
        """Entries lost to a full queue or a failed append (exported as a metric)."""
        return self._dropped

    def close(self) -> None:
        """Drain everything queued (folded counts and open tallies included), then stop."""
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
