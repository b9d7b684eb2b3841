"""Alerts from monitor findings, and the sinks that deliver them (log, webhook, e-mail,
ledger) behind one :class:`AlertSink` interface, routed by :class:`AlertRouter`."""

from __future__ import annotations

from mlwarden.monitor.alerts.alert import Alert, AlertSink, alerts_from_result
from mlwarden.monitor.alerts.alert_router import AlertRouter, Route
from mlwarden.monitor.alerts.ledger_sink import LedgerSink
from mlwarden.monitor.alerts.log_sink import LogSink
from mlwarden.monitor.alerts.smtp_sink import SmtpSink
from mlwarden.monitor.alerts.webhook_sink import WebhookSink

__all__ = [
    "Alert",
    "AlertRouter",
    "AlertSink",
    "LedgerSink",
    "LogSink",
    "Route",
    "SmtpSink",
    "WebhookSink",
    "alerts_from_result",
]
