"""The module-level registries: keyed weakly by the objects themselves, empty after a fork.

Registries keyed by ``id()`` could hand a stale entry to a new object that reuses a
freed object's id; a forked child must not use the parent process's pooled
connections. Client creations are made to fail by wrapping the parent's
``create_client`` (STS itself is the moto server).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from moto_sts import StsServer
from support import role_arn

from aio_assume_role._core.fetch import _SHARED_FETCHES, KeyedLock
from aio_assume_role.session import assume_role
from aio_assume_role.sts_clients import _BURSTS, _REGISTRY, SharedStsClients, sts_client


async def test_owners_are_registered_under_the_session_itself(parent: AioSession) -> None:
    async with SharedStsClients(parent):
        assert list(_REGISTRY.keys()) == [parent]
    assert len(_REGISTRY) == 0


async def test_a_burst_is_registered_under_its_loop_then_its_session(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with sts_client(parent):
        loop = asyncio.get_running_loop()
        assert list(_BURSTS.keys()) == [loop]
        assert list(_BURSTS[loop].keys()) == [parent]
    assert len(_BURSTS) == 0


async def test_keyed_locks_are_held_under_the_loop_itself() -> None:
    locks = KeyedLock()
    async with locks.hold("key"):
        assert list(locks._locks.keys()) == [asyncio.get_running_loop()]
        assert len(locks) == 1
    assert len(locks) == 0
    assert len(locks._locks) == 0


async def test_a_forked_child_starts_with_empty_registries(
    parent: AioSession, sts_server: StsServer
) -> None:
    other = get_session()  # its refreshes open a burst: no owner covers it
    async with SharedStsClients(parent), sts_client(other), _SHARED_FETCHES.hold("key"):
        assert len(_REGISTRY) == len(_BURSTS) == len(_SHARED_FETCHES) == 1
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            try:
                sizes = f"{len(_REGISTRY)} {len(_BURSTS)} {len(_SHARED_FETCHES)}"
                os.write(write, sizes.encode())
            finally:
                os._exit(0)
        os.close(write)
        _, status = os.waitpid(pid, 0)  # noqa: ASYNC222 - the child exits at once
        with os.fdopen(read) as pipe:
            reported = pipe.read()
        assert os.waitstatus_to_exitcode(status) == 0
        assert reported == "0 0 0"
        assert len(_REGISTRY) == len(_BURSTS) == len(_SHARED_FETCHES) == 1  # the parent's stay


@pytest.mark.skipif(
    not hasattr(asyncio, "eager_task_factory"), reason="eager task factory: Python 3.12+"
)
async def test_a_creation_that_fails_at_once_is_not_kept(
    parent: AioSession, sts_server: StsServer
) -> None:
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
    original = parent.create_client

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("no client now")

    try:
        async with SharedStsClients(parent) as shared:
            parent.create_client = failing  # type: ignore[method-assign]
            child = assume_role(parent, role_arn())
            with pytest.raises(ValueError, match="no client now"):
                await child.prefetch_credentials()
            assert shared.client_count == 0
            parent.create_client = original  # type: ignore[method-assign]
            # The next refresh (another child's: this one's is in backoff) tries again.
            await assume_role(parent, role_arn("Other")).prefetch_credentials()
            assert shared.client_count == 1
    finally:
        loop.set_task_factory(None)


async def test_a_creation_task_already_failed_when_returned_is_not_kept(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an eager task factory does, on any Python: the creation's first step runs
    # inside ensure_future(), and its failure is there before the entry would be.
    import aio_assume_role.sts_clients as sts_clients

    original_ensure_future = asyncio.ensure_future
    creation = sts_clients._ClientPool._create.__code__  # renamed: this test must follow
    eager_runs = []

    def eager_creation(coro: Any, **kwargs: Any) -> Any:
        if getattr(coro, "cr_code", None) is not creation:
            return original_ensure_future(coro, **kwargs)
        eager_runs.append(coro)
        future = asyncio.get_running_loop().create_future()
        try:
            coro.send(None)
        except StopIteration as done:
            future.set_result(done.value)
        except Exception as error:
            future.set_exception(error)
        else:  # pragma: no cover - the wrapped create_client fails before any await
            raise AssertionError("the creation suspended")
        return future

    original_create_client = parent.create_client

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("no client now")

    async with SharedStsClients(parent) as shared:
        monkeypatch.setattr(sts_clients.asyncio, "ensure_future", eager_creation)
        parent.create_client = failing  # type: ignore[method-assign]
        child = assume_role(parent, role_arn())
        with pytest.raises(ValueError, match="no client now"):
            await child.prefetch_credentials()
        assert len(eager_runs) == 1  # the creation did run eagerly, as faked
        assert shared.client_count == 0
        monkeypatch.setattr(sts_clients.asyncio, "ensure_future", original_ensure_future)
        parent.create_client = original_create_client  # type: ignore[method-assign]
        # The next refresh (another child's: this one's is in backoff) tries again.
        await assume_role(parent, role_arn("Other")).prefetch_credentials()
        assert shared.client_count == 1
