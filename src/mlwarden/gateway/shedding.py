"""Load shedding: refuse work at once when the server is already full.

A request either gets one of ``max_in_flight`` slots, waits in a short bounded queue, or is
refused with :class:`Overloaded` straight away, so an overload costs clients a retry rather
than costing the server its memory and every request its latency.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mlwarden.errors import MlwardenError, UsageError


class Overloaded(MlwardenError):
    """No slot is free and the queue is full (HTTP 503 with ``Retry-After``)."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"server overloaded, retry after {retry_after:g} s")


class _Waiter:
    __slots__ = ("future", "granted", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.granted = False
        """Set under the shedder's lock when a released slot is handed to this waiter."""


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class LoadShedder:
    """At most ``max_in_flight`` holders of :meth:`slot` at once and at most ``max_queue``
    waiting (first come, first served) for at most ``max_wait`` seconds.

    Counters are guarded by a thread lock and waiters are woken on their own event loop,
    so one shedder may be shared by several loops or threads.
    """

    def __init__(
        self,
        max_in_flight: int,
        max_queue: int = 0,
        *,
        max_wait: float = 1.0,
        retry_after: float = 1.0,
    ) -> None:
        if max_in_flight < 1 or max_queue < 0:
            raise UsageError(
                "load shedding",
                f"max_in_flight={max_in_flight}, max_queue={max_queue}",
                "set max_in_flight >= 1 and max_queue >= 0",
            )
        self._max_in_flight = max_in_flight
        self._max_queue = max_queue
        self._max_wait = max_wait
        self._retry_after = retry_after
        self._lock = threading.Lock()
        self._waiters: deque[_Waiter] = deque()
        self._in_flight = 0
        self._shed_total = 0
        self._admitted_total = 0

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Requests queued for a slot right now."""
        return len(self._waiters)

    @property
    def shed_total(self) -> int:
        """Requests refused since start."""
        return self._shed_total

    @property
    def admitted_total(self) -> int:
        """Requests that got a slot since start."""
        return self._admitted_total

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body of ``async with``; raises :class:`Overloaded`."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    def enter_now(self) -> bool:
        """Take a free slot without waiting, when one is free and nobody queues; else False
        (then :meth:`enter`). The hot path's cheaper form of :meth:`slot`; a True answer
        must be paired with :meth:`leave`."""
        with self._lock:
            if self._in_flight < self._max_in_flight and not self._waiters:
                self._in_flight += 1
                self._admitted_total += 1
                return True
        return False

    async def enter(self) -> None:
        """Take a slot, waiting in the queue if need be; raises :class:`Overloaded`. Pair
        with :meth:`leave`."""
        await self._acquire()

    def leave(self) -> None:
        """Give back a slot taken by :meth:`enter_now` or :meth:`enter`."""
        self._release()

    async def _acquire(self) -> None:
        with self._lock:
            # Queued requests go first: a newcomer may not overtake them.
            if self._in_flight < self._max_in_flight and not self._waiters:
                self._in_flight += 1
                self._admitted_total += 1
                return
            if len(self._waiters) >= self._max_queue:
                self._shed_total += 1
                raise Overloaded(self._retry_after)
            waiter = _Waiter(asyncio.get_running_loop())
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), self._max_wait)
        except (TimeoutError, asyncio.CancelledError) as exc:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
                    if isinstance(exc, TimeoutError):
                        self._shed_total += 1
            if not granted:
                if isinstance(exc, TimeoutError):
                    raise Overloaded(self._retry_after) from None
                raise
            if isinstance(exc, asyncio.CancelledError):
                self._release()  # the slot arrived as the caller gave up: pass it on
                raise
            # Timed out in the same instant the slot arrived: keep it.
        with self._lock:
            self._admitted_total += 1

    def _release(self) -> None:
        while True:
            with self._lock:
                if not self._waiters:
                    self._in_flight -= 1
                    return
                # The slot passes straight to the oldest waiter; in_flight stays the same.
                waiter = self._waiters.popleft()
                waiter.granted = True
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
                return
            except RuntimeError:  # that waiter's loop is closed: try the next one
                continue
