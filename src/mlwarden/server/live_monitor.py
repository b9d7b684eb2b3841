"""Live drift monitoring of served models, fed by the gateway's traffic windows.

Every prediction's rows land in its model's window (``WindowBuffer``). A background thread
compares each window that holds enough rows with the training-data profile uploaded in the
model card, using the same calibrated :class:`~mlwarden.monitor.drift_check.DriftCheck` as
``mlwarden monitor``; findings become alerts (deduplicated by the router's cooldown) and a
ledger entry. ``check_model`` runs the same comparison on demand for the API.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from mlwarden.ledger.entry import LedgerEntry
from mlwarden.ml.base import CheckResult, Dataset
from mlwarden.monitor.alerts import alerts_from_result
from mlwarden.monitor.drift_check import MIN_WINDOW_ROWS, DriftCheck
from mlwarden.monitor.profile_json import profile_from_json

if TYPE_CHECKING:
    from mlwarden.server.context import ServerContext
    from mlwarden.server.served_models import Loaded

_log = logging.getLogger("mlwarden.server.monitor")

DEFAULT_INTERVAL_S = 60.0


class NoProfile(LookupError):
    """The model card carries no reference profile (nothing to compare with)."""


def check_model(ctx: ServerContext, loaded: Loaded) -> CheckResult | None:
    """Drift of ``loaded``'s current window against its card's profile; None while the
    window holds fewer rows than a test needs."""
    card = ctx.registry.card(loaded.record.id)
    if card is None or not card.reference_profile:
        raise NoProfile(f"{loaded.record.reference} has no reference profile")
    inputs, _scores = loaded.window.snapshot()
    if len(inputs) < MIN_WINDOW_ROWS:
        return None
    profile = profile_from_json(card.reference_profile, source=loaded.record.reference)
    names = tuple(f.name for f in profile.features)
    window = Dataset(
        X=inputs.reshape(len(inputs), -1), feature_names=names, source=loaded.record.reference
    )
    return DriftCheck(profile).run(window)


class LiveMonitor:
    """A daemon thread checking every served model's window each ``interval_s``."""

    def __init__(self, ctx: ServerContext, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._ctx = ctx
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mlwarden-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check_once()
            except Exception:  # a failing check must not end monitoring
                _log.exception("live monitoring pass failed")

    def check_once(self) -> int:
        """One pass over the served models; returns how many findings it raised."""
        raised = 0
        for loaded in self._ctx.models.loaded():
            try:
                result = check_model(self._ctx, loaded)
            except NoProfile:
                continue
            if result is None or not result.findings:
                continue
            raised += len(result.findings)
            for alert in alerts_from_result(result, monitor=f"model:{loaded.record.name}"):
                self._ctx.alert(alert)
            self._ctx.ledger_writer.submit(
                LedgerEntry(
                    actor="monitor",
                    action="monitor.drift",
                    decision="alert",
                    artifact=loaded.record.reference,
                    details={
                        "findings": [f.rule_id for f in result.findings][:50],
                        "rows": len(loaded.window),
                    },
                )
            )
        return raised
