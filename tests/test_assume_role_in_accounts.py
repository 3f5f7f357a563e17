"""assume_role_in_accounts(): bounded fan-out, per-account errors, progress, clean early exit.

Also the two things that make a child session cheap enough to fan out: builtin
event handlers from a shared template, and the parent's data loader.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError
from moto_sts import StsServer
from support import FakeClock

from aio_assume_role.arns import get_role_arn
from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.fanout import AccountResult, assume_role_in_accounts
from aio_assume_role.session import AssumedRoleSession, assume_role
from aio_assume_role.sts_clients import SharedStsClients, active_shared_clients

ROLE = "Auditor"


def accounts(count: int) -> list[str]:
    return [f"{100000000000 + i:012d}" for i in range(count)]


async def collect(results: Any) -> list[AccountResult]:
    return [result async for result in results]


def track_in_flight(parent: AioSession) -> dict[str, int]:
    """Count AssumeRole calls in flight (sent, not yet answered) through ``parent``'s clients."""
    seen = {"now": 0, "max": 0, "sent": 0}

    async def sent(**_: Any) -> None:
        seen["sent"] += 1
        seen["now"] += 1
        seen["max"] = max(seen["max"], seen["now"])
        await asyncio.sleep(0.01)  # let the others catch up, so overlap can show

    def answered(**_: Any) -> None:
        seen["now"] -= 1

    parent.register("before-send.sts.AssumeRole", sent)
    parent.register("needs-retry.sts.AssumeRole", answered)
    return seen


async def test_yields_a_ready_session_per_account(
    parent: AioSession, sts_server: StsServer
) -> None:
    ids = accounts(12)
    results = await collect(assume_role_in_accounts(parent, ids, ROLE, RoleSessionName="audit"))
    assert sorted(result.account_id for result in results) == ids
    for account_id, session, error in results:
        assert error is None
        assert isinstance(session, AssumedRoleSession)
        assert session.role_arn == get_role_arn(account_id, ROLE)
        assert session._assumed_role_credentials.expiry_time is not None  # already fetched
    assert sts_server.count() == 12
    assert {call["RoleSessionName"] for call in sts_server.calls()} == {"audit"}
    async with results[0].session.create_client("sts") as sts:  # type: ignore[union-attr]
        identity = await sts.get_caller_identity()
    assert identity["Account"] == results[0].account_id
    assert sts_server.count() == 12  # no second AssumeRole: the credentials were prefetched


async def test_at_most_concurrency_calls_run_at_once(
    parent: AioSession, sts_server: StsServer
) -> None:
    seen = track_in_flight(parent)
    results = await collect(assume_role_in_accounts(parent, accounts(12), ROLE, concurrency=3))
    assert all(result.ok for result in results)
    assert seen["max"] == 3
    assert sts_server.count() == 12


async def test_all_calls_go_through_one_sts_client(parent: AioSession) -> None:
    created = []
    original = parent.create_client

    def counting(service_name: str, *args: Any, **kwargs: Any) -> Any:
        created.append(kwargs.get("config"))
        return original(service_name, *args, **kwargs)

    parent.create_client = counting  # type: ignore[method-assign]
    await collect(assume_role_in_accounts(parent, accounts(30), ROLE, concurrency=70))
    (config,) = created
    assert config.max_pool_connections == 70  # the pool lets every worker call at once


async def test_one_accounts_failure_does_not_stop_the_others(
    parent: AioSession, sts_server: StsServer
) -> None:
    sts_server.fail_next(status=403, code="AccessDenied", message="no", times=2)
    results = await collect(assume_role_in_accounts(parent, accounts(7), ROLE, concurrency=2))
    failed = [result for result in results if not result.ok]
    assert len(results) == 7
    assert len(failed) == 2
    for result in failed:
        assert result.session is None
        assert isinstance(result.error, ClientError)
        assert result.error.response["Error"]["Code"] == "AccessDenied"
    assert sts_server.count() == 7


@pytest.mark.parametrize(
    ("given", "padded"),
    [(12345, "000000012345"), ("12345678901", "012345678901"), (123456789012, "123456789012")],
    ids=["short-int", "11-digits", "12-digit-int"],
)
async def test_an_int_or_short_account_id_is_zero_padded(
    parent: AioSession, sts_server: StsServer, given: Any, padded: str
) -> None:
    # aws-assume-role-lib's rule: an int cannot keep leading zeros, and ids exported
    # through spreadsheets lose them.
    (result,) = await collect(assume_role_in_accounts(parent, [given], ROLE))
    assert result.ok
    assert [call["RoleArn"] for call in sts_server.calls()] == [get_role_arn(padded, ROLE)]


@pytest.mark.parametrize(
    "bad_id",
    ["12345678901x", "1234567890123", 1234567890123, "", 1.5],
    ids=["letter", "13-digits", "13-digit-int", "empty", "float"],
)
async def test_an_invalid_account_id_is_that_accounts_error(
    parent: AioSession, sts_server: StsServer, bad_id: Any
) -> None:
    results = await collect(assume_role_in_accounts(parent, [bad_id, *accounts(2)], ROLE))
    by_account = {result.account_id: result for result in results}
    error = by_account[bad_id].error
    assert isinstance(error, InvalidParameterError)
    assert error.parameter == "account_id"
    assert "account id" in str(error) or "12 digits" in str(error)
    assert sum(result.ok for result in results) == 2
    assert sts_server.count() == 2
    called = sorted(call["RoleArn"] for call in sts_server.calls())
    assert called == sorted(get_role_arn(account_id, ROLE) for account_id in accounts(2))


@pytest.mark.parametrize(
    ("account_ids", "kwargs", "parameter"),
    [
        ("123456789012", {}, "account_ids"),
        (accounts(2), {"concurrency": 0}, "concurrency"),
        (accounts(2), {"concurrency": True}, "concurrency"),
        (accounts(2), {"progress": "yes"}, "progress"),
        (accounts(2), {"DurationSeconds": 5}, "DurationSeconds"),
        (accounts(2), {"RoleSessionName": "x"}, "RoleSessionName"),
    ],
)
def test_arguments_wrong_for_every_account_raise_at_once(
    account_ids: Any, kwargs: dict[str, Any], parameter: str, sts_server: StsServer
) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        assume_role_in_accounts(get_session(), account_ids, ROLE, **kwargs)
    assert raised.value.parameter == parameter
    assert sts_server.count() == 0


def test_a_role_path_in_two_places_raises_at_once() -> None:
    with pytest.raises(InvalidParameterError) as raised:
        assume_role_in_accounts(get_session(), accounts(1), "team/Auditor", path="/team/")
    assert raised.value.parameter == "path"


async def test_path_and_partition_build_the_arns(
    parent: AioSession, sts_server: StsServer
) -> None:
    results = await collect(
        assume_role_in_accounts(parent, accounts(1), ROLE, path="/team/", partition="aws")
    )
    assert results[0].ok
    assert sts_server.calls()[0]["RoleArn"] == f"arn:aws:iam::{accounts(1)[0]}:role/team/{ROLE}"


async def test_progress_reports_each_result(parent: AioSession) -> None:
    calls: list[tuple[int, int]] = []
    results = assume_role_in_accounts(
        parent, accounts(5), ROLE, progress=lambda done, total: calls.append((done, total))
    )
    await collect(results)
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


async def test_no_accounts_no_calls(parent: AioSession, sts_server: StsServer) -> None:
    assert await collect(assume_role_in_accounts(parent, [], ROLE)) == []
    assert sts_server.count() == 0


async def test_stopping_early_cancels_the_rest_and_closes_the_client(
    parent: AioSession, sts_server: StsServer
) -> None:
    seen = track_in_flight(parent)  # slows each call, so the others are in flight at the break
    async with contextlib.aclosing(
        assume_role_in_accounts(parent, accounts(40), ROLE, concurrency=4)
    ) as results:
        async for _ in results:
            owner = active_shared_clients(parent)
            break
    assert owner is not None and owner.closed and owner.client_count == 0
    assert active_shared_clients(parent) is None
    # Counted where the requests are sent: the server thread may record the last ones
    # only after this point, so its count is not a snapshot of what the client did.
    assert seen["sent"] <= 4 + 4  # the first batch, and at most one more per worker
    # Nothing left running: no task but this test's can send another request.
    assert asyncio.all_tasks() == {asyncio.current_task()}
    gc.collect()  # an unclosed aiohttp session would warn here, failing the test


async def test_an_abandoned_iterator_is_cleaned_up_by_the_loop(
    parent: AioSession, sts_server: StsServer
) -> None:
    async for _ in assume_role_in_accounts(parent, accounts(20), ROLE, concurrency=2):
        owner = active_shared_clients(parent)
        break
    assert owner is not None
    for _ in range(50):  # the loop's async-generator finalizer schedules aclose()
        if owner.closed and owner.client_count == 0:
            break
        await asyncio.sleep(0.01)
    assert owner.closed and owner.client_count == 0
    gc.collect()


async def test_sessions_keep_refreshing_after_the_iteration(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    results = await collect(assume_role_in_accounts(parent, accounts(3), ROLE))
    clock.advance(3600)
    session = results[0].session
    assert session is not None
    await session.prefetch_credentials()
    assert sts_server.count() == 4


async def test_a_callers_open_shared_clients_are_used_and_left_open(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    async with SharedStsClients(parent) as shared:
        results = await collect(assume_role_in_accounts(parent, accounts(5), ROLE))
        assert shared.client_count == 1
        assert not shared.closed
        clock.advance(3600)
        await asyncio.gather(*(r.session.prefetch_credentials() for r in results))  # type: ignore[union-attr]
        assert shared.client_count == 1  # the refreshes went through it too
    assert sts_server.count() == 10


async def test_a_failing_progress_callback_stops_the_iteration_cleanly(
    parent: AioSession,
) -> None:
    def progress(done: int, total: int) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await collect(assume_role_in_accounts(parent, accounts(6), ROLE, progress=progress))
    assert active_shared_clients(parent) is None
    gc.collect()


# --- what makes a child session cheap -----------------------------------------------------


def _builtin_events() -> list[str]:
    from botocore.handlers import BUILTIN_HANDLERS

    return sorted({spec[0] for spec in BUILTIN_HANDLERS})


def test_a_child_has_the_same_builtin_handlers_as_a_fresh_session() -> None:
    from aio_assume_role._core.rejection import note_signer, retry_rejected

    child = assume_role(get_session(), get_role_arn(accounts(1)[0], ROLE))
    fresh = AioSession()
    for event in [*_builtin_events(), "before-call.s3.PutObject", "needs-retry.sts.AssumeRole"]:
        mine = list(child._original_handler._handlers.prefix_search(event))
        theirs = list(fresh._original_handler._handlers.prefix_search(event))
        # botocore's, plus the two handlers that replace rejected credentials (rejection).
        assert [h for h in mine if h not in (note_signer, retry_rejected)] == theirs, event
    assert retry_rejected in child._original_handler._handlers.prefix_search("needs-retry.s3.x")
    assert note_signer in child._original_handler._handlers.prefix_search("request-created.s3.x")


async def test_handlers_registered_on_a_child_stay_on_that_child(parent: AioSession) -> None:
    one, two = (assume_role(parent, get_role_arn(a, ROLE)) for a in accounts(2))
    calls: list[str] = []
    one.register("before-call.sts.GetCallerIdentity", lambda **_: calls.append("one"))
    for session in (one, two, get_session()):
        async with session.create_client("sts") as sts:
            await sts.get_caller_identity()
    assert calls == ["one"]
    assert one._original_handler._handlers is not two._original_handler._handlers


def test_children_share_the_parents_data_loader() -> None:
    parent = get_session()
    child = assume_role(parent, get_role_arn(accounts(1)[0], ROLE))
    grandchild = assume_role(child, get_role_arn(accounts(1)[0], "Other"))
    loader = parent.get_component("data_loader")
    assert child.get_component("data_loader") is loader
    assert grandchild.get_component("data_loader") is loader


async def test_a_childs_config_store_is_built_only_when_used(parent: AioSession) -> None:
    child = assume_role(parent, get_role_arn(accounts(1)[0], ROLE))
    await child.prefetch_credentials()
    assert "config_store" in child._components._deferred  # fetching needed none of it
    assert child.get_config_variable("region") == "us-east-1"  # built, following the parent
    parent.set_config_variable("region", "eu-west-1")
    assert child.get_config_variable("region") == "eu-west-1"
    grandchild = assume_role(child, get_role_arn(accounts(1)[0], "Other"))
    child.set_config_variable("region", "ap-south-1")
    assert grandchild.get_config_variable("region") == "ap-south-1"


async def test_each_request_is_a_copy_botocores_handlers_cannot_change_for_others(
    parent: AioSession, sts_server: StsServer
) -> None:
    # The accounts' fetchers share the normalized arguments (the PolicyArns list among
    # them); a handler that changes what it is given must not reach another request.
    seen: list[int] = []

    def change(params: dict[str, Any], **_: Any) -> None:
        seen.append(len(params["PolicyArns"]))
        params["PolicyArns"].append({"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
        params["RoleSessionName"] = "changed"

    parent.register("provide-client-params.sts.AssumeRole", change)
    policy = [{"arn": "arn:aws:iam::aws:policy/SecurityAudit"}]
    results = await collect(
        assume_role_in_accounts(
            parent, accounts(3), ROLE, concurrency=1, RoleSessionName="audit", PolicyArns=policy
        )
    )
    assert [r.ok for r in results] == [True, True, True]
    assert seen == [1, 1, 1]
    assert policy == [{"arn": "arn:aws:iam::aws:policy/SecurityAudit"}]
