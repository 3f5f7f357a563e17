"""Where the fetcher gets the STS client it calls AssumeRole with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from aiobotocore.session import AioSession

from .sts_clients import SharedStsClients, active_shared_clients, burst_clients


def sts_client(parent: AioSession) -> AbstractAsyncContextManager[Any]:
    """An STS client signed with the parent's credentials as they are at call time.

    The client is created without explicit keys, so it holds the parent's
    credentials object and signs each request with its current (refreshed) value:
    role chaining works however the parent's credentials refresh. It is the shared
    client of an open ``SharedStsClients`` covering ``parent``; else the client of
    the burst of refreshes signed by ``parent`` that are in flight now (opened by
    the first, closed by the last); else, outside asyncio, a client for this call.
    """
    return _sts_client(parent)


@asynccontextmanager
async def _sts_client(parent: AioSession) -> AsyncIterator[Any]:
    owner: SharedStsClients | None = active_shared_clients(parent)
    burst = burst_clients(parent) if owner is None else None
    owner = owner or burst
    try:
        client = await owner._checkout(parent) if owner is not None else None
        if client is None:
            async with parent.create_client("sts") as own_client:
                yield own_client
            return
        assert owner is not None
        try:
            yield client
        finally:
            owner._checkin()
    finally:
        if burst is not None:
            await burst.close_if_idle()
