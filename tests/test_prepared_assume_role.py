"""What a fan-out saves per account: checks done once, the first fetch in the caller's task.

``prepare_assume_role`` checks ``assume_role``'s arguments once; the
``PreparedAssumeRole`` it returns builds a child session per role ARN, and
``prefetched()`` fetches its first credentials in the calling task (nobody else
holds the session yet). Against the moto server; AssumeRole attempts are counted
where botocore sends them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiobotocore.session import AioSession
from support import role_arn

from aio_assume_role import session as session_module
from aio_assume_role.arns import get_role_arn
from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.fanout import fan_out
from aio_assume_role.session import assume_role, prepare_assume_role
from aio_assume_role.targets import Account

ACCOUNTS = [f"{100000000000 + i:012d}" for i in range(12)]


class SendRecorder:
    """Records, per AssumeRole attempt, the task it was sent from; can hold the sends."""

    def __init__(self, parent: AioSession) -> None:
        self.tasks: list[asyncio.Task[Any] | None] = []
        self.sent = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        parent.register("before-send.sts.AssumeRole", self.on_send)

    async def on_send(self, **_: Any) -> None:
        self.tasks.append(asyncio.current_task())
        self.sent.set()
        await self.release.wait()


async def test_fan_out_checks_the_arguments_once_not_per_account(
    parent: AioSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[object] = []
    validate = session_module.validate_assume_role_args

    def counting(role_arn: object, *args: Any, **kwargs: Any) -> None:
        checks.append(role_arn)
        validate(role_arn, *args, **kwargs)

    monkeypatch.setattr(session_module, "validate_assume_role_args", counting)

    async def nothing(session: Any, account: Any, region: Any) -> None:
        return None

    results = [
        result
        async for result in fan_out(
            parent, nothing, role_name="Audit", accounts=ACCOUNTS, RoleSessionName="audit"
        )
    ]
    assert [result.ok for result in results] == [True] * len(ACCOUNTS)
    assert checks == ["arn:aws:iam::000000000000:role/Audit"]  # the probe, once


async def test_prepare_raises_what_assume_role_raises(parent: AioSession) -> None:
    with pytest.raises(InvalidParameterError, match="DurationSeconds"):
        prepare_assume_role(parent, role_arn(), {"DurationSeconds": 10})
    with pytest.raises(InvalidParameterError, match="DurationSeconds"):
        assume_role(parent, role_arn(), DurationSeconds=10)


async def test_prefetched_fetches_in_the_calling_task(parent: AioSession) -> None:
    recorder = SendRecorder(parent)
    prepared = prepare_assume_role(parent, role_arn(), {"RoleSessionName": "audit"})
    session = await prepared.prefetched(role_arn())
    assert recorder.tasks == [asyncio.current_task()]
    # The public path fetches in a background task, which a cancelled caller leaves running.
    await assume_role(parent, role_arn()).prefetch_credentials()
    assert len(recorder.tasks) == 2
    assert recorder.tasks[1] is not asyncio.current_task()
    assert session.role_arn == role_arn()
    assert (await session.prefetch_credentials()) > session_module._clock.now()


async def test_a_cancelled_first_fetch_is_started_over_by_the_next_caller(
    parent: AioSession,
) -> None:
    recorder = SendRecorder(parent)
    recorder.release.clear()
    session = prepare_assume_role(parent, role_arn(), {})(role_arn())
    first = asyncio.ensure_future(session._assumed_role_credentials.first_fetch())
    await recorder.sent.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    recorder.release.set()
    await session.prefetch_credentials()  # a new fetch: the first was abandoned
    assert len(recorder.tasks) == 2
    assert session._assumed_role_credentials.expiry_time is not None


async def test_first_fetch_after_a_fetch_is_an_ordinary_get(parent: AioSession) -> None:
    recorder = SendRecorder(parent)
    session = prepare_assume_role(parent, role_arn(), {})(role_arn())
    await session.prefetch_credentials()
    frozen = await session._assumed_role_credentials.first_fetch()
    assert frozen.access_key == (await session._assumed_role_credentials.get_access_key())
    assert len(recorder.tasks) == 1  # served from the first fetch, not fetched again


@pytest.mark.parametrize(
    ("role_name", "path"), [("Audit", ""), ("team/Audit", ""), ("Audit", "/a/b/"), ("Audit", "/")]
)
async def test_fan_out_assumes_the_arn_get_role_arn_gives(
    parent: AioSession, role_name: str, path: str
) -> None:
    # fan_out formats each account's ARN around the checked id; it must be get_role_arn's.
    async def arn(session: Any, account: Any, region: Any) -> str:
        return str(session.role_arn)

    results = [
        result
        async for result in fan_out(
            parent,
            arn,
            role_name=role_name,
            path=path,
            accounts=[ACCOUNTS[0], Account(ACCOUNTS[1])],
        )
    ]
    assert sorted(result.value for result in results) == sorted(
        get_role_arn(account_id, role_name, path) for account_id in ACCOUNTS[:2]
    )
