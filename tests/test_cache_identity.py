"""A cache hit is checked against the request: another role's entry is a miss.

A cache directory is shared with other tools and processes of the same user, and
the cache key is a hash of the request, not something an entry proves. A
process that renames the entry of ``arn:aws:iam::999999999999:role/Attacker`` over
this role's key would have the session act as the attacker's role. Every hit's
``AssumedRoleUser.Arn`` must name the request's account, role and session name:
otherwise the entry is a miss (the role is assumed again, and the entry replaced)
and a WARNING says which part differed. Both paths, every cache kind.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiobotocore.session import AioSession, get_session
from moto_sts import StsServer
from support import ACCOUNT_ID, role_arn

from aio_assume_role import sync as sync_path
from aio_assume_role._core.cache_key import assume_role_cache_key
from aio_assume_role._core.response import assumed_role_mismatch
from aio_assume_role.cache import AioJSONFileCache
from aio_assume_role.session import assume_role

ATTACKER = "arn:aws:iam::999999999999:role/Attacker"
SESSION = "app"


def key(arn: str, session_name: str = SESSION) -> str:
    return assume_role_cache_key(
        {"RoleArn": arn, "RoleSessionName": session_name}, generated_name=False
    )


async def caller_arn(session: Any) -> str:
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "aio_assume_role" and record.levelno == logging.WARNING
    ]


class TestRenamedEntry:
    """The attack itself, against moto: the attacker's real entry under this role's key."""

    async def test_async_file_cache(
        self,
        parent: AioSession,
        sts_server: StsServer,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        directory = tmp_path / "cache"
        cache = AioJSONFileCache(directory)
        await assume_role(
            parent, ATTACKER, RoleSessionName=SESSION, cache=cache
        ).prefetch_credentials()
        shutil.move(directory / f"{key(ATTACKER)}.json", directory / f"{key(role_arn())}.json")
        assert sts_server.count() == 1

        child = assume_role(get_session(), role_arn(), RoleSessionName=SESSION, cache=cache)
        assert (
            await caller_arn(child) == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/{SESSION}"
        )
        assert sts_server.count() == 2  # a miss: assumed again
        (warning,) = _warnings(caplog)
        assert role_arn() in warning and "another account" in warning
        assert "999999999999" not in warning  # names the part, not the entry's value
        # The entry is replaced: the next session is served this role's.
        again = assume_role(get_session(), role_arn(), RoleSessionName=SESSION, cache=cache)
        await again.prefetch_credentials()
        assert sts_server.count() == 2

    async def test_async_dict_cache(
        self, parent: AioSession, sts_server: StsServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        cache: dict[str, Any] = {}
        await assume_role(
            parent, ATTACKER, RoleSessionName=SESSION, cache=cache
        ).prefetch_credentials()
        cache[key(role_arn())] = cache.pop(key(ATTACKER))
        child = assume_role(parent, role_arn(), RoleSessionName=SESSION, cache=cache)
        assert (await caller_arn(child)).endswith(":assumed-role/MyRole/app")
        assert sts_server.count() == 2
        assert len(_warnings(caplog)) == 1

    def test_sync_file_cache(
        self, sts_server: StsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        directory = tmp_path / "cache"
        cache = sync_path.JSONFileCache(directory)
        attacker = sync_path.assume_role(
            boto3.Session(), ATTACKER, RoleSessionName=SESSION, cache=cache
        )
        attacker.get_credentials().get_frozen_credentials()
        shutil.move(directory / f"{key(ATTACKER)}.json", directory / f"{key(role_arn())}.json")

        child = sync_path.assume_role(
            boto3.Session(), role_arn(), RoleSessionName=SESSION, cache=cache
        )
        identity = child.client("sts").get_caller_identity()
        assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/{SESSION}"
        assert sts_server.count() == 2
        (warning,) = _warnings(caplog)
        assert "another account" in warning


MISMATCHES = {
    "other-account": ("arn:aws:sts::999999999999:assumed-role/MyRole/app", "another account"),
    "other-role": (f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/Attacker/app", "another role"),
    "other-session": (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/other",
        "another session",
    ),
    "other-partition": (
        f"arn:aws-cn:sts::{ACCOUNT_ID}:assumed-role/MyRole/app",
        "another partition",
    ),
    "not-an-assumed-role": (f"arn:aws:iam::{ACCOUNT_ID}:role/MyRole", "not an assumed-role"),
    "missing": (None, "no AssumedRoleUser.Arn"),
}


class TestEveryPartIsChecked:
    """An entry that differs in one part only: a miss on both paths."""

    @staticmethod
    def _entry(arn: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Credentials": {
                "AccessKeyId": "ASIAPLANTEDPLANTED00",
                "SecretAccessKey": "s" * 40,
                "SessionToken": "t" * 100,
                "Expiration": "2099-01-01T00:00:00UTC",
            }
        }
        if arn is not None:
            entry["AssumedRoleUser"] = {"Arn": arn, "AssumedRoleId": "AROAEXAMPLE:app"}
        return entry

    @pytest.mark.parametrize(("arn", "reason"), MISMATCHES.values(), ids=MISMATCHES)
    async def test_async(
        self,
        parent: AioSession,
        sts_server: StsServer,
        caplog: pytest.LogCaptureFixture,
        arn: str | None,
        reason: str,
    ) -> None:
        cache = {key(role_arn()): self._entry(arn)}
        child = assume_role(parent, role_arn(), RoleSessionName=SESSION, cache=cache)
        frozen = await (await child.get_credentials()).get_frozen_credentials()
        assert frozen.access_key != "ASIAPLANTEDPLANTED00"
        assert sts_server.count() == 1
        (warning,) = _warnings(caplog)
        assert reason in warning

    @pytest.mark.parametrize(("arn", "reason"), MISMATCHES.values(), ids=MISMATCHES)
    def test_sync(
        self,
        sts_server: StsServer,
        caplog: pytest.LogCaptureFixture,
        arn: str | None,
        reason: str,
    ) -> None:
        cache = {key(role_arn()): self._entry(arn)}
        child = sync_path.assume_role(
            boto3.Session(), role_arn(), RoleSessionName=SESSION, cache=cache
        )
        assert child.get_credentials().get_frozen_credentials().access_key != (
            "ASIAPLANTEDPLANTED00"
        )
        assert sts_server.count() == 1
        (warning,) = _warnings(caplog)
        assert reason in warning

    async def test_the_matching_entry_is_served(
        self, parent: AioSession, sts_server: StsServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The role's name in another case is the same IAM role; the path is not in the ARN."""
        arn = role_arn("team/MyRole")
        entry = self._entry(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/myrole/app")
        cache = {key(arn): entry}
        child = assume_role(parent, arn, RoleSessionName=SESSION, cache=cache)
        frozen = await (await child.get_credentials()).get_frozen_credentials()
        assert frozen.access_key == "ASIAPLANTEDPLANTED00"
        assert sts_server.count() == 0 and _warnings(caplog) == []


class TestGeneratedSessionNames:
    """A generated name (botocore-session-<time>) is left out of the key: any such name
    matches, as sessions of other processes and of the AWS CLI share the entry."""

    def test_any_generated_name_matches_and_nothing_else(self) -> None:
        arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/botocore-session-1700000000"
        response = {"AssumedRoleUser": {"Arn": arn}}
        assert assumed_role_mismatch(response, role_arn=role_arn(), session_name=None) is None
        other = {"AssumedRoleUser": {"Arn": arn.replace("botocore-session-1700000000", "app")}}
        assert assumed_role_mismatch(other, role_arn=role_arn(), session_name=None) == (
            "its AssumedRoleUser.Arn names another session"
        )

    async def test_two_sessions_with_generated_names_share_the_entry(
        self, parent: AioSession, sts_server: StsServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        cache: dict[str, Any] = {}
        await assume_role(parent, role_arn(), cache=cache).prefetch_credentials()
        await assume_role(get_session(), role_arn(), cache=cache).prefetch_credentials()
        assert sts_server.count() == 1 and _warnings(caplog) == []
