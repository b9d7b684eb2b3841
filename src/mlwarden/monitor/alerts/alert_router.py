"""Deduplicate alerts and route them to sinks by severity."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlwarden.findings import Severity
from mlwarden.monitor.alerts.alert import Alert, AlertSink

MAX_TRACKED_KEYS = 100_000
"""Dedup keys remembered; the oldest are forgotten first, so memory stays bounded."""


@dataclass(frozen=True)
class Route:
    """Send alerts at or above ``min_severity`` to ``sink``."""

    sink: AlertSink
    min_severity: Severity = Severity.LOW


@dataclass(frozen=True)
class Delivery:
    """What happened to one alert at one sink."""

    sink: str
    dedup_key: str
    error: str | None = None


class AlertRouter:
    """Deliver each alert once per ``cooldown_s`` per dedup key, to every route whose
    minimum severity it reaches. A failing sink does not stop the others; failures are
    returned (and kept in :attr:`failures`) rather than raised. An alert whose key is in
    cooldown is still delivered if its severity is higher than the one that started the
    cooldown (an escalation is news)."""

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        cooldown_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._routes = list(routes)
        self._cooldown = cooldown_s
        self._clock = clock
        self._last: dict[str, tuple[float, Severity]] = {}
        self.failures: list[Delivery] = []

    def dispatch(self, alerts: Sequence[Alert]) -> list[Delivery]:
        """Route ``alerts``; return one :class:`Delivery` per attempted send."""
        out: list[Delivery] = []
        for alert in alerts:
            now = self._clock()
            previous = self._last.get(alert.dedup_key)
            if (
                previous is not None
                and now - previous[0] < self._cooldown
                and alert.severity <= previous[1]
            ):
                continue
            self._remember(alert.dedup_key, now, alert.severity)
            for route in self._routes:
                if alert.severity < route.min_severity:
                    continue
                try:
                    route.sink.send(alert)
                    out.append(Delivery(route.sink.name, alert.dedup_key))
                except OSError as exc:
                    failed = Delivery(route.sink.name, alert.dedup_key, str(exc)[:500])
                    out.append(failed)
                    self.failures.append(failed)
        return out

    def _remember(self, key: str, now: float, severity: Severity) -> None:
        self._last.pop(key, None)
        self._last[key] = (now, severity)
        while len(self._last) > MAX_TRACKED_KEYS:
            del self._last[next(iter(self._last))]
