"""aio_assume_role.sync.assume_role for boto3, against moto's STS server.

Ports the behaviours aws-assume-role-lib's own test suite and README cover (identity,
session names, policies, durations, validation, no parent credentials, file cache,
regions), plus what this package adds (scaled refresh windows, MFA providers,
chaining caps, async-cache rejection).
"""

from __future__ import annotations

import datetime
import getpass
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials
import botocore.session
import pytest
from aiobotocore.session import get_session
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    RefreshWithMFAUnsupportedError,
)
from moto_sts import StsServer
from support import ACCOUNT_ID, FakeClock, role_arn

from aio_assume_role._core import clock as _clock
from aio_assume_role.cache import AioJSONFileCache
from aio_assume_role.errors import (
    ExpiredCredentialsError,
    InvalidParameterError,
    MFARefreshError,
    ParentCredentialsError,
)
from aio_assume_role.sync import (
    AUTOMATIC_ROLE_SESSION_NAME,
    JSONFileCache,
    SyncAssumedRoleCredentials,
    assume_role,
)

MFA_SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"


@pytest.fixture
def session(sts_server: StsServer) -> boto3.Session:
    """A plain boto3 session with the dummy keys, talking to moto."""
    return boto3.Session()


def caller_arn(session: boto3.Session) -> str:
    return str(session.client("sts").get_caller_identity()["Arn"])


def access_key(session: boto3.Session) -> str:
    return str(session.get_credentials().get_frozen_credentials().access_key)


def test_child_is_a_boto3_session_acting_as_the_role(session: boto3.Session) -> None:
    child = assume_role(session, role_arn("MyRole"), RoleSessionName="my-session")
    assert isinstance(child, boto3.Session)
    assert caller_arn(child) == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/my-session"
    assert child.assume_role_parent_session is session
    assert child.get_credentials().method == "assume-role"


def test_parent_session_still_acts_as_itself(session: boto3.Session) -> None:
    parent_arn = caller_arn(session)
    child = assume_role(session, role_arn())
    assert caller_arn(child.assume_role_parent_session) == parent_arn
    assert caller_arn(child) != parent_arn


def test_no_sts_call_until_first_use_then_one(
    session: boto3.Session, sts_server: StsServer
) -> None:
    child = assume_role(session, role_arn())
    sts = child.client("sts")
    assert sts_server.count() == 0
    sts.get_caller_identity()
    sts.get_caller_identity()
    child.client("sts").get_caller_identity()
    assert sts_server.count() == 1


def test_generated_session_name_is_botocores(
    session: boto3.Session, sts_server: StsServer
) -> None:
    arn = caller_arn(assume_role(session, role_arn("MyRole")))
    (call,) = sts_server.calls()
    assert call["RoleSessionName"].startswith("botocore-session-")
    assert arn.endswith(f"/MyRole/{call['RoleSessionName']}")


class TestSessionNameAndSourceIdentity:
    def test_source_identity_is_the_session_name_when_none_is_given(
        self, session: boto3.Session, sts_server: StsServer
    ) -> None:
        arn = caller_arn(assume_role(session, role_arn(), SourceIdentity="alice"))
        assert arn.endswith("/alice")
        assert sts_server.calls()[0]["SourceIdentity"] == "alice"

    def test_a_given_session_name_wins(self, session: boto3.Session) -> None:
        child = assume_role(session, role_arn(), RoleSessionName="given", SourceIdentity="alice")
        assert caller_arn(child).endswith("/given")

    def test_automatic_session_name_generates_one(
        self, session: boto3.Session, sts_server: StsServer
    ) -> None:
        child = assume_role(
            session,
            role_arn(),
            RoleSessionName=AUTOMATIC_ROLE_SESSION_NAME,
            SourceIdentity="alice",
        )
        name = caller_arn(child).rsplit("/", 1)[1]
        assert name.startswith("botocore-session-")
        assert sts_server.calls()[0]["SourceIdentity"] == "alice"


def test_tags_as_a_dict_reach_sts_as_key_value_pairs(
    session: boto3.Session, sts_server: StsServer
) -> None:
    caller_arn(assume_role(session, role_arn(), Tags={"team": "core", "env": "dev"}))
    (call,) = sts_server.calls()
    assert (call["Tags.member.1.Key"], call["Tags.member.1.Value"]) == ("team", "core")
    assert (call["Tags.member.2.Key"], call["Tags.member.2.Value"]) == ("env", "dev")


def test_policies_duration_and_tags_reach_sts_normalized(
    session: boto3.Session, sts_server: StsServer
) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sns:*"}]}
    child = assume_role(
        session,
        role_arn(),
        Policy=policy,
        PolicyArns=["arn:aws:iam::aws:policy/AWSDenyAll", {"arn": "arn:aws:iam::aws:policy/A"}],
        DurationSeconds=datetime.timedelta(minutes=15),
        Tags=[{"Key": "team", "Value": "core"}],
        TransitiveTagKeys=["team"],
        ExternalId="ext",
    )
    caller_arn(child)
    (call,) = sts_server.calls()
    assert json.loads(call["Policy"]) == policy
    assert call["PolicyArns.member.1.arn"] == "arn:aws:iam::aws:policy/AWSDenyAll"
    assert call["PolicyArns.member.2.arn"] == "arn:aws:iam::aws:policy/A"
    assert call["DurationSeconds"] == "900"
    assert (call["Tags.member.1.Key"], call["Tags.member.1.Value"]) == ("team", "core")
    assert call["TransitiveTagKeys.member.1"] == "team"
    assert call["ExternalId"] == "ext"
    remaining = child.get_credentials().expiry_time - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=14) < remaining <= datetime.timedelta(minutes=15)


def test_additional_kwargs_reach_sts_and_named_parameters_win(
    session: boto3.Session, sts_server: StsServer
) -> None:
    child = assume_role(
        session,
        role_arn(),
        ExternalId="named",
        additional_kwargs={"ExternalId": "extra", "SourceIdentity": "bob"},
    )
    caller_arn(child)
    (call,) = sts_server.calls()
    assert (call["ExternalId"], call["SourceIdentity"]) == ("named", "bob")


class TestValidation:
    def test_policy_arns_as_a_bare_string_is_rejected(self, session: boto3.Session) -> None:
        with pytest.raises(ParamValidationError) as caught:
            assume_role(session, role_arn(), PolicyArns="arn:aws:iam::aws:policy/AWSDenyAll")  # type: ignore[arg-type]
        assert caught.value.parameter == "PolicyArns"  # type: ignore[attr-defined]

    def test_bad_parameters_raise_at_assume_role_time(
        self, session: boto3.Session, sts_server: StsServer
    ) -> None:
        with pytest.raises(ParamValidationError, match="DurationSeconds"):
            assume_role(session, role_arn(), DurationSeconds=5)
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(session, "arn:aws:iam::123456789012:user/alice")
        assert caught.value.parameter == "RoleArn"
        with pytest.raises(InvalidParameterError, match="RoleSessionName"):
            assume_role(session, role_arn(), RoleSessionName="x" * 65)
        assert sts_server.count() == 0

    def test_validate_false_defers_errors_to_first_use(
        self, session: boto3.Session, sts_server: StsServer
    ) -> None:
        child = assume_role(session, role_arn(), DurationSeconds=5, validate=False)
        with pytest.raises(ParamValidationError):
            child.client("sts").get_caller_identity()
        assert sts_server.count() == 0  # botocore's client-side check stopped it

    @pytest.mark.parametrize(
        ("parent", "got"),
        [
            (botocore.session.Session(), "got botocore.session.Session"),
            (get_session(), "got aiobotocore.session.AioSession"),
            (None, "got NoneType"),
            ("default", "got str"),
        ],
        ids=["botocore", "aiobotocore", "none", "profile-name"],
    )
    def test_session_must_be_a_boto3_session(self, parent: object, got: str) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(parent, role_arn())  # type: ignore[arg-type]
        assert caught.value.parameter == "session"
        assert f"a boto3 Session (boto3.Session()), {got}" in str(caught.value)

    def test_a_botocore_session_is_told_how_to_wrap_it(self) -> None:
        with pytest.raises(InvalidParameterError, match=r"boto3\.Session\(botocore_session="):
            assume_role(botocore.session.Session(), role_arn())  # type: ignore[arg-type]

    def test_options_are_checked_even_without_validate(self, session: boto3.Session) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(session, role_arn(), region_name=3, validate=False)  # type: ignore[arg-type]
        assert caught.value.parameter == "region_name"


class EmptyProvider(botocore.credentials.CredentialProvider):
    METHOD = "empty"

    def load(self) -> None:
        return None


class TestNoParentCredentials:
    @pytest.fixture
    def bare(self, sts_server: StsServer) -> boto3.Session:
        botocore_session = botocore.session.Session()
        botocore_session.register_component(
            "credential_provider", botocore.credentials.CredentialResolver([EmptyProvider()])
        )
        parent = boto3.Session(botocore_session=botocore_session, region_name="us-east-1")
        assert parent.get_credentials() is None
        return parent

    @pytest.mark.parametrize("validate", [True, False])
    def test_raises_no_credentials_at_assume_role_time(
        self, bare: boto3.Session, sts_server: StsServer, validate: bool
    ) -> None:
        with pytest.raises(NoCredentialsError) as caught:
            assume_role(bare, role_arn("MyRole"), validate=validate)
        assert isinstance(caught.value, ParentCredentialsError)
        assert role_arn("MyRole") in str(caught.value)
        assert sts_server.count() == 0


class TestCache:
    def test_json_file_cache_writes_one_file_and_serves_a_second_session(
        self, session: boto3.Session, sts_server: StsServer, tmp_path: Path
    ) -> None:
        directory = tmp_path / "cache"
        cache = JSONFileCache(directory)
        first = assume_role(session, role_arn(), RoleSessionName="s1", cache=cache)
        caller_arn(first)
        assert len(list(directory.iterdir())) == 1
        second = assume_role(
            boto3.Session(), role_arn(), RoleSessionName="s1", cache=JSONFileCache(directory)
        )
        assert access_key(second) == access_key(first)
        assert sts_server.count() == 1

    def test_file_is_the_one_botocore_and_the_aws_cli_use(
        self, session: boto3.Session, tmp_path: Path
    ) -> None:
        child = assume_role(session, role_arn(), cache=JSONFileCache(tmp_path / "c"))
        key = child.get_credentials().fetcher.cache_key
        access_key(child)
        assert (tmp_path / "c" / f"{key}.json").is_file()
        cached = botocore.credentials.JSONFileCache(str(tmp_path / "c"))[key]
        assert cached["Credentials"]["AccessKeyId"] == access_key(child)

    def test_any_dict_like_cache(self, session: boto3.Session, sts_server: StsServer) -> None:
        cache: dict[str, Any] = {}
        access_key(assume_role(session, role_arn(), cache=cache))
        access_key(assume_role(session, role_arn(), cache=cache))
        assert len(cache) == 1
        assert sts_server.count() == 1

    @pytest.mark.parametrize("kind", ["AioJSONFileCache", "any async get/set"])
    def test_an_async_cache_is_rejected_naming_cache(
        self, session: boto3.Session, tmp_path: Path, kind: str
    ) -> None:
        class AsyncOnly:
            async def get(self, key: str) -> None:
                return None

            async def set(self, key: str, value: object) -> None:
                return None

        cache = AioJSONFileCache(tmp_path) if kind == "AioJSONFileCache" else AsyncOnly()
        with pytest.raises(InvalidParameterError, match="dict-like") as caught:
            assume_role(session, role_arn(), cache=cache)
        assert caught.value.parameter == "cache"

    @pytest.mark.parametrize(
        "cache",
        [JSONFileCache, botocore.credentials.JSONFileCache, dict, AioJSONFileCache],
        ids=["JSONFileCache", "botocore-JSONFileCache", "dict", "AioJSONFileCache"],
    )
    def test_a_cache_class_is_rejected_asking_for_an_instance(
        self, session: boto3.Session, cache: type
    ) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(session, role_arn(), cache=cache)
        assert caught.value.parameter == "cache"
        assert "pass an instance, e.g. JSONFileCache(path)" in str(caught.value)

    @pytest.mark.parametrize("cache", ["/a/dir", Path("/a/dir")], ids=["str", "Path"])
    def test_a_path_is_rejected_suggesting_json_file_cache(
        self, session: boto3.Session, cache: object
    ) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(session, role_arn(), cache=cache)
        assert caught.value.parameter == "cache"
        assert "JSONFileCache(path)" in str(caught.value)
        assert "AioJSONFileCache" not in str(caught.value)

    def test_a_malformed_entry_or_corrupt_file_is_a_miss(
        self, session: boto3.Session, sts_server: StsServer, tmp_path: Path
    ) -> None:
        # botocore's fetcher (so aws-assume-role-lib) raises KeyError for both.
        cache: dict[str, Any] = {}
        child = assume_role(session, role_arn(), cache=cache)
        cache[child.get_credentials().fetcher.cache_key] = {"Credentials": {}}
        access_key(child)
        file_cache = JSONFileCache(tmp_path)
        child = assume_role(session, role_arn(), cache=file_cache)
        (tmp_path / f"{child.get_credentials().fetcher.cache_key}.json").write_text("{not json")
        access_key(child)
        assert sts_server.count() == 2

    def test_expired_cache_entry_is_not_used(
        self, session: boto3.Session, sts_server: StsServer, clock: FakeClock
    ) -> None:
        cache: dict[str, Any] = {}
        first = access_key(assume_role(session, role_arn(), cache=cache))
        clock.advance(2 * 3600)  # by the shared clock, the cached entry is now expired
        assert access_key(assume_role(session, role_arn(), cache=cache)) != first
        assert sts_server.count() == 2


class TestRegion:
    """aws-assume-role-lib's region tests (explicit, implicit, True/False), on the shared code."""

    def test_follows_an_explicit_parent_region(self, sts_server: StsServer) -> None:
        parent = boto3.Session(region_name="eu-west-1")
        child = assume_role(parent, role_arn())
        assert child.region_name == "eu-west-1"
        assert child.client("sts").meta.region_name == "eu-west-1"

    def test_string_sets_the_region(self, session: boto3.Session) -> None:
        assert assume_role(session, role_arn(), region_name="us-east-2").region_name == "us-east-2"

    def test_implicit_region_follows_the_environment_live(
        self, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        parent = boto3.Session()
        fixed = assume_role(parent, role_arn(), region_name=True)
        implicit = assume_role(parent, role_arn(), region_name=False)
        following = assume_role(parent, role_arn())
        assert fixed.region_name == implicit.region_name == following.region_name == "us-east-1"
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
        assert fixed.region_name == "us-east-1"
        assert implicit.region_name == "us-east-2"
        assert following.region_name == "us-east-2"

    def test_false_ignores_an_explicit_parent_region(
        self, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
        parent = boto3.Session(region_name="us-east-1")
        assert assume_role(parent, role_arn(), region_name=True).region_name == "us-east-1"
        assert assume_role(parent, role_arn(), region_name=False).region_name == "us-east-2"

    def test_the_child_can_set_its_own_region(self, session: boto3.Session) -> None:
        child = assume_role(session, role_arn())
        child._session.set_config_variable("region", "ap-south-1")
        session._session.set_config_variable("region", "eu-west-2")
        assert child.region_name == "ap-south-1"


class TestChaining:
    def test_two_levels_each_signed_by_its_parent(
        self, session: boto3.Session, sts_server: StsServer
    ) -> None:
        b = assume_role(session, role_arn("B"), RoleSessionName="sess-b")
        c = assume_role(b, role_arn("C"), RoleSessionName="sess-c")
        assert caller_arn(c) == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/C/sess-c"
        assert [call["RoleArn"] for call in sts_server.calls()] == [role_arn("B"), role_arn("C")]
        assert sts_server.signing_keys() == [access_key(session), access_key(b)]

    def test_duration_over_an_hour_is_rejected_for_a_chained_role(
        self, session: boto3.Session
    ) -> None:
        b = assume_role(session, role_arn("B"))
        with pytest.raises(InvalidParameterError, match="chaining") as caught:
            assume_role(b, role_arn("C"), DurationSeconds=7200)
        assert caught.value.parameter == "DurationSeconds"
        assume_role(b, role_arn("C"), DurationSeconds=3600)

    def test_a_config_profile_that_assumes_a_role_counts_as_chained(
        self, sts_server: StsServer, aws_env: Path
    ) -> None:
        (aws_env / "aws_config").write_text(
            f"[profile hop]\nrole_arn = {role_arn('Hop')}\ncredential_source = Environment\n"
        )
        parent = boto3.Session(profile_name="hop")
        with pytest.raises(InvalidParameterError, match="chaining"):
            assume_role(parent, role_arn("C"), DurationSeconds=7200)
        assert sts_server.count() == 0  # detected without calling STS


class TestRefresh:
    def test_refreshes_in_the_advisory_window(
        self, session: boto3.Session, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(session, role_arn())
        first = access_key(child)
        clock.advance(30 * 60)
        assert access_key(child) == first
        clock.advance(17 * 60)  # 13 minutes left: inside the 15-minute advisory window
        assert access_key(child) != first
        assert sts_server.count() == 2

    def test_fifteen_minute_credentials_are_not_refreshed_on_every_use(
        self, session: boto3.Session, sts_server: StsServer, clock: FakeClock
    ) -> None:
        # With botocore's fixed windows (as in aws-assume-role-lib), every use would refresh.
        child = assume_role(session, role_arn(), DurationSeconds=900)
        first = access_key(child)
        # The credentials object itself does not want a refresh (the private cache would
        # hide one from the server count below).
        assert not child.get_credentials().refresh_needed()
        for _ in range(5):
            assert access_key(child) == first
        clock.advance(5 * 60)
        assert access_key(child) == first
        assert sts_server.count() == 1
        clock.advance(6 * 60)  # 4 of 15 minutes left: inside their 5-minute advisory window
        assert access_key(child) != first
        assert sts_server.count() == 2

    def test_chained_refresh_signs_with_the_parents_refreshed_keys(
        self, session: boto3.Session, sts_server: StsServer, clock: FakeClock
    ) -> None:
        b = assume_role(session, role_arn("B"))
        c = assume_role(b, role_arn("C"))
        access_key(c)
        first_b = access_key(b)
        clock.advance(2 * 3600)
        access_key(c)
        new_b = access_key(b)
        assert new_b != first_b
        assert sts_server.signing_keys()[-1] == new_b
        assert sts_server.count() == 4


def test_credentials_already_expired_by_our_clock_raise_a_typed_error(
    session: boto3.Session, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_now = _clock.now
    monkeypatch.setattr(_clock, "now", lambda: real_now() + datetime.timedelta(hours=2))
    child = assume_role(session, role_arn("Skewed"))
    with pytest.raises(ExpiredCredentialsError) as caught:
        access_key(child)
    assert caught.value.role_arn == role_arn("Skewed")
    assert sts_server.count() == 1


class TestMFA:
    @pytest.fixture(autouse=True)
    def no_prompt(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def fail(prompt: str = "") -> str:
            raise AssertionError("must never prompt on stdin")

        monkeypatch.setattr(getpass, "getpass", fail)

    def test_a_fixed_code_is_sent_once_and_a_refresh_then_fails_clearly(
        self, session: boto3.Session, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(session, role_arn(), SerialNumber=MFA_SERIAL, TokenCode="654321")
        access_key(child)
        (call,) = sts_server.calls()
        assert (call["SerialNumber"], call["TokenCode"]) == (MFA_SERIAL, "654321")
        clock.advance(2 * 3600)
        with pytest.raises(RefreshWithMFAUnsupportedError) as caught:
            access_key(child)
        assert isinstance(caught.value, MFARefreshError)
        assert "654321" not in str(caught.value)
        assert sts_server.count() == 1

    def test_a_failed_call_does_not_use_up_a_fixed_code(
        self, session: boto3.Session, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(session, role_arn(), SerialNumber=MFA_SERIAL, TokenCode="654321")
        sts_server.fail_next("AssumeRole", status=403, code="AccessDenied", message="denied")
        with pytest.raises(ClientError):
            access_key(child)
        clock.advance(5)  # past the backoff after a failure
        access_key(child)
        assert [call["TokenCode"] for call in sts_server.calls()] == ["654321", "654321"]

    def test_a_provider_gives_a_fresh_code_for_each_refresh(
        self, session: boto3.Session, sts_server: StsServer, clock: FakeClock
    ) -> None:
        codes = iter(["111111", "222222"])
        child = assume_role(
            session, role_arn(), SerialNumber=MFA_SERIAL, TokenCode=lambda: next(codes)
        )
        access_key(child)
        clock.advance(2 * 3600)
        access_key(child)
        assert [call["TokenCode"] for call in sts_server.calls()] == ["111111", "222222"]

    def test_an_async_provider_is_rejected_on_the_sync_path(self, session: boto3.Session) -> None:
        async def code() -> str:
            return "654321"

        with pytest.raises(InvalidParameterError) as caught:
            assume_role(session, role_arn(), SerialNumber=MFA_SERIAL, TokenCode=code)
        assert caught.value.parameter == "TokenCode"

    def test_a_provider_returning_an_awaitable_fails_clearly_at_fetch(
        self, session: boto3.Session, sts_server: StsServer
    ) -> None:
        async def code() -> str:
            return "654321"

        child = assume_role(session, role_arn(), SerialNumber=MFA_SERIAL, TokenCode=lambda: code())
        with pytest.raises(InvalidParameterError, match="TokenCode"):
            access_key(child)
        assert sts_server.count() == 0

    def test_serial_number_without_code_never_prompts(
        self, session: boto3.Session, sts_server: StsServer
    ) -> None:
        # botocore's own fetcher would call getpass here (the fixture makes that fail).
        child = assume_role(session, role_arn(), SerialNumber=MFA_SERIAL, validate=False)
        access_key(child)
        assert "TokenCode" not in sts_server.calls()[0]


def test_assume_role_errors_surface_on_first_use(
    session: boto3.Session, sts_server: StsServer
) -> None:
    child = assume_role(session, role_arn())
    sts_server.fail_next("AssumeRole", status=403, code="AccessDenied", message="nope")
    with pytest.raises(ClientError) as caught:
        child.client("sts").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_repr_names_the_role_and_hides_secrets(session: boto3.Session) -> None:
    child = assume_role(session, role_arn("Shown"))
    credentials = child.get_credentials()
    assert isinstance(credentials, SyncAssumedRoleCredentials)
    frozen = credentials.get_frozen_credentials()
    for text in (repr(credentials), repr(credentials.fetcher)):
        assert "Shown" in text
        assert frozen.secret_key not in text
        assert frozen.token not in text


def test_assume_role_response_is_kept_out_of_botocores_debug_log(
    session: boto3.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    child = assume_role(session, role_arn())
    secret_key = child.get_credentials().get_frozen_credentials().secret_key
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "redacted by aio_assume_role" in logged  # botocore.parsers did log the response
    assert secret_key not in logged


def test_the_package_never_imports_boto3() -> None:
    """boto3 is an optional extra: only aio_assume_role.sync needs it."""
    code = (
        "import sys, aio_assume_role, aio_assume_role.programs.cli, aio_assume_role.session, "
        "aio_assume_role.cache; print('boto3' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr
