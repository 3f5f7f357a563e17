"""The async path under anyio: trio (through aiobotocore's httpx mode) and asyncio.

aiobotocore runs on trio when a session's default client config uses its httpx
session class; it then uses anyio primitives. The refresh engine runs its
refreshes as trio system tasks there, and the shared-fetch lock uses anyio locks
off asyncio.

Each test drives its own event loop with ``anyio.run`` from a plain test function,
so neither pytest-asyncio nor anyio's pytest plugin is involved (they would
otherwise both claim async tests).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.credentials import ReadOnlyCredentials
from moto_sts import StsServer
from support import FakeClock, role_arn

from aio_assume_role._core.fetch import _SHARED_FETCHES
from aio_assume_role._core.refresh import add_refresh_listener
from aio_assume_role.session import AssumedRoleCredentials, AssumedRoleSession, assume_role

anyio = pytest.importorskip("anyio")
httpxsession = pytest.importorskip("aiobotocore.httpxsession")
pytest.importorskip("httpx2")

ADVISORY = 47 * 60
MANDATORY = 59 * 60 + 30  # the last minute
BACKENDS = ["trio", "asyncio"]


def httpx_session() -> AioSession:
    session = get_session()
    session.set_default_client_config(AioConfig(http_session_cls=httpxsession.HttpxSession))
    return session


def child_of(parent: AioSession, *args: Any, **kwargs: Any) -> AssumedRoleSession:
    """A child whose own clients use httpx too (the config is per session)."""
    child = assume_role(parent, *args, **kwargs)
    child.set_default_client_config(parent.get_default_client_config())
    return child


def run(backend: str, main: Callable[[], Awaitable[None]]) -> None:
    anyio.run(main, backend=backend)


async def frozen(session: AioSession) -> ReadOnlyCredentials:
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()


async def caller_arn(session: AioSession) -> str:
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


@pytest.fixture
def trio_backend() -> None:
    pytest.importorskip("trio")


@pytest.mark.parametrize("backend", BACKENDS)
def test_assume_and_chain(backend: str, sts_server: StsServer, trio_backend: None) -> None:
    async def main() -> None:
        b = child_of(httpx_session(), role_arn("B"), RoleSessionName="sess-b")
        c = child_of(b, role_arn("C"), RoleSessionName="sess-c")
        assert (await caller_arn(c)).endswith("assumed-role/C/sess-c")
        assert isinstance(c._assumed_role_credentials, AssumedRoleCredentials)

    run(backend, main)
    assert sts_server.count() == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_assume_role_for_many_callers_in_the_mandatory_window(
    backend: str, sts_server: StsServer, clock: FakeClock, trio_backend: None
) -> None:
    async def main() -> None:
        child = child_of(httpx_session(), role_arn())
        old = await frozen(child)
        clock.advance(MANDATORY)
        results: list[ReadOnlyCredentials] = []

        async def call() -> None:
            results.append(await frozen(child))

        async with anyio.create_task_group() as group:
            for _ in range(100):
                group.start_soon(call)
        assert len(set(results)) == 1 and results[0].access_key != old.access_key

    run(backend, main)
    assert sts_server.count() == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_sessions_sharing_a_cache_share_one_fetch(
    backend: str, sts_server: StsServer, trio_backend: None
) -> None:
    async def main() -> None:
        cache: dict[str, Any] = {}
        parent = httpx_session()
        sessions = [
            child_of(parent, role_arn(), RoleSessionName="shared", cache=cache) for _ in range(20)
        ]
        async with anyio.create_task_group() as group:
            for session in sessions:
                group.start_soon(frozen, session)
        assert len(_SHARED_FETCHES) == 0

    run(backend, main)
    assert sts_server.count() == 1


def test_retries_sleep_with_anyio(
    sts_server: StsServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, trio_backend: None
) -> None:
    from aiobotocore.endpoint import AnyioEndpoint

    delays: list[float] = []

    async def record(self: AnyioEndpoint, seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(AnyioEndpoint, "_sleep", record)

    async def main() -> None:
        child = child_of(httpx_session(), role_arn())
        await frozen(child)
        clock.advance(MANDATORY)
        sts_server.fail_next(code="Throttling", times=2)
        await frozen(child)

    run("trio", main)
    assert sts_server.count() == 1 + 3
    assert len(delays) == 2


def test_cancelled_first_caller_does_not_cancel_the_refresh(
    sts_server: StsServer, clock: FakeClock, trio_backend: None
) -> None:
    async def main() -> None:
        parent = httpx_session()
        reached, release = anyio.Event(), anyio.Event()
        armed = [False]

        async def gate(**_: Any) -> None:  # holds the first AssumeRole once armed
            if armed[0]:
                armed[0] = False
                reached.set()
                await release.wait()

        parent.register("before-send.sts.AssumeRole", gate)
        child = child_of(parent, role_arn())
        old = await frozen(child)
        clock.advance(MANDATORY)
        armed[0] = True
        results: list[ReadOnlyCredentials] = []

        async def call() -> None:
            results.append(await frozen(child))

        doomed = anyio.CancelScope()

        async def refresher() -> None:
            with doomed:
                await frozen(child)

        async with anyio.create_task_group() as group:
            group.start_soon(refresher)
            await reached.wait()  # inside AssumeRole, started by the first caller
            for _ in range(10):
                group.start_soon(call)
            for _ in range(5):  # the callers join the refresh in flight
                await anyio.lowlevel.checkpoint()
            doomed.cancel()  # the first caller gives up; the refresh it started goes on
            release.set()
        assert doomed.cancelled_caught
        assert len(results) == 10
        assert len(set(results)) == 1 and results[0].access_key != old.access_key
        assert child._assumed_role_credentials._refresher._flights == {}  # none left in flight
        assert len(_SHARED_FETCHES) == 0

    run("trio", main)
    assert sts_server.count() == 2


def test_advisory_refresh_runs_in_the_background_under_trio(
    sts_server: StsServer, clock: FakeClock, trio_backend: None
) -> None:
    async def main() -> None:
        parent = httpx_session()
        reached, release = anyio.Event(), anyio.Event()

        async def gate(**_: Any) -> None:  # holds the advisory AssumeRole
            reached.set()
            await release.wait()

        child = child_of(parent, role_arn())
        old = await frozen(child)
        parent.register("before-send.sts.AssumeRole", gate)
        clock.advance(ADVISORY)
        with anyio.fail_after(5):
            assert await frozen(child) == old  # the caller that noticed is not held
            await reached.wait()  # while the refresh is held in a system task,
            for _ in range(20):
                assert await frozen(child) == old  # everyone is served at once
        release.set()
        done = anyio.Event()
        remove = add_refresh_listener(lambda event: done.set())
        try:
            with anyio.fail_after(5):
                await done.wait()
        finally:
            remove()
        assert (await frozen(child)).access_key != old.access_key

    run("trio", main)
    assert sts_server.count() == 2


def test_static_stability_and_the_deadline_under_trio(
    sts_server: StsServer,
    clock: FakeClock,
    trio_backend: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under trio too: a failed advisory refresh serves the credentials held, a refresh past
    its deadline fails its waiters with RefreshTimeoutError, and wait_for_refreshes works."""
    from stub_endpoints import silent_endpoint

    from aio_assume_role import testing
    from aio_assume_role.errors import RefreshTimeoutError

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the failures at once, not after backoffs

    async def main() -> None:
        child = child_of(httpx_session(), role_arn())
        held = await frozen(child)
        clock.advance(ADVISORY)
        sts_server.fail_next(status=503, code="ServiceUnavailable", times=100)
        with anyio.fail_after(30):
            assert await frozen(child) == held
            assert await testing.wait_for_refreshes() == 1
            assert await frozen(child) == held  # served through the failure
        sts_server.clear_faults()
        with silent_endpoint() as url:
            monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
            late = child_of(httpx_session(), role_arn("Late"))
            late.refresh_timeout = 0.5
            with anyio.fail_after(30), pytest.raises(RefreshTimeoutError):
                await frozen(late)

    run("trio", main)


def test_aiohttp_parent_works_under_anyios_asyncio_backend(sts_server: StsServer) -> None:
    async def main() -> None:
        child = assume_role(get_session(), role_arn("Plain"))
        assert "assumed-role/Plain/" in await caller_arn(child)

    run("asyncio", main)
    assert sts_server.count() == 1


@pytest.mark.xfail(
    strict=True,
    raises=RuntimeError,
    reason="AioJSONFileCache runs its I/O in asyncio's executor: it needs an asyncio loop",
)
def test_file_cache_under_trio(sts_server: StsServer, tmp_path: Path, trio_backend: None) -> None:
    from aio_assume_role.cache import AioJSONFileCache

    async def main() -> None:
        child = child_of(httpx_session(), role_arn(), cache=AioJSONFileCache(tmp_path))
        await child.prefetch_credentials()

    run("trio", main)
