"""Token-bucket rate limits, in process memory or shared through Redis.

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second; a request
costing ``cost`` tokens passes when that many are left. Buckets are keyed by whatever the
caller limits (a principal, a model, a client address).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mlwarden.errors import UsageError

if TYPE_CHECKING:
    from redis import Redis

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """``rate`` tokens per second, at most ``burst`` tokens saved up."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if isinstance(self.rate, bool) or not (math.isfinite(self.rate) and self.rate > 0):
            raise UsageError(
                "rate limit", f"rate {self.rate!r} is not a positive number", "set rate > 0"
            )
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise UsageError(
                "rate limit", f"burst {self.burst!r} is not a positive integer", "set burst >= 1"
            )


@dataclass(frozen=True)
class RateVerdict:
    """Whether a request passed; when not, how many seconds until it would."""

    allowed: bool
    retry_after: float
    remaining: float
    """Tokens left in the bucket after this request."""


class RateLimiter(Protocol):
    """Anything that can charge a request to a bucket."""

    def acquire(self, key: str, limit: Limit, cost: float = 1.0) -> RateVerdict:
        """Take ``cost`` tokens from ``key``'s bucket if it holds that many."""
        ...


def _check_cost(limit: Limit, cost: float) -> None:
    # A cost above the burst could never pass; saying so beats a retry_after that lies.
    if not (math.isfinite(cost) and 0 <= cost <= limit.burst):
        raise UsageError(
            "request",
            f"costs {cost!r} tokens but the limit allows at most {limit.burst} at once",
            "send smaller batches or raise the limit's burst",
        )


class _Bucket:
    __slots__ = ("full_at", "stamp", "tokens")

    def __init__(self, tokens: float, stamp: float, full_at: float) -> None:
        self.tokens = tokens
        self.stamp = stamp
        self.full_at = full_at


class MemoryRateLimiter:
    """Buckets in this process's memory; thread-safe.

    Memory stays bounded: a bucket idle long enough to refill is dropped (a missing bucket
    starts full, so nothing changes), and past ``max_keys`` buckets the least recently used
    one is dropped even if not yet full, which can only happen under a flood of new keys.
    """

    def __init__(
        self, max_keys: int = 100_000, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_keys < 1:
            raise UsageError("rate limiter", f"max_keys {max_keys} < 1", "set max_keys >= 1")
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str, limit: Limit, cost: float = 1.0) -> RateVerdict:
        """Take ``cost`` tokens from ``key``'s bucket if it holds that many."""
        if cost != 1.0:  # a Limit's burst is at least 1, so one token is always a valid cost
            _check_cost(limit, cost)
        rate, burst = limit.rate, limit.burst
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                tokens = float(burst)
                bucket = self._buckets[key] = _Bucket(tokens, now, now)
            else:
                elapsed = max(0.0, now - bucket.stamp)
                tokens = min(float(burst), bucket.tokens + elapsed * rate)
                self._buckets.move_to_end(key)
            if tokens >= cost:
                tokens -= cost
                verdict = RateVerdict(True, 0.0, tokens)
            else:
                verdict = RateVerdict(False, (cost - tokens) / rate, tokens)
            bucket.tokens, bucket.stamp = tokens, now
            bucket.full_at = now + (burst - tokens) / rate
            self._evict(now)
        return verdict

    def _evict(self, now: float) -> None:
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        # Two idle buckets per call shrink the map faster than one new key per call grows it.
        for _ in range(2):
            oldest = next(iter(self._buckets.values()))
            if oldest.full_at > now or len(self._buckets) == 1:
                break
            self._buckets.popitem(last=False)


# One atomic step per request. Redis's own clock is used so that servers whose clocks
# disagree still share one notion of elapsed time; the key expires once the bucket would be
# full again, since a missing bucket starts full.
_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tokens = burst
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
if state[1] and state[2] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  tokens = math.min(burst, tonumber(state[1]) + elapsed * rate)
end
local allowed, retry = 0, (cost - tokens) / rate
if tokens >= cost then
  tokens = tokens - cost
  allowed, retry = 1, 0
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.6f', now))
local ttl = math.min(math.ceil((burst - tokens) / rate * 1000) + 1000, 1e15)
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return {allowed, string.format('%.17g', retry), string.format('%.17g', tokens)}
"""


class RedisRateLimiter:
    """Buckets in Redis, shared by every server process that uses the same prefix.

    Each acquire is one Lua script (EVALSHA, loaded again when Redis lost it), so concurrent
    processes never admit more than one bucket allows.

    When Redis cannot be reached the limiter **fails closed** by default: every request is
    denied with ``retry_after=unavailable_retry_after``. With ``on_unavailable="memory"`` it
    falls back to a per-process :class:`MemoryRateLimiter` instead, which keeps serving but
    lets each process admit a full bucket. Redis is tried again ``recheck_after`` seconds
    after a failure, so an outage costs one timeout per interval, not one per request.
    """

    def __init__(
        self,
        target: str | Redis,
        *,
        prefix: str = "mlwarden:rl:",
        on_unavailable: Literal["deny", "memory"] = "deny",
        unavailable_retry_after: float = 1.0,
        recheck_after: float = 1.0,
        timeout: float = 0.25,
    ) -> None:
        import redis

        if on_unavailable not in ("deny", "memory"):
            raise UsageError(
                "rate limiter", f"on_unavailable={on_unavailable!r}", "use 'deny' or 'memory'"
            )
        if isinstance(target, str):
            target = redis.Redis.from_url(
                target, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self._client = target
        self._script = target.register_script(_LUA)
        self._prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._fallback = MemoryRateLimiter() if on_unavailable == "memory" else None
        self._unavailable_retry_after = unavailable_retry_after
        self._recheck_after = recheck_after
        self._down_until = 0.0
        self._mode = "using per-process limits" if self._fallback else "denying requests"

    @property
    def prefix(self) -> str:
        """The prefix of every key this limiter writes."""
        return self._prefix

    def acquire(self, key: str, limit: Limit, cost: float = 1.0) -> RateVerdict:
        """Take ``cost`` tokens from ``key``'s bucket if it holds that many."""
        _check_cost(limit, cost)
        if time.monotonic() >= self._down_until:
            try:
                reply: Any = self._script(
                    keys=[self._prefix + key], args=[limit.rate, limit.burst, cost]
                )
            except self._errors as exc:
                if self._down_until == 0.0:
                    _log.warning("rate limiter: Redis unavailable, %s: %s", self._mode, exc)
                self._down_until = time.monotonic() + self._recheck_after
            else:
                if self._down_until != 0.0:
                    _log.warning("rate limiter: Redis available again")
                    self._down_until = 0.0
                return RateVerdict(bool(int(reply[0])), float(reply[1]), float(reply[2]))
        if self._fallback is not None:
            return self._fallback.acquire(key, limit, cost)
        return RateVerdict(False, self._unavailable_retry_after, 0.0)


def limiter_from_url(url: str | None) -> RateLimiter:
    """``None``/``"memory"``: a :class:`MemoryRateLimiter`; ``redis://``, ``rediss://`` or
    ``unix://``: a fail-closed :class:`RedisRateLimiter`."""
    if url is None or url.strip() in ("", "memory"):
        return MemoryRateLimiter()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisRateLimiter(url)
    raise UsageError(
        "rate limiter URL",
        f"{url!r} is neither 'memory' nor a redis:// URL",
        "use 'memory' or redis://host:6379/0",
    )
