"""A file cache under trio: botocore's JSONFileCache, its I/O in anyio worker threads.

``AioJSONFileCache`` is built on asyncio, so under trio use a dict cache, or an async
cache (``get`` / ``set`` coroutines) that does its blocking I/O in worker threads, as
here. Entries are botocore's format, shared with boto3 and the AWS CLI, so a second
run of this script reuses the credentials instead of calling AssumeRole.

Needs the trio extra: ``pip install 'aio-assume-role[trio]'``.
Run: ``python examples/trio_file_cache.py`` twice, with ``ROLE_ARN`` set to a role you
may assume (``CACHE_DIR`` picks another directory than the AWS CLI's).
"""

import os
from pathlib import Path
from typing import Any

import anyio.to_thread
import trio
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession
from aiobotocore.session import get_session
from botocore.utils import JSONFileCache

from aio_assume_role import assume_role

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")
CACHE_DIR = os.environ.get("CACHE_DIR", str(Path.home() / ".aws" / "cli" / "cache"))
HTTPX = AioConfig(http_session_cls=HttpxSession)


class AnyioFileCache:
    """botocore's JSON file cache, its blocking I/O in anyio worker threads."""

    def __init__(self, dir_path: str) -> None:
        self._cache = JSONFileCache(dir_path)

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self._cache[key])
        except KeyError:  # missing or unreadable: a miss
            return None

    async def get(self, key: str) -> dict[str, Any] | None:
        return await anyio.to_thread.run_sync(self._read, key)

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await anyio.to_thread.run_sync(self._cache.__setitem__, key, value)


async def main() -> None:
    parent = get_session()
    parent.set_default_client_config(HTTPX)  # before assume_role()
    child = assume_role(
        parent, ROLE_ARN, RoleSessionName="trio-cached", cache=AnyioFileCache(CACHE_DIR)
    )
    child.set_default_client_config(HTTPX)
    async with child.create_client("sts") as sts:
        print((await sts.get_caller_identity())["Arn"])


if __name__ == "__main__":
    trio.run(main)
