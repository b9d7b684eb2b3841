"""The adaptive risk engine: each signal, the thresholds and baseline learning."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlwarden.policy.attestation import Ed25519Attestation, header, message
from mlwarden.policy.risk import (
    SIGNALS,
    RequestSignals,
    RiskEngine,
    RiskSettings,
    device_fingerprint,
    distance_km,
    network_of,
)
from mlwarden.policy.risk_state import MemoryRiskState

# Distinct weights, so a score tells which signal produced it.
WEIGHTS = {
    "new_network": 11,
    "new_device": 13,
    "impossible_travel": 17,
    "unusual_hour": 19,
    "rate_spike": 23,
    "volume_spike": 29,
    "failed_logins": 31,
    "attestation": 37,
}
# Two halves of one /24: different places, same network prefix.
BERLIN_IP, SYDNEY_IP = "203.0.113.10", "203.0.113.200"
LOCATIONS = {"203.0.113.0/25": (52.52, 13.40), "203.0.113.128/25": (-33.87, 151.21)}
START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def settings(**overrides: Any) -> RiskSettings:
    base: dict[str, Any] = {
        "weights": WEIGHTS,
        "step_up_at": 40,
        "deny_at": 80,
        "rate_floor": 5,
        "volume_floor_bytes": 10_000,
        "locations": LOCATIONS,
    }
    return RiskSettings(**{**base, **overrides})


def request(when: datetime, **overrides: Any) -> RequestSignals:
    base: dict[str, Any] = {
        "principal": "alice",
        "ip": BERLIN_IP,
        "user_agent": "mlwarden-cli/1.0",
        "device_id": "laptop-1",
        "attestation": None,
        "when": when,
        "bytes_in": 100,
    }
    return RequestSignals(**{**base, **overrides})


def trained(engine: RiskEngine, count: int = 30, start: datetime = START) -> datetime:
    """One request a minute from ``start`` (09:30 UTC); returns the time of the last one."""
    when = start
    for i in range(count):
        when = start + timedelta(minutes=i)
        engine.observe(request(when))
    return when


@pytest.fixture
def engine() -> RiskEngine:
    e = RiskEngine(settings(), MemoryRiskState())
    trained(e)
    return e


# The next day at 10:05, from the usual place and device: nothing is unusual.
PROBE = START + timedelta(days=1, minutes=35)


def fired(engine: RiskEngine, signals: RequestSignals, failed: int = 0) -> tuple[int, set[str]]:
    result = engine.assess(signals, failed)
    return result.score, {f.name for f in result.fired}


def test_a_usual_request_scores_zero(engine: RiskEngine) -> None:
    result = engine.assess(request(PROBE), 0)
    assert (result.score, result.fired, result.verdict) == (0, (), "allow")


SINGLE_SIGNAL_CASES = {
    "new_network": {"ip": "198.51.100.7"},
    "new_device": {"device_id": "phone-9"},
    "unusual_hour": {"when": PROBE.replace(hour=3)},
    "volume_spike": {"bytes_in": 50_000},
}


@pytest.mark.parametrize("name", sorted(SINGLE_SIGNAL_CASES))
def test_each_signal_adds_exactly_its_weight(engine: RiskEngine, name: str) -> None:
    changes = dict(SINGLE_SIGNAL_CASES[name])
    when = changes.pop("when", PROBE)
    assert fired(engine, request(when, **changes)) == (WEIGHTS[name], {name})


def test_a_new_user_agent_is_a_new_device(engine: RiskEngine) -> None:
    assert fired(engine, request(PROBE, user_agent="curl/8.5")) == (
        WEIGHTS["new_device"],
        {"new_device"},
    )


def test_impossible_travel(engine: RiskEngine) -> None:
    last = START + timedelta(minutes=29)
    soon = request(last + timedelta(minutes=10), ip=SYDNEY_IP)
    assert fired(engine, soon) == (WEIGHTS["impossible_travel"], {"impossible_travel"})
    # A day later the flight is possible (~16,000 km at 900 km/h needs ~18 h).
    later = request(PROBE, ip=SYDNEY_IP)
    assert fired(engine, later) == (0, set())


def test_travel_within_the_tolerance_does_not_fire() -> None:
    nearby = {"203.0.113.0/25": (52.52, 13.40), "203.0.113.128/25": (52.40, 13.06)}  # Potsdam
    e = RiskEngine(settings(locations=nearby), MemoryRiskState())
    last = trained(e)
    assert fired(e, request(last, ip=SYDNEY_IP)) == (0, set())


def test_rate_spike(engine: RiskEngine) -> None:
    # The baseline is one request per active minute; the floor is 5 and the factor 5.
    for _ in range(5):
        assert fired(engine, request(PROBE)) == (0, set())
        engine.observe(request(PROBE))
    assert fired(engine, request(PROBE)) == (WEIGHTS["rate_spike"], {"rate_spike"})
    # The next minute starts a fresh count.
    assert fired(engine, request(PROBE + timedelta(minutes=1))) == (0, set())


@pytest.mark.parametrize(("failed", "expected"), [(4, 0), (5, 31), (12, 31)])
def test_failed_logins_at_the_threshold(engine: RiskEngine, failed: int, expected: int) -> None:
    assert fired(engine, request(PROBE), failed)[0] == expected


def test_attestation_required_and_verified() -> None:
    key = Ed25519PrivateKey.generate()
    verifier = Ed25519Attestation({"laptop-1": key.public_key()})
    e = RiskEngine(settings(require_attestation=True), MemoryRiskState(), verifier)
    seconds = int(PROBE.timestamp())
    good = header(key.sign(message("alice", "laptop-1", seconds)), seconds)
    assert fired(e, request(PROBE, attestation=good)) == (0, set())
    assert fired(e, request(PROBE)) == (37, {"attestation"})
    forged = header(
        Ed25519PrivateKey.generate().sign(message("alice", "laptop-1", seconds)), seconds
    )
    assert fired(e, request(PROBE, attestation=forged)) == (37, {"attestation"})


def test_required_attestation_without_a_verifier_never_verifies() -> None:
    e = RiskEngine(settings(require_attestation=True), MemoryRiskState())
    assert fired(e, request(PROBE, attestation="v1.1.AAAA"))[1] == {"attestation"}


def test_attestation_not_required_is_ignored(engine: RiskEngine) -> None:
    assert fired(engine, request(PROBE, attestation="garbage")) == (0, set())


def test_a_zero_weight_disables_a_signal() -> None:
    e = RiskEngine(settings(weights={**WEIGHTS, "new_network": 0}), MemoryRiskState())
    trained(e)
    assert fired(e, request(PROBE, ip="198.51.100.7")) == (0, set())


def test_signals_add_up(engine: RiskEngine) -> None:
    odd = request(PROBE.replace(hour=3), ip="198.51.100.7", device_id="phone-9", bytes_in=50_000)
    score, names = fired(engine, odd, failed=5)
    assert names == {"new_network", "new_device", "unusual_hour", "volume_spike", "failed_logins"}
    assert score == sum(WEIGHTS[n] for n in names)


# --- verdicts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failed", "new_device", "verdict"),
    [(0, False, "allow"), (5, False, "step_up"), (0, True, "allow"), (5, True, "deny")],
)
def test_thresholds_pick_the_verdict(failed: int, new_device: bool, verdict: str) -> None:
    # failed_logins (31) reaches step_up_at=31; with new_device (13) it reaches deny_at=44.
    e = RiskEngine(settings(step_up_at=31, deny_at=44), MemoryRiskState())
    trained(e)
    signals = request(PROBE, device_id="phone-9" if new_device else "laptop-1")
    assert e.assess(signals, failed).verdict == verdict


def test_default_thresholds() -> None:
    e = RiskEngine(RiskSettings(), MemoryRiskState())
    trained(e)
    assert e.assess(request(PROBE, device_id="x"), 0).verdict == "allow"  # 25
    assert e.assess(request(PROBE, device_id="x", ip="198.51.100.7"), 0).verdict == "step_up"  # 40
    assert e.assess(request(PROBE, device_id="x", ip="198.51.100.7"), 9).verdict == "step_up"  # 70
    many = request(PROBE.replace(hour=3), device_id="x", ip="198.51.100.7")
    assert e.assess(many, 9).verdict == "deny"  # 80


# --- new principals and learning -----------------------------------------------------------


def test_a_new_principal_is_judged_only_on_logins_attestation_and_travel() -> None:
    e = RiskEngine(settings(), MemoryRiskState())
    first = request(START.replace(hour=3), ip="198.51.100.7", bytes_in=10**9)
    assert fired(e, first) == (0, set())
    assert fired(e, first, failed=5) == (31, {"failed_logins"})
    strict = RiskEngine(settings(require_attestation=True), MemoryRiskState())
    assert fired(strict, first)[1] == {"attestation"}


def test_travel_fires_from_the_second_request() -> None:
    e = RiskEngine(settings(), MemoryRiskState())
    e.observe(request(START))
    assert fired(e, request(START + timedelta(minutes=5), ip=SYDNEY_IP))[1] == {"impossible_travel"}


def test_assessing_learns_nothing_observing_does(engine: RiskEngine) -> None:
    new = request(PROBE, ip="198.51.100.7")
    assert fired(engine, new)[1] == {"new_network"}
    assert fired(engine, new)[1] == {"new_network"}
    engine.observe(new)
    assert fired(engine, replace(new, ip="198.51.100.99")) == (0, set())  # same /24


def test_ipv6_networks_are_judged_by_their_56() -> None:
    s = RiskSettings()
    assert network_of("2001:db8:1:ab00::1", s) == network_of("2001:db8:1:abff::9", s)
    assert network_of("2001:db8:1:ab00::1", s) != network_of("2001:db8:1:ac00::1", s)
    assert network_of("::ffff:203.0.113.9", s) == network_of("203.0.113.200", s)
    assert network_of("testclient", s) == "host:testclient"


def test_unusual_hour_needs_enough_history() -> None:
    e = RiskEngine(settings(), MemoryRiskState())
    trained(e, 19)  # 09:30-09:48, one short of usual_hours_min_observations
    night = request(PROBE.replace(hour=3))
    assert "unusual_hour" not in fired(e, night)[1]
    e.observe(request(START + timedelta(minutes=19)))
    assert "unusual_hour" in fired(e, night)[1]


@pytest.mark.parametrize(("hour", "unusual"), [(8, False), (10, False), (11, True), (7, True)])
def test_usual_hours_have_a_slack(hour: int, unusual: bool) -> None:
    e = RiskEngine(settings(), MemoryRiskState())
    trained(e)  # 09:30-09:59 only, slack 1 hour: 08-10 are usual
    assert ("unusual_hour" in fired(e, request(PROBE.replace(hour=hour)))[1]) == unusual


def test_old_hours_fade_out_of_the_window() -> None:
    e = RiskEngine(settings(usual_hours_window=40), MemoryRiskState())
    e.observe(request(START.replace(hour=3)))
    trained(e)
    night = request(PROBE.replace(hour=3))
    assert "unusual_hour" not in fired(e, night)[1]
    trained(
        e, 30, START + timedelta(days=1)
    )  # the histogram passes 40 and is halved: the single 03:00 is forgotten
    assert "unusual_hour" in fired(e, night)[1]


def test_networks_and_devices_are_bounded_least_recent_first() -> None:
    e = RiskEngine(settings(max_networks=2, max_devices=2), MemoryRiskState())
    for i, net in enumerate(("198.51.100.1", "192.0.2.1", "203.0.113.1")):
        e.observe(request(START + timedelta(minutes=i), ip=net, device_id=f"d{i}"))
    later = START + timedelta(minutes=10)
    assert fired(e, request(later, ip="198.51.100.1", device_id="d2"))[1] == {"new_network"}
    assert fired(e, request(later, ip="203.0.113.1", device_id="d0"))[1] == {"new_device"}


def test_the_rate_baseline_adapts_to_a_sustained_pace() -> None:
    e = RiskEngine(settings(), MemoryRiskState())
    last = trained(e)
    busy = last + timedelta(minutes=1)
    for _ in range(7):
        e.observe(request(busy))
    assert fired(e, request(busy)) == (WEIGHTS["rate_spike"], {"rate_spike"})
    for minute in range(20):  # 8 requests a minute from now on
        for _ in range(8):
            e.observe(request(busy + timedelta(minutes=minute)))
    after = busy + timedelta(minutes=21)
    for _ in range(7):
        e.observe(request(after))
    assert fired(e, request(after)) == (0, set())  # the 8th request in a now-usual minute


def test_naive_times_are_utc(engine: RiskEngine) -> None:
    naive = PROBE.replace(hour=3, tzinfo=None)
    assert fired(engine, request(naive))[1] == {"unusual_hour"}


def test_fingerprints_and_distances() -> None:
    assert device_fingerprint("a", "ua") != device_fingerprint("a", "ub")
    assert device_fingerprint(None, "ua") == device_fingerprint("", "ua")
    assert 15_900 < distance_km((52.52, 13.40), (-33.87, 151.21)) < 16_200
    assert distance_km((10.0, 10.0), (10.0, 10.0)) == 0.0


def test_every_signal_has_a_default_weight() -> None:
    assert set(RiskSettings().weights) == set(SIGNALS)


def test_the_fast_learning_path_learns_what_the_general_one_does() -> None:
    import random

    from mlwarden.policy.baseline import _learn_general, _learn_repeat, learn

    rng = random.Random(7)
    s = settings(usual_hours_window=40, max_networks=3, max_devices=2)
    engine = RiskEngine(s, MemoryRiskState())
    fast = general = None
    when = START
    repeats = 0
    for _ in range(2000):
        when += timedelta(seconds=rng.choice([0, 1, 5, 30, 90, 3600]))
        signals = request(
            when,
            # Mostly an unlocated address (the fast path); sometimes located ones.
            ip=rng.choice(["198.51.100.7"] * 6 + ["192.0.2.1", BERLIN_IP, SYDNEY_IP]),
            device_id=rng.choice(["laptop-1", "laptop-1", "laptop-1", "phone", "tablet"]),
            bytes_in=rng.randint(0, 500),
        )
        obs = engine.observation(signals)
        if general is not None and learn(general, obs, s) == _learn_repeat(general, obs, s):
            repeats += 1
        fast, general = learn(fast, obs, s), _learn_general(general, obs, s)
        assert fast == general
    assert repeats > 100  # the fast path was taken often
