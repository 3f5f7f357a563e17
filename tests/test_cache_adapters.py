"""The cache protocol: which adapter each kind of cache gets, and single-flight sharing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.utils import JSONFileCache
from moto_sts import StsServer
from support import role_arn

from aio_assume_role import assume_role
from aio_assume_role._core.request import is_supported_cache
from aio_assume_role.cache import (
    AioJSONFileCache,
    AsyncCredentialCache,
    MappingCache,
    ThreadedMappingCache,
    as_async_cache,
)

VALUE = {"Credentials": {"AccessKeyId": "A", "Expiration": "2031-01-01T00:00:00UTC"}}


class ThreadRecordingDict(dict[str, Any]):
    threads: set[int]

    def __getitem__(self, key: str) -> Any:
        self.threads.add(threading.get_ident())
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.threads.add(threading.get_ident())
        super().__setitem__(key, value)


class ThreadRecordingJSONFileCache(JSONFileCache):  # type: ignore[misc]
    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self.threads: set[int] = set()

    def __getitem__(self, key: str) -> Any:
        self.threads.add(threading.get_ident())
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.threads.add(threading.get_ident())
        super().__setitem__(key, value)


class TestAdapters:
    def test_each_kind_of_cache_gets_its_adapter(self, tmp_path: Path) -> None:
        file_cache = AioJSONFileCache(tmp_path)
        assert as_async_cache(file_cache) is file_cache
        assert isinstance(as_async_cache(JSONFileCache(str(tmp_path))), ThreadedMappingCache)
        assert type(as_async_cache({})) is MappingCache
        assert isinstance(file_cache, AsyncCredentialCache)

    def test_supported_caches(self, tmp_path: Path) -> None:
        for cache in (None, {}, AioJSONFileCache(tmp_path), JSONFileCache(str(tmp_path))):
            assert is_supported_cache(cache)
        assert not is_supported_cache(object())

    async def test_botocore_json_file_cache_runs_in_a_worker_thread(self, tmp_path: Path) -> None:
        raw = ThreadRecordingJSONFileCache(str(tmp_path))
        cache = as_async_cache(raw)
        await cache.set("k", VALUE)
        assert await cache.get("k") == VALUE
        assert raw.threads and threading.get_ident() not in raw.threads

    async def test_plain_dict_stays_on_the_loop_thread(self) -> None:
        raw = ThreadRecordingDict()
        raw.threads = set()
        cache = as_async_cache(raw)
        await cache.set("k", VALUE)
        assert await cache.get("k") == VALUE
        assert raw.threads == {threading.get_ident()}

    async def test_values_are_copied_in_and_out_like_botocore(self) -> None:
        raw: dict[str, Any] = {}
        cache = as_async_cache(raw)
        value = {"Credentials": {"AccessKeyId": "A"}}
        await cache.set("k", value)
        value["Credentials"]["AccessKeyId"] = "changed"
        got = await cache.get("k")
        assert got == {"Credentials": {"AccessKeyId": "A"}}
        got["Credentials"]["AccessKeyId"] = "changed"  # type: ignore[index]
        assert raw["k"]["Credentials"]["AccessKeyId"] == "A"

    async def test_corrupt_botocore_file_is_a_miss_through_the_adapter(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "k.json").write_text('{"trunc')
        assert await as_async_cache(JSONFileCache(str(tmp_path))).get("k") is None


# Caches that count their writes, one of each kind assume_role accepts.
class CountingFileCache(AioJSONFileCache):
    writes = 0

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        self.writes += 1
        await super().set(key, value)


class CountingDict(dict[str, Any]):
    writes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)


class CountingJSONFileCache(JSONFileCache):  # type: ignore[misc]
    writes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)


CACHES: dict[str, tuple[Callable[[Path], Any], int]] = {
    "AioJSONFileCache": (CountingFileCache, 200),
    "dict": (lambda _: CountingDict(), 50),
    "botocore JSONFileCache": (lambda path: CountingJSONFileCache(str(path)), 50),
}


@pytest.mark.parametrize(("make_cache", "sessions"), CACHES.values(), ids=CACHES.keys())
async def test_concurrent_first_uses_sharing_a_cache_make_one_call_and_one_write(
    make_cache: Callable[[Path], Any],
    sessions: int,
    tmp_path: Path,
    parent: AioSession,
    sts_server: StsServer,
) -> None:
    cache = make_cache(tmp_path / "cache")
    children = [assume_role(parent, role_arn(), cache=cache) for _ in range(sessions)]
    keys = await asyncio.gather(*(access_key(child) for child in children))
    assert sts_server.count() == 1
    assert cache.writes == 1
    assert len(set(keys)) == 1


async def test_sessions_with_different_caches_do_not_wait_for_each_other(
    parent: AioSession, sts_server: StsServer
) -> None:
    children = [assume_role(parent, role_arn(), cache={}) for _ in range(3)]
    await asyncio.gather(*(access_key(child) for child in children))
    assert sts_server.count() == 3


async def test_one_cache_shared_by_different_parents_single_flights_too(
    tmp_path: Path, sts_server: StsServer
) -> None:
    cache = CountingFileCache(tmp_path)
    children = [assume_role(get_session(), role_arn(), cache=cache) for _ in range(20)]
    await asyncio.gather(*(access_key(child) for child in children))
    assert sts_server.count() == 1
    assert cache.writes == 1


async def test_file_caches_on_one_directory_share_fetches(
    tmp_path: Path, parent: AioSession, sts_server: StsServer
) -> None:
    # Separate cache objects, ours and botocore's, on the same directory: one call.
    caches = [CountingFileCache(tmp_path), CountingFileCache(tmp_path / "." / "")]
    caches.append(CountingJSONFileCache(str(tmp_path)))
    children = [assume_role(parent, role_arn(), cache=caches[i % 3]) for i in range(30)]
    await asyncio.gather(*(access_key(child) for child in children))
    assert sts_server.count() == 1
    assert sum(cache.writes for cache in caches) == 1


async def access_key(session: AioSession) -> str:
    credentials = await session.get_credentials()
    return str((await credentials.get_frozen_credentials()).access_key)
