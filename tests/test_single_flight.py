"""Single-flight on first use: however many callers at once, one AssumeRole call.

Two layers give it: the refresh engine's one flight per credentials object, and
the fetcher's per-(cache, key) lock with a cache re-check
(``_core.fetch._SHARED_FETCHES``), which also covers sessions sharing a cache.
Each test fails with both removed. Calls are counted at the moto server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError
from moto_sts import StsServer
from support import FakeClock, role_arn

from aio_assume_role.errors import RefreshError
from aio_assume_role.session import AssumedRoleSession, assume_role
from aio_assume_role.sts_clients import SharedStsClients

USERS = 1000


async def first_use(session: AssumedRoleSession) -> str:
    credentials = await session.get_credentials()
    return str((await credentials.get_frozen_credentials()).access_key)


async def test_a_thousand_first_uses_make_one_assume_role(
    parent: AioSession, sts_server: StsServer
) -> None:
    child = assume_role(parent, role_arn())
    keys = await asyncio.gather(*(first_use(child) for _ in range(USERS)))
    assert sts_server.count() == 1
    assert len(set(keys)) == 1


async def test_a_thousand_first_uses_through_shared_clients(
    parent: AioSession, sts_server: StsServer
) -> None:
    child = assume_role(parent, role_arn())
    async with SharedStsClients(parent):
        keys = await asyncio.gather(*(first_use(child) for _ in range(USERS)))
    assert sts_server.count() == 1
    assert len(set(keys)) == 1


async def test_concurrent_first_api_calls_make_one_assume_role(
    parent: AioSession, sts_server: StsServer
) -> None:
    child = assume_role(parent, role_arn())
    async with child.create_client("sts") as sts:
        answers = await asyncio.gather(*(sts.get_caller_identity() for _ in range(100)))
    assert sts_server.count() == 1
    assert len({answer["Arn"] for answer in answers}) == 1


async def test_sessions_sharing_a_cache_make_one_assume_role_between_them(
    sts_server: StsServer,
) -> None:
    cache: dict[str, Any] = {}
    sessions = [
        assume_role(get_session(), role_arn(), RoleSessionName="shared", cache=cache)
        for _ in range(50)
    ]
    keys = await asyncio.gather(*(first_use(s) for s in sessions for _ in range(USERS // 50)))
    assert sts_server.count() == 1
    assert len(set(keys)) == 1


async def test_a_failed_first_fetch_fails_every_waiter_with_one_call(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    sts_server.fail_next(status=403, code="AccessDenied", message="not yet", times=1)
    child = assume_role(parent, role_arn())
    outcomes = await asyncio.gather(
        *(first_use(child) for _ in range(USERS)), return_exceptions=True
    )
    # Every waiter gets the one refresh's error: nobody starts a second one behind it.
    assert all(isinstance(outcome, ClientError) for outcome in outcomes)
    assert len({id(outcome) for outcome in outcomes}) == 1
    assert sts_server.count() == 1
    # Right after, callers get it again at once, typed, without calling STS.
    with pytest.raises(RefreshError) as info:
        await first_use(child)
    assert info.value.error_code == "AccessDenied"
    assert info.value.__cause__ is outcomes[0]
    assert sts_server.count() == 1
    clock.advance(5)  # past the few seconds of backoff: the next caller tries again
    assert await first_use(child)
    assert sts_server.count() == 2
