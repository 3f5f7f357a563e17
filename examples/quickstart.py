"""Quickstart: a self-refreshing assumed-role session, and a role chain.

``assume_role()`` makes no network call: the role is assumed on first use, and
again whenever the credentials near expiry, through the parent session's
credentials as they are at that time (so chains keep working for days).

Run: ``python examples/quickstart.py``, with ``ROLE_ARN`` (and ``CHAINED_ROLE_ARN``,
a role that ``ROLE_ARN`` may assume) set. Against a local moto server instead of
AWS: ``moto_server -p 5000 &``, then ``AWS_ENDPOINT_URL=http://127.0.0.1:5000``,
``AWS_DEFAULT_REGION=us-east-1`` and any ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``.
"""

import asyncio
import os

from aiobotocore.session import get_session

from aio_assume_role import assume_role

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")
CHAINED_ROLE_ARN = os.environ.get("CHAINED_ROLE_ARN", "arn:aws:iam::123456789012:role/Other")


async def main() -> None:
    parent = get_session()
    child = assume_role(parent, ROLE_ARN)  # no network call yet
    async with child.create_client("sts") as sts:
        identity = await sts.get_caller_identity()  # AssumeRole happens here
    print(identity["Arn"])  # arn:aws:sts::123456789012:assumed-role/Example/botocore-session-...

    # Chaining: assume another role from the assumed one.
    grandchild = assume_role(child, CHAINED_ROLE_ARN, RoleSessionName="quickstart")
    async with grandchild.create_client("sts") as sts:
        print((await sts.get_caller_identity())["Arn"])


if __name__ == "__main__":
    asyncio.run(main())
