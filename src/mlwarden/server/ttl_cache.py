"""A small, thread-safe, size-bounded cache whose entries expire.

The request path reads the same rows over and over (the caller's principal and bindings,
which model version is in production, recent failed logins); a cache of a few seconds turns
those reads into dictionary lookups. Anything that changes in this process is forgotten at
once by the code that changes it; a change made by another server process is seen when the
entry expires (``ttl_s``, 2 seconds by default).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL_S = 2.0


class TtlCache(Generic[K, V]):
    """``get_or_load(key, load)``: the cached value, or ``load()`` stored for ``ttl_s``."""

    def __init__(
        self,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = 10_000,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        now = self._clock()
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] <= now:
                del self._entries[key]
                return None
            return found[1]

    def put(self, key: K, value: V, ttl_s: float | None = None) -> None:
        expires = self._clock() + (self._ttl if ttl_s is None else ttl_s)
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        found = self.get(key)
        if found is not None:
            return found
        value = load()
        self.put(key, value)
        return value

    def forget(self, key: K | None = None) -> None:
        """Drop ``key``, or everything when ``key`` is None."""
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)
