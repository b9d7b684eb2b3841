"""The alert value and the sink interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlwarden.findings import Severity
from mlwarden.ml.base import CheckResult

MAX_MESSAGE_CHARS = 2_000
"""Messages are cut to this length before they reach any sink."""


@dataclass(frozen=True)
class Alert:
    """Something a human should hear about."""

    severity: Severity
    rule: str
    """Rule id of the finding behind the alert (``MLW-MON-001`` ...)."""
    dedup_key: str
    """Alerts with the same key within the router's cooldown are delivered once."""
    message: str
    """One sentence for humans."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """JSON-ready context (metrics, window, feature)."""

    def __post_init__(self) -> None:
        if len(self.message) > MAX_MESSAGE_CHARS:
            object.__setattr__(self, "message", self.message[: MAX_MESSAGE_CHARS - 1] + "…")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the webhook body)."""
        return {
            "severity": self.severity.label,
            "rule": self.rule,
            "dedup_key": self.dedup_key,
            "message": self.message,
            "details": dict(self.details),
        }


class AlertSink(Protocol):
    """Delivers alerts somewhere. ``send`` raises ``OSError`` (or a subclass) when delivery
    failed; the router records the failure and carries on with other sinks."""

    @property
    def name(self) -> str: ...

    def send(self, alert: Alert) -> None: ...


def alerts_from_result(result: CheckResult, *, monitor: str = "default") -> list[Alert]:
    """One alert per finding of ``result``; the dedup key is monitor, rule and field, so
    a feature that keeps drifting alerts once per cooldown, not once per window."""
    out = []
    for f in result.findings:
        where = f.location.field or f.location.path
        out.append(
            Alert(
                severity=f.severity,
                rule=f.rule_id,
                dedup_key=f"{monitor}:{f.rule_id}:{where}",
                message=f"[{monitor}] {f.title}: {where}: {f.evidence}",
                details={
                    "check": result.check,
                    "source": f.location.path,
                    "field": f.location.field,
                    "metrics": {k: float(v) for k, v in result.metrics.items()},
                },
            )
        )
    return out
