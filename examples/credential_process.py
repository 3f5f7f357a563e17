"""Using a profile whose credential_process runs aio-assume-role (credential_process.ini).

Nothing here imports aio_assume_role: boto3 and aiobotocore run the command
themselves, read its JSON, and run it again when the credentials near expiry.

Set-up: add the profile in credential_process.ini to ~/.aws/config, with the path
of your virtualenv's Python and your role ARN. Run: ``python examples/credential_process.py``
(``PROFILE`` names another profile). The profile is chosen by name here: with
``AWS_PROFILE`` instead, the command would inherit it and, without ``--profile``,
would need its own profile's credentials (it stops that loop with exit code 2).
"""

import asyncio
import os

import boto3
from aiobotocore.session import AioSession

PROFILE = os.environ.get("PROFILE", "example-role")

# boto3 (needs the boto3 extra, or boto3 itself)
sts = boto3.Session(profile_name=PROFILE).client("sts")
print("boto3:", sts.get_caller_identity()["Arn"])


# aiobotocore: the command runs as a subprocess, without blocking the event loop
async def main() -> None:
    async with AioSession(profile=PROFILE).create_client("sts") as sts:
        print("aiobotocore:", (await sts.get_caller_identity())["Arn"])


asyncio.run(main())
