"""Adaptive risk: how unusual is this request for this principal?

Each signal that fires adds its weight (``RiskSettings.weights``) to the score; the score
picks the verdict — ``allow``, ``step_up`` (a second factor is required) or ``deny``. The
signals compare a request with the principal's baseline, learned by :meth:`RiskEngine.observe`
from the requests the server accepted:

- ``new_network``: the address's /24 (IPv4) or /56 (IPv6) was never seen for the principal;
- ``new_device``: the fingerprint (hash of device id and user agent) was never seen;
- ``impossible_travel``: the address and the last located one are further apart than
  ``max_speed_kmh`` allows in the elapsed time (locations come from ``settings.locations``);
- ``unusual_hour``: the UTC hour is outside the hours seen, once enough history exists;
- ``rate_spike`` / ``volume_spike``: requests or bytes in this minute exceed the
  principal's per-active-minute average by the configured factor;
- ``failed_logins``: recent failed logins reached the threshold;
- ``attestation``: attestation is required and the header is missing or does not verify.

A principal without history (its first request, or forgotten after the state's TTL) has
nothing to be compared with, so only ``failed_logins``, ``attestation`` and
``impossible_travel`` (which needs a previous location and so cannot fire yet) apply: its
first network and device are learned, not "new". Flagging them would step up every
first request, which trains users to expect the prompt rather than notice it.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from mlwarden.policy.baseline import Baseline, Observation, learn
from mlwarden.policy.risk_settings import DEFAULT_WEIGHTS, SIGNALS, RiskSettings
from mlwarden.policy.risk_state import RiskState

if TYPE_CHECKING:
    from mlwarden.policy.attestation import AttestationVerifier

__all__ = [
    "DEFAULT_WEIGHTS",
    "SIGNALS",
    "FiredSignal",
    "RequestSignals",
    "RiskAssessment",
    "RiskEngine",
    "RiskSettings",
]

Verdict = Literal["allow", "step_up", "deny"]
_EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class RequestSignals:
    """What the server knows about one request before deciding on it."""

    principal: str
    ip: str
    user_agent: str
    device_id: str | None
    attestation: str | None
    when: datetime
    bytes_in: int


@dataclass(frozen=True)
class FiredSignal:
    """A signal that fired: its name, the points it added and a human-readable why."""

    name: str
    points: int
    reason: str


@dataclass(frozen=True)
class RiskAssessment:
    """The request's score, the signals behind it and the resulting verdict."""

    score: int
    fired: tuple[FiredSignal, ...]
    verdict: Verdict


class _Locator:
    """CIDR → position, most specific block first."""

    def __init__(self, table: dict[str, tuple[float, float]]) -> None:
        blocks = [
            (ipaddress.ip_network(cidr, strict=False), point) for cidr, point in table.items()
        ]
        self._blocks = sorted(blocks, key=lambda b: -b[0].prefixlen)

    def locate(
        self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    ) -> tuple[float, float] | None:
        if ip is None:
            return None
        for network, point in self._blocks:
            if ip.version == network.version and ip in network:
                return point
        return None


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket must not make IPv4 clients look new
    return address


def network_of(ip: str, settings: RiskSettings) -> str:
    """The network prefix ``ip`` is judged by (e.g. ``203.0.113.0/24``); a value that is not
    an address (a test client, a proxy's placeholder) stands for itself."""
    return _network(ip[:128], settings.ipv4_prefix, settings.ipv6_prefix)


@functools.lru_cache(maxsize=4096)
def _network(ip: str, ipv4_prefix: int, ipv6_prefix: int) -> str:
    # Parsing addresses is most of a risk assessment's cost; clients repeat theirs.
    address = _address(ip)
    if address is None:
        return "host:" + ip
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def device_fingerprint(device_id: str | None, user_agent: str) -> str:
    """A short stable hash of the device id and user agent (neither is stored in clear)."""
    digest = hashlib.sha256(f"{device_id or ''}\n{user_agent}".encode()).hexdigest()
    return digest[:32]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _utc(when: datetime) -> datetime:
    # Naive times are UTC throughout mlwarden, never the server's local zone.
    if when.tzinfo is UTC:
        return when
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


MAX_CLIENTS = 4096
"""Clients (address, device id, user agent) whose network, fingerprint and location are
remembered; past this the memory starts afresh."""


class RiskEngine:
    """Scores requests against per-principal baselines kept in ``state``.

    ``attestation`` verifies device attestation headers; when attestation is required and
    no verifier is configured, every request fires the signal (nothing can be verified).
    """

    def __init__(
        self,
        settings: RiskSettings,
        state: RiskState,
        attestation: AttestationVerifier | None = None,
    ) -> None:
        self.settings = settings
        self._state = state
        self._attestation = attestation
        self._locator = _Locator(dict(settings.locations))
        # Clients repeat themselves: their derived features are computed once.
        self._clients: dict[
            tuple[str, str | None, str], tuple[str, str, tuple[float, float] | None]
        ] = {}
        # The observation of the request assessed last, for observe() of the same request.
        self._last: tuple[RequestSignals, Observation] | None = None
        self._quiet = RiskAssessment(0, (), self._verdict(0))
        """The assessment when no signal fires (most requests)."""

    def _client(
        self, ip: str, device_id: str | None, user_agent: str
    ) -> tuple[str, str, tuple[float, float] | None]:
        """(network, device fingerprint, location) of a client."""
        key = (ip, device_id, user_agent)
        found = self._clients.get(key)
        if found is None:
            found = (
                network_of(ip, self.settings),
                device_fingerprint(device_id, user_agent),
                self._locator.locate(_address(ip)),
            )
            if len(self._clients) >= MAX_CLIENTS:
                self._clients.clear()
            self._clients[key] = found
        return found

    def observation(self, signals: RequestSignals) -> Observation:
        """The features of ``signals`` the baseline is compared with and learns."""
        last = self._last
        if last is not None and last[0] is signals:
            return last[1]
        when = _utc(signals.when)
        network, device, location = self._client(signals.ip, signals.device_id, signals.user_agent)
        stamp = when.timestamp()
        return Observation(
            network=network,
            device=device,
            hour=when.hour,
            minute=int(stamp) // 60,
            timestamp=stamp,
            bytes_in=max(0, signals.bytes_in),
            location=location,
        )

    def assess(self, signals: RequestSignals, failed_logins: int) -> RiskAssessment:
        """Score one request; ``failed_logins`` counts the principal's recent failures."""
        obs = self.observation(signals)
        self._last = (signals, obs)
        baseline = self._state.load(signals.principal)
        found: list[tuple[str, str]] = []
        if failed_logins >= self.settings.failed_login_threshold:
            found.append(("failed_logins", f"{failed_logins} failed logins recently"))
        attestation = self._attestation_problem(signals)
        if attestation:
            found.append(("attestation", attestation))
        if baseline is not None:
            travel = self._travel(baseline, obs)
            if travel:
                found.append(("impossible_travel", travel))
            if baseline.observations > 0:
                found.extend(self._habits(baseline, obs))
        if not found:
            return self._quiet
        fired = tuple(
            FiredSignal(name, self.settings.weight(name), reason)
            for name, reason in found
            if self.settings.weight(name) > 0
        )
        score = sum(s.points for s in fired)
        return RiskAssessment(score, fired, self._verdict(score))

    def _verdict(self, score: int) -> Verdict:
        if score >= self.settings.deny_at:
            return "deny"
        if score >= self.settings.step_up_at:
            return "step_up"
        return "allow"

    def observe(self, signals: RequestSignals) -> None:
        """Learn from a request the server accepted."""
        obs = self.observation(signals)
        self._state.update(signals.principal, lambda b: learn(b, obs, self.settings))

    def _attestation_problem(self, signals: RequestSignals) -> str | None:
        if not self.settings.require_attestation:
            return None
        if not signals.attestation:
            return "no device attestation"
        if self._attestation is None or not self._attestation.verify(signals):
            return "device attestation did not verify"
        return None

    def _travel(self, baseline: Baseline, obs: Observation) -> str | None:
        if baseline.last_location is None or obs.location is None:
            return None
        lat, lon, then = baseline.last_location
        km = distance_km((lat, lon), obs.location)
        hours = max(0.0, obs.timestamp - then) / 3600
        if km <= self.settings.travel_tolerance_km + self.settings.max_speed_kmh * hours:
            return None
        return f"{km:.0f} km from the last location in {hours * 60:.0f} min"

    def _habits(self, baseline: Baseline, obs: Observation) -> list[tuple[str, str]]:
        s = self.settings
        found: list[tuple[str, str]] = []
        if obs.network not in baseline.networks:
            found.append(("new_network", f"first request from {obs.network}"))
        if obs.device not in baseline.devices:
            found.append(("new_device", "first request from this device and client"))
        if baseline.observations >= s.usual_hours_min_observations and not baseline.hours[obs.hour]:
            near = [
                (obs.hour + d) % 24 for d in range(-s.usual_hours_slack, s.usual_hours_slack + 1)
            ]
            if not any(baseline.hours[h] for h in near):
                found.append(("unusual_hour", f"no activity seen around {obs.hour:02d}:00 UTC"))
        if baseline.active_minutes >= s.baseline_min_minutes:
            requests, volume = baseline.current_minute(obs.minute)
            requests, volume = requests + 1, volume + obs.bytes_in
            if requests >= s.rate_floor and requests > s.rate_spike_factor * baseline.rate_ewma:
                found.append(
                    (
                        "rate_spike",
                        f"{requests} requests this minute, usual {baseline.rate_ewma:.1f}",
                    )
                )
            if (
                volume >= s.volume_floor_bytes
                and volume > s.volume_spike_factor * baseline.volume_ewma
            ):
                found.append(
                    (
                        "volume_spike",
                        f"{volume} bytes this minute, usual {baseline.volume_ewma:.0f}",
                    )
                )
        return found
