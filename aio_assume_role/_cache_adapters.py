"""Adapters from the caches ``assume_role(cache=...)`` accepts onto the async protocol.

Internal: ``aio_assume_role.cache`` has the public protocol. No aiobotocore or
aiofiles import here, so the sync path can use ``MappingCache`` and the checks.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Hashable, Mapping, Sequence
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from botocore.utils import JSONFileCache

from ._compat import json_file_cache_dir

if TYPE_CHECKING:
    from .cache import AsyncCredentialCache

__all__ = [
    "MappingCache",
    "ThreadedMappingCache",
    "as_async_cache",
    "cache_identity",
    "is_mapping_like",
    "is_supported_cache",
]


class MappingCache:
    """Adapts a dict-like cache to the async protocol, with botocore's copy semantics.

    Calls run inline on the event loop: right for in-memory dicts.
    """

    def __init__(self, mapping: Any) -> None:
        self.mapping = mapping

    async def get(self, key: str) -> dict[str, Any] | None:
        return self._get(key)

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        self._set(key, value)

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            if key in self.mapping:
                return deepcopy(self.mapping[key])  # type: ignore[no-any-return]
        except KeyError:  # botocore's JSONFileCache: a corrupt or unreadable file
            pass
        return None

    def _set(self, key: str, value: Mapping[str, Any]) -> None:
        self.mapping[key] = deepcopy(dict(value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.mapping).__name__})"


class ThreadedMappingCache(MappingCache):
    """Adapts a dict-like cache that does blocking I/O: each call runs in a worker thread."""

    # botocore's JSONFileCache opens, reads, writes and fsyncs files synchronously;
    # called inline, every cache read and write would stall the whole event loop.
    async def get(self, key: str) -> dict[str, Any] | None:
        import asyncio  # here: the sync path imports this module, and should not load asyncio

        return await asyncio.to_thread(self._get, key)

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        import asyncio

        await asyncio.to_thread(self._set, key, value)


def _is_async_cache(cache: object) -> bool:
    return all(inspect.iscoroutinefunction(getattr(cache, name, None)) for name in ("get", "set"))


def is_mapping_like(cache: object) -> bool:
    # A list or a string has item access too, but keys would be indices.
    if isinstance(cache, (Sequence, str, bytes)):
        return False
    return all(hasattr(cache, name) for name in ("__getitem__", "__setitem__", "__contains__"))


def is_supported_cache(cache: object) -> bool:
    """Whether ``cache`` can be passed as ``assume_role(cache=...)``."""
    return cache is None or _is_async_cache(cache) or is_mapping_like(cache)


def cache_identity(cache: object, adapted: AsyncCredentialCache) -> Hashable:
    """What decides that two sessions share a cache, and so share fetches of a key.

    File caches (ours or botocore's) are the same cache when they use the same
    directory; any other cache object only shares with itself; no cache (a private
    dict) shares with nobody.
    """
    from .file_cache import AioJSONFileCache  # the async path's, already imported there

    if isinstance(cache, AioJSONFileCache):
        return ("dir", os.path.realpath(cache.dir_path))
    if isinstance(cache, JSONFileCache) and (working_dir := json_file_cache_dir(cache)):
        return ("dir", os.path.realpath(working_dir))
    return ("object", id(cache if cache is not None else adapted))


def as_async_cache(cache: object) -> AsyncCredentialCache:
    """Return ``cache`` as an async cache; ``None`` gives a fresh private dict.

    Async caches are used as they are, botocore's ``JSONFileCache`` (and subclasses,
    such as aws-assume-role-lib's) runs in worker threads, other dict-likes inline.
    """
    if cache is None:
        return MappingCache({})
    if _is_async_cache(cache):
        return cache  # type: ignore[return-value]
    if isinstance(cache, JSONFileCache):
        return ThreadedMappingCache(cache)
    if is_mapping_like(cache):
        return MappingCache(cache)
    raise TypeError(f"unsupported cache type {type(cache).__name__}")


_is_mapping_like = is_mapping_like  # the name aio_assume_role.cache had
