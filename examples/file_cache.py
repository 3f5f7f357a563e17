"""A file cache shared across processes: a restarted process reuses the credentials.

``AioJSONFileCache`` writes what botocore's ``JSONFileCache`` writes, so this
library, boto3 and the AWS CLI (``~/.aws/cli/cache``) can share a directory.
Sessions given the same cache and the same AssumeRole request share one
AssumeRole call: here, 20 sessions at once make one, a second run of this script
makes none while the cached credentials are fresh, and processes started at the
same time make one between them (a file lock per entry).

Run: ``python examples/file_cache.py`` twice, with ``ROLE_ARN`` set to a role you may
assume (``CACHE_DIR`` picks another directory than the AWS CLI's).
"""

import asyncio
import os
from collections import Counter
from pathlib import Path

from aiobotocore.session import get_session

from aio_assume_role import AioJSONFileCache, RefreshEvent, add_refresh_listener, assume_role

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")
CACHE_DIR = Path(os.environ.get("CACHE_DIR", Path.home() / ".aws" / "cli" / "cache"))
sources: Counter[str | None] = Counter()


def count(event: RefreshEvent) -> None:
    sources[event.source] += 1  # "sts" or "cache"


async def main() -> None:
    add_refresh_listener(count)  # called after each credential load
    cache = AioJSONFileCache(CACHE_DIR)  # 0700 directories, 0600 files, atomic writes
    parent = get_session()
    # A session name makes the request, and so the cache key, the same in every run.
    sessions = [
        assume_role(parent, ROLE_ARN, RoleSessionName="cached", cache=cache) for _ in range(20)
    ]
    await asyncio.gather(*(s.prefetch_credentials() for s in sessions))
    async with sessions[0].create_client("sts") as sts:
        print((await sts.get_caller_identity())["Arn"])
    print(f"from STS: {sources['sts']}, from the cache: {sources['cache']}")


if __name__ == "__main__":
    asyncio.run(main())
