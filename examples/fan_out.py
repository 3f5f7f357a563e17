"""Fan-out: one role in many accounts and regions, one call in each, streamed.

``fan_out`` assumes the role once per account, runs ``work(session, account, region)``
in every account and region, and yields each result as it completes: at most
``concurrency`` units in flight, every AssumeRole call through one shared STS
client. One unit's failure never stops the others: its result says at which stage
it failed (``"assume"`` or ``"work"``) and the error code. ``accounts`` also takes
``from_organization(...)``, to run in every account of an AWS Organization.

Run: ``python examples/fan_out.py``. Configure with ``ACCOUNT_IDS`` (comma-separated
12-digit ids), ``ROLE_NAME`` (a role of that name in each account) and ``REGIONS``.
"""

import asyncio
import os
from contextlib import aclosing

from aiobotocore.session import get_session

from aio_assume_role import Account, AssumedRoleSession, FanOutResult, fan_out, summarize

ACCOUNT_IDS = os.environ.get("ACCOUNT_IDS", "111111111111,222222222222,333333333333").split(",")
ROLE_NAME = os.environ.get("ROLE_NAME", "Auditor")
REGIONS = os.environ.get("REGIONS", "us-east-1,eu-west-1").split(",")


async def caller_arn(session: AssumedRoleSession, account: Account, region: str | None) -> str:
    """The work: one call in one account and region."""
    async with session.create_client("sts", region_name=region) as sts:
        return str((await sts.get_caller_identity())["Arn"])


async def main() -> None:
    results: list[FanOutResult[str]] = []
    stream = fan_out(
        get_session(),
        caller_arn,
        role_name=ROLE_NAME,
        accounts=ACCOUNT_IDS,
        regions=REGIONS,
        concurrency=50,
        RoleSessionName="inventory",
    )
    async with aclosing(stream):  # leaving early cancels what is still in flight
        async for result in stream:
            results.append(result)
            outcome = result.value if result.ok else f"{result.stage} failed: {result.error_code}"
            print(f"{result.account.id} {result.region}: {outcome}")
    summary = summarize(results)
    print(f"{summary.total} done, {len(summary.successes)} ok, failed: {summary.failure_counts}")


if __name__ == "__main__":
    asyncio.run(main())
