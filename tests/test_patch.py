"""patch_boto3() and patch_aiobotocore(): assume_role as a session method (and a boto3 function).

Every test undoes its patches (monkeypatch), so other tests see unpatched classes.
"""

from __future__ import annotations

import inspect

import boto3
import pytest
from aiobotocore.session import AioSession, get_session
from moto_sts import StsServer
from support import ACCOUNT_ID, role_arn

from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.session import AssumedRoleSession, patch_aiobotocore
from aio_assume_role.sync import assume_role, patch_boto3


@pytest.fixture
def restore_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3.Session, "assume_role", None, raising=False)
    monkeypatch.setattr(boto3, "assume_role", None, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture
def restore_aiobotocore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AioSession, "assume_role", None, raising=False)


def test_nothing_is_patched_on_import() -> None:
    assert not hasattr(boto3.Session, "assume_role")
    assert not hasattr(boto3, "assume_role")
    assert not hasattr(AioSession, "assume_role")


class TestPatchBoto3:
    def test_session_method(self, sts_server: StsServer, restore_boto3: None) -> None:
        patch_boto3()
        parent = boto3.Session()
        child = parent.assume_role(role_arn("MyRole"), RoleSessionName="mm")
        assert child.assume_role_parent_session is parent
        arn = child.client("sts").get_caller_identity()["Arn"]
        assert arn == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/mm"

    def test_module_function_uses_the_default_session(
        self, sts_server: StsServer, restore_boto3: None
    ) -> None:
        patch_boto3()
        default = boto3.Session()
        boto3.DEFAULT_SESSION = default
        child = boto3.assume_role(RoleArn=role_arn("MyRole"), RoleSessionName="ff")
        assert child.assume_role_parent_session is default
        arn = child.client("sts").get_caller_identity()["Arn"]
        assert arn.endswith("/MyRole/ff")

    def test_module_function_creates_the_default_session_like_boto3_client(
        self, sts_server: StsServer, restore_boto3: None
    ) -> None:
        patch_boto3()
        child = boto3.assume_role(role_arn())
        assert child.assume_role_parent_session is boto3.DEFAULT_SESSION

    def test_module_function_shows_assume_roles_parameters(self, restore_boto3: None) -> None:
        patch_boto3()
        parameters = list(inspect.signature(boto3.assume_role).parameters)
        assert parameters == list(inspect.signature(assume_role).parameters)[1:]

    def test_arguments_are_validated_as_in_assume_role(
        self, sts_server: StsServer, restore_boto3: None
    ) -> None:
        patch_boto3()
        with pytest.raises(InvalidParameterError) as caught:
            boto3.Session().assume_role(role_arn(), DurationSeconds=5)
        assert caught.value.parameter == "DurationSeconds"
        with pytest.raises(TypeError):
            boto3.assume_role(role_arn(), NotAParameter=1)


class TestPatchAiobotocore:
    async def test_session_method(self, parent: AioSession, restore_aiobotocore: None) -> None:
        patch_aiobotocore()
        child = parent.assume_role(role_arn("MyRole"), RoleSessionName="aa")
        assert isinstance(child, AssumedRoleSession)
        assert child.assume_role_parent_session is parent
        async with child.create_client("sts") as sts:
            arn = (await sts.get_caller_identity())["Arn"]
        assert arn == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/aa"

    async def test_chains_from_an_assumed_session(
        self, parent: AioSession, sts_server: StsServer, restore_aiobotocore: None
    ) -> None:
        patch_aiobotocore()
        grandchild = parent.assume_role(role_arn("B")).assume_role(role_arn("C"))
        await grandchild.prefetch_credentials()
        assert [call["RoleArn"] for call in sts_server.calls()] == [role_arn("B"), role_arn("C")]

    def test_patching_twice_is_harmless(self, restore_aiobotocore: None) -> None:
        patch_aiobotocore()
        patch_aiobotocore()
        assert isinstance(get_session().assume_role(role_arn()), AssumedRoleSession)
