"""Code written for aws-assume-role-lib, running on aio_assume_role.sync (boto3).

Only the import changes: the rest of this file is aws-assume-role-lib 2.10 code,
and runs as is with ``import aws_assume_role_lib`` too.

Needs the boto3 extra: ``pip install 'aio-assume-role[boto3]'``.
Run: ``python examples/sync_drop_in.py``, with ``ROLE_ARN`` set to a role you may
assume (its account id and name are reused below).
"""

import os
import tempfile

import boto3

import aio_assume_role.sync as aws_assume_role_lib  # was: import aws_assume_role_lib

ROLE_ARN = os.environ.get("ROLE_ARN", "arn:aws:iam::123456789012:role/Example")
account_id, role_name = ROLE_ARN.split(":")[4], ROLE_ARN.split("/")[-1]

session = boto3.Session()

# A session for the role; AssumeRole runs on first use, and again before expiry.
assumed = aws_assume_role_lib.assume_role(session, ROLE_ARN)
print(assumed.client("sts").get_caller_identity()["Arn"])
print(assumed.assume_role_parent_session is session)

# The helpers, a session name and a file cache in botocore's format.
role_arn = aws_assume_role_lib.get_role_arn(account_id, role_name)
with tempfile.TemporaryDirectory() as cache_dir:
    named = aws_assume_role_lib.assume_role(
        session,
        role_arn,
        RoleSessionName="drop-in",
        DurationSeconds=900,
        cache=aws_assume_role_lib.JSONFileCache(cache_dir),
    )
    print(named.client("sts").get_caller_identity()["Arn"])
print(aws_assume_role_lib.get_assumed_role_session_arn(account_id, role_name, "drop-in"))

# patch_boto3() adds boto3.Session.assume_role and boto3.assume_role.
aws_assume_role_lib.patch_boto3()
patched = boto3.Session().assume_role(ROLE_ARN, RoleSessionName="patched")
print(patched.client("sts").get_caller_identity()["Arn"])
