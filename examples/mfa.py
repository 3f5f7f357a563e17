"""MFA: assume a role that requires MFA, with a token provider.

``TokenCode`` is a callable here (sync or async) that returns a fresh code each
time AssumeRole is called, so the session can refresh for as long as someone
answers; it is never called when the credentials come from the cache. (A fixed
6-digit string serves one AssumeRole call only: a later refresh that needs STS
raises ``MFARefreshError``.) This provider asks on the terminal, in a worker
thread, so the event loop keeps running while it waits.

Run: ``python examples/mfa.py``, with ``ROLE_ARN`` and ``MFA_SERIAL`` (your MFA
device's ARN) set, and type the code from the device.
"""

import asyncio
import os
import sys

from aiobotocore.session import get_session

from aio_assume_role import assume_role

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")
MFA_SERIAL = os.environ.get("MFA_SERIAL", "arn:aws:iam::123456789012:mfa/alice")
codes_asked = 0


async def token_code() -> str:
    global codes_asked
    codes_asked += 1
    print(f"MFA code for {MFA_SERIAL}: ", end="", file=sys.stderr, flush=True)
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def main() -> None:
    parent = get_session()
    cache: dict[str, object] = {}  # shared by both sessions below
    for name in ("first", "second"):
        session = assume_role(
            parent,
            ROLE_ARN,
            SerialNumber=MFA_SERIAL,
            TokenCode=token_code,
            cache=cache,
            RoleSessionName="mfa-example",
        )
        async with session.create_client("sts") as sts:
            print(f"{name}: {(await sts.get_caller_identity())['Arn']}")
    print(f"codes asked for: {codes_asked}")  # 1: the second session hit the cache


if __name__ == "__main__":
    asyncio.run(main())
