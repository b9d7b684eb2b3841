"""``[server.risk]`` parsing: defaults, partial overrides and every kind of mistake."""

from __future__ import annotations

from typing import Any

import pytest

from mlwarden.errors import ConfigError
from mlwarden.policy.risk_settings import DEFAULT_WEIGHTS, RiskSettings


def test_an_empty_table_gives_the_defaults() -> None:
    assert RiskSettings.from_table({}) == RiskSettings()
    defaults = RiskSettings()
    assert (defaults.step_up_at, defaults.deny_at) == (40, 80)
    assert (defaults.ipv4_prefix, defaults.ipv6_prefix, defaults.max_speed_kmh) == (24, 56, 900.0)
    assert defaults.require_attestation is False


def test_a_table_overrides_only_what_it_names() -> None:
    s = RiskSettings.from_table(
        {
            "weights": {"new_device": 35},
            "deny_at": 90,
            "rate_spike_factor": 3,
            "require_attestation": True,
            "locations": {"10.1.0.0/16": [52.5, 13.4]},
        }
    )
    assert s.weight("new_device") == 35
    assert s.weight("new_network") == DEFAULT_WEIGHTS["new_network"]
    assert (s.deny_at, s.rate_spike_factor, s.require_attestation) == (90, 3.0, True)
    assert s.locations == {"10.1.0.0/16": (52.5, 13.4)}


@pytest.mark.parametrize(
    ("table", "subject"),
    [
        ({"step_up": 40}, "[server.risk]"),
        ({"weights": {"new_laptop": 5}}, "[server.risk]: risk weights"),
        ({"weights": {"new_device": 101}}, "[server.risk]: risk weights.new_device"),
        ({"weights": {"new_device": "high"}}, "[server.risk]: risk weights.new_device"),
        ({"weights": 5}, "[server.risk].weights"),
        ({"deny_at": "80"}, "[server.risk].deny_at"),
        ({"deny_at": True}, "[server.risk].deny_at"),
        ({"step_up_at": 90}, "[server.risk]: risk step_up_at/deny_at"),
        ({"rate_spike_factor": "5x"}, "[server.risk].rate_spike_factor"),
        ({"require_attestation": "yes"}, "[server.risk].require_attestation"),
        ({"ipv4_prefix": 40}, "[server.risk]: risk ipv4_prefix/ipv6_prefix"),
        ({"failed_login_threshold": 0}, "[server.risk]: risk failed_login_threshold"),
        ({"ewma_alpha": 1.5}, "[server.risk]: risk ewma_alpha"),
        ({"locations": {"10.1.0.0/16": [91, 0]}}, "[server.risk]: risk locations '10.1.0.0/16'"),
        ({"locations": {"not-a-net": [1, 2]}}, "[server.risk]: risk locations 'not-a-net'"),
        ({"locations": {"10.1.0.0/16": [1]}}, "[server.risk].locations.10.1.0.0/16"),
        ({"locations": ["10.1.0.0/16"]}, "[server.risk].locations"),
    ],
)
def test_mistakes_are_config_errors_naming_the_key(table: dict[str, Any], subject: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RiskSettings.from_table(table)
    assert caught.value.subject == subject
