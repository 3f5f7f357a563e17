"""The sync and async paths are one library: identical requests, errors and signatures;
and code written for aws-assume-role-lib runs on aio_assume_role.sync unchanged but
for its import."""

from __future__ import annotations

import datetime
import inspect
import re
import textwrap
from typing import Any

import aws_assume_role_lib
import boto3
import pytest
from aiobotocore.session import AioSession, get_session
from moto_sts import StsServer
from support import ACCOUNT_ID, FakeClock, role_arn

import aio_assume_role
import aio_assume_role.sync
from aio_assume_role import session as async_path
from aio_assume_role import sync as sync_path
from aio_assume_role.errors import InvalidParameterError, MFARefreshError

MFA_SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
}

REQUESTS: dict[str, dict[str, Any]] = {
    "minimal": {},
    "everything": {
        "RoleSessionName": "parity",
        "Policy": POLICY,
        "PolicyArns": [
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            {"arn": "arn:aws:iam::aws:policy/A"},
        ],
        "DurationSeconds": datetime.timedelta(minutes=20),
        "Tags": [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "test"}],
        "TransitiveTagKeys": ["team"],
        "ExternalId": "ext-id",
        "SourceIdentity": "alice",
        "additional_kwargs": {"ExternalId": "loses-to-named", "Policy": "{}"},
    },
    "source identity as session name": {"SourceIdentity": "alice", "DurationSeconds": 1800},
    "automatic session name": {
        "RoleSessionName": aio_assume_role.AUTOMATIC_ROLE_SESSION_NAME,
        "SourceIdentity": "alice",
    },
    "policy as string, via additional_kwargs": {
        "additional_kwargs": {"Policy": '{"Version": "2012-10-17", "Statement": []}'}
    },
    "mfa": {"SerialNumber": MFA_SERIAL, "TokenCode": "654321"},
    "tags as a dict": {"Tags": {"team": "core", "env": "test"}, "TransitiveTagKeys": ["team"]},
}


def _normalized(calls: list[dict[str, str]]) -> list[dict[str, str]]:
    """Requests with botocore's generated session name (a timestamp) made comparable."""
    return [
        {
            name: re.sub(r"^botocore-session-\d+$", "botocore-session-<ts>", value)
            for name, value in call.items()
        }
        for call in calls
    ]


@pytest.mark.parametrize("kwargs", REQUESTS.values(), ids=REQUESTS.keys())
async def test_both_paths_send_the_identical_assume_role_request(
    sts_server: StsServer, kwargs: dict[str, Any]
) -> None:
    async_child = async_path.assume_role(get_session(), role_arn(), **kwargs)
    await async_child.prefetch_credentials()
    async_calls = sts_server.calls()
    sts_server.reset()

    sync_child = sync_path.assume_role(boto3.Session(), role_arn(), **kwargs)
    sync_child.get_credentials().get_frozen_credentials()
    sync_calls = sts_server.calls()

    assert len(async_calls) == 1
    assert _normalized(sync_calls) == _normalized(async_calls)


@pytest.mark.parametrize(("cache", "sources"), [(None, ["sts", "sts"]), ({}, ["sts", "cache"])])
async def test_cache_none_means_no_cache_on_both_paths(
    sts_server: StsServer, cache: dict[str, Any] | None, sources: list[str]
) -> None:
    # None: every fetch calls AssumeRole (nothing kept); a dict: the second is a hit.
    async_fetcher = async_path.assume_role(
        get_session(), role_arn(), cache=None if cache is None else {}
    )._assumed_role_credentials.fetcher
    async_sources = [(await async_fetcher.fetch_credentials())["source"] for _ in range(2)]
    sync_credentials = sync_path.assume_role(
        boto3.Session(), role_arn(), cache=None if cache is None else {}
    ).get_credentials()
    sync_sources = [sync_credentials.fetcher.fetch_credentials()["source"] for _ in range(2)]

    assert async_sources == sync_sources == sources
    assert len(sts_server.calls()) == 2 * sources.count("sts")


BAD_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "user arn": ("arn:aws:iam::123456789012:user/alice", {}),
    "short duration and long name": (
        role_arn(),
        {"DurationSeconds": 5, "RoleSessionName": "x" * 65},
    ),
    "policy arns as a string": (role_arn(), {"PolicyArns": "arn:aws:iam::aws:policy/A"}),
    "unknown extra parameter": (role_arn(), {"additional_kwargs": {"foo": "bar"}}),
    "serial without code": (role_arn(), {"SerialNumber": MFA_SERIAL}),
    "bad tag": (role_arn(), {"Tags": [{"Key": "k"}]}),
    "bad region": (role_arn(), {"region_name": "not a region!"}),
    "bad cache": (role_arn(), {"cache": object()}),
}


@pytest.mark.parametrize(("arn", "kwargs"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_both_paths_reject_bad_input_with_the_same_problems(
    sts_server: StsServer, arn: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidParameterError) as from_async:
        async_path.assume_role(get_session(), arn, **kwargs)
    with pytest.raises(InvalidParameterError) as from_sync:
        sync_path.assume_role(boto3.Session(), arn, **kwargs)
    assert from_sync.value.problems == from_async.value.problems
    assert str(from_sync.value) == str(from_async.value)


def test_signatures_match() -> None:
    sync_parameters = inspect.signature(sync_path.assume_role).parameters
    async_parameters = inspect.signature(async_path.assume_role).parameters
    assert list(sync_parameters) == list(async_parameters)
    for name, parameter in async_parameters.items():
        twin = sync_parameters[name]
        assert (twin.kind, twin.default) == (parameter.kind, parameter.default), name
        if name != "session":
            assert twin.annotation == parameter.annotation, name


def test_signature_is_aws_assume_role_libs() -> None:
    ours = inspect.signature(sync_path.assume_role).parameters
    theirs = inspect.signature(aws_assume_role_lib.assume_role).parameters
    assert list(ours) == list(theirs)
    for name, parameter in theirs.items():
        assert (ours[name].kind, ours[name].default) == (parameter.kind, parameter.default)


def test_sync_module_exports_everything_aws_assume_role_lib_does() -> None:
    theirs = aws_assume_role_lib.aws_assume_role_lib.__all__  # the package re-exports these
    assert set(theirs) <= set(aio_assume_role.sync.__all__)
    assert aio_assume_role.sync.__all__ == sorted(aio_assume_role.sync.__all__)
    assert (
        aio_assume_role.sync.AUTOMATIC_ROLE_SESSION_NAME
        == aws_assume_role_lib.AUTOMATIC_ROLE_SESSION_NAME
    )


@pytest.mark.parametrize(
    "account_id",
    [1234567890, "1234567890", 123456789012, "12345678901", "123456789012", 7],
    ids=["short-int", "short-str", "12-digit-int", "11-digit-str", "12-digit-str", "1-digit"],
)
def test_account_ids_are_zero_padded_as_aws_assume_role_libs(account_id: Any) -> None:
    # aws-assume-role-lib's rule (an int cannot keep leading zeros; ids exported through
    # spreadsheets lose them), on both paths.
    role_arn = aws_assume_role_lib.get_role_arn(account_id, "team/R")
    session_arn = aws_assume_role_lib.get_assumed_role_session_arn(account_id, "team/R", "s")
    assert role_arn == f"arn:aws:iam::{int(account_id):012d}:role/team/R"
    for module in (sync_path, aio_assume_role):
        assert module.get_role_arn(account_id, "team/R") == role_arn
        assert module.get_assumed_role_session_arn(account_id, "team/R", "s") == session_arn


@pytest.mark.parametrize(
    "account_id",
    ["1234567890123", 1234567890123, "12345678901x", "", True],
    ids=["13-digits", "13-digit-int", "letter", "empty", "bool"],
)
def test_what_is_no_account_id_raises_where_aws_assume_role_lib_builds_an_arn(
    account_id: Any,
) -> None:
    # A deliberate difference: aws-assume-role-lib builds an ARN STS will refuse.
    for module in (sync_path, aio_assume_role):
        with pytest.raises(InvalidParameterError) as caught:
            module.get_role_arn(account_id, "R")
        assert caught.value.parameter == "account_id"
        with pytest.raises(InvalidParameterError):
            module.get_assumed_role_session_arn(account_id, "R", "s")


class TestMFAPolicyIsShared:
    """A fixed TokenCode serves one AssumeRole call on both paths (one shared helper)."""

    async def test_async(self, parent: AioSession, clock: FakeClock) -> None:
        child = async_path.assume_role(
            parent, role_arn(), SerialNumber=MFA_SERIAL, TokenCode="654321"
        )
        await child.prefetch_credentials()
        clock.advance(2 * 3600)
        with pytest.raises(MFARefreshError):
            await (await child.get_credentials()).get_frozen_credentials()

    def test_sync(self, sts_server: StsServer, clock: FakeClock) -> None:
        child = sync_path.assume_role(
            boto3.Session(), role_arn(), SerialNumber=MFA_SERIAL, TokenCode="654321"
        )
        child.get_credentials().get_frozen_credentials()
        clock.advance(2 * 3600)
        with pytest.raises(MFARefreshError):
            child.get_credentials().get_frozen_credentials()


# Written for aws-assume-role-lib, from its README and test suite; the test runs it as
# is, then with only the import line changed.
DROP_IN_PROGRAM = textwrap.dedent(
    """\
    import datetime
    import os
    import tempfile

    import boto3
    import botocore.exceptions

    import aws_assume_role_lib

    results = {}
    session = boto3.Session()
    role_arn = aws_assume_role_lib.get_role_arn("123456789012", "MyRole")

    assumed = aws_assume_role_lib.assume_role(session, role_arn, RoleSessionName="drop-in")
    results["arn"] = assumed.client("sts").get_caller_identity()["Arn"]
    results["parent"] = assumed.assume_role_parent_session is session

    assumed = aws_assume_role_lib.assume_role(
        session,
        role_arn,
        Policy={"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sns:*"}]},
        PolicyArns=["arn:aws:iam::aws:policy/AWSDenyAll"],
        DurationSeconds=datetime.timedelta(minutes=15),
        Tags=[{"Key": "team", "Value": "core"}],
        ExternalId="ext",
        SourceIdentity="alice",
    )
    results["source_identity_arn"] = assumed.client("sts").get_caller_identity()["Arn"]

    assumed = aws_assume_role_lib.assume_role(
        session,
        role_arn,
        RoleSessionName=aws_assume_role_lib.AUTOMATIC_ROLE_SESSION_NAME,
        SourceIdentity="alice",
    )
    name = assumed.client("sts").get_caller_identity()["Arn"].rsplit("/", 1)[1]
    results["automatic_name"] = name.startswith("botocore-session-")

    chained = aws_assume_role_lib.assume_role(assumed, role_arn, RoleSessionName="chained")
    results["chained_arn"] = chained.client("sts").get_caller_identity()["Arn"]

    try:
        aws_assume_role_lib.assume_role(session, role_arn, DurationSeconds=5)
    except botocore.exceptions.ParamValidationError:
        results["validation"] = "ParamValidationError"
    lazy = aws_assume_role_lib.assume_role(session, role_arn, DurationSeconds=5, validate=False)
    try:
        lazy.client("sts").get_caller_identity()
    except botocore.exceptions.ParamValidationError:
        results["lazy_validation"] = "ParamValidationError"

    with tempfile.TemporaryDirectory() as directory:
        cache = aws_assume_role_lib.JSONFileCache(directory)
        cached = aws_assume_role_lib.assume_role(session, role_arn, cache=cache)
        cached.client("sts").get_caller_identity()
        results["cache_files"] = len(os.listdir(directory))

    parent = boto3.Session(region_name="eu-west-1")
    results["regions"] = [
        aws_assume_role_lib.assume_role(parent, role_arn).region_name,
        aws_assume_role_lib.assume_role(parent, role_arn, region_name=True).region_name,
        aws_assume_role_lib.assume_role(parent, role_arn, region_name="us-east-2").region_name,
    ]

    results["lambda_name"] = aws_assume_role_lib.generate_lambda_session_name(
        function_name="fn", function_version="3", identifier="abc"
    )
    results["session_arn"] = aws_assume_role_lib.get_assumed_role_session_arn(
        "001234567890", "path/MyRole", "sess"
    )

    aws_assume_role_lib.patch_boto3()
    boto3.DEFAULT_SESSION = session
    patched = boto3.assume_role(role_arn, RoleSessionName="patched-1")
    results["patched_function"] = patched.client("sts").get_caller_identity()["Arn"]
    patched = session.assume_role(role_arn, RoleSessionName="patched-2")
    results["patched_method"] = patched.client("sts").get_caller_identity()["Arn"]

    os.environ.pop("AWS_ACCESS_KEY_ID")
    os.environ.pop("AWS_SECRET_ACCESS_KEY")
    try:
        aws_assume_role_lib.assume_role(boto3.Session(), role_arn)
    except botocore.exceptions.NoCredentialsError:
        results["no_credentials"] = "NoCredentialsError"
    """
)


@pytest.fixture
def clean_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the program patches into boto3 is undone after the test."""
    monkeypatch.setattr(boto3.Session, "assume_role", None, raising=False)
    monkeypatch.setattr(boto3, "assume_role", None, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def _run(
    source: str, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    sts_server.reset()
    with monkeypatch.context() as scoped:
        scoped.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        scoped.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        namespace: dict[str, Any] = {}
        exec(compile(source, "drop_in_program.py", "exec"), namespace)
    return namespace["results"], _normalized(sts_server.calls())


def test_code_for_aws_assume_role_lib_runs_by_changing_only_the_import(
    sts_server: StsServer, monkeypatch: pytest.MonkeyPatch, clean_boto3: None
) -> None:
    ported = DROP_IN_PROGRAM.replace(
        "\nimport aws_assume_role_lib\n", "\nimport aio_assume_role.sync as aws_assume_role_lib\n"
    )
    changed = [
        (a, b)
        for a, b in zip(DROP_IN_PROGRAM.splitlines(), ported.splitlines(), strict=True)
        if a != b
    ]
    assert changed == [
        ("import aws_assume_role_lib", "import aio_assume_role.sync as aws_assume_role_lib")
    ]

    original, original_requests = _run(DROP_IN_PROGRAM, sts_server, monkeypatch)
    ours, our_requests = _run(ported, sts_server, monkeypatch)

    assert ours == original
    assert our_requests == original_requests
    assert ours["arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/drop-in"
    assert ours["source_identity_arn"].endswith("/MyRole/alice")
    assert ours["regions"] == ["eu-west-1", "eu-west-1", "us-east-2"]
    assert ours["cache_files"] == 1
    assert set(ours) >= {"validation", "lazy_validation", "no_credentials", "patched_method"}
    assert boto3.Session.assume_role is sync_path.assume_role  # the last run patched ours in


def test_the_sync_module_has_upstreams_version() -> None:
    """aws-assume-role-lib exports ``__version__`` (outside ``__all__``): the release whose
    API the drop-in reproduces, the one the dev extra installs to compare against."""
    assert sync_path.__version__ == aws_assume_role_lib.__version__
    assert "__version__" not in sync_path.__all__
