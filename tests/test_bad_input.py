"""Every ``assume_role`` parameter, given a wrong type or an out-of-range value.

Each case must raise ``InvalidParameterError`` (a botocore ``ParamValidationError``
and a ``ValueError``) at ``assume_role()`` time, before any network call, whose
``.parameter`` is the parameter as the caller spelled it and whose message names
it. Values that may be sensitive (ExternalId, TokenCode, Policy) never appear in
the message. Cases marked xfail are known gaps, reported with the fix proposed;
they are strict, so fixing one makes its test fail until the mark is removed.
"""

from __future__ import annotations

import datetime
from typing import Any

import botocore.session
import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ParamValidationError
from moto_sts import StsServer
from support import ACCOUNT_ID, role_arn

from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.session import assume_role

SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"
POLICY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
MFA = {"SerialNumber": SERIAL}


def case(
    parameter: str,
    id: str,
    gap: str | None = None,
    now: type[BaseException] = AssertionError,
    **kwargs: Any,
) -> Any:
    """One bad-input case; ``gap`` marks a known gap, failing today with ``now``."""
    marks = [pytest.mark.xfail(strict=True, reason=gap, raises=now)] if gap else []
    return pytest.param(kwargs, parameter, id=f"{parameter}-{id}", marks=marks)


BAD_INPUT = [
    # RoleArn (positional)
    case("RoleArn", "none", RoleArn=None),
    case("RoleArn", "int", RoleArn=123),
    case("RoleArn", "bytes", RoleArn=role_arn().encode()),
    case("RoleArn", "empty", RoleArn=""),
    case("RoleArn", "user-arn", RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:user/alice"),
    case("RoleArn", "not-an-arn", RoleArn="MyRole"),
    # RoleSessionName
    case("RoleSessionName", "int", RoleSessionName=42),
    case("RoleSessionName", "bytes", RoleSessionName=b"session"),
    case("RoleSessionName", "empty", RoleSessionName=""),
    case("RoleSessionName", "too-short", RoleSessionName="x"),
    case("RoleSessionName", "too-long", RoleSessionName="s" * 65),
    case("RoleSessionName", "bad-chars", RoleSessionName="my session!"),
    # PolicyArns
    case("PolicyArns", "str-not-list", PolicyArns=POLICY_ARN),
    case("PolicyArns", "dict-not-list", PolicyArns={"arn": POLICY_ARN}),
    case("PolicyArns", "int-item", PolicyArns=[123]),
    case("PolicyArns", "short-arn", PolicyArns=["arn:x"]),
    case(
        "PolicyArns",
        "too-many",
        PolicyArns=[POLICY_ARN] * 11,
    ),
    case(
        "PolicyArns",
        "misspelled-key",
        PolicyArns=[{"Arn": POLICY_ARN}],
    ),
    # Policy
    case("Policy", "empty", Policy=""),
    case(
        "Policy",
        "not-json",
        Policy="allow everything please",
    ),
    case(
        "Policy",
        "int",
        Policy=123,
    ),
    case(
        "Policy",
        "not-serializable",
        Policy={"Statement": {1, 2}},
    ),
    # DurationSeconds
    case("DurationSeconds", "str", DurationSeconds="3600"),
    case("DurationSeconds", "float", DurationSeconds=3600.0),
    case("DurationSeconds", "bool", DurationSeconds=True),
    case("DurationSeconds", "too-short", DurationSeconds=899),
    case("DurationSeconds", "too-long", DurationSeconds=43201),
    case("DurationSeconds", "huge", DurationSeconds=10**30),
    case("DurationSeconds", "negative-timedelta", DurationSeconds=datetime.timedelta(seconds=-5)),
    case("DurationSeconds", "long-timedelta", DurationSeconds=datetime.timedelta(hours=13)),
    # Tags
    case("Tags", "dict-not-list", Tags={"team": "core"}),
    case("Tags", "tuple-item", Tags=[("team", "core")]),
    case("Tags", "missing-value", Tags=[{"Key": "team"}]),
    case("Tags", "int-value", Tags=[{"Key": "team", "Value": 1}]),
    case("Tags", "empty-key", Tags=[{"Key": "", "Value": "core"}]),
    case("Tags", "too-many", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]),
    case(
        "Tags",
        "unknown-key",
        Tags=[{"Key": "team", "Value": "core", "Team": "x"}],
    ),
    # TransitiveTagKeys
    case("TransitiveTagKeys", "str-not-list", TransitiveTagKeys="team"),
    case("TransitiveTagKeys", "int-item", TransitiveTagKeys=[1]),
    case("TransitiveTagKeys", "empty-item", TransitiveTagKeys=[""]),
    case("TransitiveTagKeys", "too-many", TransitiveTagKeys=[f"k{i}" for i in range(51)]),
    # ExternalId
    case("ExternalId", "int", ExternalId=1234567),
    case("ExternalId", "bytes", ExternalId=b"external-id"),
    case("ExternalId", "too-short", ExternalId="x"),
    case("ExternalId", "too-long", ExternalId="e" * 1225),
    case("ExternalId", "bad-chars", ExternalId="sensitive external id!"),
    # SerialNumber
    case("SerialNumber", "int", SerialNumber=123456789, TokenCode="123456"),
    case("SerialNumber", "too-short", SerialNumber="arn:x", TokenCode="123456"),
    case("SerialNumber", "bad-chars", SerialNumber="my mfa device!", TokenCode="123456"),
    # TokenCode
    case("TokenCode", "missing", **MFA),
    case("TokenCode", "int", TokenCode=987650, **MFA),
    case("TokenCode", "too-short", TokenCode="98765", **MFA),
    case("TokenCode", "too-long", TokenCode="9876501", **MFA),
    case("TokenCode", "not-digits", TokenCode="98765x", **MFA),
    # SourceIdentity
    case(
        "SourceIdentity",
        "int",
        SourceIdentity=7,
    ),
    case(
        "SourceIdentity",
        "too-short",
        SourceIdentity="x",
    ),
    case("SourceIdentity", "int-with-session-name", RoleSessionName="named", SourceIdentity=7),
    case("SourceIdentity", "too-long", RoleSessionName="named", SourceIdentity="s" * 65),
    case("SourceIdentity", "bad-chars", RoleSessionName="named", SourceIdentity="aws:alice"),
    # region_name
    case("region_name", "int", region_name=1),
    case("region_name", "bytes", region_name=b"eu-west-1"),
    case("region_name", "empty", region_name=""),
    case("region_name", "spaces", region_name="eu west 1"),
    # cache
    case("cache", "object", cache=object()),
    case("cache", "int", cache=1),
    case("cache", "str", cache="~/.aws/cli/cache"),
    case("cache", "sync-get-set", cache=type("C", (), {"get": len, "set": len})()),
    case(
        "cache",
        "list",
        cache=[],
    ),
    # additional_kwargs
    case("additional_kwargs", "list", additional_kwargs=[("RoleSessionName", "s1")]),
    case("additional_kwargs", "str", additional_kwargs="DurationSeconds=900"),
    case(
        "additional_kwargs",
        "non-str-key",
        additional_kwargs={1: "x"},
    ),
    case("NotAParameter", "unknown-name", additional_kwargs={"NotAParameter": 1}),
    case("DurationSeconds", "bad-value-inside", additional_kwargs={"DurationSeconds": "1h"}),
]


@pytest.mark.parametrize(("kwargs", "parameter"), BAD_INPUT)
def test_bad_input_names_the_parameter(
    parent: AioSession, sts_server: StsServer, kwargs: dict[str, Any], parameter: str
) -> None:
    kwargs = dict(kwargs)
    arn = kwargs.pop("RoleArn", role_arn())
    with pytest.raises(InvalidParameterError) as caught:
        assume_role(parent, arn, **kwargs)
    error = caught.value
    assert isinstance(error, ParamValidationError)
    assert isinstance(error, ValueError)
    assert error.parameter == parameter
    assert parameter in str(error)
    for name in ("ExternalId", "TokenCode", "Policy"):
        value = kwargs.get(name)
        if isinstance(value, str) and len(value) > 2:
            assert value not in str(error)
    assert sts_server.count() == 0


@pytest.mark.parametrize(
    "session",
    [None, "default", botocore.session.get_session(), object()],
    ids=["none", "profile-name", "botocore-session", "object"],
)
def test_session_must_be_an_aioboto_session(session: object) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        assume_role(session, role_arn())  # type: ignore[arg-type]
    assert caught.value.parameter == "session"
    assert "session" in str(caught.value)


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
