"""The async credential-cache protocol the fetcher awaits, and adapters onto it.

A cache maps a key (botocore's AssumeRole cache key) to the raw AssumeRole
response. Anything with async ``get``/``set`` is used as is; any dict-like
object (``__getitem__``/``__setitem__``/``__contains__``) is adapted.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from copy import deepcopy
from typing import Any, Protocol, runtime_checkable

__all__ = ["AsyncCredentialCache", "MappingCache", "as_async_cache", "is_supported_cache"]


@runtime_checkable
class AsyncCredentialCache(Protocol):
    """An async cache of AssumeRole responses."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached value, or None on a miss (never raise for a bad entry)."""

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        """Store a value."""


class MappingCache:
    """Adapts a dict-like cache to the async protocol, with botocore's copy semantics."""

    def __init__(self, mapping: Any) -> None:
        self.mapping = mapping

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            if key in self.mapping:
                return deepcopy(self.mapping[key])  # type: ignore[no-any-return]
        except KeyError:
            pass
        return None

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        self.mapping[key] = deepcopy(dict(value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.mapping).__name__})"


def _is_async_cache(cache: object) -> bool:
    return all(inspect.iscoroutinefunction(getattr(cache, name, None)) for name in ("get", "set"))


def _is_mapping_like(cache: object) -> bool:
    return all(hasattr(cache, name) for name in ("__getitem__", "__setitem__", "__contains__"))


def is_supported_cache(cache: object) -> bool:
    """Whether ``cache`` can be passed as ``assume_role(cache=...)``."""
    return cache is None or _is_async_cache(cache) or _is_mapping_like(cache)


def as_async_cache(cache: object) -> AsyncCredentialCache:
    """Return ``cache`` as an async cache; ``None`` gives a fresh private dict."""
    if cache is None:
        return MappingCache({})
    if _is_async_cache(cache):
        return cache  # type: ignore[return-value]
    if _is_mapping_like(cache):
        return MappingCache(cache)
    raise TypeError(f"unsupported cache type {type(cache).__name__}")
