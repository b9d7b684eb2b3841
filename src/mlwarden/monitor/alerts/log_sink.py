"""Alerts to a standard ``logging`` logger."""

from __future__ import annotations

import logging

from mlwarden.findings import Severity
from mlwarden.monitor.alerts.alert import Alert

_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.LOW: logging.INFO,
    Severity.MEDIUM: logging.WARNING,
    Severity.HIGH: logging.ERROR,
    Severity.CRITICAL: logging.CRITICAL,
}


class LogSink:
    """Log each alert at a level matching its severity (medium → WARNING, high → ERROR)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger("mlwarden.monitor.alerts")

    @property
    def name(self) -> str:
        return "log"

    def send(self, alert: Alert) -> None:
        # %-style arguments: a message containing "%" or braces is never interpreted.
        self._logger.log(
            _LEVELS[alert.severity], "%s %s %s", alert.severity.label, alert.rule, alert.message
        )
