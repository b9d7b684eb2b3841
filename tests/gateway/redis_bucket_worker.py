"""Runs in a separate OS process: hammers one shared Redis bucket and reports admissions."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from mlwarden.gateway.rate_limit import Limit, RedisRateLimiter


def hammer(
    url: str, prefix: str, key: str, limit: Limit, attempts: int, start: Event, out: Queue[int]
) -> None:
    limiter = RedisRateLimiter(url, prefix=prefix, timeout=5.0)
    start.wait(60)
    out.put(sum(limiter.acquire(key, limit).allowed for _ in range(attempts)))
