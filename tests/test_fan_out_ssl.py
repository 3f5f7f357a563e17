"""fan_out's work clients share one SSL context per distinct verify/cert/proxy settings.

Against the moto server (plain http: the context is still built, at the first request,
for verify=True); observed through the client's HTTP session (``compat.client_http_session``,
drift-tested in tests/test_compat.py). benchmarks/fanout_ssl.py measures it over https.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import certifi
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession

from aio_assume_role._core import compat
from aio_assume_role.fanout import FanOutResult, assume_role_in_accounts, fan_out
from aio_assume_role.session import AssumedRoleSession
from aio_assume_role.targets import Account

ROLE = "Audit"
# aiobotocore before _build_ssl_contexts (3.0 builds contexts inside _create_connector):
# nothing to share; the last test covers that fallback.
needs_hook = pytest.mark.skipif(
    not hasattr(AIOHTTPSession, "_build_ssl_contexts"),
    reason="this aiobotocore has no _build_ssl_contexts: contexts are not shared",
)
REGIONS = ["us-east-1", "eu-west-1"]


def accounts(count: int) -> list[str]:
    return [f"{210000000000 + i:012d}" for i in range(count)]


async def collect(results: AsyncIterator[FanOutResult[Any]]) -> list[FanOutResult[Any]]:
    return [result async for result in results]


async def context_of(session: Any, region: str | None, **kwargs: Any) -> tuple[str, Any]:
    """One call from a new client; its account and the SSL context its HTTP session used."""
    async with session.create_client("sts", region_name=region, **kwargs) as sts:
        identity = await sts.get_caller_identity()
        http_session = compat.client_http_session(sts)
    return identity["Account"], getattr(http_session, "shared_ssl_context", None)


@needs_hook
async def test_every_units_clients_share_one_context_and_sign_as_their_account(
    parent: AioSession,
) -> None:
    ids = accounts(8)

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> Any:
        return account.id, await context_of(session, region)

    results = await collect(
        fan_out(parent, work, role_name=ROLE, accounts=ids, regions=REGIONS, concurrency=8)
    )
    assert all(result.ok for result in results), [result.error for result in results]
    assert sorted(account for account, (signed, _) in (r.value for r in results)) == sorted(
        ids * 2
    )
    assert all(account == signed for account, (signed, _) in (r.value for r in results))
    contexts = {id(context) for _, (_, context) in (r.value for r in results)}
    assert len(contexts) == 1
    (context,) = [context for _, (_, context) in (r.value for r in results)][:1]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED


@needs_hook
async def test_other_verify_or_ca_bundle_or_session_class_gets_its_own(
    parent: AioSession, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    shutil.copy(certifi.where(), bundle)

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> Any:
        return {
            "default": (await context_of(session, region))[1],
            "unverified": (await context_of(session, region, verify=False))[1],
            "bundle": (await context_of(session, region, verify=str(bundle)))[1],
            "own_class": (
                await context_of(
                    session, region, config=AioConfig(http_session_cls=AIOHTTPSession)
                )
            )[1],
            "own_config": (await context_of(session, region, config=AioConfig(retries={})))[1],
        }

    results = await collect(
        fan_out(parent, work, role_name=ROLE, accounts=accounts(3), concurrency=3)
    )
    assert all(result.ok for result in results), [result.error for result in results]
    for kind in ("default", "unverified", "bundle", "own_config"):
        assert len({id(result.value[kind]) for result in results}) == 1, kind  # shared...
    first = results[0].value
    # ...per settings: a different verify or CA bundle never gets the default context.
    assert len({id(first[kind]) for kind in ("default", "unverified", "bundle")}) == 3
    assert first["unverified"].verify_mode == ssl.CERT_NONE
    assert first["own_config"] is first["default"]  # another config: merged, still shared
    assert all(result.value["own_class"] is None for result in results)  # aiobotocore's own


@needs_hook
async def test_assume_role_in_accounts_sessions_share_too(parent: AioSession) -> None:
    results = [result async for result in assume_role_in_accounts(parent, accounts(3), ROLE)]
    contexts = []
    for result in results:
        assert result.session is not None, result.error
        account, context = await context_of(result.session, "us-east-1")
        assert account == result.account_id
        contexts.append(context)
    assert len({id(context) for context in contexts}) == 1 and contexts[0] is not None


@needs_hook
async def test_each_session_has_its_own_default_config(parent: AioSession) -> None:
    """The sharing config is built once and copied per session: a unit setting an option
    on its session's default config changes no other session's (or a later run's)."""
    results = [result async for result in assume_role_in_accounts(parent, accounts(2), ROLE)]
    first, second = (result.session for result in results)
    assert first is not None and second is not None
    configs = [session.get_default_client_config() for session in (first, second)]
    assert configs[0] is not configs[1]
    assert configs[0].http_session_cls is configs[1].http_session_cls  # one run: one class
    configs[0].connect_timeout = 1
    assert configs[1].connect_timeout != 1
    later = [result async for result in assume_role_in_accounts(parent, accounts(1), ROLE)]
    assert later[0].session is not None
    assert later[0].session.get_default_client_config().connect_timeout != 1


async def test_without_the_aiobotocore_hook_clients_build_their_own(
    parent: AioSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An aiobotocore without ``_build_ssl_contexts`` (3.0 builds in ``_create_connector``):
    no shared class, the clients are aiobotocore's own."""
    build = getattr(AIOHTTPSession, "_build_ssl_contexts", None)
    monkeypatch.delattr(AIOHTTPSession, "_build_ssl_contexts", raising=False)
    assert compat.ssl_sharing_session_class() is None
    if build is not None:
        monkeypatch.setattr(AIOHTTPSession, "_build_ssl_contexts", build, raising=False)
    monkeypatch.setattr(compat, "ssl_sharing_session_class", lambda: None)

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> Any:
        async with session.create_client("sts", region_name=region) as sts:
            http_session = compat.client_http_session(sts)
            return (await sts.get_caller_identity())["Account"], type(http_session)

    results = await collect(fan_out(parent, work, role_name=ROLE, accounts=accounts(2)))
    assert all(result.ok for result in results), [result.error for result in results]
    assert [result.value[1] for result in results] == [AIOHTTPSession] * 2
    assert {result.value[0] for result in results} == set(accounts(2))
