"""SharedClients: one client per service and region for many assumed sessions, each call
signed as the session whose view made it. Against the moto server, whose GetCallerIdentity
answers with the account of the key that signed the request (counted at the server).

Interleaving is forced, not hoped for: a ``before-sign`` handler on the shared client (it
runs after the signer is chosen and before the credentials are read) holds the first
requests until many are inside it at once, counted at that event.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.config import Config
from moto_sts import StsServer
from support import Crowd, loop_errors, role_arn, warm_moto_accounts

from aio_assume_role import assume_role, fan_out
from aio_assume_role.errors import InvalidParameterError, UnboundCredentialsError
from aio_assume_role.fanout import FanOutResult
from aio_assume_role.session import AssumedRoleSession
from aio_assume_role.shared_clients import BoundCredentials, SharedClients, SharedClientView
from aio_assume_role.targets import Account


def accounts(count: int) -> list[str]:
    return [f"{400000000000 + i:012d}" for i in range(count)]


async def collect(results: AsyncIterator[FanOutResult[Any]]) -> list[FanOutResult[Any]]:
    return [result async for result in results]


# --- the safety rule ---


async def test_1000_concurrent_units_each_sign_as_their_own_account(
    parent: AioSession, sts_server: StsServer
) -> None:
    ids = accounts(1000)
    warm_moto_accounts(ids)
    crowd = Crowd(100)
    created: list[int] = []

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> str:
        async with session.create_client("sts", region_name="us-east-1") as sts:
            assert isinstance(sts, SharedClientView)
            crowd.install(sts)
            identity = await sts.get_caller_identity()
            created.append(session._client_owner.clients_created)
        return str(identity["Account"])

    results = await collect(
        fan_out(
            parent, work, role_name="Audit", accounts=ids, concurrency=1000, share_clients=True
        )
    )
    assert [r.error for r in results if not r.ok] == []
    assert sorted((r.account.id, r.value) for r in results) == [(i, i) for i in ids]
    assert crowd.most_inside >= 100  # 100 requests were between signer and keys at once
    assert max(created) == 1  # one client for the 1,000 accounts
    assert sts_server.count("GetCallerIdentity") == 1000


async def test_two_views_held_at_once_each_sign_as_their_session(
    parent: AioSession, sts_server: StsServer
) -> None:
    one = assume_role(parent, role_arn("R", "111111111111"))
    two = assume_role(parent, role_arn("R", "222222222222"))
    async with (
        SharedClients(parent) as shared,
        shared.client(one, "sts") as first,
        shared.client(two, "sts") as second,
    ):
        crowd = Crowd(2)
        crowd.install(first)
        answers = await asyncio.gather(
            first.get_caller_identity(), second.get_caller_identity(), first.get_caller_identity()
        )
        assert [a["Account"] for a in answers] == ["111111111111", "222222222222", "111111111111"]
        assert crowd.most_inside >= 2
        assert shared.client_count == 1


async def test_a_call_on_the_shared_client_itself_raises_unbound(
    parent: AioSession, sts_server: StsServer
) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    async with SharedClients(parent) as shared, shared.client(session, "sts") as view:
        with pytest.raises(UnboundCredentialsError, match="no credentials bound"):
            await view._client.get_caller_identity()
    assert sts_server.count("GetCallerIdentity") == 0  # nothing was sent, signed or not


async def test_the_parents_credentials_never_sign_a_shared_clients_request(
    parent: AioSession, sts_server: StsServer
) -> None:
    parent_key = (await parent.get_credentials()).access_key  # type: ignore[union-attr]
    sessions = [assume_role(parent, role_arn("R", account)) for account in accounts(20)]
    async with SharedClients(parent) as shared:

        async def call(session: AssumedRoleSession) -> None:
            async with shared.client(session, "sts") as sts:
                await sts.get_caller_identity()

        await asyncio.gather(*(call(session) for session in sessions))
    keys = sts_server.signing_keys("GetCallerIdentity")
    assert len(keys) == 20 and parent_key not in keys


async def test_paginators_and_waiters_of_a_view_sign_as_its_session(
    parent: AioSession, sts_server: StsServer
) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    session_key = (await (await session.get_credentials()).get_frozen_credentials()).access_key
    signed: list[tuple[str, str]] = []

    def record(request: Any, **kwargs: Any) -> None:  # the header each IAM request went with
        authorization = request.headers["Authorization"].decode()
        key = authorization.split("Credential=", 1)[1].split("/", 1)[0]
        signed.append((kwargs["event_name"].rsplit(".", 1)[-1], key))

    async with SharedClients(parent) as shared, shared.client(session, "iam") as iam:
        iam.meta.events.register("before-send.iam", record)
        pages = [page async for page in iam.get_paginator("list_users").paginate()]
        assert pages and "Users" in pages[0]
        await iam.create_user(UserName="someone")
        await iam.get_waiter("user_exists").wait(UserName="someone")
    assert {name for name, _ in signed} == {"ListUsers", "CreateUser", "GetUser"}
    assert {key for _, key in signed} == {session_key}


async def test_account_id_endpoints_see_the_bound_sessions_account(
    parent: AioSession, sts_server: StsServer
) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    async with SharedClients(parent) as shared, shared.client(session, "sts") as view:
        credentials = view._client._request_signer._credentials
        assert isinstance(credentials, BoundCredentials)
        with pytest.raises(UnboundCredentialsError):
            await credentials.get_account_id()
        seen = []

        async def record(**kwargs: Any) -> None:
            # What aiobotocore's endpoint resolver awaits for AWS::Auth::AccountId.
            seen.append(await credentials.get_account_id())

        view.meta.events.register("before-sign.sts.GetCallerIdentity", record)
        await view.get_caller_identity()
    assert seen == ["111111111111"]


# --- what is not shared ---


@pytest.mark.parametrize(
    ("service", "kwargs", "why"),
    [
        ("sts", {"config": Config(retries={"mode": "adaptive"})}, "adaptive retry state"),
        ("sts", {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "x"}, "own keys"),
        ("timestream-write", {}, "endpoint discovery required"),
        ("dynamodb", {"config": Config(endpoint_discovery_enabled=True)}, "discovery on"),
        ("s3", {"config": Config(s3={"disable_s3_express_session_auth": False})}, "express"),
    ],
)
async def test_clients_with_per_account_state_are_the_sessions_own(
    parent: AioSession, service: str, kwargs: dict[str, Any], why: str
) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    async with SharedClients(parent) as shared:
        assert not shared.shareable(service, **kwargs), why
        async with shared.client(session, service, **kwargs) as client:
            assert not isinstance(client, SharedClientView)
        assert (shared.own_clients, shared.client_count) == (1, 0)


async def test_shared_s3_clients_sign_s3_express_requests_with_the_sessions_keys(
    parent: AioSession,
) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    async with SharedClients(parent) as shared, shared.client(session, "s3") as s3:
        assert shared.shareable("s3") and shared.shareable("dynamodb")
        assert s3.meta.config.s3["disable_s3_express_session_auth"] is True


async def test_one_shared_client_per_service_region_and_config(
    parent: AioSession, sts_server: StsServer
) -> None:
    sessions = [assume_role(parent, role_arn("R", account)) for account in accounts(4)]
    config = Config(connect_timeout=5)
    async with SharedClients(parent) as shared:
        for session in sessions:
            for kwargs in ({}, {"region_name": "eu-west-1"}, {"config": config}):
                async with shared.client(session, "sts", **kwargs) as sts:
                    await sts.get_caller_identity()
        assert (shared.client_count, shared.clients_created, shared.own_clients) == (3, 3, 0)


# --- life ---


async def test_closing_waits_for_blocks_in_progress_then_the_sessions_clients_are_their_own(
    parent: AioSession, sts_server: StsServer
) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    shared = SharedClients(parent)
    await shared.__aenter__()
    entered, leave = asyncio.Event(), asyncio.Event()

    async def holder() -> str:
        async with shared.client(session, "sts") as sts:
            entered.set()
            await leave.wait()
            return str((await sts.get_caller_identity())["Account"])

    held = asyncio.create_task(holder())
    await entered.wait()
    closing = asyncio.create_task(shared.aclose())
    await asyncio.sleep(0)
    assert not closing.done() and not shared.is_open()
    leave.set()
    assert await held == "111111111111"  # the block finished on its open client
    await closing
    with pytest.raises(RuntimeError, match="closed"):
        async with shared.client(session, "sts"):
            pass
    # fan_out's sessions go back to aiobotocore's create_client once the run has ended.
    session._client_owner = shared
    async with session.create_client("sts") as own:
        assert not isinstance(own, SharedClientView)


async def test_a_view_is_not_closed_by_its_block_and_close_does_nothing(
    parent: AioSession, sts_server: StsServer
) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    async with SharedClients(parent) as shared:
        async with shared.client(session, "sts") as view:
            await view.close()
            async with view as same:
                assert same is view
        async with shared.client(session, "sts") as again:
            assert (await again.get_caller_identity())["Account"] == "111111111111"
        assert shared.clients_created == 1


async def test_nothing_secret_in_reprs(parent: AioSession, sts_server: StsServer) -> None:
    session = assume_role(parent, role_arn("R", "111111111111"))
    async with SharedClients(parent) as shared, shared.client(session, "sts") as view:
        await view.get_caller_identity()
        frozen = await (await session.get_credentials()).get_frozen_credentials()
        shown = repr(view) + repr(shared) + repr(view._client._request_signer._credentials)
        assert frozen.secret_key not in shown and frozen.access_key not in shown
        with pytest.raises(AttributeError, match="get_frozen_credentials"):
            _ = view._client._request_signer._credentials.secret_key


async def test_closing_a_fan_out_early_closes_its_shared_clients(
    parent: AioSession, sts_server: StsServer
) -> None:
    unclosed = loop_errors()
    owners: list[SharedClients] = []

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> str:
        async with session.create_client("sts") as sts:
            first = not owners
            owners.append(session._client_owner)
            await sts.get_caller_identity()
            if not first:
                await asyncio.Event().wait()  # every unit after the first is still in its block
        return account.id

    stream = fan_out(
        parent, work, role_name="R", accounts=accounts(10), concurrency=5, share_clients=True
    )
    async with contextlib.aclosing(stream):
        async for result in stream:
            assert result.ok
            break
    assert len(owners) >= 2 and all(owner is owners[0] for owner in owners)
    assert not owners[0].is_open() and owners[0].client_count == 0
    gc.collect()
    await asyncio.sleep(0)
    assert unclosed == []


# --- bad input ---


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"config": {"retries": 3}}, "config"),
        ({"max_pool_connections": 0}, "max_pool_connections"),
        ({"max_pool_connections": True}, "max_pool_connections"),
    ],
)
def test_bad_arguments_are_named(parent: AioSession, kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        SharedClients(parent, **kwargs)
    assert [name for name, _ in caught.value.problems] == [named]
    with pytest.raises(InvalidParameterError, match="parent"):
        SharedClients("parent")  # type: ignore[arg-type]


def test_fan_out_names_a_bad_share_clients(parent: AioSession) -> None:
    async def work(session: Any, account: Any, region: Any) -> None:
        return None

    with pytest.raises(InvalidParameterError, match="share_clients"):
        fan_out(parent, work, role_name="R", accounts=["111111111111"], share_clients="yes")  # type: ignore[arg-type]
