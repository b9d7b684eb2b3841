"""Baseline stores: the in-process one and Redis shared between engines."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mlwarden.policy.baseline import Baseline, Observation, learn
from mlwarden.policy.risk import RequestSignals, RiskEngine, RiskSettings
from mlwarden.policy.risk_state import MemoryRiskState, RedisRiskState

redis = pytest.importorskip("redis")

REDIS_URL = "redis://127.0.0.1:6379/0"
WHEN = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def signals(ip: str = "203.0.113.10", minutes: int = 0) -> RequestSignals:
    return RequestSignals(
        "alice", ip, "cli/1.0", "laptop", None, WHEN + timedelta(minutes=minutes), 10
    )


def count_up(b: Baseline | None) -> Baseline:
    base = b or Baseline()
    return replace(base, observations=base.observations + 1)


def hammer(update: object, threads: int = 4, each: int = 50) -> None:
    def work() -> None:
        for _ in range(each):
            update("alice", count_up)  # type: ignore[operator]

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_baseline_json_round_trip() -> None:
    obs = Observation("203.0.113.0/24", "fp", 10, 1000, 60_000.0, 5, (52.5, 13.4))
    b = learn(learn(None, obs, RiskSettings()), replace(obs, minute=1001), RiskSettings())
    assert Baseline.from_json(b.to_json()) == b
    assert Baseline.from_json(b.to_json().encode()) == b


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"v": 99}', "not json", '{"v": 1, "hours": []}'])
def test_unreadable_baselines_start_afresh(text: str) -> None:
    assert Baseline.from_json(text) is None


def test_memory_state_updates_atomically() -> None:
    state = MemoryRiskState()
    hammer(state.update)
    loaded = state.load("alice")
    assert loaded is not None and loaded.observations == 200


def test_memory_state_forgets_the_least_recent_principal() -> None:
    state = MemoryRiskState(max_principals=2)
    for name in ("a", "b", "a", "c"):
        state.update(name, count_up)
    assert state.load("b") is None
    assert state.load("a") is not None and state.load("c") is not None


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5.0)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"mlw-test-risk:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=100))
        if keys:
            client.delete(*keys)
        client.close()


def redis_state(prefix: str, ttl: int = 3600) -> RedisRiskState:
    return RedisRiskState(redis.Redis.from_url(REDIS_URL, socket_timeout=5.0), prefix, ttl)


def test_two_engines_share_a_baseline_through_redis(redis_prefix: str) -> None:
    one = RiskEngine(RiskSettings(), redis_state(redis_prefix))
    two = RiskEngine(RiskSettings(), redis_state(redis_prefix))
    one.observe(signals())
    # The second process knows the first network, so a different one is new to it.
    assert two.assess(signals(minutes=1), 0).fired == ()
    assert [f.name for f in two.assess(signals("198.51.100.1", 1), 0).fired] == ["new_network"]
    two.observe(signals("198.51.100.1", 2))
    assert one.assess(signals("198.51.100.1", 3), 0).fired == ()


def test_redis_keys_carry_the_prefix_and_a_ttl(redis_prefix: str) -> None:
    redis_state(redis_prefix, ttl=600).update("alice", count_up)
    client = redis.Redis.from_url(REDIS_URL)
    assert client.exists(redis_prefix + "alice")
    assert 0 < client.ttl(redis_prefix + "alice") <= 600
    client.close()


def test_redis_updates_from_several_clients_lose_nothing(redis_prefix: str) -> None:
    states = [redis_state(redis_prefix) for _ in range(4)]

    def work(state: RedisRiskState) -> None:
        for _ in range(25):
            state.update("alice", count_up)

    workers = [threading.Thread(target=work, args=(s,)) for s in states]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    loaded = states[0].load("alice")
    assert loaded is not None and loaded.observations == 100


def test_a_corrupt_redis_value_means_no_history(redis_prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.set(redis_prefix + "alice", b"\xff garbage", ex=60)
    client.close()
    state = redis_state(redis_prefix)
    assert state.load("alice") is None
    state.update("alice", count_up)
    loaded = state.load("alice")
    assert loaded is not None and loaded.observations == 1
