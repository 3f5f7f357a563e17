"""A worker process for tests/test_cross_process.py (run as ``python xproc_worker.py MODE ...``).

``assume DIR N``: build sessions for roles XprocRole0..N-1 with ``AioJSONFileCache(DIR)``,
print "ready", wait for a line on stdin (the start signal), load every session's credentials
at once, then print one JSON object: role ARN -> access key id.

``hold DIR KEY``: take ``AioJSONFileCache(DIR).lock(KEY)``, print "locked", then wait for a
line on stdin: "fill PATH" stores the JSON object in PATH under KEY first; anything else
(or end of input) just releases. A test kills it to play a holder that dies, or leaves it
waiting to play one that hangs.

The AWS environment (moto's endpoint, dummy keys) comes from the parent test's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from support import role_arn

from aio_assume_role import assume_role
from aio_assume_role.cache import AioJSONFileCache


def role_arns(count: int) -> list[str]:
    return [role_arn(f"XprocRole{i}") for i in range(count)]


async def _stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def assume(directory: str, count: int) -> None:
    from aiobotocore.session import get_session

    cache = AioJSONFileCache(directory)
    parent = get_session()
    sessions = {arn: assume_role(parent, arn, cache=cache) for arn in role_arns(count)}
    print("ready", flush=True)
    await _stdin_line()

    async def access_key(session: object) -> str:
        credentials = await session.get_credentials()  # type: ignore[attr-defined]
        return str((await credentials.get_frozen_credentials()).access_key)

    keys = await asyncio.gather(*(access_key(session) for session in sessions.values()))
    print(json.dumps(dict(zip(sessions, keys, strict=True))), flush=True)


async def hold(directory: str, key: str) -> None:
    cache = AioJSONFileCache(directory)
    async with cache.lock(key, timeout=30) as locked:
        print("locked" if locked else "not locked", flush=True)
        command = (await _stdin_line()).split(maxsplit=1)
        if command and command[0] == "fill":
            path = Path(command[1].strip())
            await cache.set(key, json.loads(await asyncio.to_thread(path.read_text)))
    print("released", flush=True)


def main() -> None:
    mode, directory, argument = sys.argv[1:4]
    if mode == "assume":
        asyncio.run(assume(directory, int(argument)))
    elif mode == "hold":
        asyncio.run(hold(directory, argument))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
