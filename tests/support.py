"""Constants and small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aio_assume_role.testing import Clock
from aio_assume_role.testing import Dice as _Dice

ACCOUNT_ID = "123456789012"
DUMMY_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def role_arn(name: str = "MyRole", account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


# The public testing helpers, under the names the tests have always used.
FakeClock = Clock
Dice = _Dice


class RefreshLog:
    """A refresh listener that keeps every ``RefreshEvent`` and lets a test await the n-th.

    Awaiting the event itself, not a sleep, is what makes background-refresh tests
    deterministic.
    """

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._waiters: list[asyncio.Future[None]] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.get_loop().call_soon_threadsafe(_resolve, waiter)

    async def wait_for(self, count: int, timeout: float = 120) -> list[Any]:
        """Return the events once at least ``count`` have been recorded.

        ``timeout`` is a failure bound (a test that waits for an event that never comes
        fails instead of hanging the suite), not a wait.
        """
        while len(self.events) < count:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await asyncio.wait_for(waiter, timeout)
        return self.events


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def patch_retry_sleep(
    monkeypatch: pytest.MonkeyPatch, sleep: Callable[[float], Awaitable[None]]
) -> None:
    """Replace the sleep between botocore's retry attempts on the async path with ``sleep``.

    aiobotocore 3.9 and later sleep through ``AioEndpoint._sleep``; earlier 3.x releases
    call ``asyncio.sleep`` from ``aiobotocore.endpoint`` directly, so there that module's
    ``asyncio`` is swapped for one whose ``sleep`` is ``sleep`` (nothing else changes).
    """
    import aiobotocore.endpoint

    if hasattr(aiobotocore.endpoint.AioEndpoint, "_sleep"):

        async def method(self: Any, seconds: float) -> None:
            await sleep(seconds)

        monkeypatch.setattr(aiobotocore.endpoint.AioEndpoint, "_sleep", method)
        return
    shim = types.ModuleType("asyncio")
    shim.__dict__.update(vars(asyncio))
    shim.__dict__["sleep"] = sleep
    monkeypatch.setattr(aiobotocore.endpoint, "asyncio", shim)


def reset_moto(endpoint: str) -> None:
    """Forget every service's state in the moto server (Organizations, IAM...), not only STS."""
    import urllib.request

    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def new_organization(endpoint: str) -> tuple[Any, str, str]:
    """Reset moto, create an organization (all features): its boto3 client, the management
    account's id and the root's id."""
    import boto3

    reset_moto(endpoint)
    client = boto3.client(
        "organizations",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=DUMMY_ACCESS_KEY,
        aws_secret_access_key=DUMMY_SECRET_KEY,
    )
    management_id = client.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    root_id = client.list_roots()["Roots"][0]["Id"]
    return client, management_id, root_id


# --- shared clients: forcing interleaving at signing time ---


class Crowd:
    """A before-sign handler that holds requests until ``size`` are inside it at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.inside = 0
        self.most_inside = 0
        self.full = asyncio.Event()

    async def __call__(self, **kwargs: Any) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        if self.inside >= self.size:
            self.full.set()
        try:
            if not self.full.is_set():
                await asyncio.wait_for(self.full.wait(), 60)
            await asyncio.sleep(0)  # and every request lets the others run once more
        finally:
            self.inside -= 1

    def install(self, client: Any, operation: str = "GetCallerIdentity") -> None:
        client.meta.events.register(f"before-sign.sts.{operation}", self, unique_id="crowd")


def warm_moto_accounts(ids: list[str]) -> None:
    """Create moto's IAM backend of every account first: moto lists them all at every
    request, unlocked, and a list racing an AssumeRole into a new account's role fails
    ("dictionary changed size during iteration", moto's bug, not ours)."""
    from moto.iam.models import iam_backends

    for account in ids:
        iam_backends[account]["aws"]


def loop_errors() -> list[str]:
    """The messages the running event loop reports from now on (an unclosed client
    session, a never-retrieved exception), collected instead of logged."""
    messages: list[str] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: messages.append(context["message"])
    )
    return messages
