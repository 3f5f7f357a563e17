"""The four region modes of assume_role(region_name=...)."""

from __future__ import annotations

import copy

import pytest
from aiobotocore.session import AioSession
from support import role_arn

from aio_assume_role import assume_role


async def client_region(session: AioSession) -> str:
    async with session.create_client("sts") as sts:
        return str(sts.meta.region_name)


async def test_none_follows_the_parent_live(parent: AioSession) -> None:
    child = assume_role(parent, role_arn(), region_name=None)
    assert await client_region(child) == "us-east-1"
    parent.set_config_variable("region", "eu-west-2")
    assert child.get_config_variable("region") == "eu-west-2"
    assert await client_region(child) == "eu-west-2"


def test_a_deep_copy_of_the_config_store_follows_the_same_sessions(parent: AioSession) -> None:
    # botocore's session-bound providers share their session when the store is
    # deep-copied; so does ours, instead of copying both sessions deeply.
    child = assume_role(parent, role_arn())
    copied_objects: dict[int, object] = {}  # deepcopy's memo: id(original) -> its copy
    copied = copy.deepcopy(child.get_component("config_store"), copied_objects)
    assert id(parent) not in copied_objects
    assert id(child) not in copied_objects
    parent.set_config_variable("region", "eu-west-2")
    assert copied.get_config_variable("region") == "eu-west-2"
    child.set_config_variable("region", "ap-south-1")
    assert copied.get_config_variable("region") == "ap-south-1"


async def test_none_still_lets_the_child_set_its_own(parent: AioSession) -> None:
    child = assume_role(parent, role_arn())
    child.set_config_variable("region", "ap-south-1")
    parent.set_config_variable("region", "eu-west-2")
    assert child.get_config_variable("region") == "ap-south-1"


def test_true_fixes_the_parents_current_region(parent: AioSession) -> None:
    parent.set_config_variable("region", "eu-central-1")
    child = assume_role(parent, role_arn(), region_name=True)
    parent.set_config_variable("region", "eu-west-2")
    assert child.get_config_variable("region") == "eu-central-1"


def test_false_uses_the_childs_implicit_config(
    parent: AioSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent.set_config_variable("region", "eu-central-1")
    child = assume_role(parent, role_arn(), region_name=False)
    assert child.get_config_variable("region") == "us-east-1"  # AWS_DEFAULT_REGION
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert child.get_config_variable("region") is None


async def test_string_sets_that_region(parent: AioSession) -> None:
    child = assume_role(parent, role_arn(), region_name="ca-central-1")
    parent.set_config_variable("region", "eu-west-2")
    assert await client_region(child) == "ca-central-1"


# --- a parent without a region: the library's NoRegionError, on both paths ---


def _check_no_region_error(error: BaseException) -> None:
    import botocore.exceptions

    from aio_assume_role import AssumeRoleError, NoRegionError

    assert type(error) is NoRegionError
    assert isinstance(error, botocore.exceptions.NoRegionError)  # existing handlers still match
    assert isinstance(error, AssumeRoleError)
    message = str(error)
    assert role_arn() in message
    assert "AWS_DEFAULT_REGION" in message
    assert "set_config_variable('region'" in message
    assert "boto3.Session(region_name=" in message


async def test_a_parent_without_a_region_raises_no_region_error_saying_how_to_set_one(
    parent: AioSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    # The child's region is not STS's: AssumeRole still has none.
    child = assume_role(parent, role_arn(), region_name="eu-west-1")
    with pytest.raises(Exception) as raised:
        async with child.create_client("sts") as sts:
            await sts.get_caller_identity()
    _check_no_region_error(raised.value)
    # What the message says fixes it.
    parent.set_config_variable("region", "us-east-1")
    async with assume_role(parent, role_arn()).create_client("sts") as sts:
        assert (await sts.get_caller_identity())["Arn"]


def test_a_sync_parent_without_a_region_raises_no_region_error_saying_how_to_set_one(
    sts_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from aio_assume_role import sync

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    child = sync.assume_role(boto3.Session(), role_arn(), region_name="eu-west-1")
    with pytest.raises(Exception) as raised:
        child.client("sts").get_caller_identity()
    _check_no_region_error(raised.value)
    fixed = sync.assume_role(boto3.Session(region_name="us-east-1"), role_arn())
    assert fixed.client("sts").get_caller_identity()["Arn"]
