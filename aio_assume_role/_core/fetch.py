"""The async fetcher: ``FetchCore``'s steps with awaited I/O (an async cache, pooled STS
clients), and the per-loop keyed lock its fetches single-flight with."""

from __future__ import annotations

import inspect
import os
import weakref
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ParentCredentialsError
from ..sts_clients import sts_client
from .fetch_core import FetchCore
from .request import check_chained_duration

__all__ = ["AssumeRoleFetcher", "KeyedLock"]


if TYPE_CHECKING:
    from aiobotocore.session import AioSession


class _ResponseCache(Protocol):
    """What the fetcher awaits of a cache (``cache.AsyncCredentialCache``, the public
    protocol, has this shape): named here so that this layer does not import the cache
    module above it."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: Mapping[str, Any]) -> None: ...


_Locks = dict[Hashable, tuple[AbstractAsyncContextManager[Any], int]]

# Every KeyedLock, so that a forked child can drop the locks its parent's loops held.
_INSTANCES: weakref.WeakSet[KeyedLock] = weakref.WeakSet()


class KeyedLock:
    """``async with locks.hold(key)`` serializes callers of the same key (per event loop).

    Uses asyncio locks under asyncio, and anyio locks under other event loops
    (trio, reached through aiobotocore's anyio/httpx mode).
    """

    def __init__(self) -> None:
        # Keyed by the loop itself, weakly (an id() could be reused by a new loop),
        # then by key: an asyncio.Lock belongs to the loop that first waits on it.
        self._locks: weakref.WeakKeyDictionary[object, _Locks] = weakref.WeakKeyDictionary()
        _INSTANCES.add(self)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        loop, new_lock = _running_loop()
        locks = self._locks.get(loop)
        if locks is None:
            locks = self._locks[loop] = {}
        lock, users = locks.get(key, (None, 0))
        if lock is None:
            lock = new_lock()
        locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = locks[key]
            if users == 1:
                del locks[key]
                if not locks and self._locks.get(loop) is locks:
                    del self._locks[loop]
            else:
                locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return sum(len(locks) for locks in self._locks.values())

    def _forget(self) -> None:
        self._locks.clear()


def _running_loop() -> tuple[object, Any]:
    """The running event loop (an object to key by), and the lock class that works on it."""
    import asyncio

    try:
        return asyncio.get_running_loop(), asyncio.Lock
    except RuntimeError:  # not asyncio: anyio is there, since aiobotocore needs it then
        import anyio.lowlevel

        return anyio.lowlevel.current_token().native_token, anyio.Lock


def _forget_after_fork() -> None:
    # The parent's loops do not run in a forked child; their locks mean nothing there.
    for instance in list(_INSTANCES):
        instance._forget()


os.register_at_fork(after_in_child=_forget_after_fork)


# Sessions that share a cache and a role (same cache key) fetch one at a time, so
# N concurrent first uses make one AssumeRole call and one cache write.
_SHARED_FETCHES = KeyedLock()


class AssumeRoleFetcher(FetchCore):
    """Fetches credentials for one role: from the cache if fresh, else by AssumeRole.

    The steps, the generated session name and the cache key (botocore's and the AWS
    CLI's) are ``FetchCore``'s; this adds the awaited I/O. The I/O is our own,
    because aiobotocore's ``AioAssumeRoleCredentialFetcher`` reads and writes the
    cache synchronously (a file cache would block the event loop), builds a new STS
    client per fetch from frozen source credentials, and prompts on stdin for MFA
    codes.
    """

    def __init__(
        self,
        parent: AioSession,
        role_arn: str,
        args: Mapping[str, Any],
        *,
        cache: _ResponseCache | None,
        cache_identity: object,
        check_chaining: bool = False,
    ) -> None:
        """``cache`` None: no cache at all (each fetch calls AssumeRole)."""
        super().__init__(role_arn, args, cache=cache, cache_identity=cache_identity)
        self._check_chaining = check_chaining
        self._parent = parent
        self._cache: _ResponseCache | None = cache

    async def fetch_credentials(self, rejected_key: str | None = None) -> dict[str, Any]:
        """Return credential metadata for the refresh engine (``source``: cache or sts).

        ``rejected_key``: an access key a service rejected; a cache entry holding it
        is a miss. Raises what ``FetchCore._fetch`` raises.
        """
        return await self._fetch(rejected_key)

    async def _cache_get(self, key: str) -> object:
        assert self._cache is not None
        return await self._cache.get(key)

    async def _cache_set(self, key: str, response: dict[str, Any]) -> None:
        assert self._cache is not None
        await self._cache.set(key, response)

    def _single_flight(self) -> AbstractAsyncContextManager[Any]:
        return _SHARED_FETCHES.hold((self._cache_identity, self.cache_key))

    def _process_lock(self) -> AbstractAsyncContextManager[Any] | None:
        # A plain getattr, so any cache can offer one.
        lock = getattr(self._cache, "lock", None)
        return lock(self.cache_key) if callable(lock) else None

    async def _resolve_parent_credentials(self) -> None:
        parent_credentials = await self._parent.get_credentials()
        if parent_credentials is None:
            raise ParentCredentialsError(role_arn=self._role_arn)
        if self._check_chaining and getattr(parent_credentials, "method", None) == "assume-role":
            # Known only now for a parent whose credentials were unresolved at assume_role().
            check_chained_duration(self._assume_kwargs)
        await parent_credentials.get_frozen_credentials()

    async def _next_token_code(self) -> str | None:
        token_code = self._token_codes.next()
        if inspect.isawaitable(token_code):
            return await token_code
        return token_code

    async def _assume_role(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        async with sts_client(self._parent) as sts:
            response: dict[str, Any] = await sts.assume_role(**kwargs)
        return response
