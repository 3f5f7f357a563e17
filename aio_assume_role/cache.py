"""The async credential-cache protocol the fetcher awaits.

A cache maps a key (botocore's AssumeRole cache key) to the raw AssumeRole
response. Anything with async ``get``/``set`` (such as ``AioJSONFileCache``) is
used as is; botocore's ``JSONFileCache`` is called in a worker thread; any other
dict-like object (``__getitem__``/``__setitem__``/``__contains__``) is called inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

# The adapters onto the protocol are internal (aio_assume_role._cache_adapters);
# importable from here as before.
from ._cache_adapters import (  # noqa: F401
    MappingCache,
    ThreadedMappingCache,
    _is_mapping_like,
    as_async_cache,
    cache_identity,
    is_supported_cache,
)
from .file_cache import AioJSONFileCache

__all__ = ["AioJSONFileCache", "AsyncCredentialCache"]


@runtime_checkable
class AsyncCredentialCache(Protocol):
    """An async cache of AssumeRole responses."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached value, or None on a miss (never raise for a bad entry)."""

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        """Store a value."""
