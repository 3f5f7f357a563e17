"""Fan-out: assume one role in many accounts at once, then make one call in each.

``assume_role_in_accounts`` runs at most ``concurrency`` AssumeRole calls at a time,
all through one shared STS client, and yields each account's result as it
completes; one account's failure never stops the others. The sessions it yields
have their credentials fetched and refresh themselves from then on.

Run: ``python examples/fan_out.py``. Configure with ``ACCOUNT_IDS`` (comma-separated
12-digit ids) and ``ROLE_NAME`` (a role of that name in each account).
"""

import asyncio
import os
from contextlib import aclosing

from aiobotocore.session import get_session

from aio_assume_role import AssumedRoleSession, assume_role_in_accounts

ACCOUNT_IDS = os.environ.get("ACCOUNT_IDS", "111111111111,222222222222,333333333333").split(",")
ROLE_NAME = os.environ.get("ROLE_NAME", "Auditor")


async def caller_arn(session: AssumedRoleSession) -> str:
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


async def main() -> None:
    parent = get_session()
    sessions: dict[str, AssumedRoleSession] = {}
    failed = 0
    results = assume_role_in_accounts(
        parent, ACCOUNT_IDS, ROLE_NAME, concurrency=50, RoleSessionName="inventory"
    )
    async with aclosing(results):  # leaving early cancels what is still in flight
        async for account_id, session, error in results:
            if session is None:
                failed += 1
                print(f"{account_id}: failed: {error}")
            else:
                sessions[account_id] = session
    # One call per account, all at once; the sessions stay usable for as long as needed.
    arns = await asyncio.gather(*(caller_arn(s) for s in sessions.values()))
    for account_id, arn in sorted(zip(sessions, arns, strict=True)):
        print(f"{account_id}: {arn}")
    print(f"{len(sessions)} accounts, {failed} failed")


if __name__ == "__main__":
    asyncio.run(main())
