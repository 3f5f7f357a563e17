"""SharedStsClients: one long-lived STS client per signing session, closed cleanly.

Client creations are counted by wrapping the session's ``create_client`` (the
calls still create real clients); AssumeRole calls are counted at the moto server.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.config import Config
from botocore.exceptions import ClientError
from moto_sts import StsServer
from support import DUMMY_ACCESS_KEY, FakeClock, RefreshLog, role_arn

from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.session import assume_role
from aio_assume_role.sts_clients import (
    _BURSTS,
    SharedStsClients,
    active_shared_clients,
    sts_client,
)


def count_sts_clients(session: AioSession) -> list[Any]:
    """Record each STS client ``session`` creates (the instance attribute shadows the method)."""
    created: list[Any] = []
    original = session.create_client

    def counting(service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name == "sts":
            created.append(kwargs.get("config"))
        return original(service_name, *args, **kwargs)

    session.create_client = counting  # type: ignore[method-assign]
    return created


def children(parent: AioSession, count: int, prefix: str = "Role") -> list[Any]:
    return [assume_role(parent, role_arn(f"{prefix}{i}")) for i in range(count)]


def is_closed(client: Any) -> bool:
    return client._endpoint.http_session._sessions is None


async def test_refreshes_of_many_children_share_one_client(
    parent: AioSession, sts_server: StsServer
) -> None:
    created = count_sts_clients(parent)
    async with SharedStsClients(parent) as shared:
        await asyncio.gather(*(child.prefetch_credentials() for child in children(parent, 20)))
        assert shared.client_count == 1
    assert len(created) == 1
    assert sts_server.count() == 20


class TestWithoutAnOwner:
    """Refreshes in flight at the same time share a client; the last one closes it."""

    async def test_overlapping_refreshes_share_one_client_then_close_it(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        created = count_sts_clients(parent)
        seen: list[Any] = []
        original = sts_client

        async def record() -> None:
            async with original(parent) as client:
                seen.append(client)
                await asyncio.sleep(0.01)  # overlap with the others

        await asyncio.gather(*(record() for _ in range(20)))
        assert len(created) == 1
        assert len({id(client) for client in seen}) == 1
        assert is_closed(seen[0])
        assert not _BURSTS

    async def test_concurrent_first_uses_build_one_client(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        created = count_sts_clients(parent)
        await asyncio.gather(*(child.prefetch_credentials() for child in children(parent, 50)))
        assert len(created) == 1
        assert sts_server.count() == 50
        assert not _BURSTS

    async def test_refreshes_that_do_not_overlap_use_a_client_each(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        created = count_sts_clients(parent)
        for child in children(parent, 3):
            await child.prefetch_credentials()
        assert len(created) == 3
        assert not _BURSTS

    async def test_a_burst_pool_is_at_least_fifty_connections(self, parent: AioSession) -> None:
        created = count_sts_clients(parent)
        await children(parent, 1)[0].prefetch_credentials()
        assert created[0].max_pool_connections == 50
        parent.set_default_client_config(Config(max_pool_connections=80))
        await children(parent, 1, "Other")[0].prefetch_credentials()
        assert created[1].max_pool_connections == 80

    async def test_cancelled_callers_leave_nothing_open(
        self, parent: AioSession, sts_server: StsServer, refreshes: RefreshLog
    ) -> None:
        tasks = [asyncio.ensure_future(c.prefetch_credentials()) for c in children(parent, 10)]
        await asyncio.sleep(0)
        for task in tasks[::2]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert any(isinstance(result, asyncio.CancelledError) for result in results)
        # A cancelled caller does not cancel its refresh: all ten finish, then the
        # burst's client is closed and unregistered by the last of them.
        await refreshes.wait_for(10)
        assert not _BURSTS
        gc.collect()  # an unclosed client would warn here, and warnings are errors


async def test_concurrent_first_refreshes_create_one_client(
    parent: AioSession, sts_server: StsServer
) -> None:
    created = count_sts_clients(parent)
    async with SharedStsClients(parent):
        await asyncio.gather(*(child.prefetch_credentials() for child in children(parent, 100)))
    assert len(created) == 1
    assert sts_server.count() == 100


async def test_chained_children_share_a_client_per_signing_session(
    parent: AioSession, sts_server: StsServer
) -> None:
    middle = assume_role(parent, role_arn("Middle"))
    created_by_parent = count_sts_clients(parent)
    created_by_middle = count_sts_clients(middle)
    async with SharedStsClients(parent) as shared:
        leaves = children(middle, 4, "Leaf")
        await asyncio.gather(*(leaf.prefetch_credentials() for leaf in leaves))
        assert shared.client_count == 2
    assert (len(created_by_parent), len(created_by_middle)) == (1, 1)
    middle_key = (await (await middle.get_credentials()).get_frozen_credentials()).access_key
    assert sts_server.signing_keys() == [DUMMY_ACCESS_KEY] + [middle_key] * 4


async def test_the_client_signs_with_the_parents_current_credentials(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with SharedStsClients(parent) as shared:
        await assume_role(parent, role_arn("Before")).prefetch_credentials()
        parent.set_credentials("AKIANEWPARENTKEY0001", "secret-2")
        await assume_role(parent, role_arn("After")).prefetch_credentials()
        assert shared.client_count == 2  # the new credentials object gets its own client
    assert sts_server.signing_keys() == [DUMMY_ACCESS_KEY, "AKIANEWPARENTKEY0001"]


async def test_the_client_follows_the_parents_region(parent: AioSession) -> None:
    async with SharedStsClients(parent) as shared:
        await assume_role(parent, role_arn("East")).prefetch_credentials()
        parent.set_config_variable("region", "eu-west-1")
        await assume_role(parent, role_arn("West")).prefetch_credentials()
        regions = sorted(
            entry.task.result()[1].meta.region_name for entry in shared._pool.entries.values()
        )
    assert regions == ["eu-west-1", "us-east-1"]


async def test_config_is_merged_over_the_session_default(parent: AioSession) -> None:
    parent.set_default_client_config(Config(connect_timeout=7))
    async with SharedStsClients(parent, config=Config(max_pool_connections=33)) as shared:
        async with sts_client(parent) as client:
            assert client.meta.config.max_pool_connections == 33
            assert client.meta.config.connect_timeout == 7
        assert shared.client_count == 1


async def test_clients_are_closed_on_exit_and_nothing_leaks(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with SharedStsClients(parent) as shared:
        async with sts_client(parent) as first, sts_client(parent) as second:
            assert first is second
        await asyncio.gather(*(child.prefetch_credentials() for child in children(parent, 3)))
    assert shared.closed
    assert shared.client_count == 0
    assert is_closed(first)
    assert active_shared_clients(parent) is None
    del first, second
    gc.collect()  # an unclosed aiohttp session would warn here, failing the test


async def test_after_close_refreshes_use_a_client_per_call(
    parent: AioSession, sts_server: StsServer, clock: FakeClock
) -> None:
    child = assume_role(parent, role_arn())
    async with SharedStsClients(parent):
        await child.prefetch_credentials()
    created = count_sts_clients(parent)
    clock.advance(3600)
    await child.prefetch_credentials()
    assert len(created) == 1
    assert sts_server.count() == 2


async def test_close_waits_for_an_in_flight_assume_role(
    parent: AioSession, sts_server: StsServer
) -> None:
    sent = asyncio.Event()
    release = asyncio.Event()

    async def hold(**_: Any) -> None:
        sent.set()
        await release.wait()

    parent.register("before-send.sts.AssumeRole", hold)
    shared = SharedStsClients(parent)
    await shared.__aenter__()
    refresh = asyncio.ensure_future(assume_role(parent, role_arn()).prefetch_credentials())
    await sent.wait()
    closing = asyncio.ensure_future(shared.aclose())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waits for the call in flight
    assert active_shared_clients(parent) is None  # but new refreshes no longer use it
    release.set()
    await refresh
    await closing
    assert shared.client_count == 0
    assert sts_server.count() == 1


async def test_a_cancelled_first_refresh_does_not_cancel_the_shared_creation(
    parent: AioSession, sts_server: StsServer
) -> None:
    creating, release = asyncio.Event(), asyncio.Event()

    async def pause_creation(**_: Any) -> None:
        creating.set()
        await release.wait()

    parent.register("creating-client-class.sts", pause_creation)
    created = count_sts_clients(parent)
    first, second = children(parent, 2)
    async with SharedStsClients(parent):
        cancelled = asyncio.ensure_future(first.prefetch_credentials())
        await creating.wait()
        waiting = asyncio.ensure_future(second.prefetch_credentials())
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        release.set()
        await waiting
        await first.prefetch_credentials()  # and the cancelled session still works
    assert len(created) == 1
    assert sts_server.count() == 2


async def test_a_failed_creation_is_retried_by_the_next_refresh(
    parent: AioSession, sts_server: StsServer
) -> None:
    first, second = children(parent, 2)
    async with SharedStsClients(parent) as shared:
        parent.set_config_variable("region", "not a region!")
        with pytest.raises(ValueError, match="region"):
            await first.prefetch_credentials()
        assert shared.client_count == 0
        parent.set_config_variable("region", "us-east-1")
        await second.prefetch_credentials()
        assert shared.client_count == 1
    assert sts_server.count() == 1


async def test_sts_errors_reach_the_caller_and_the_client_stays_usable(
    parent: AioSession, sts_server: StsServer
) -> None:
    first, second = children(parent, 2)
    sts_server.fail_next(status=403, code="AccessDenied", message="not allowed")
    async with SharedStsClients(parent) as shared:
        with pytest.raises(ClientError, match="AccessDenied"):
            await first.prefetch_credentials()
        await second.prefetch_credentials()
        assert shared.client_count == 1


async def test_nearest_open_owner_wins(parent: AioSession) -> None:
    middle = assume_role(parent, role_arn("Middle"))
    async with SharedStsClients(parent) as outer:
        assert active_shared_clients(middle) is outer
        async with SharedStsClients(middle) as inner:
            assert active_shared_clients(middle) is inner
            assert active_shared_clients(parent) is outer
        assert active_shared_clients(middle) is outer


def test_another_event_loop_uses_a_client_per_call_and_cannot_close_it(
    parent: AioSession, sts_server: StsServer
) -> None:
    errors: list[BaseException] = []

    async def main() -> None:
        async with SharedStsClients(parent) as shared:

            def elsewhere() -> None:
                try:
                    child = assume_role(parent, role_arn("Other"))
                    asyncio.run(child.prefetch_credentials())
                    asyncio.run(shared.aclose())
                except BaseException as error:
                    errors.append(error)

            thread = threading.Thread(target=elsewhere)
            thread.start()
            await asyncio.to_thread(thread.join)
            assert shared.client_count == 0  # the other loop's refresh did not use (or create) it

    asyncio.run(main())
    assert sts_server.count() == 1
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)
    assert "event loop" in str(errors[0])


async def test_entering_twice_is_an_error(parent: AioSession) -> None:
    shared = SharedStsClients(parent)
    async with shared:
        with pytest.raises(RuntimeError, match="only once"):
            await shared.__aenter__()
    await shared.aclose()  # idempotent


async def test_closing_an_unopened_owner_is_harmless() -> None:
    shared = SharedStsClients(get_session())
    await shared.aclose()
    assert shared.closed


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [({"parent": object()}, "parent"), ({"config": {"max_pool_connections": 5}}, "config")],
)
def test_bad_arguments_name_the_parameter(kwargs: dict[str, Any], parameter: str) -> None:
    arguments: dict[str, Any] = {"parent": get_session(), **kwargs}
    with pytest.raises(InvalidParameterError) as raised:
        SharedStsClients(arguments.pop("parent"), **arguments)
    assert raised.value.parameter == parameter


async def test_the_configured_endpoint_is_read_once_per_signer_while_open(
    parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Looked up at every AssumeRole, it cost a config-provider build and a dozen
    # environment reads per call; it is read when a signer first needs a client.
    async with SharedStsClients(parent) as shared:
        await assume_role(parent, role_arn("Before")).prefetch_credentials()
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        await assume_role(parent, role_arn("After")).prefetch_credentials()  # same client
        assert shared.client_count == 1
    assert sts_server.count("AssumeRole") == 2
    async with SharedStsClients(parent) as reopened:  # a new owner reads it anew
        pool = reopened._pool
        assert pool is not None
        client = await pool.checkout(parent)
        pool.checkin()
        assert client.meta.endpoint_url == "http://127.0.0.1:9"


# --- how the package's STS clients read Expiration ----------------------------------


@pytest.fixture
def dateutil_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The values botocore's timestamp parser hands to dateutil (its slow path), recorded."""
    import dateutil.parser

    seen: list[str] = []
    original = dateutil.parser.parse

    def recording(value: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(value)
        return original(value, *args, **kwargs)

    monkeypatch.setattr(dateutil.parser, "parse", recording)
    return seen


class TestExpirationIsReadQuickly:
    """The package's own STS clients read STS's Expiration without dateutil (40 µs a
    call); the user's clients of the same session still parse as botocore does."""

    async def test_a_client_per_call(self, parent: AioSession, dateutil_parses: list[str]) -> None:
        expiry = await assume_role(parent, role_arn()).prefetch_credentials()
        assert dateutil_parses == []
        assert expiry.tzinfo is not None
        async with parent.create_client("sts") as users:  # the parent's own: untouched
            await users.assume_role(RoleArn=role_arn(), RoleSessionName="s1")
        assert len(dateutil_parses) == 1  # botocore's parser, as before

    async def test_a_shared_client(self, parent: AioSession, dateutil_parses: list[str]) -> None:
        async with SharedStsClients(parent) as shared:
            await asyncio.gather(*(child.prefetch_credentials() for child in children(parent, 3)))
            assert shared.client_count == 1
        assert dateutil_parses == []

    def test_the_sync_path(self, sts_server: StsServer, dateutil_parses: list[str]) -> None:
        import boto3

        from aio_assume_role import sync

        parent = boto3.Session()
        frozen = sync.assume_role(parent, role_arn()).get_credentials().get_frozen_credentials()
        assert frozen.token
        assert dateutil_parses == []
        parent.client("sts").assume_role(RoleArn=role_arn(), RoleSessionName="s1")
        assert len(dateutil_parses) == 1  # the user's client: botocore's parser
