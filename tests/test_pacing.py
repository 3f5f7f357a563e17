"""fan_out's AssumeRole pacing (``_core/pacing``): counted at a throttling moto server.

No false failure under throttling, the pace backs off and comes back up, a call
throttled past its deadline fails with STS's code, a cancelled run leaves no paced
call behind, and a plain session keeps botocore's own retries.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.exceptions import ClientError
from moto_sts import StsServer

from aio_assume_role._core import pacing
from aio_assume_role._core.pacing import StsRateLimiter
from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.fanout import assume_role_in_accounts, fan_out, fan_out_summary
from aio_assume_role.session import assume_role

ROLE = "Auditor"


def accounts(count: int) -> list[str]:
    return [f"{200000000000 + i:012d}" for i in range(count)]


async def nothing(session: Any, account: Any, region: Any) -> str:
    return account.id


class FakeTime:
    """A clock for the limiter's own state (no sleeping involved)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the limiter's state, on a fake clock -----------------------------------------------


def test_aimd_backs_off_once_per_round_trip_and_recovers() -> None:
    time = FakeTime()
    limiter = StsRateLimiter(100, clock_function=time)
    endpoint = "https://sts.us-east-1.amazonaws.com"
    assert limiter.current_rate(endpoint) == 100
    sent = time.now
    time.now += 0.01
    limiter.throttled_at(endpoint, sent)
    assert limiter.current_rate(endpoint) == pytest.approx(100 * pacing.DECREASE_FACTOR)
    # Sent before that decrease: the same congestion, not a second decrease.
    limiter.throttled_at(endpoint, sent)
    assert limiter.current_rate(endpoint) == pytest.approx(100 * pacing.DECREASE_FACTOR)
    # Sent after it: still too fast, down again.
    limiter.throttled_at(endpoint, time.now)
    assert limiter.current_rate(endpoint) == pytest.approx(100 * pacing.DECREASE_FACTOR**2)
    assert limiter.throttled == 3
    # Other endpoints keep their own pace.
    assert limiter.current_rate("https://sts.eu-west-1.amazonaws.com") == 100
    # Additive increase: about INCREASE_FRACTION * rate per second of successes.
    successes = 0
    while limiter.current_rate(endpoint) < 100:
        limiter.succeeded(endpoint)
        successes += 1
    assert limiter.current_rate(endpoint) == 100  # capped at the configured rate
    assert 500 < successes < 2000


def test_backing_off_stops_at_the_slowest_pace() -> None:
    time = FakeTime()
    limiter = StsRateLimiter(50, clock_function=time)
    for _ in range(200):
        time.now += 1
        limiter.throttled_at("e", time.now)
    assert limiter.current_rate("e") == pacing.MIN_RATE


async def test_slots_go_in_groups_at_the_rate_first_come_first_served() -> None:
    # 100/s: groups of 10 (a tick's worth), one group every 0.1 s on the limiter's clock.
    time = FakeTime()
    limiter = StsRateLimiter(100, clock_function=time)
    group = int(100 * pacing.TICK_SECONDS)
    order: list[int] = []

    async def one(index: int) -> float:
        sent = await limiter.acquire("e")
        order.append(index)
        return sent

    tasks = [asyncio.create_task(one(i)) for i in range(2 * group + 5)]
    # The first group goes at once; the rest queue behind it, the clock standing still.
    await limiter.wait_for_waiting(group + 5)
    assert order == list(range(group))
    assert limiter.sent == group
    time.now += pacing.TICK_SECONDS  # the next group is due: all of it goes, no more
    await asyncio.gather(*tasks[group : 2 * group])
    assert order == list(range(2 * group))
    assert limiter.sent == 2 * group and limiter.waiting == 5
    time.now += pacing.TICK_SECONDS
    times = await asyncio.gather(*tasks)
    assert order == list(range(2 * group + 5))
    assert times == [1000.0] * group + [1000.1] * group + [1000.2] * 5
    assert limiter.waiting == 0 and limiter.sent == 2 * group + 5


async def test_a_throttled_answer_holds_the_rest_of_its_group_back() -> None:
    time = FakeTime()
    limiter = StsRateLimiter(100, clock_function=time)
    group = int(100 * pacing.TICK_SECONDS)
    order: list[int] = []

    async def one(index: int) -> None:
        sent = await limiter.acquire("e")
        order.append(index)
        if index == group:  # the first of the second group is throttled, before the
            limiter.throttled_at("e", sent)  # others it woke have taken their slots

    tasks = [asyncio.create_task(one(i)) for i in range(2 * group)]
    await limiter.wait_for_waiting(group)
    time.now += pacing.TICK_SECONDS
    await tasks[group]
    # The others of its group were let go (they ran before this task resumed), but found
    # their slots taken back: they wait for the next group, at the slower pace, in order.
    assert order == list(range(group + 1))
    assert limiter.sent == group + 1
    await limiter.wait_for_waiting(group - 1)
    slower = limiter.current_rate("e")
    assert slower == pytest.approx(100 * pacing.DECREASE_FACTOR)
    smaller = int(slower * pacing.TICK_SECONDS)
    assert smaller < group - 1
    time.now += pacing.TICK_SECONDS  # the next group is due, smaller
    await asyncio.gather(*tasks[group + 1 : group + 1 + smaller])
    assert limiter.sent == group + 1 + smaller
    assert limiter.waiting == group - 1 - smaller
    time.now += smaller / slower
    await asyncio.gather(*tasks)
    assert order == list(range(2 * group))
    assert limiter.sent == 2 * group


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf"), "fast", True])
def test_a_bad_rate_is_refused_naming_it(parent: AioSession, rate: Any) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        fan_out(parent, nothing, role_name=ROLE, accounts=accounts(1), rate=rate)
    assert raised.value.parameter == "rate"
    assert raised.value.function == "fan_out"
    with pytest.raises(InvalidParameterError) as raised:
        assume_role_in_accounts(parent, accounts(1), ROLE, rate=rate)
    assert raised.value.parameter == "rate"
    with pytest.raises(InvalidParameterError) as raised:
        StsRateLimiter(rate)
    assert raised.value.parameter == "rate"
    with pytest.raises(InvalidParameterError) as raised:
        StsRateLimiter(10, deadline=rate)
    assert raised.value.parameter == "deadline"


# --- against the moto server --------------------------------------------------------------


async def test_throttled_calls_are_retried_not_failed(
    parent: AioSession, sts_server: StsServer
) -> None:
    # Retried beyond botocore's attempts (here none: 1 attempt in all).
    parent.set_default_client_config(Config(retries={"total_max_attempts": 1}))
    sts_server.fail_next(code="Throttling", times=12)
    limiter = StsRateLimiter(500)
    summary = await fan_out_summary(
        parent, nothing, role_name=ROLE, accounts=accounts(6), concurrency=3, rate=limiter
    )
    assert summary.failed == 0
    assert len(summary.successes) == 6
    assert sts_server.count("AssumeRole") == 6 + 12
    assert limiter.throttled == 12
    assert limiter.sent == 18
    (endpoint,) = limiter.endpoints
    assert endpoint == sts_server.endpoint
    assert limiter.current_rate(endpoint) < 500  # it backed off


@pytest.mark.parametrize("code", ["ThrottlingException", "RequestLimitExceeded"])
async def test_every_throttling_code_is_paced(
    parent: AioSession, sts_server: StsServer, code: str
) -> None:
    parent.set_default_client_config(Config(retries={"total_max_attempts": 1}))
    sts_server.fail_next(code=code, times=7)
    results = [
        result
        async for result in assume_role_in_accounts(
            parent, accounts(2), ROLE, rate=StsRateLimiter(500)
        )
    ]
    assert all(result.ok for result in results)
    assert sts_server.count("AssumeRole") == 2 + 7


async def test_a_call_throttled_past_its_deadline_fails_with_the_code(
    parent: AioSession, sts_server: StsServer
) -> None:
    parent.set_default_client_config(Config(retries={"total_max_attempts": 1}))
    sts_server.fail_next(code="Throttling", times=10_000)
    limiter = StsRateLimiter(200, deadline=0.5)
    started = limiter.now()
    summary = await fan_out_summary(
        parent, nothing, role_name=ROLE, accounts=accounts(2), regions=["us-east-1"], rate=limiter
    )
    assert limiter.now() - started >= 0.5
    assert summary.failure_counts == {"assume": {"Throttling": 2}}
    error = summary.failures["assume"]["Throttling"][0].error
    assert isinstance(error, ClientError)
    # Each call retried beyond botocore's attempts (here 1), until its deadline.
    arns = [call["RoleArn"] for call in sts_server.calls()]
    assert all(arns.count(arn) >= 2 for arn in set(arns))
    assert len(set(arns)) == 2
    sts_server.clear_faults()


async def test_cancelling_a_run_leaves_no_paced_call_behind(
    parent: AioSession, sts_server: StsServer
) -> None:
    limiter = StsRateLimiter(5)  # 200 ms apart: most of the 10 workers wait for a slot
    results = fan_out(
        parent, nothing, role_name=ROLE, accounts=accounts(40), concurrency=10, rate=limiter
    )
    sts_server.fail_next(code="Throttling", times=3)  # paced retries in the queue too

    async def consume() -> None:
        async with contextlib.aclosing(results):
            async for _ in results:
                pass

    task = asyncio.ensure_future(consume())
    waiting = asyncio.ensure_future(limiter.wait_for_waiting(4))
    await asyncio.wait([waiting, task], return_when=asyncio.FIRST_COMPLETED)
    assert waiting.done() and not task.done()  # mid-run, calls waiting for their slot
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.waiting == 0
    # Nothing of the run is left: no task, so no paced attempt or retry can be sent.
    assert asyncio.all_tasks() == {asyncio.current_task()}
    sent = limiter.sent
    count = sts_server.count("AssumeRole")
    assert count <= sent
    # Past every slot it had handed out: still nothing more reached the server.
    await asyncio.sleep(2 / limiter.rate)
    assert sts_server.count("AssumeRole") == count
    assert limiter.sent == sent
    sts_server.clear_faults()


async def test_a_plain_session_keeps_botocores_retries(
    parent: AioSession, sts_server: StsServer
) -> None:
    # Outside a paced fan-out, the shared clients' handlers are inert: botocore's
    # retries as configured (here: 2 attempts), then the throttling error.
    parent.set_default_client_config(Config(retries={"total_max_attempts": 2}))
    sts_server.fail_next(code="Throttling", times=10)
    session = assume_role(parent, f"arn:aws:iam::{accounts(1)[0]}:role/{ROLE}")
    credentials = await session.get_credentials()
    with pytest.raises(ClientError) as raised:
        await credentials.get_frozen_credentials()
    assert raised.value.response["Error"]["Code"] == "Throttling"
    assert sts_server.count("AssumeRole") == 2
    sts_server.clear_faults()


async def test_rate_none_is_unpaced(parent: AioSession, sts_server: StsServer) -> None:
    parent.set_default_client_config(Config(retries={"total_max_attempts": 1}))
    sts_server.fail_next(code="Throttling", times=10)
    summary = await fan_out_summary(
        parent, nothing, role_name=ROLE, accounts=accounts(1), rate=None
    )
    assert summary.failure_counts == {"assume": {"Throttling": 1}}
    assert sts_server.count("AssumeRole") == 1
    sts_server.clear_faults()
