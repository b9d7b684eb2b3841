"""Alerts into the tamper-evident ledger, so an alert cannot silently disappear."""

from __future__ import annotations

from typing import Any, Protocol

from mlwarden.ledger.entry import LedgerEntry
from mlwarden.monitor.alerts.alert import Alert


class EntryLog(Protocol):
    """Anything with ``append(LedgerEntry)``, such as :class:`mlwarden.ledger.log.Ledger`."""

    def append(self, entry: LedgerEntry) -> Any: ...


class LedgerSink:
    """Append each alert as a ``monitor.alert`` entry (decision ``alert``)."""

    def __init__(self, ledger: EntryLog, *, actor: str = "mlwarden-monitor") -> None:
        self._ledger = ledger
        self._actor = actor

    @property
    def name(self) -> str:
        return "ledger"

    def send(self, alert: Alert) -> None:
        try:
            entry = LedgerEntry(
                actor=self._actor,
                action="monitor.alert",
                decision="alert",
                artifact=alert.dedup_key[:512],
                details={
                    "severity": alert.severity.label,
                    "rule": alert.rule,
                    "message": alert.message,
                    "details": alert.details,
                },
            )
        except ValueError as exc:
            raise OSError(f"alert cannot be recorded in the ledger: {exc}") from None
        self._ledger.append(entry)
