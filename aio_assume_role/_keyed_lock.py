"""Per-key asyncio locks that exist only while someone holds or waits for them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLock:
    """``async with locks.hold(key)`` serializes callers of the same key (per event loop)."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        # Keyed by loop too: an asyncio.Lock belongs to the loop that first waits on it.
        full_key = (id(asyncio.get_running_loop()), key)
        lock, users = self._locks.get(full_key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
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
