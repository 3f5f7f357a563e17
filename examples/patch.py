"""Patching: ``session.assume_role(RoleArn, ...)`` on boto3 and aiobotocore sessions.

``patch_boto3()`` adds ``boto3.Session.assume_role`` and ``boto3.assume_role`` (through
boto3's default session), as aws-assume-role-lib does; ``patch_aiobotocore()`` adds
``AioSession.assume_role``. Both take ``assume_role()``'s arguments after the session.

Needs the boto3 extra: ``pip install 'aio-assume-role[boto3]'``.
Run: ``python examples/patch.py``, with ``ROLE_ARN`` set to a role you may assume.
"""

import asyncio
import os

import boto3
from aiobotocore.session import get_session

from aio_assume_role import patch_aiobotocore
from aio_assume_role.sync import patch_boto3

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")

patch_boto3()
assumed = boto3.assume_role(ROLE_ARN, RoleSessionName="default-session")
print(assumed.client("sts").get_caller_identity()["Arn"])
assumed = boto3.Session().assume_role(ROLE_ARN, RoleSessionName="boto3-session")
print(assumed.client("sts").get_caller_identity()["Arn"])

patch_aiobotocore()


async def main() -> None:
    child = get_session().assume_role(ROLE_ARN, RoleSessionName="aiobotocore-session")
    async with child.create_client("sts") as sts:
        print((await sts.get_caller_identity())["Arn"])


asyncio.run(main())
