"""assume_role() against moto's STS server: identity, deferral, chaining, parameters."""

from __future__ import annotations

import datetime
import json

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import NoCredentialsError, ParamValidationError
from moto_sts import StsServer
from support import ACCOUNT_ID, role_arn

from aio_assume_role import (
    AssumedRoleSession,
    InvalidParameterError,
    ParentCredentialsError,
    assume_role,
)


async def caller_arn(session: AioSession) -> str:
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


async def test_child_acts_as_the_role(parent: AioSession) -> None:
    child = assume_role(parent, role_arn("MyRole"), RoleSessionName="my-session")
    assert isinstance(child, AioSession)
    assert await caller_arn(child) == (f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/my-session")


async def test_session_name_is_generated_when_not_given(
    parent: AioSession, sts_server: StsServer
) -> None:
    child = assume_role(parent, role_arn("MyRole"))
    arn = await caller_arn(child)
    (call,) = sts_server.calls()
    assert call["RoleSessionName"].startswith("botocore-session-")
    assert arn.endswith(f"assumed-role/MyRole/{call['RoleSessionName']}")


async def test_no_sts_call_until_first_use(parent: AioSession, sts_server: StsServer) -> None:
    child = assume_role(parent, role_arn())
    async with child.create_client("sts") as sts:
        assert sts_server.count() == 0  # creating a client does not assume the role
        await sts.get_caller_identity()
        await sts.get_caller_identity()
    assert sts_server.count() == 1


async def test_parent_session_is_exposed(parent: AioSession) -> None:
    child = assume_role(parent, role_arn())
    assert child.assume_role_parent_session is parent


async def test_role_chaining_two_levels_signs_with_each_parent(
    parent: AioSession, sts_server: StsServer
) -> None:
    b = assume_role(parent, role_arn("B"), RoleSessionName="sess-b")
    c = assume_role(b, role_arn("C"), RoleSessionName="sess-c")
    assert await caller_arn(c) == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/C/sess-c"
    assert [call["RoleArn"] for call in sts_server.calls()] == [role_arn("B"), role_arn("C")]
    b_key = (await (await b.get_credentials()).get_frozen_credentials()).access_key
    parent_key = (await (await parent.get_credentials()).get_frozen_credentials()).access_key
    assert sts_server.signing_keys() == [parent_key, b_key]


async def test_request_parameters_reach_sts_normalized(
    parent: AioSession, sts_server: StsServer
) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}
    child = assume_role(
        parent,
        role_arn(),
        SourceIdentity="alice",
        Policy=policy,
        PolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        DurationSeconds=datetime.timedelta(minutes=30),
        Tags=[{"Key": "team", "Value": "core"}],
        ExternalId="ext-id",
    )
    expiry = await child.prefetch_credentials()
    (call,) = sts_server.calls()
    assert call["RoleSessionName"] == "alice"
    assert call["SourceIdentity"] == "alice"
    assert json.loads(call["Policy"]) == policy
    assert call["PolicyArns.member.1.arn"] == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert call["DurationSeconds"] == "1800"
    assert call["Tags.member.1.Key"] == "team"
    assert call["ExternalId"] == "ext-id"
    remaining = expiry - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=29) < remaining <= datetime.timedelta(minutes=30)


async def test_additional_kwargs_reach_sts(parent: AioSession, sts_server: StsServer) -> None:
    child = assume_role(parent, role_arn(), additional_kwargs={"ExternalId": "from-extra"})
    await child.prefetch_credentials()
    assert sts_server.calls()[0]["ExternalId"] == "from-extra"


async def test_dict_cache_is_shared_between_sessions(
    parent: AioSession, sts_server: StsServer
) -> None:
    cache: dict[str, object] = {}
    first = assume_role(parent, role_arn(), RoleSessionName="s1", cache=cache)
    await first.prefetch_credentials()
    second = assume_role(get_session(), role_arn(), RoleSessionName="s1", cache=cache)
    await second.prefetch_credentials()
    assert sts_server.count() == 1
    assert len(cache) == 1


class TestValidation:
    def test_bad_parameters_raise_at_assume_role_time(self, parent: AioSession) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(parent, "arn:aws:iam::123456789012:user/alice")
        assert caught.value.parameter == "RoleArn"
        with pytest.raises(ParamValidationError, match="RoleSessionName"):
            assume_role(parent, role_arn(), RoleSessionName="x")
        with pytest.raises(ParamValidationError, match="DurationSeconds"):
            assume_role(parent, role_arn(), DurationSeconds=60)

    async def test_validate_false_defers_errors_to_first_use(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        child = assume_role(parent, role_arn(), RoleSessionName="x", validate=False)
        with pytest.raises(ParamValidationError):
            await child.prefetch_credentials()
        assert sts_server.count() == 0  # botocore's client-side check stopped it

    def test_chained_duration_over_an_hour_is_rejected(self, parent: AioSession) -> None:
        child = assume_role(parent, role_arn("B"))
        with pytest.raises(InvalidParameterError, match="chaining") as caught:
            assume_role(child, role_arn("C"), DurationSeconds=7200)
        assert caught.value.parameter == "DurationSeconds"
        assume_role(child, role_arn("C"), DurationSeconds=3600)

    def test_session_must_be_an_aiobotocore_session(self) -> None:
        with pytest.raises(InvalidParameterError) as caught:
            assume_role("not a session", role_arn())  # type: ignore[arg-type]
        assert caught.value.parameter == "session"


class TestMissingParentCredentials:
    @pytest.fixture
    def bare_parent(self, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch) -> AioSession:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        return get_session()

    async def test_prefetch_raises_no_credentials(
        self, bare_parent: AioSession, sts_server: StsServer
    ) -> None:
        child = assume_role(bare_parent, role_arn("MyRole"))  # not known yet: deferred
        with pytest.raises(NoCredentialsError) as caught:
            await child.prefetch_credentials()
        assert isinstance(caught.value, ParentCredentialsError)
        assert "parent session" in str(caught.value)
        assert role_arn("MyRole") in str(caught.value)
        assert sts_server.count() == 0

    async def test_first_api_call_raises_no_credentials(self, bare_parent: AioSession) -> None:
        child = assume_role(bare_parent, role_arn())
        with pytest.raises(ParentCredentialsError):
            await caller_arn(child)


async def test_repr_names_the_role_and_hides_secrets(parent: AioSession) -> None:
    child = assume_role(parent, role_arn("Shown"))
    await child.prefetch_credentials()
    credentials = await child.get_credentials()
    frozen = await credentials.get_frozen_credentials()
    for text in (repr(child), repr(credentials), repr(credentials.fetcher)):
        assert "Shown" in text
        assert frozen.secret_key not in text
        assert frozen.token not in text
    assert isinstance(child, AssumedRoleSession)
