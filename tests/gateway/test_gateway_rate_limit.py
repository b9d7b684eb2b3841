"""Token buckets: burst then refill, honest retry_after, bounded memory, and one bucket
shared by several limiters (threads and OS processes) through Redis."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis_bucket_worker import hammer

from mlwarden.errors import UsageError
from mlwarden.gateway.rate_limit import (
    Limit,
    MemoryRateLimiter,
    RedisRateLimiter,
    limiter_from_url,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_is_admitted_then_requests_wait_for_the_refill() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    limit = Limit(rate=2.0, burst=3)
    verdicts = [limiter.acquire("alice", limit) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts[:3]] == [2.0, 1.0, 0.0]
    assert verdicts[3].retry_after == pytest.approx(0.5)  # one token at 2 per second

    clock.now += 0.25
    half = limiter.acquire("alice", limit)
    assert not half.allowed and half.retry_after == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.acquire("alice", limit).allowed


def test_retry_after_is_exactly_when_the_request_would_pass() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    limit = Limit(rate=4.0, burst=10)
    assert limiter.acquire("k", limit, cost=10).allowed
    denied = limiter.acquire("k", limit, cost=3)
    assert not denied.allowed and denied.retry_after == pytest.approx(0.75)
    clock.now += denied.retry_after * 0.99
    assert not limiter.acquire("k", limit, cost=3).allowed
    clock.now += denied.retry_after * 0.02
    assert limiter.acquire("k", limit, cost=3).allowed


def test_an_idle_bucket_refills_only_up_to_its_burst() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    limit = Limit(rate=100.0, burst=2)
    limiter.acquire("k", limit)
    clock.now += 3600
    assert [limiter.acquire("k", limit).allowed for _ in range(3)] == [True, True, False]


def test_keys_have_separate_buckets() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())
    limit = Limit(rate=1.0, burst=1)
    assert limiter.acquire("alice", limit).allowed
    assert not limiter.acquire("alice", limit).allowed
    assert limiter.acquire("bob", limit).allowed


def test_a_cost_above_the_burst_is_a_usage_error_not_an_endless_wait() -> None:
    with pytest.raises(UsageError, match="at most 5"):
        MemoryRateLimiter().acquire("k", Limit(1.0, 5), cost=6)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1.0, 1), (float("inf"), 1), (1.0, 0)])
def test_limits_must_be_positive(rate: float, burst: int) -> None:
    with pytest.raises(UsageError):
        Limit(rate, burst)


def test_memory_stays_bounded_and_recent_keys_survive() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(max_keys=3, clock=clock)
    limit = Limit(rate=0.001, burst=5)  # nothing refills during the test
    for key in ("a", "b", "c", "a", "d", "e"):
        limiter.acquire(key, limit)
    assert len(limiter) == 3
    # "a" was used recently, so it was kept and its bucket still remembers both requests.
    assert limiter.acquire("a", limit).remaining == pytest.approx(2.0, abs=0.01)


def test_idle_buckets_that_refilled_are_dropped() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    limit = Limit(rate=10.0, burst=10)
    for key in ("a", "b", "c"):
        limiter.acquire(key, limit)
    clock.now += 5  # every bucket is full again: forgetting them changes nothing
    limiter.acquire("d", limit)
    limiter.acquire("d", limit)
    assert len(limiter) == 1


def test_threads_sharing_a_bucket_never_get_more_than_the_burst() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())  # frozen clock: no refill
    limit = Limit(rate=1.0, burst=50)
    admitted: list[int] = []

    def worker() -> None:
        admitted.append(sum(limiter.acquire("shared", limit).allowed for _ in range(100)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 50


def test_limiter_from_url() -> None:
    assert isinstance(limiter_from_url(None), MemoryRateLimiter)
    assert isinstance(limiter_from_url("memory"), MemoryRateLimiter)
    assert isinstance(limiter_from_url(REDIS_URL), RedisRateLimiter)
    with pytest.raises(UsageError, match="redis://"):
        limiter_from_url("http://127.0.0.1:6379")


# --- Redis ------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5.0)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"mlw-test-rl:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=100))
        if keys:
            client.delete(*keys)
        client.close()


def _redis_limiter(prefix: str, **options: Any) -> RedisRateLimiter:
    return RedisRateLimiter(REDIS_URL, prefix=prefix, timeout=5.0, **options)


def test_two_redis_limiters_share_one_bucket(redis_prefix: str) -> None:
    one, two = _redis_limiter(redis_prefix), _redis_limiter(redis_prefix)
    limit = Limit(rate=0.001, burst=5)  # a millionth of a token per millisecond of test
    verdicts = [(one if n % 2 else two).acquire("model:fraud", limit) for n in range(8)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 3
    assert verdicts[-1].retry_after == pytest.approx(1000.0, rel=0.01)
    assert verdicts[4].remaining == pytest.approx(0.0, abs=0.01)


def test_redis_bucket_refills_at_the_declared_rate(redis_prefix: str) -> None:
    limiter = _redis_limiter(redis_prefix)
    limit = Limit(rate=20.0, burst=1)
    assert limiter.acquire("k", limit).allowed
    denied = limiter.acquire("k", limit)
    assert not denied.allowed and 0 < denied.retry_after <= 0.05
    time.sleep(denied.retry_after + 0.02)
    assert limiter.acquire("k", limit).allowed


def test_redis_keys_expire_once_the_bucket_would_be_full(redis_prefix: str) -> None:
    import redis

    limiter = _redis_limiter(redis_prefix)
    limiter.acquire("k", Limit(rate=2.0, burst=10), cost=4)  # 2 s until full again
    client = redis.Redis.from_url(REDIS_URL)
    ttl_ms = client.pttl(redis_prefix + "k")
    client.close()
    assert 0 < ttl_ms <= 3000


def test_redis_handles_extreme_limits(redis_prefix: str) -> None:
    limiter = _redis_limiter(redis_prefix)
    slow, huge = Limit(rate=1e-300, burst=10**9), Limit(rate=1e9, burst=1)
    assert limiter.acquire("slow", slow, cost=10**9).allowed
    assert not limiter.acquire("slow", slow).allowed
    assert limiter.acquire("fast", huge).allowed


def test_redis_threads_never_exceed_burst_plus_refill(redis_prefix: str) -> None:
    limit = Limit(rate=50.0, burst=10)
    admitted: list[int] = []

    def worker() -> None:
        limiter = _redis_limiter(redis_prefix)
        admitted.append(sum(limiter.acquire("shared", limit).allowed for _ in range(150)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert limit.burst <= sum(admitted) <= limit.burst + limit.rate * elapsed + 1e-6


def test_redis_processes_never_exceed_burst_plus_refill(redis_prefix: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    limit = Limit(rate=50.0, burst=10)
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=hammer, args=(REDIS_URL, redis_prefix, "shared", limit, 200, start, out))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    started = time.monotonic()  # no process acquires before this
    start.set()
    counts = [out.get(timeout=120) for _ in procs]
    elapsed = time.monotonic() - started
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert limit.burst <= sum(counts) <= limit.burst + limit.rate * elapsed + 1e-6


class _DeadScript:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **_: Any) -> Any:
        import redis

        self.calls += 1
        raise redis.ConnectionError("connection refused")


class _DeadClient:
    def __init__(self) -> None:
        self.script = _DeadScript()

    def register_script(self, _: str) -> _DeadScript:
        return self.script


def test_unreachable_redis_fails_closed_by_default() -> None:
    pytest.importorskip("redis")
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", unavailable_retry_after=2.5)
    verdict = limiter.acquire("k", Limit(100.0, 100))
    assert not verdict.allowed and verdict.retry_after == 2.5


def test_unreachable_redis_can_fall_back_to_per_process_buckets() -> None:
    pytest.importorskip("redis")
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", on_unavailable="memory")
    limit = Limit(rate=0.001, burst=2)
    assert [limiter.acquire("k", limit).allowed for _ in range(3)] == [True, True, False]


def test_an_outage_is_not_retried_on_every_request() -> None:
    pytest.importorskip("redis")
    client = _DeadClient()
    limiter = RedisRateLimiter(client, recheck_after=3600)  # type: ignore[arg-type]
    for _ in range(5):
        assert not limiter.acquire("k", Limit(1.0, 1)).allowed
    assert client.script.calls == 1
