"""How the adaptive risk engine weighs and learns: the ``[server.risk]`` table.

Every key is optional; unknown keys and values of the wrong type are configuration errors,
never silently ignored, since a typo here would quietly weaken a security control.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from mlwarden.errors import ConfigError

SIGNALS: tuple[str, ...] = (
    "new_network",
    "new_device",
    "impossible_travel",
    "unusual_hour",
    "rate_spike",
    "volume_spike",
    "failed_logins",
    "attestation",
)
"""Every signal the engine can fire, by the name used in weights and assessments."""

DEFAULT_WEIGHTS: MappingProxyType[str, int] = MappingProxyType(
    {
        # One unusual thing alone stays below the step-up threshold (40); a new device on a
        # new network, or travel no plane manages, asks for a second factor; three or more
        # together deny.
        "new_network": 15,
        "new_device": 25,
        "impossible_travel": 50,
        "unusual_hour": 10,
        "rate_spike": 25,
        "volume_spike": 25,
        "failed_logins": 30,
        "attestation": 40,
    }
)


def _default_weights() -> dict[str, int]:
    return dict(DEFAULT_WEIGHTS)


@dataclass(frozen=True)
class RiskSettings:
    """Weights, thresholds and learning parameters of :class:`~mlwarden.policy.risk.RiskEngine`.

    A score at or above ``step_up_at`` requires a second factor, at or above ``deny_at`` the
    request is refused. ``locations`` maps CIDR blocks to (latitude, longitude) for the
    impossible-travel signal; addresses outside every block are simply not located.
    """

    weights: Mapping[str, int] = field(default_factory=_default_weights)
    step_up_at: int = 40
    deny_at: int = 80
    usual_hours_min_observations: int = 20
    """Accepted requests a principal needs before an hour can count as unusual."""
    usual_hours_slack: int = 1
    """Hours either side of a seen hour that still count as usual."""
    usual_hours_window: int = 1000
    """When the hour histogram holds more than this many requests it is halved, so habits
    that stopped fade out."""
    baseline_min_minutes: int = 5
    """Active minutes a principal needs before rate and volume spikes are judged."""
    ewma_alpha: float = 0.2
    """Weight of the newest active minute in the rate and volume baselines."""
    rate_spike_factor: float = 5.0
    rate_floor: int = 30
    """Requests in one minute below which no rate spike fires, whatever the baseline."""
    volume_spike_factor: float = 10.0
    volume_floor_bytes: int = 64 << 20
    """Bytes in one minute below which no volume spike fires."""
    failed_login_threshold: int = 5
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56
    locations: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    max_speed_kmh: float = 900.0
    travel_tolerance_km: float = 100.0
    """Distance always allowed between two located requests: the table is coarse."""
    require_attestation: bool = False
    max_networks: int = 32
    max_devices: int = 32

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(SIGNALS))
        if unknown:
            raise ConfigError(
                "risk weights", f"name unknown signals {', '.join(unknown)}", _signal_list()
            )
        for name, weight in self.weights.items():
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
                raise ConfigError(f"risk weights.{name}", "must be an integer 0-100", "fix it")
        if not 0 < self.step_up_at <= self.deny_at:
            raise ConfigError(
                "risk step_up_at/deny_at",
                "need 0 < step_up_at <= deny_at",
                "e.g. step_up_at = 40, deny_at = 80",
            )
        if not 0 < self.ewma_alpha <= 1:
            raise ConfigError("risk ewma_alpha", "must be in (0, 1]", "e.g. 0.2")
        if not 0 <= self.usual_hours_slack <= 11:
            raise ConfigError("risk usual_hours_slack", "must be 0-11", "e.g. 1")
        if not 8 <= self.ipv4_prefix <= 32 or not 16 <= self.ipv6_prefix <= 128:
            raise ConfigError(
                "risk ipv4_prefix/ipv6_prefix", "must be 8-32 and 16-128", "e.g. 24 and 56"
            )
        positive = (
            "usual_hours_min_observations",
            "usual_hours_window",
            "baseline_min_minutes",
            "rate_spike_factor",
            "rate_floor",
            "volume_spike_factor",
            "volume_floor_bytes",
            "failed_login_threshold",
            "max_speed_kmh",
            "max_networks",
            "max_devices",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"risk {name}", "must be positive", "fix the value")
        if self.travel_tolerance_km < 0:
            raise ConfigError("risk travel_tolerance_km", "must not be negative", "fix it")
        for cidr, point in self.locations.items():
            _check_location(cidr, point)

    def weight(self, signal: str) -> int:
        """Points ``signal`` adds when it fires (0 disables it)."""
        return self.weights.get(signal, 0)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str = "[server.risk]") -> RiskSettings:
        """Settings from a parsed TOML table; ``weights`` overrides only the signals it names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(
                source, f"has unknown keys {', '.join(unknown)}", "check the spelling"
            )
        defaults = cls()
        values: dict[str, Any] = {}
        for key, value in table.items():
            where = f"{source}.{key}"
            default = getattr(defaults, key)
            if key == "weights":
                if not isinstance(value, Mapping):
                    raise ConfigError(
                        where, "must be a table", "e.g. weights = { new_device = 30 }"
                    )
                values[key] = {**DEFAULT_WEIGHTS, **value}
            elif key == "locations":
                values[key] = _locations(value, where)
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ConfigError(where, "must be true or false", "fix the value")
                values[key] = value
            elif isinstance(default, int):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(where, "must be an integer", "fix the value")
                values[key] = value
            else:
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise ConfigError(where, "must be a number", "fix the value")
                values[key] = float(value)
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc.subject}", exc.problem, exc.fix) from None


def _signal_list() -> str:
    return f"use {', '.join(SIGNALS)}"


def _locations(value: object, where: str) -> dict[str, tuple[float, float]]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            where, "must be a table of CIDR = [lat, lon]", 'e.g. "10.1.0.0/16" = [52.5, 13.4]'
        )
    table: dict[str, tuple[float, float]] = {}
    for cidr, point in value.items():
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in point)
        ):
            raise ConfigError(
                f"{where}.{cidr}", "must be [latitude, longitude]", "e.g. [52.5, 13.4]"
            )
        table[str(cidr)] = (float(point[0]), float(point[1]))
    return table


def _check_location(cidr: str, point: tuple[float, float]) -> None:
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ConfigError(
            f"risk locations {cidr!r}", "is not a CIDR block", "e.g. 10.1.0.0/16"
        ) from None
    lat, lon = point
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(
            f"risk locations {cidr!r}", "latitude must be -90..90, longitude -180..180", "fix it"
        )
