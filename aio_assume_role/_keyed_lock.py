"""Per-key locks that exist only while someone holds or waits for them."""

from __future__ import annotations

import os
import weakref
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

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
    import asyncio  # here: the sync path imports this module, and should not load asyncio

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
