"""The refresh engine's promises beyond the windows (test_refresh_windows) and STS faults
(test_refresh_under_sts_faults).

Jitter, an outage with many callers, sessions across successive event loops, a
loop that closes mid-refresh, the shared-cache self-chain, an unwritable cache,
the refresh events and log records, and the sync path's threads. STS is the moto
server (a closed port for the outage); time moves through the ``clock`` fixture
and chance through ``dice``; background refreshes are awaited through the
``refreshes`` listener, never slept for.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
import socket
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError, EndpointConnectionError
from moto_sts import StsServer
from support import Dice, FakeClock, RefreshLog, patch_retry_sleep, role_arn

from aio_assume_role._core import clock as _clock
from aio_assume_role._core.refresh import RefreshState, add_refresh_listener
from aio_assume_role.cache import AioJSONFileCache
from aio_assume_role.errors import RefreshError
from aio_assume_role.session import assume_role

ADVISORY = 47 * 60  # 13 of 60 minutes left
MANDATORY = 59 * 60 + 30  # 30 seconds left: the mandatory window is the last minute


async def frozen(session: AioSession) -> ReadOnlyCredentials:
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()


def count_attempts(session: AioSession) -> list[int]:
    """Count AssumeRole attempts where they are made: botocore's before-send, per attempt."""
    attempts = [0]

    def sent(**_: Any) -> None:
        attempts[0] += 1

    session.register("before-send.sts.AssumeRole", sent)
    return attempts


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry delays are recorded as nothing: retries happen at once."""

    async def skip(seconds: float) -> None:
        return None

    patch_retry_sleep(monkeypatch, skip)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestJitter:
    def test_the_advisory_point_moves_with_the_dice_within_the_advisory_stretch(
        self, dice: Dice
    ) -> None:
        now = _clock.now()
        expiry = now + datetime.timedelta(hours=1)
        metadata = {"access_key": "A", "secret_key": "S", "token": "T", "expiry_time": expiry}
        points = []
        for value in (0.0, 0.5, 0.999):
            dice.value = value
            state = RefreshState(role_arn(), 3600)
            state.succeeded(metadata, "first-use", 0.0, now)
            points.append(state._advisory_point)
        # 15 minutes before expiry, moved later by up to half of the 14 advisory-only minutes.
        assert [(expiry - point).total_seconds() for point in points] == pytest.approx(
            [900, 690, 480.42], abs=0.01
        )

    def test_sessions_created_together_spread_their_refresh_points(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_clock, "random_fraction", random.Random(7).random)
        now = _clock.now()
        expiry = now + datetime.timedelta(hours=1)
        metadata = {"access_key": "A", "secret_key": "S", "token": "T", "expiry_time": expiry}
        points = set()
        for _ in range(500):
            state = RefreshState(role_arn(), 3600)
            state.succeeded(metadata, "first-use", 0.0, now)
            points.add(state._advisory_point)
        assert len(points) == 500
        spread = (max(points) - min(points)).total_seconds()
        assert 410 < spread <= 420  # over (nearly) the whole 420 s jitter range

    async def test_a_session_refreshes_at_its_own_jittered_point(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        refreshes: RefreshLog,
    ) -> None:
        dice.value = 0.0
        early = assume_role(parent, role_arn("Early"))
        await frozen(early)
        dice.value = 0.999
        late = assume_role(parent, role_arn("Late"))
        await frozen(late)
        clock.advance(46 * 60)  # 14 minutes left: past Early's point, before Late's
        await frozen(early)
        await frozen(late)
        (*_, event) = await refreshes.wait_for(3)
        assert event.role_arn == role_arn("Early")
        assert sts_server.count() == 3
        clock.advance(6 * 60 + 10)  # 7 min 50 s left: past Late's point (8 min 0.4 s)
        await frozen(late)
        (*_, event) = await refreshes.wait_for(4)
        assert event.role_arn == role_arn("Late")


class TestOutage:
    @pytest.mark.parametrize("callers", [1, 100])
    async def test_concurrent_first_uses_fail_together_after_one_fetchs_attempts(
        self,
        sts_server: StsServer,
        closed_port: int,
        monkeypatch: pytest.MonkeyPatch,
        no_retry_sleep: None,
        callers: int,
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{closed_port}")
        parent = get_session()
        parent.set_default_client_config(AioConfig(retries={"total_max_attempts": 3}))
        attempts = count_attempts(parent)
        child = assume_role(parent, role_arn())
        outcomes = await asyncio.gather(
            *(frozen(child) for _ in range(callers)), return_exceptions=True
        )
        assert all(isinstance(outcome, EndpointConnectionError) for outcome in outcomes)
        assert len({id(outcome) for outcome in outcomes}) == 1  # the one fetch's error
        # Re-raised to each waiter from the fetch's own traceback: it does not grow by
        # every waiter's frames (a logged error would print thousands of them).
        frames = len(traceback.extract_tb(outcomes[0].__traceback__))
        assert frames < 60, frames
        assert attempts[0] == 3  # one fetch's attempts, not one set per caller
        # Callers arriving during the backoff fail at once, typed, with no attempt.
        with pytest.raises(RefreshError) as repeated:
            await frozen(child)
        assert repeated.value.error_code == "EndpointConnectionError"
        assert attempts[0] == 3


class TestEventLoops:
    def test_a_session_works_across_successive_event_loops_with_concurrent_callers(
        self, sts_server: StsServer, clock: FakeClock
    ) -> None:
        # Created outside any loop, as at import time, then used by three asyncio.run()s.
        child = assume_role(get_session(), role_arn())
        keys = []

        async def burst() -> None:
            results = await asyncio.gather(*(frozen(child) for _ in range(50)))
            assert len(set(results)) == 1
            keys.append(results[0].access_key)

        for _ in range(3):
            asyncio.run(burst())
            clock.advance(MANDATORY)  # due again: the next loop's callers must refresh
        assert len(set(keys)) == 3
        assert sts_server.count() == 3

    def test_a_loop_that_closes_mid_refresh_leaves_nothing_half_done(
        self, sts_server: StsServer, clock: FakeClock
    ) -> None:
        parent = get_session()
        child = assume_role(parent, role_arn())
        held: dict[str, Any] = {"reached": None}

        async def hold(**_: Any) -> None:  # holds the advisory AssumeRole until cancelled
            if held["reached"] is not None:
                held["reached"].set()
                held["reached"] = None
                await asyncio.Event().wait()

        parent.register("before-send.sts.AssumeRole", hold)

        async def first_loop() -> ReadOnlyCredentials:
            old = await frozen(child)
            clock.advance(ADVISORY)
            reached = held["reached"] = asyncio.Event()
            assert await frozen(child) == old  # starts the background refresh
            await reached.wait()  # it is inside AssumeRole now
            return old  # the loop closes with the refresh in flight: asyncio.run cancels it

        old = asyncio.run(first_loop())
        assert child._assumed_role_credentials._refresher._flights == {}  # nothing in flight
        assert child._assumed_role_credentials._state.expiry is not None
        state = child._assumed_role_credentials._state
        assert state.serve_until is None  # the next use checks again (and refreshes)

        async def second_loop() -> ReadOnlyCredentials:
            clock.advance(MANDATORY - ADVISORY)
            return await frozen(child)

        assert asyncio.run(second_loop()).access_key != old.access_key
        assert sts_server.count() == 2  # the first fetch, then the second loop's refresh


class TestSharedCache:
    async def test_a_session_chained_through_a_parent_with_its_cache_and_role_does_not_hang(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        cache: dict[str, Any] = {}
        inner = assume_role(parent, role_arn(), cache=cache)
        outer = assume_role(inner, role_arn(), cache=cache)
        await asyncio.wait_for(outer.prefetch_credentials(), 10)
        # The parent's fetch filled the cache under the same key; the child read it there.
        assert sts_server.count() == 1

    async def test_an_unwritable_cache_directory_costs_one_assume_role_and_a_warning(
        self,
        parent: AioSession,
        sts_server: StsServer,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")  # so the cache directory cannot be created, even by root
        child = assume_role(parent, role_arn(), cache=AioJSONFileCache(blocker / "cache"))
        caplog.set_level(logging.WARNING)
        keys = await asyncio.gather(*(frozen(child) for _ in range(10)))
        assert len(set(keys)) == 1
        async with child.create_client("sts") as sts:
            assert "assumed-role/MyRole/" in (await sts.get_caller_identity())["Arn"]
        assert sts_server.count() == 1  # served uncached, never fetched again
        (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert "could not write" in warning.getMessage().lower()
        assert warning.exc_info is None
        assert keys[0].secret_key not in warning.getMessage()


class TestObservability:
    async def test_each_refresh_outcome_is_one_event_and_one_log_record(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        refreshes: RefreshLog,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="aio_assume_role")
        cache: dict[str, Any] = {}
        child = assume_role(parent, role_arn(), RoleSessionName="sess", cache=cache)
        first = await frozen(child)
        await frozen(assume_role(get_session(), role_arn(), RoleSessionName="sess", cache=cache))
        clock.advance(MANDATORY)
        sts_server.fail_next(status=403, code="AccessDenied")
        with pytest.raises(ClientError):
            await frozen(child)

        sts_first, cached, failed = refreshes.events
        assert (sts_first.trigger, sts_first.source, sts_first.ok) == ("first-use", "sts", True)
        assert sts_first.expiry_time == child._assumed_role_credentials.expiry_time
        assert sts_first.duration >= 0
        assert (cached.trigger, cached.source) == ("first-use", "cache")
        assert (failed.trigger, failed.ok, failed.error_code) == (
            "mandatory",
            False,
            "AccessDenied",
        )
        assert failed.next_attempt is not None and failed.expiry_time is None
        records = [r for r in caplog.records if hasattr(r, "aio_assume_role_refresh")]
        assert [r.aio_assume_role_refresh for r in records] == refreshes.events
        assert [r.levelname for r in records] == ["DEBUG", "DEBUG", "WARNING"]
        for text in [repr(e) for e in refreshes.events] + [r.getMessage() for r in records]:
            assert first.secret_key not in text and first.token not in text

    async def test_a_failing_listener_is_logged_and_changes_nothing(
        self, parent: AioSession, sts_server: StsServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        def broken(event: Any) -> None:
            raise ValueError("listener bug")

        remove = add_refresh_listener(broken)
        try:
            await frozen(assume_role(parent, role_arn()))
        finally:
            remove()
        assert any("listener failed" in r.getMessage() for r in caplog.records)
        remove()  # removing twice is harmless

    def test_a_listener_must_be_callable(self) -> None:
        with pytest.raises(TypeError, match="callable"):
            add_refresh_listener("not a function")  # type: ignore[arg-type]


class TestSyncThreads:
    @pytest.fixture
    def boto3_session(self, sts_server: StsServer) -> Any:
        boto3 = pytest.importorskip("boto3")
        return boto3.Session()

    def test_threads_share_one_refresh_and_its_failure(
        self, boto3_session: Any, sts_server: StsServer, clock: FakeClock, dice: Dice
    ) -> None:
        from aio_assume_role.sync import assume_role as sync_assume_role

        dice.value = 0.99  # the longest backoff: every thread arrives within it
        child = sync_assume_role(boto3_session, role_arn())
        credentials = child.get_credentials()
        old = credentials.get_frozen_credentials()
        clock.advance(MANDATORY)
        sts_server.fail_next(status=403, code="AccessDenied")
        outcomes = run_threads(credentials.get_frozen_credentials, 20)
        assert sts_server.count() == 2  # one failed refresh for all 20 threads
        assert all(isinstance(o, (ClientError, RefreshError)) for o in outcomes)
        clock.advance(5)
        results = run_threads(credentials.get_frozen_credentials, 20)
        assert len(set(results)) == 1 and results[0].access_key != old.access_key
        assert sts_server.count() == 3

    def test_advisory_threads_are_served_while_one_refreshes(
        self, boto3_session: Any, sts_server: StsServer, clock: FakeClock
    ) -> None:
        from aio_assume_role.sync import assume_role as sync_assume_role

        reached, release = threading.Event(), threading.Event()

        def hold(**_: Any) -> None:
            reached.set()
            assert release.wait(10)

        child = sync_assume_role(boto3_session, role_arn())
        credentials = child.get_credentials()
        old = credentials.get_frozen_credentials()
        boto3_session._session.register("before-send.sts.AssumeRole", hold)
        clock.advance(ADVISORY)
        refresher = threading.Thread(target=credentials.get_frozen_credentials)
        refresher.start()
        assert reached.wait(10)
        assert run_threads(credentials.get_frozen_credentials, 10) == [old] * 10
        release.set()
        refresher.join(10)
        assert credentials.get_frozen_credentials().access_key != old.access_key
        assert sts_server.count() == 2


def run_threads(call: Any, count: int) -> list[Any]:
    """Run ``call`` in ``count`` threads released together; their results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


async def test_a_session_does_not_keep_its_finished_refresh_task(parent: AioSession) -> None:
    # The task's coroutine frame held the fetched metadata (a copy of the secret) and,
    # kept for the session's life, a dozen objects per session for the GC to traverse.
    import gc
    import weakref

    tasks: list[weakref.ref[asyncio.Task[Any]]] = []

    def remember_the_refresh_task(**_: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.append(weakref.ref(task))

    parent.register("before-call.sts.AssumeRole", remember_the_refresh_task)
    child = assume_role(parent, role_arn())
    await child.prefetch_credentials()
    gc.collect()
    assert len(tasks) == 1
    assert tasks[0]() is None
    credentials = await child.get_credentials()
    assert (await credentials.get_frozen_credentials()).access_key  # served from the state
