"""Where risk baselines live: in the process, or in Redis so several servers share them.

Both stores apply an update as one read-modify-write, so two requests of the same
principal never lose each other's learning.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from mlwarden.policy.baseline import Baseline

if TYPE_CHECKING:
    import redis

Change = Callable[[Baseline | None], Baseline]


class RiskState(Protocol):
    """Baselines by principal name."""

    def load(self, principal: str) -> Baseline | None:
        """The principal's baseline, or None when it has no history."""
        ...

    def update(self, principal: str, change: Change) -> None:
        """Replace the principal's baseline by ``change(current)``, atomically."""
        ...


class MemoryRiskState:
    """Baselines in this process; thread-safe and bounded to ``max_principals``, the least
    recently updated forgotten first."""

    def __init__(self, max_principals: int = 100_000) -> None:
        self._max = max_principals
        self._lock = threading.Lock()
        self._baselines: OrderedDict[str, Baseline] = OrderedDict()

    def load(self, principal: str) -> Baseline | None:
        with self._lock:
            return self._baselines.get(principal)

    def update(self, principal: str, change: Change) -> None:
        with self._lock:
            self._baselines[principal] = change(self._baselines.get(principal))
            self._baselines.move_to_end(principal)
            while len(self._baselines) > self._max:
                self._baselines.popitem(last=False)


class RedisRiskState:
    """Baselines in Redis, one JSON value per principal under ``prefix``.

    Each key expires ``ttl_seconds`` after the principal's last accepted request, so
    departed principals do not accumulate. Updates use WATCH/MULTI and retry on a
    concurrent write. Redis errors propagate: the caller decides whether an unavailable
    baseline fails the request.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "mlwarden:risk:",
        ttl_seconds: int = 30 * 86400,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl = ttl_seconds

    @classmethod
    def from_url(cls, url: str, prefix: str = "mlwarden:risk:") -> RedisRiskState:
        """A state on the Redis server at ``url`` (``redis://host:port/db``)."""
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5.0), prefix)

    def _key(self, principal: str) -> str:
        return self._prefix + principal

    def load(self, principal: str) -> Baseline | None:
        raw = self._client.get(self._key(principal))
        return Baseline.from_json(raw) if isinstance(raw, str | bytes) else None

    def update(self, principal: str, change: Change) -> None:
        key = self._key(principal)

        def apply(pipe: redis.client.Pipeline) -> None:
            raw = pipe.get(key)
            current = Baseline.from_json(raw) if isinstance(raw, str | bytes) else None
            updated = change(current)
            pipe.multi()
            pipe.set(key, updated.to_json(), ex=self._ttl)

        self._client.transaction(apply, key)
