"""Per-key locks that exist only while someone holds or waits for them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any


class KeyedLock:
    """``async with locks.hold(key)`` serializes callers of the same key (per event loop).

    Uses asyncio locks under asyncio, and anyio locks under other event loops
    (trio, reached through aiobotocore's anyio/httpx mode).
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[AbstractAsyncContextManager[Any], int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        # Keyed by loop too: an asyncio.Lock belongs to the loop that first waits on it.
        loop_id, new_lock = _running_loop()
        full_key = (loop_id, key)
        lock, users = self._locks.get(full_key, (None, 0))
        if lock is None:
            lock = new_lock()
        self._locks[full_key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[full_key]
            if users == 1:
                del self._locks[full_key]
            else:
                self._locks[full_key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def _running_loop() -> tuple[int, Any]:
    """An id for the running event loop, and the lock class that works on it."""
    import asyncio  # here: the sync path imports this module, and should not load asyncio

    try:
        return id(asyncio.get_running_loop()), asyncio.Lock
    except RuntimeError:  # not asyncio: anyio is there, since aiobotocore needs it then
        import anyio.lowlevel

        return id(anyio.lowlevel.current_token().native_token), anyio.Lock
