"""Load shedding: a full server refuses at once, queues only up to its limit, and never
loses a slot to errors, cancellations or timeouts."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mlwarden.errors import UsageError
from mlwarden.gateway.shedding import LoadShedder, Overloaded


async def _hold(shedder: LoadShedder, entered: asyncio.Event, leave: asyncio.Event) -> None:
    async with shedder.slot():
        entered.set()
        await leave.wait()


def test_requests_beyond_the_limit_are_refused_at_once() -> None:
    async def scenario() -> None:
        shedder = LoadShedder(max_in_flight=2, retry_after=3.0)
        leave = asyncio.Event()
        entered = [asyncio.Event(), asyncio.Event()]
        holders = [asyncio.create_task(_hold(shedder, e, leave)) for e in entered]
        for e in entered:
            await e.wait()
        assert shedder.in_flight == 2
        with pytest.raises(Overloaded) as err:
            async with shedder.slot():
                pytest.fail("a third request got a slot")
        assert err.value.retry_after == 3.0
        assert shedder.shed_total == 1 and shedder.waiting == 0
        leave.set()
        await asyncio.gather(*holders)
        assert shedder.in_flight == 0
        async with shedder.slot():
            assert shedder.in_flight == 1

    asyncio.run(scenario())


def test_the_queue_is_bounded_and_served_in_order() -> None:
    async def scenario() -> None:
        shedder = LoadShedder(max_in_flight=1, max_queue=2, max_wait=60)
        leave, entered = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(shedder, entered, leave))
        await entered.wait()
        order: list[str] = []

        async def queued(name: str) -> None:
            async with shedder.slot():
                order.append(name)

        waiters = [asyncio.create_task(queued(n)) for n in ("first", "second")]
        while shedder.waiting < 2:
            await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            async with shedder.slot():
                pass
        leave.set()
        await asyncio.gather(holder, *waiters)
        assert order == ["first", "second"]
        assert shedder.in_flight == 0 and shedder.shed_total == 1
        assert shedder.admitted_total == 3

    asyncio.run(scenario())


def test_a_request_that_waits_too_long_is_shed() -> None:
    async def scenario() -> None:
        shedder = LoadShedder(max_in_flight=1, max_queue=1, max_wait=0.01)
        leave, entered = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(shedder, entered, leave))
        await entered.wait()
        with pytest.raises(Overloaded):
            async with shedder.slot():
                pass
        assert shedder.waiting == 0 and shedder.shed_total == 1
        leave.set()
        await holder
        assert shedder.in_flight == 0

    asyncio.run(scenario())


def test_a_cancelled_waiter_does_not_leak_a_slot() -> None:
    async def scenario() -> None:
        shedder = LoadShedder(max_in_flight=1, max_queue=1, max_wait=60)
        leave, entered = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(shedder, entered, leave))
        await entered.wait()
        waiter = asyncio.create_task(_hold(shedder, asyncio.Event(), asyncio.Event()))
        while shedder.waiting < 1:
            await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        leave.set()
        await holder
        assert shedder.in_flight == 0 and shedder.waiting == 0

    asyncio.run(scenario())


def test_an_error_inside_the_slot_releases_it() -> None:
    async def scenario() -> None:
        shedder = LoadShedder(max_in_flight=1)
        with pytest.raises(RuntimeError):
            async with shedder.slot():
                raise RuntimeError("model crashed")
        assert shedder.in_flight == 0
        async with shedder.slot():
            pass

    asyncio.run(scenario())


def test_concurrency_never_exceeds_the_limit() -> None:
    async def scenario() -> None:
        shedder = LoadShedder(max_in_flight=5, max_queue=100, max_wait=60)
        peak = 0

        async def request() -> None:
            nonlocal peak
            async with shedder.slot():
                peak = max(peak, shedder.in_flight)
                await asyncio.sleep(0)

        await asyncio.gather(*(request() for _ in range(60)))
        assert peak == 5
        assert shedder.in_flight == 0 and shedder.admitted_total == 60

    asyncio.run(scenario())


def test_a_slot_released_on_another_event_loop_wakes_the_waiter() -> None:
    shedder = LoadShedder(max_in_flight=1, max_queue=1, max_wait=60)
    holding, release = threading.Event(), threading.Event()

    def other_loop() -> None:
        async def hold() -> None:
            async with shedder.slot():
                holding.set()
                await asyncio.to_thread(release.wait, 60)

        asyncio.run(hold())

    thread = threading.Thread(target=other_loop)
    thread.start()
    assert holding.wait(60)

    async def scenario() -> None:
        task = asyncio.create_task(_hold(shedder, asyncio.Event(), asyncio.Event()))
        while shedder.waiting < 1:
            await asyncio.sleep(0)
        task.cancel()  # first a waiter that gives up, then one that gets the slot
        with pytest.raises(asyncio.CancelledError):
            await task
        got = asyncio.Event()

        async def wait_for_slot() -> None:
            async with shedder.slot():
                got.set()

        waiting = asyncio.create_task(wait_for_slot())
        while shedder.waiting < 1:
            await asyncio.sleep(0)
        release.set()
        await waiting
        assert got.is_set()

    asyncio.run(scenario())
    thread.join(60)
    assert shedder.in_flight == 0


@pytest.mark.parametrize(("in_flight", "queue"), [(0, 0), (1, -1)])
def test_limits_are_validated(in_flight: int, queue: int) -> None:
    with pytest.raises(UsageError):
        LoadShedder(in_flight, queue)


def test_enter_now_and_leave_share_the_slots_with_slot() -> None:
    async def scenario() -> None:
        shedder = LoadShedder(max_in_flight=1, max_queue=1, max_wait=5.0)
        assert shedder.enter_now()
        assert not shedder.enter_now()  # full: the caller must queue through enter()
        queued = asyncio.create_task(shedder.enter())
        await asyncio.sleep(0)
        assert shedder.waiting == 1
        with pytest.raises(Overloaded):  # the queue is full too
            await shedder.enter()
        shedder.leave()  # the slot passes to the queued caller
        await queued
        assert shedder.in_flight == 1 and shedder.waiting == 0
        shedder.leave()
        assert shedder.in_flight == 0
        assert shedder.admitted_total == 2 and shedder.shed_total == 1

    asyncio.run(scenario())
