"""What the risk engine remembers about one principal, and how one request updates it.

A baseline is small and bounded whatever the traffic: at most ``max_networks`` network
prefixes and ``max_devices`` device fingerprints (least recently seen dropped first), a
24-bucket hour histogram that is halved when it grows past its window, the last located
position, and exponentially weighted per-minute request and byte rates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from mlwarden.policy.risk_settings import RiskSettings

_FORMAT = 1


@dataclass(frozen=True)
class Observation:
    """The features of one request the baseline learns from and is compared with."""

    network: str
    device: str
    hour: int
    minute: int
    """Unix time in whole minutes: the rate bucket."""
    timestamp: float
    bytes_in: int
    location: tuple[float, float] | None


@dataclass(frozen=True)
class Baseline:
    """One principal's learned habits (see the module docstring for the bounds)."""

    observations: int = 0
    networks: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    hours: tuple[int, ...] = (0,) * 24
    last_location: tuple[float, float, float] | None = None
    """(latitude, longitude, unix seconds) of the last located request."""
    minute: int = 0
    minute_requests: int = 0
    minute_bytes: int = 0
    rate_ewma: float = 0.0
    volume_ewma: float = 0.0
    active_minutes: int = 0
    """Completed active minutes folded into the two averages."""

    def current_minute(self, minute: int) -> tuple[int, int]:
        """(requests, bytes) already counted in ``minute``; a minute older than the current
        bucket (clocks of several servers disagree) counts as the current one."""
        if minute <= self.minute:
            return self.minute_requests, self.minute_bytes
        return 0, 0

    def to_json(self) -> str:
        """A compact JSON document for shared state."""
        doc: dict[str, Any] = {"v": _FORMAT, **self.__dict__}
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Baseline | None:
        """The baseline in ``text``, or None when it is unreadable or of another format
        (the principal then starts learning afresh)."""
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.pop("v", None) != _FORMAT:
                return None
            location = doc.get("last_location")
            hours = tuple(int(h) for h in doc["hours"])
            if len(hours) != 24:
                return None
            return cls(
                observations=int(doc["observations"]),
                networks=tuple(str(n) for n in doc["networks"]),
                devices=tuple(str(d) for d in doc["devices"]),
                hours=hours,
                last_location=_location(location) if location else None,
                minute=int(doc["minute"]),
                minute_requests=int(doc["minute_requests"]),
                minute_bytes=int(doc["minute_bytes"]),
                rate_ewma=float(doc["rate_ewma"]),
                volume_ewma=float(doc["volume_ewma"]),
                active_minutes=int(doc["active_minutes"]),
            )
        except (ValueError, TypeError, KeyError):
            return None


def _location(value: Any) -> tuple[float, float, float]:
    lat, lon, when = value
    return float(lat), float(lon), float(when)


def _remember(seen: tuple[str, ...], item: str, limit: int) -> tuple[str, ...]:
    """``seen`` with ``item`` moved to the most recent end, oldest dropped past ``limit``."""
    kept = (*(s for s in seen if s != item), item)
    return kept[-limit:]


def learn(baseline: Baseline | None, obs: Observation, settings: RiskSettings) -> Baseline:
    """``baseline`` after an accepted request with features ``obs``."""
    if (
        baseline is not None
        and obs.location is None
        and obs.minute <= baseline.minute
        and baseline.networks[-1:] == (obs.network,)
        and baseline.devices[-1:] == (obs.device,)
        and len(baseline.networks) <= settings.max_networks
        and len(baseline.devices) <= settings.max_devices
    ):
        return _learn_repeat(baseline, obs, settings)
    return _learn_general(baseline, obs, settings)


def _learn_general(baseline: Baseline | None, obs: Observation, settings: RiskSettings) -> Baseline:
    """:func:`learn` for any request."""
    b = baseline or Baseline()
    hours = list(b.hours)
    hours[obs.hour] += 1
    if sum(hours) > settings.usual_hours_window:
        hours = [h // 2 for h in hours]
    b = replace(
        b,
        observations=b.observations + 1,
        networks=_remember(b.networks, obs.network, settings.max_networks),
        devices=_remember(b.devices, obs.device, settings.max_devices),
        hours=tuple(hours),
    )
    if obs.location is not None:
        b = replace(b, last_location=(*obs.location, obs.timestamp))
    if obs.minute <= b.minute:
        return replace(
            b,
            minute_requests=b.minute_requests + 1,
            minute_bytes=b.minute_bytes + obs.bytes_in,
        )
    if b.minute_requests:
        # Fold the finished minute into the averages. Idle minutes are not folded: the
        # baseline is "how busy when active", so a lunch break does not make the
        # afternoon look like a spike.
        alpha = settings.ewma_alpha if b.active_minutes else 1.0
        b = replace(
            b,
            rate_ewma=alpha * b.minute_requests + (1 - alpha) * b.rate_ewma,
            volume_ewma=alpha * b.minute_bytes + (1 - alpha) * b.volume_ewma,
            active_minutes=b.active_minutes + 1,
        )
    return replace(b, minute=obs.minute, minute_requests=1, minute_bytes=obs.bytes_in)


def _learn_repeat(b: Baseline, obs: Observation, settings: RiskSettings) -> Baseline:
    """:func:`learn` for the common case, in one step: the network and device the principal
    used last, no location, the minute already counted. Only the counters move."""
    hour = obs.hour
    hours = (*b.hours[:hour], b.hours[hour] + 1, *b.hours[hour + 1 :])
    if sum(hours) > settings.usual_hours_window:
        hours = tuple(h // 2 for h in hours)
    return Baseline(
        observations=b.observations + 1,
        networks=b.networks,
        devices=b.devices,
        hours=hours,
        last_location=b.last_location,
        minute=b.minute,
        minute_requests=b.minute_requests + 1,
        minute_bytes=b.minute_bytes + obs.bytes_in,
        rate_ewma=b.rate_ewma,
        volume_ewma=b.volume_ewma,
        active_minutes=b.active_minutes,
    )
