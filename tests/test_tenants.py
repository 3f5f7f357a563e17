"""TenantSessions: one session and one client per tenant identity, bounded, single flight,
failures per tenant, stats, shutdown. Against the moto server; counted at the server."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from moto_sts import StsServer
from support import Crowd, loop_errors, role_arn, warm_moto_accounts

from aio_assume_role import AioJSONFileCache
from aio_assume_role.errors import InvalidParameterError, RefreshError
from aio_assume_role.shared_clients import SharedClientView
from aio_assume_role.tenants import TenantSessions

ROLE_A = role_arn("Vendor", "111111111111")
ROLE_B = role_arn("Vendor", "222222222222")
ROLE_C = role_arn("Vendor", "333333333333")


async def account_of(tenants: TenantSessions, role: str, **kwargs: Any) -> str:
    async with tenants.client(role, "sts", **kwargs) as sts:
        return str((await sts.get_caller_identity())["Account"])


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Return once ``condition()`` holds, checked at every turn of the loop: a state the
    test waits for (the registry's counters change at the event), ``timeout`` a failure
    bound, not a wait."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


# --- single flight ---


async def test_200_concurrent_first_uses_make_one_assume_role_and_one_client(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent) as tenants:
        accounts = await asyncio.gather(
            *(account_of(tenants, ROLE_A, ExternalId="acme-1") for _ in range(200))
        )
        stats = tenants.stats()
    assert accounts == ["111111111111"] * 200
    assert sts_server.count("AssumeRole") == 1
    assert sts_server.count("GetCallerIdentity") == 200
    assert (stats.misses, stats.hits, stats.clients_created) == (1, 199, 1)
    assert stats.assume_role_calls == 1
    assert stats.tenants == 1


async def test_a_tenants_clients_of_two_services_share_its_session(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent) as tenants:
        async with tenants.client(ROLE_A, "sts") as sts, tenants.client(ROLE_A, "iam") as iam:
            await sts.get_caller_identity()
            assert iam is not sts
        assert tenants.session(ROLE_A) is tenants.session(ROLE_A)
        assert tenants.stats().open_clients == 2
    assert sts_server.count("AssumeRole") == 1


async def test_every_tenants_clients_share_one_ssl_context(
    parent: AioSession, sts_server: StsServer
) -> None:
    from aiobotocore.httpsession import AIOHTTPSession

    from aio_assume_role._core import compat

    if not hasattr(AIOHTTPSession, "_build_ssl_contexts"):
        pytest.skip("this aiobotocore (3.0) builds SSL contexts in _create_connector")
    contexts = []
    async with TenantSessions(parent) as tenants:
        for role in (ROLE_A, ROLE_B, ROLE_C):
            async with tenants.client(role, "sts") as sts:
                assert (await sts.get_caller_identity())["Account"] == role.split(":")[4]
                http_session = compat.client_http_session(sts)
                contexts.append(getattr(http_session, "shared_ssl_context", None))
    assert contexts[0] is not None and all(context is contexts[0] for context in contexts)


# --- one client for every tenant (share_clients, the default) ---


async def test_1000_requests_across_100_tenants_each_sign_as_their_tenant(
    parent: AioSession, sts_server: StsServer
) -> None:
    tenant_accounts = [f"{500000000000 + i:012d}" for i in range(100)]
    warm_moto_accounts(tenant_accounts)
    crowd = Crowd(100)
    requests = [tenant_accounts[i % 100] for i in range(1000)]

    async def request(account: str) -> tuple[str, str]:
        role = role_arn("Vendor", account)
        async with tenants.client(role, "sts", ExternalId=f"ext-{account}") as sts:
            assert isinstance(sts, SharedClientView)
            crowd.install(sts)
            return account, str((await sts.get_caller_identity())["Account"])

    async with TenantSessions(parent) as tenants:
        answers = await asyncio.gather(*(request(account) for account in requests))
        stats = tenants.stats()
    assert all(expected == got for expected, got in answers)
    assert len(answers) == 1000
    assert crowd.most_inside >= 100  # 100 requests between signer and keys at once
    assert (stats.tenants, stats.clients_created, stats.misses, stats.hits) == (100, 1, 100, 900)
    assert sts_server.count("AssumeRole") == 100
    assert sorted({call["ExternalId"] for call in sts_server.calls()}) == sorted(
        f"ext-{account}" for account in tenant_accounts
    )


async def test_two_tenants_clients_held_at_once_each_sign_as_their_tenant(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with (
        TenantSessions(parent) as tenants,
        tenants.client(ROLE_A, "sts") as one,
        tenants.client(ROLE_B, "sts") as two,
    ):
        crowd = Crowd(2)
        crowd.install(one)
        answers = await asyncio.gather(two.get_caller_identity(), one.get_caller_identity())
        assert [answer["Account"] for answer in answers] == ["222222222222", "111111111111"]
        assert crowd.most_inside >= 2
        assert tenants.stats().open_clients == 1


async def test_an_idle_tenant_holds_no_client_config_of_its_own(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent) as tenants:
        await account_of(tenants, ROLE_A)
        # Shared clients need nothing per tenant: no default client config, no config store.
        session = tenants.session(ROLE_A)
        assert session.get_default_client_config() is None
        assert session._config_store_setups is not None  # not built (see LightChildSession)


# --- the identity ---


async def test_two_tenants_on_one_role_with_different_external_ids_share_nothing(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent) as tenants:
        async with (
            tenants.client(ROLE_A, "sts", ExternalId="customer-one") as one,
            tenants.client(ROLE_A, "sts", ExternalId="customer-two") as two,
        ):
            assert one is not two
            await one.get_caller_identity()
            await two.get_caller_identity()
        first = tenants.session(ROLE_A, ExternalId="customer-one")
        second = tenants.session(ROLE_A, ExternalId="customer-two")
        assert first is not second
        keys = {await (await s.get_credentials()).get_access_key() for s in (first, second)}
        assert len(keys) == 2
        assert tenants.stats().tenants == 2
    assert sorted(call["ExternalId"] for call in sts_server.calls()) == [
        "customer-one",
        "customer-two",
    ]


async def test_the_key_is_every_parameter_that_changes_the_credentials(
    parent: AioSession,
) -> None:
    tenants = TenantSessions(parent)
    base = tenants.key(ROLE_A, ExternalId="x")
    variants: list[dict[str, Any]] = [
        {"ExternalId": "y"},
        {"RoleSessionName": "s"},
        {"SourceIdentity": "alice"},
        {"Policy": {"Version": "2012-10-17", "Statement": []}},
        {"PolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        {"Tags": {"team": "a"}},
        {"TransitiveTagKeys": ["team"]},
        {"DurationSeconds": 900},
        {"SerialNumber": "arn:aws:iam::111111111111:mfa/alice"},
        {"additional_kwargs": {"ProvidedContexts": [{"ProviderArn": "p"}]}},
    ]
    keys = [tenants.key(ROLE_A, **{"ExternalId": "x", **variant}) for variant in variants]
    keys.append(tenants.key(ROLE_B, ExternalId="x"))
    assert len({base, *keys}) == len(keys) + 1
    # The same request to STS, spelled differently, is one tenant.
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
    assert tenants.key(ROLE_A, Policy=policy) == tenants.key(
        ROLE_A, Policy=json.dumps(policy, indent=4, sort_keys=True)
    )
    assert tenants.key(ROLE_A, Tags={"k": "v"}) == tenants.key(
        ROLE_A, Tags=[{"Key": "k", "Value": "v"}]
    )
    assert tenants.key(ROLE_A, PolicyArns=["arn:aws:iam::aws:policy/P"]) == tenants.key(
        ROLE_A, PolicyArns=[{"arn": "arn:aws:iam::aws:policy/P"}]
    )
    assert tenants.key(ROLE_A, SourceIdentity="alice") == tenants.key(
        ROLE_A, SourceIdentity="alice", RoleSessionName="alice"
    )
    # A one-time MFA code is not an identity.
    assert tenants.key(ROLE_A, TokenCode="123456") == tenants.key(ROLE_A, TokenCode="654321")


def test_a_keys_repr_holds_no_parameter_value(parent: AioSession) -> None:
    key = TenantSessions(parent).key(
        ROLE_A, ExternalId="the-external-id", Policy={"Sid": "secret-policy"}
    )
    assert "the-external-id" not in repr(key)
    assert "secret-policy" not in repr(key)
    assert ROLE_A in repr(key) and key.id in repr(key)


# --- the bound ---


async def test_at_most_max_clients_open_least_recently_used_idle_one_closed_first(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent, max_clients=2, share_clients=False) as tenants:
        await account_of(tenants, ROLE_A)
        await account_of(tenants, ROLE_B)
        await account_of(tenants, ROLE_A)  # B is now the least recently used
        await account_of(tenants, ROLE_C)  # the bound: B's client closes
        stats = tenants.stats()
        assert (stats.open_clients, stats.evictions, stats.misses) == (2, 1, 3)
        await account_of(tenants, ROLE_A)  # still open
        assert tenants.stats().misses == 3
        await account_of(tenants, ROLE_B)  # made again, from its session (no AssumeRole)
        stats = tenants.stats()
        assert (stats.open_clients, stats.evictions, stats.misses) == (2, 2, 4)
        assert stats.tenants == 3
    assert sts_server.count("AssumeRole") == 3


async def test_a_held_client_is_never_closed_for_the_bound_a_request_waits(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent, max_clients=1, share_clients=False) as tenants:
        async with tenants.client(ROLE_A, "sts") as held:
            waiting = asyncio.create_task(account_of(tenants, ROLE_B))
            await until(lambda: tenants.stats().slot_waits == 1)
            # B waits for a slot, A's client stays open and usable.
            assert (await held.get_caller_identity())["Account"] == "111111111111"
            assert not waiting.done()
            assert tenants.stats().open_clients == 1
        assert await waiting == "222222222222"
        stats = tenants.stats()
        assert (stats.open_clients, stats.evictions) == (1, 1)


async def test_idle_clients_are_closed_after_idle_timeout_only(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent, idle_timeout=3600, share_clients=False) as tenants:
        await account_of(tenants, ROLE_A)
        assert await tenants.close_idle() == 0
        assert tenants.stats().open_clients == 1
    async with TenantSessions(parent, idle_timeout=0, share_clients=False) as tenants:
        async with tenants.client(ROLE_A, "sts") as sts:
            assert await tenants.close_idle() == 0  # held: not idle
            await sts.get_caller_identity()
        assert await tenants.close_idle() == 1
        assert (tenants.stats().open_clients, tenants.stats().evictions) == (0, 1)
        await account_of(tenants, ROLE_A)  # re-created
        assert tenants.stats().clients_created == 2


async def test_the_registry_closes_idle_clients_by_itself(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent, idle_timeout=0.01, share_clients=False) as tenants:
        await account_of(tenants, ROLE_A)
        await until(lambda: tenants.stats().open_clients == 0)
        assert tenants.stats().evictions == 1


async def test_sessions_are_bounded_too_and_outlive_their_clients(
    parent: AioSession, sts_server: StsServer
) -> None:
    cache: dict[str, Any] = {}
    async with TenantSessions(
        parent, max_clients=1, max_sessions=2, cache=cache, share_clients=False
    ) as tenants:
        first = tenants.session(ROLE_A)
        await account_of(tenants, ROLE_A)
        await account_of(tenants, ROLE_B)
        await account_of(tenants, ROLE_C)  # A (no client open any more) is forgotten
        stats = tenants.stats()
        assert (stats.tenants, stats.tenant_evictions) == (2, 1)
        assert tenants.session(ROLE_A) is not first
        # The forgotten tenant's credentials come back from the cache, not from STS.
        assert await account_of(tenants, ROLE_A) == "111111111111"
        assert tenants.stats().cache_loads == 1
        # A session handed out before keeps working.
        async with first.create_client("sts") as sts:
            assert (await sts.get_caller_identity())["Account"] == "111111111111"
    assert sts_server.count("AssumeRole") == 3


# --- failures stay per tenant ---


async def test_a_tenant_waiting_on_sts_never_slows_another(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent) as tenants:
        hold = sts_server.hold_next()  # the next AssumeRole: A's
        slow = asyncio.create_task(account_of(tenants, ROLE_A))
        await asyncio.to_thread(hold.wait_arrived)
        assert await asyncio.wait_for(account_of(tenants, ROLE_B), 60) == "222222222222"
        assert not slow.done()
        hold.release()
        assert await slow == "111111111111"


async def test_a_tenant_whose_role_fails_fails_its_own_requests_only(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with TenantSessions(parent) as tenants:
        sts_server.fail_next(status=403, code="AccessDenied", message="not allowed")
        failed = await asyncio.gather(
            *(account_of(tenants, ROLE_A) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(error, ClientError) for error in failed)
        assert {error.response["Error"]["Code"] for error in failed} == {"AccessDenied"}  # type: ignore[union-attr]
        with pytest.raises(RefreshError):  # in its backoff: the library's typed error
            await account_of(tenants, ROLE_A)
        assert await account_of(tenants, ROLE_B) == "222222222222"
        stats = tenants.stats()
        assert stats.refresh_failures == {"AccessDenied": 1}
        assert (stats.open_clients, stats.clients_created) == (1, 1)  # B's only
    assert sts_server.count("AssumeRole") == 2


# --- shutdown ---


async def test_leaving_waits_for_held_clients_then_closes_every_client(
    parent: AioSession, sts_server: StsServer
) -> None:
    unclosed = loop_errors()
    tenants = TenantSessions(parent)
    await tenants.__aenter__()
    await account_of(tenants, ROLE_B)  # open, idle
    done_with_it = asyncio.Event()
    inside = asyncio.Event()

    async def request() -> str:
        async with tenants.client(ROLE_A, "sts") as sts:
            inside.set()
            await done_with_it.wait()
            return str((await sts.get_caller_identity())["Account"])

    held = asyncio.create_task(request())
    await inside.wait()
    closing = asyncio.create_task(tenants.__aexit__(None, None, None))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not closing.done()
    with pytest.raises(RuntimeError, match="closing"):
        await account_of(tenants, ROLE_C)
    done_with_it.set()
    assert await held == "111111111111"  # its client was not closed under it
    await closing
    assert tenants.stats().open_clients == 0
    del held
    gc.collect()
    await asyncio.sleep(0)
    assert unclosed == []
    with pytest.raises(RuntimeError, match="closed"):
        await account_of(tenants, ROLE_A)


# --- bad input ---


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_clients": 0}, "max_clients"),
        ({"max_clients": True}, "max_clients"),
        ({"idle_timeout": -1}, "idle_timeout"),
        ({"idle_timeout": float("nan")}, "idle_timeout"),
        ({"max_clients": 10, "max_sessions": 5}, "max_sessions"),
        ({"cache": "/tmp/cache"}, "cache"),
    ],
)
def test_bad_registry_options_are_named(
    parent: AioSession, kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        TenantSessions(parent, **kwargs)
    assert caught.value.parameter == parameter
    assert "/tmp/cache" not in str(caught.value)


def test_a_parent_that_is_not_an_aio_session_is_named() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        TenantSessions("parent")  # type: ignore[arg-type]
    assert caught.value.parameter == "parent"


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda t: account_of(t, ROLE_A, Foo=1), "Foo"),
        (lambda t: account_of(t, "not-an-arn"), "RoleArn"),
        (lambda t: account_of(t, ROLE_A, ExternalId="bad value!"), "ExternalId"),
        (lambda t: account_of(t, ROLE_A, DurationSeconds="long"), "DurationSeconds"),
        (lambda t: account_of(t, ROLE_A, region_name="nowhere 1"), "region_name"),
        (lambda t: account_of(t, ROLE_A, config={"retries": 3}), "config"),
        (lambda t: account_of(t, ROLE_A, additional_kwargs=[1]), "additional_kwargs"),
        (lambda t: account_of(t, ROLE_A, Policy={"a": object()}), "Policy"),
    ],
)
async def test_bad_request_parameters_are_named(
    parent: AioSession,
    sts_server: StsServer,
    call: Callable[[TenantSessions], Awaitable[Any]],
    parameter: str,
) -> None:
    async with TenantSessions(parent) as tenants:
        with pytest.raises(InvalidParameterError) as caught:
            await call(tenants)
        assert caught.value.parameter == parameter
        assert "bad value!" not in str(caught.value)
        assert tenants.stats().open_clients == 0
    assert sts_server.count("AssumeRole") == 0


async def test_an_unknown_service_is_named(parent: AioSession, sts_server: StsServer) -> None:
    async with TenantSessions(parent) as tenants:
        with pytest.raises(InvalidParameterError) as caught:
            async with tenants.client(ROLE_A, "no-such-service"):
                pass
    assert caught.value.parameter == "service_name"


async def test_workers_sharing_a_file_cache_assume_each_role_once(
    parent: AioSession, sts_server: StsServer, tmp_path: Any
) -> None:
    # Two registries (as two worker processes would be) on one cache directory.
    cache = AioJSONFileCache(tmp_path / "cache")
    async with (
        TenantSessions(parent, cache=cache) as one,
        TenantSessions(parent, cache=AioJSONFileCache(tmp_path / "cache")) as two,
    ):
        accounts = await asyncio.gather(
            *(account_of(registry, role) for registry in (one, two) for role in (ROLE_A, ROLE_B))
        )
    assert sorted(accounts) == ["111111111111"] * 2 + ["222222222222"] * 2
    assert sts_server.count("AssumeRole") == 2
