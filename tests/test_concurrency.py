"""Concurrent callers during a refresh: one AssumeRole, and cancellation breaks nothing.

To hold a refresh open at a chosen point, a test pauses it at a gate: in botocore's
``before-send`` event for AssumeRole (the request is signed and about to go out),
or in an async cache's ``get``/``set`` (before STS is called / after it answered).
STS itself is the moto server, and AssumeRole calls are counted there.

"One AssumeRole" holds twice over: the refresh engine runs one refresh per
credentials object and hands its outcome to every waiter, and the fetcher's
shared-fetch lock plus cache re-read serializes sessions sharing a cache; the
tests fail only if both are broken for one session, and if the second is broken
for sessions sharing a cache. A cancelled caller stops waiting; the refresh it
started goes on for the others (it runs in a task of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.credentials import ReadOnlyCredentials
from moto_sts import StsServer
from support import FakeClock, role_arn

from aio_assume_role import testing
from aio_assume_role._core.fetch import _SHARED_FETCHES
from aio_assume_role.session import AssumedRoleSession, assume_role

ADVISORY = 47 * 60  # 13 of 60 minutes left
MANDATORY = 59 * 60 + 30  # 30 seconds left: the mandatory window is the last minute
EXPIRED = 65 * 60


class Gate:
    """Pauses the first task that reaches it until ``open()``; later tasks pass."""

    def __init__(self) -> None:
        self.armed = False
        self.reached = asyncio.Event()
        self._opened = asyncio.Event()

    async def __call__(self, **_: Any) -> None:
        if self.armed:
            self.armed = False
            self.reached.set()
            await self._opened.wait()

    def open(self) -> None:
        self._opened.set()


class GatedCache:
    """A dict behind the library's async cache protocol, with a gate on get and on set."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.on_get = Gate()
        self.on_set = Gate()

    async def get(self, key: str) -> dict[str, Any] | None:
        await self.on_get()
        return deepcopy(self.data.get(key))

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        await self.on_set()
        self.data[key] = deepcopy(dict(value))


async def frozen(session: AioSession) -> ReadOnlyCredentials:
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()


def assert_unlocked(*sessions: AssumedRoleSession) -> None:
    """Nothing is left in flight or holding a lock: nothing can wedge a later caller."""
    for session in sessions:
        flights = session._assumed_role_credentials._refresher._flights.values()
        assert all(flight.done for flight in flights)
    assert len(_SHARED_FETCHES) == 0


async def settle() -> None:
    """Let every runnable task reach its next await (e.g. queue up on a lock)."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize("elapsed", [MANDATORY, EXPIRED], ids=["mandatory", "expired"])
async def test_many_callers_share_one_assume_role(
    parent: AioSession, sts_server: StsServer, clock: FakeClock, elapsed: int
) -> None:
    child = assume_role(parent, role_arn())
    old = await frozen(child)
    clock.advance(elapsed)
    results = await asyncio.gather(*(frozen(child) for _ in range(200)))
    assert sts_server.count() == 2
    assert len(set(results)) == 1
    assert results[0].access_key != old.access_key
    assert_unlocked(child)


async def test_many_api_calls_share_one_assume_role(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    child = assume_role(parent, role_arn("Api"))
    await frozen(child)
    clock.advance(MANDATORY)
    async with child.create_client("sts") as sts:
        answers = await asyncio.gather(*(sts.get_caller_identity() for _ in range(30)))
    assert sts_server.count() == 2
    assert len({answer["Arn"] for answer in answers}) == 1
    assert sts_server.count("GetCallerIdentity") == 30


async def test_sessions_sharing_a_cache_share_one_assume_role(
    sts_server: StsServer, clock: FakeClock
) -> None:
    cache: dict[str, Any] = {}
    sessions = [
        assume_role(get_session(), role_arn(), RoleSessionName="shared", cache=cache)
        for _ in range(20)
    ]
    await asyncio.gather(*(frozen(session) for session in sessions))
    clock.advance(MANDATORY)
    results = await asyncio.gather(*(frozen(s) for s in sessions for _ in range(5)))
    assert sts_server.count() == 2
    assert len(set(results)) == 1
    assert_unlocked(*sessions)


async def test_advisory_callers_do_not_wait_for_a_refresh_in_flight(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    gate = Gate()
    parent.register("before-send.sts.AssumeRole", gate)
    child = assume_role(parent, role_arn())
    old = await frozen(child)
    clock.advance(ADVISORY)
    gate.armed = True
    # The first caller to notice starts the refresh in the background and is served too.
    assert await asyncio.wait_for(frozen(child), 2) == old
    await gate.reached.wait()
    # Held mid-AssumeRole; everyone else is served the still-valid credentials at once,
    # without even a check until the mandatory point.
    state = child._assumed_role_credentials._state
    assert state.serve_until == state._mandatory_point
    others = await asyncio.wait_for(asyncio.gather(*(frozen(child) for _ in range(50))), 2)
    assert set(others) == {old}
    gate.open()
    assert await testing.wait_for_refreshes() == 1
    assert (await frozen(child)).access_key != old.access_key
    assert sts_server.count() == 2


class TestCancellation:
    async def test_cancelled_first_caller_does_not_cancel_the_refresh(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        gate = Gate()
        parent.register("before-send.sts.AssumeRole", gate)
        child = assume_role(parent, role_arn())
        old = await frozen(child)
        clock.advance(MANDATORY)
        gate.armed = True
        first = asyncio.create_task(frozen(child))
        await gate.reached.wait()  # inside AssumeRole, started by the first caller
        waiters = [asyncio.create_task(frozen(child)) for _ in range(20)]
        await settle()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        gate.open()
        results = await asyncio.wait_for(asyncio.gather(*waiters), 5)
        assert len(set(results)) == 1 and results[0].access_key != old.access_key
        # The refresh the cancelled caller started went on and served everyone.
        assert sts_server.count() == 2
        assert (await frozen(child)) == results[0]
        assert sts_server.count() == 2
        assert_unlocked(child)

    async def test_cancelled_after_sts_answered_keeps_the_result(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        cache = GatedCache()
        child = assume_role(parent, role_arn(), cache=cache)
        old = await frozen(child)
        clock.advance(MANDATORY)
        cache.on_set.armed = True
        first = asyncio.create_task(frozen(child))
        await cache.on_set.reached.wait()  # STS answered; the cache write is pending
        waiters = [asyncio.create_task(frozen(child)) for _ in range(20)]
        await settle()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        cache.on_set.open()
        results = await asyncio.wait_for(asyncio.gather(*waiters), 5)
        assert len(set(results)) == 1 and results[0].access_key != old.access_key
        assert sts_server.count() == 2  # nobody had to call again
        assert cache.data  # the refresh's response was written
        assert_unlocked(child)

    async def test_cancelled_waiter_does_not_disturb_the_others(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        gate = Gate()
        parent.register("before-send.sts.AssumeRole", gate)
        child = assume_role(parent, role_arn())
        old = await frozen(child)
        clock.advance(MANDATORY)
        gate.armed = True
        refresher = asyncio.create_task(frozen(child))
        await gate.reached.wait()
        waiters = [asyncio.create_task(frozen(child)) for _ in range(10)]
        await settle()
        waiters[3].cancel()
        gate.open()
        new = await refresher
        assert new.access_key != old.access_key
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert isinstance(results[3], asyncio.CancelledError)
        assert set(results[:3] + results[4:]) == {new}
        assert sts_server.count() == 2
        assert_unlocked(child)

    async def test_timed_out_caller_leaves_the_refresh_running_for_the_next(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        gate = Gate()
        parent.register("before-send.sts.AssumeRole", gate)
        child = assume_role(parent, role_arn())
        old = await frozen(child)
        clock.advance(EXPIRED)
        gate.armed = True
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(frozen(child), 0.2)  # e.g. a request deadline
        assert gate.reached.is_set()
        next_caller = asyncio.create_task(frozen(child))
        await settle()
        gate.open()
        assert (await next_caller).access_key != old.access_key
        assert sts_server.count() == 2  # the next caller joined the same refresh
        assert_unlocked(child)

    async def test_cancelled_fetch_in_one_session_lets_another_sharing_the_cache_fetch(
        self, sts_server: StsServer, clock: FakeClock
    ) -> None:
        cache = GatedCache()
        first, second = (
            assume_role(get_session(), role_arn(), RoleSessionName="shared", cache=cache)
            for _ in range(2)
        )
        await frozen(first)
        await frozen(second)
        clock.advance(MANDATORY)
        cache.on_set.armed = True
        holder = asyncio.create_task(frozen(first))  # its refresh holds the shared-fetch lock
        await cache.on_set.reached.wait()
        others = [asyncio.create_task(frozen(second)) for _ in range(10)]
        await settle()
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder
        cache.on_set.open()
        results = await asyncio.wait_for(asyncio.gather(*others), 5)
        assert len(set(results)) == 1
        # first's refresh went on, wrote the cache, and second read it from there.
        assert sts_server.count() == 2
        assert (await frozen(first)) == results[0]
        assert sts_server.count() == 2
        assert_unlocked(first, second)


@pytest.mark.parametrize(("cache", "locks_held"), [(None, 0), ({}, 1)])
async def test_without_a_cache_a_fetch_takes_no_shared_fetch_lock(
    parent: AioSession, sts_server: StsServer, cache: Any, locks_held: int
) -> None:
    # cache=None: the session's fetches are its own, so no lock and no private cache
    # copy (a deep copy of every response) on the way; a cache given is shared.
    seen: list[int] = []
    parent.register("before-call.sts.AssumeRole", lambda **_: seen.append(len(_SHARED_FETCHES)))
    child = assume_role(parent, role_arn(), cache=cache)
    await child.prefetch_credentials()
    assert seen == [locks_held]
    assert sts_server.count("AssumeRole") == 1
    if cache is not None:
        assert len(cache) == 1
