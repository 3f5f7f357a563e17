"""Every ``assume_role`` parameter, given a wrong type or an out-of-range value.

Each case must raise ``InvalidParameterError`` (a botocore ``ParamValidationError``
and a ``ValueError``) at ``assume_role()`` time, before any network call, whose
``.parameter`` is the parameter as the caller spelled it and whose message names
it and says what is wrong and how to fix it (``says``). No string value given
(ExternalId, TokenCode, Policy, a path...) is echoed in the message. Cases marked
xfail are known gaps, reported with the fix proposed; they are strict, so fixing
one makes its test fail until the mark is removed.
"""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import botocore.session
import pytest
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ParamValidationError
from moto_sts import StsServer
from support import ACCOUNT_ID, role_arn

from aio_assume_role.cache import AioJSONFileCache
from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.session import assume_role

SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"
POLICY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
MFA = {"SerialNumber": SERIAL}


def case(
    parameter: str,
    id: str,
    says: str,
    gap: str | None = None,
    now: type[BaseException] = AssertionError,
    **kwargs: Any,
) -> Any:
    """One bad-input case: the error names ``parameter`` and its message contains
    ``says`` (what is wrong and how to fix it); ``gap`` marks a known gap, failing
    today with ``now``."""
    marks = [pytest.mark.xfail(strict=True, reason=gap, raises=now)] if gap else []
    return pytest.param(kwargs, parameter, says, id=f"{parameter}-{id}", marks=marks)


ARN_LIKE = "an IAM role ARN like arn:aws:iam::123456789012:role/Name"
A_LIST = "must be a list, got {}: for one item, pass a list of one, [item]"
A_CACHE = "must be a cache: dict-like (__getitem__, __setitem__, __contains__, e.g. a dict)"
SESSION_NAME_CHARS = "may contain only letters, digits and _+=,.@-"
REGION = "must be a region name (a str like 'eu-west-1'), True, False or None, got {}"
DURATION = "must be an int (seconds) or a datetime.timedelta, got {}"

BAD_INPUT = [
    # RoleArn (positional)
    case("RoleArn", "none", f"must be a str, {ARN_LIKE}, got NoneType", RoleArn=None),
    case("RoleArn", "int", f"must be a str, {ARN_LIKE}, got int", RoleArn=123),
    case("RoleArn", "bytes", "got bytes", RoleArn=role_arn().encode()),
    case("RoleArn", "empty", f"is empty: pass {ARN_LIKE}", RoleArn=""),
    case(
        "RoleArn",
        "user-arn",
        "the resource (part 6) must start with role/",
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:user/alice",
    ),
    case(
        "RoleArn",
        "not-an-arn",
        "must be the role's ARN, not the role's name: get_role_arn(account_id, role_name)",
        RoleArn="MyRole",
    ),
    case(
        "RoleArn",
        "11-digit-account",
        "account id (part 5): it must be exactly 12 digits, got 11 characters",
        RoleArn="arn:aws:iam::12345678901:role/MyRole",
    ),
    case(
        "RoleArn",
        "trailing-newline",
        "has leading or trailing whitespace: strip it",
        RoleArn=role_arn() + "\n",
    ),
    # RoleSessionName
    case("RoleSessionName", "int", "must be a str, got int", RoleSessionName=42),
    case("RoleSessionName", "bytes", "must be a str, got bytes", RoleSessionName=b"session"),
    case("RoleSessionName", "empty", "must have length at least 2, got 0", RoleSessionName=""),
    case(
        "RoleSessionName", "too-short", "must have length at least 2, got 1", RoleSessionName="x"
    ),
    case(
        "RoleSessionName",
        "too-long",
        "must have length at most 64, got 65",
        RoleSessionName="s" * 65,
    ),
    case("RoleSessionName", "bad-chars", SESSION_NAME_CHARS, RoleSessionName="my session!"),
    # PolicyArns
    case("PolicyArns", "str-not-list", A_LIST.format("str"), PolicyArns=POLICY_ARN),
    case("PolicyArns", "dict-not-list", A_LIST.format("dict"), PolicyArns={"arn": POLICY_ARN}),
    case(
        "PolicyArns",
        "int-item",
        "PolicyArns[0]: must be an ARN str or a dict {'arn': ...}, got int",
        PolicyArns=[123],
    ),
    case(
        "PolicyArns",
        "short-arn",
        "PolicyArns[0].arn: must have length at least 20",
        PolicyArns=["arn:x"],
    ),
    case(
        "PolicyArns",
        "too-many",
        "must have at most 10 items, got 11",
        PolicyArns=[POLICY_ARN] * 11,
    ),
    case(
        "PolicyArns",
        "misspelled-key",
        "PolicyArns[0].Arn: is not a valid key (valid: arn)",
        PolicyArns=[{"Arn": POLICY_ARN}],
    ),
    # Policy
    case("Policy", "empty", "must have length at least 1, got 0", Policy=""),
    case(
        "Policy",
        "not-json",
        "must be a JSON policy document",
        Policy="allow everything please",
    ),
    case(
        "Policy",
        "int",
        "must be a JSON str or a dict, got int",
        Policy=123,
    ),
    case(
        "Policy",
        "not-serializable",
        "must be JSON-serializable",
        Policy={"Statement": {1, 2}},
    ),
    # DurationSeconds
    case("DurationSeconds", "str", DURATION.format("str"), DurationSeconds="3600"),
    case("DurationSeconds", "float", DURATION.format("float"), DurationSeconds=3600.0),
    case("DurationSeconds", "bool", DURATION.format("bool"), DurationSeconds=True),
    case("DurationSeconds", "too-short", "must be at least 900, got 899", DurationSeconds=899),
    case("DurationSeconds", "too-long", "must be at most 43200, got 43201", DurationSeconds=43201),
    case("DurationSeconds", "huge", "must be at most 43200", DurationSeconds=10**30),
    case(
        "DurationSeconds",
        "negative-timedelta",
        "must be at least 900, got -5",
        DurationSeconds=datetime.timedelta(seconds=-5),
    ),
    case(
        "DurationSeconds",
        "long-timedelta",
        "must be at most 43200, got 46800",
        DurationSeconds=datetime.timedelta(hours=13),
    ),
    # Tags (a dict {key: value} is accepted, see test_params)
    case("Tags", "dict-with-int-value", "Tags[0].Value: must be a str, got int", Tags={"team": 1}),
    case(
        "Tags",
        "tuple-item",
        "Tags[0]: must be a dict {'Key': ..., 'Value': ...}, got tuple",
        Tags=[("team", "core")],
    ),
    case("Tags", "str", "must be a list of {'Key': ..., 'Value': ...} or a dict", Tags="team"),
    case("Tags", "missing-value", "Tags[0].Value: is required", Tags=[{"Key": "team"}]),
    case(
        "Tags",
        "int-value",
        "Tags[0].Value: must be a str, got int",
        Tags=[{"Key": "team", "Value": 1}],
    ),
    case(
        "Tags",
        "empty-key",
        "Tags[0].Key: must have length at least 1",
        Tags=[{"Key": "", "Value": "core"}],
    ),
    case(
        "Tags",
        "too-many",
        "must have at most 50 items, got 51",
        Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)],
    ),
    case(
        "Tags",
        "unknown-key",
        "Tags[0].Team: is not a valid key (valid: Key, Value)",
        Tags=[{"Key": "team", "Value": "core", "Team": "x"}],
    ),
    # TransitiveTagKeys
    case("TransitiveTagKeys", "str-not-list", A_LIST.format("str"), TransitiveTagKeys="team"),
    case(
        "TransitiveTagKeys",
        "int-item",
        "TransitiveTagKeys[0]: must be a str, got int",
        TransitiveTagKeys=[1],
    ),
    case(
        "TransitiveTagKeys",
        "empty-item",
        "TransitiveTagKeys[0]: must have length at least 1",
        TransitiveTagKeys=[""],
    ),
    case(
        "TransitiveTagKeys",
        "too-many",
        "must have at most 50 items, got 51",
        TransitiveTagKeys=[f"k{i}" for i in range(51)],
    ),
    # ExternalId
    case("ExternalId", "int", "must be a str, got int", ExternalId=1234567),
    case("ExternalId", "bytes", "must be a str, got bytes", ExternalId=b"external-id"),
    case("ExternalId", "too-short", "must have length at least 2, got 1", ExternalId="x"),
    case(
        "ExternalId", "too-long", "must have length at most 1224, got 1225", ExternalId="e" * 1225
    ),
    case(
        "ExternalId",
        "bad-chars",
        "may contain only letters, digits and _+=,.@:/-",
        ExternalId="sensitive external id!",
    ),
    # SerialNumber
    case(
        "SerialNumber", "int", "must be a str, got int", SerialNumber=123456789, TokenCode="123456"
    ),
    case(
        "SerialNumber",
        "too-short",
        "must have length at least 9, got 5",
        SerialNumber="arn:x",
        TokenCode="123456",
    ),
    case(
        "SerialNumber",
        "bad-chars",
        "may contain only letters, digits and _+=/:,.@-",
        SerialNumber="my mfa device!",
        TokenCode="123456",
    ),
    # TokenCode
    case("TokenCode", "missing", "is required when SerialNumber is given", **MFA),
    case("TokenCode", "int", "must be a str, got int", TokenCode=987650, **MFA),
    case("TokenCode", "too-short", "must have length at least 6, got 5", TokenCode="98765", **MFA),
    case("TokenCode", "too-long", "must have length at most 6, got 7", TokenCode="9876501", **MFA),
    case("TokenCode", "not-digits", "may contain only digits", TokenCode="98765x", **MFA),
    # SourceIdentity
    case(
        "SourceIdentity",
        "int",
        "must be a str, got int",
        SourceIdentity=7,
    ),
    case(
        "SourceIdentity",
        "too-short",
        "must have length at least 2, got 1",
        SourceIdentity="x",
    ),
    case(
        "SourceIdentity",
        "int-with-session-name",
        "must be a str, got int",
        RoleSessionName="named",
        SourceIdentity=7,
    ),
    case(
        "SourceIdentity",
        "too-long",
        "must have length at most 64, got 65",
        RoleSessionName="named",
        SourceIdentity="s" * 65,
    ),
    case(
        "SourceIdentity",
        "bad-chars",
        SESSION_NAME_CHARS,
        RoleSessionName="named",
        SourceIdentity="aws:alice",
    ),
    # region_name
    case("region_name", "int", REGION.format("int"), region_name=1),
    case("region_name", "bytes", REGION.format("bytes"), region_name=b"eu-west-1"),
    case(
        "region_name", "empty", "is not a region name: pass one like 'eu-west-1'", region_name=""
    ),
    case("region_name", "spaces", "no spaces or newline", region_name="eu west 1"),
    case("region_name", "space", "no spaces or newline", region_name="us east"),
    case("region_name", "newline", "no spaces or newline", region_name="us-east-1\n"),
    case("region_name", "upper-case", "lower-case letters", region_name="US-EAST-1"),
    case(
        "region_name",
        "typo",
        "is not a region botocore knows, and has a word that is in no region's name",
        region_name="eu-wst-1",
    ),
    # cache
    case("cache", "object", f"{A_CACHE} or with async get/set, got object", cache=object()),
    case("cache", "int", f"{A_CACHE} or with async get/set, got int", cache=1),
    case(
        "cache",
        "str",
        "is a path (str), not a cache: pass a file cache on that directory, "
        "AioJSONFileCache(path)",
        cache="~/.aws/cli/cache",
    ),
    case(
        "cache",
        "path",
        "is a path (PurePosixPath), not a cache: pass a file cache on that directory",
        cache=pathlib.PurePosixPath("/cache"),
    ),
    case(
        "cache",
        "class",
        "is the class AioJSONFileCache, not a cache: pass an instance, "
        "e.g. AioJSONFileCache(path)",
        cache=AioJSONFileCache,
    ),
    case(
        "cache",
        "dict-class",
        "is the class dict, not a cache: pass an instance",
        cache=dict,
    ),
    case(
        "cache",
        "sync-get-set",
        f"{A_CACHE} or with async get/set, got C",
        cache=type("C", (), {"get": len, "set": len})(),
    ),
    case(
        "cache",
        "list",
        f"{A_CACHE} or with async get/set, got list",
        cache=[],
    ),
    # additional_kwargs
    case(
        "additional_kwargs",
        "list",
        "must be a dict of AssumeRole parameters by name, got list",
        additional_kwargs=[("RoleSessionName", "s1")],
    ),
    case(
        "additional_kwargs",
        "str",
        "must be a dict of AssumeRole parameters by name, got str",
        additional_kwargs="DurationSeconds=900",
    ),
    case(
        "additional_kwargs",
        "non-str-key",
        "keys must be AssumeRole parameter names (str)",
        additional_kwargs={1: "x"},
    ),
    case(
        "NotAParameter",
        "unknown-name",
        "is not an AssumeRole parameter (valid: RoleArn, RoleSessionName,",
        additional_kwargs={"NotAParameter": 1},
    ),
    case(
        "DurationSeconds",
        "bad-value-inside",
        "must be an int (seconds)",
        additional_kwargs={"DurationSeconds": "1h"},
    ),
    # What is not JSON, or not Unicode text (STS, or botocore's encoder, would refuse it)
    case("Policy", "nan", "no NaN or infinity, which STS refuses", Policy={"x": float("nan")}),
    case(
        "Policy",
        "infinity-in-str",
        "NaN, Infinity and -Infinity are not JSON",
        Policy='{"Version": "2012-10-17", "Limit": Infinity}',
    ),
    case("Tags", "lone-surrogate", "has a lone surrogate", Tags={"team": "plat\udcffform"}),
    case(
        "PolicyArns",
        "lone-surrogate",
        "has a lone surrogate",
        PolicyArns=["arn:aws:iam::aws:policy/Read\udcffOnly"],
    ),
    case(
        "TransitiveTagKeys",
        "lone-surrogate",
        "has a lone surrogate (not Unicode text, so it cannot be sent) at position 5",
        TransitiveTagKeys=["team\udcff"],
    ),
]


def _strings_in(kwargs: dict[str, Any]) -> list[str]:
    """Every str value given (a RoleArn too), nested ones included: none may be echoed."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):  # values: keys are parameter or field names
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                walk(item)

    walk(list(kwargs.values()))
    return found


@pytest.mark.parametrize(("kwargs", "parameter", "says"), BAD_INPUT)
def test_bad_input_names_the_parameter_and_says_how_to_fix_it(
    parent: AioSession, sts_server: StsServer, kwargs: dict[str, Any], parameter: str, says: str
) -> None:
    kwargs = dict(kwargs)
    arn = kwargs.pop("RoleArn", role_arn())
    with pytest.raises(InvalidParameterError) as caught:
        assume_role(parent, arn, **kwargs)
    error = caught.value
    assert isinstance(error, ParamValidationError)
    assert isinstance(error, ValueError)
    assert error.parameter == parameter
    message = str(error)
    assert message.startswith("Invalid assume_role parameter(s):\n")
    assert f"  {parameter}" in message
    assert says in message, message
    for value in _strings_in({"RoleArn": arn, **kwargs}):
        # 4 characters or fewer ("x", "team") may appear in a message by chance.
        if len(value) > 4 and value != role_arn():
            assert value not in message, value
    assert sts_server.count() == 0


def test_every_case_on_the_sync_path_gives_the_same_message(sts_server: StsServer) -> None:
    """One validation layer: the sync path reports each case as the async one does,
    but for the file cache it suggests (its own JSONFileCache)."""
    import boto3

    from aio_assume_role import sync

    for param in BAD_INPUT:
        kwargs = dict(param.values[0])
        arn = kwargs.pop("RoleArn", role_arn())
        with pytest.raises(InvalidParameterError) as from_async:
            assume_role(get_session(), arn, **kwargs)
        with pytest.raises(InvalidParameterError) as from_sync:
            sync.assume_role(boto3.Session(), arn, **kwargs)
        expected = str(from_async.value).replace("AioJSONFileCache(path)", "JSONFileCache(path)")
        assert str(from_sync.value) == expected, param.id
    assert sts_server.count() == 0


@pytest.mark.parametrize(
    ("session", "got"),
    [
        (None, "got NoneType"),
        ("default", "got str"),
        (botocore.session.get_session(), "got botocore.session.Session"),
        (object(), "got object"),
    ],
    ids=["none", "profile-name", "botocore-session", "object"],
)
def test_session_must_be_an_aioboto_session(session: object, got: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        assume_role(session, role_arn())  # type: ignore[arg-type]
    assert caught.value.parameter == "session"
    wanted = "an aiobotocore AioSession (aiobotocore.session.get_session())"
    assert f"session: must be {wanted}, {got}" in str(caught.value)


def test_a_boto3_session_on_the_async_path_is_pointed_to_the_sync_path() -> None:
    import boto3

    with pytest.raises(InvalidParameterError) as caught:
        assume_role(boto3.Session(), role_arn())  # type: ignore[arg-type]
    assert (
        "session: must be an aiobotocore AioSession (aiobotocore.session.get_session()), "
        "got boto3.session.Session; for boto3, use aio_assume_role.sync.assume_role"
    ) in str(caught.value)


def test_every_parameter_is_covered() -> None:
    """The table above has a case for each parameter of assume_role (but ``validate``)."""
    import inspect

    names = set(inspect.signature(assume_role).parameters) - {"session", "validate"}
    assert names <= {param.values[1] for param in BAD_INPUT}


class TestChainingLimit:
    """AWS caps sessions assumed with assumed-role credentials at one hour."""

    @pytest.mark.parametrize(
        "duration", [3601, 7200, datetime.timedelta(hours=2)], ids=["3601", "7200", "timedelta"]
    )
    def test_longer_duration_on_a_chained_session_is_rejected(
        self, parent: AioSession, sts_server: StsServer, duration: int | datetime.timedelta
    ) -> None:
        middle = assume_role(parent, role_arn("B"))
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(middle, role_arn("C"), DurationSeconds=duration)
        assert caught.value.parameter == "DurationSeconds"
        assert "chaining" in str(caught.value) and "3600" in str(caught.value)
        assert sts_server.count() == 0

    async def test_one_hour_on_a_three_level_chain_works(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        b = assume_role(parent, role_arn("B"), DurationSeconds=7200)  # not chained: allowed
        c = assume_role(b, role_arn("C"), DurationSeconds=3600)
        d = assume_role(c, role_arn("D"), DurationSeconds=datetime.timedelta(hours=1))
        await d.prefetch_credentials()
        calls = sts_server.calls()
        assert [call["DurationSeconds"] for call in calls] == ["7200", "3600", "3600"]

    @pytest.fixture
    def profile_parent(self, aws_env: Any, sts_server: StsServer) -> AioSession:
        """A parent whose own credentials come from botocore's profile assume-role provider."""
        (aws_env / "aws_config").write_text(
            f"[default]\n[profile chained]\nrole_arn = {role_arn('Source')}\n"
            "source_profile = base\n[profile base]\n"
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        )
        return AioSession(profile="chained")

    async def test_parent_with_resolved_assume_role_credentials_is_chained(
        self, profile_parent: AioSession
    ) -> None:
        credentials = await profile_parent.get_credentials()
        assert credentials.method == "assume-role"
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(profile_parent, role_arn("C"), DurationSeconds=7200)
        assert caught.value.parameter == "DurationSeconds"

    async def test_parent_with_unresolved_assume_role_credentials_is_checked_at_first_use(
        self, profile_parent: AioSession, sts_server: StsServer
    ) -> None:
        child = assume_role(profile_parent, role_arn("C"), DurationSeconds=7200)
        with pytest.raises(InvalidParameterError) as caught:
            await child.prefetch_credentials()
        assert caught.value.parameter == "DurationSeconds"
        assert role_arn("C") not in [call["RoleArn"] for call in sts_server.calls()]

    async def test_validate_false_skips_the_first_use_chaining_check(
        self, profile_parent: AioSession, sts_server: StsServer
    ) -> None:
        child = assume_role(profile_parent, role_arn("C"), DurationSeconds=7200, validate=False)
        await child.prefetch_credentials()  # moto does not enforce the cap; real STS would
        assert sts_server.calls()[-1]["RoleArn"] == role_arn("C")


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


DEEP = {
    "Policy": ({"Policy": {"Statement": _deep(100_000)}}, "Policy"),
    "Tags": ({"Tags": [{"Key": "k", "Value": _deep(100_000)}]}, "Tags"),
    "additional_kwargs": (
        {"additional_kwargs": {"ProvidedContexts": _deep(100_000)}},
        "additional_kwargs",
    ),
}


@pytest.mark.parametrize(("kwargs", "parameter"), DEEP.values(), ids=DEEP)
@pytest.mark.parametrize("validate", [True, False])
def test_deeply_nested_values_are_refused_naming_the_parameter(
    sts_server: StsServer, kwargs: dict[str, Any], parameter: str, validate: bool
) -> None:
    """Copying or serializing them raised RecursionError, even without validation."""
    import boto3

    from aio_assume_role import sync

    for call in (
        lambda: assume_role(get_session(), role_arn(), validate=validate, **kwargs),
        lambda: sync.assume_role(boto3.Session(), role_arn(), validate=validate, **kwargs),
    ):
        with pytest.raises(InvalidParameterError) as caught:
            call()
        assert caught.value.parameter == parameter
        assert "nested more than 100 levels deep" in str(caught.value)
    assert sts_server.count() == 0


def test_a_deeply_nested_policy_string_is_refused(sts_server: StsServer) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        assume_role(get_session(), role_arn(), Policy="[" * 100_000 + "]" * 100_000)
    assert caught.value.parameter == "Policy"
    assert "nested too deep" in str(caught.value)


def test_shallow_nesting_is_fine() -> None:
    child = assume_role(get_session(), role_arn(), Policy={"Statement": _deep(50)})
    assert child is not None


@pytest.mark.parametrize(
    "region", ["eu-west-1", "eusc-de-east-1", "aws-global", "eu-south-3", "xy-central-1"]
)
def test_known_and_new_regions_are_taken(region: str) -> None:
    """A region newer than the installed botocore (a new number, a new prefix) is not
    refused: only a name of the wrong shape, or with a word no region has."""
    import boto3

    from aio_assume_role import sync

    assume_role(get_session(), role_arn(), region_name=region)
    sync.assume_role(boto3.Session(), role_arn(), region_name=region)
