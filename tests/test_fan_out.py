"""fan_out(): work in every account and region, streamed; summaries; progress; early exit.

Against the moto server: AssumeRole and the work's GetCallerIdentity are counted where
they arrive. Concurrency is counted by work coroutines that wait for each other (never
by sleeping).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import io
import json
import logging
import sys
import types
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError, ParamValidationError
from moto_sts import StsServer
from support import new_organization, reset_moto

from aio_assume_role._core import progress as progress_display
from aio_assume_role.arns import get_role_arn
from aio_assume_role.errors import InvalidParameterError
from aio_assume_role.fanout import (
    FanOutProgress,
    FanOutResult,
    fan_out,
    fan_out_summary,
    summarize,
)
from aio_assume_role.session import AssumedRoleSession
from aio_assume_role.sts_clients import SharedStsClients, active_shared_clients
from aio_assume_role.targets import Account, OrganizationAccounts, shard_accounts

ROLE = "Audit"
REGIONS = ["us-east-1", "eu-west-1"]


def accounts(count: int) -> list[str]:
    return [f"{200000000000 + i:012d}" for i in range(count)]


async def collect(results: AsyncIterator[FanOutResult[Any]]) -> list[FanOutResult[Any]]:
    return [result async for result in results]


async def caller_account(session: AssumedRoleSession, account: Account, region: str | None) -> str:
    """The work of the benchmark: one client in the region, one call."""
    async with session.create_client("sts", region_name=region) as sts:
        identity = await sts.get_caller_identity()
    return str(identity["Account"])


def units(results: list[FanOutResult[Any]]) -> list[tuple[str, str | None]]:
    return sorted((result.account.id, result.region) for result in results)


# --- what each unit gets and gives ---------------------------------------------------------


async def test_one_result_per_account_and_region_one_assume_role_per_account(
    parent: AioSession, sts_server: StsServer
) -> None:
    ids = accounts(5)
    results = await collect(
        fan_out(
            parent,
            caller_account,
            role_name=ROLE,
            accounts=ids,
            regions=REGIONS,
            RoleSessionName="audit",
        )
    )
    assert units(results) == sorted((i, region) for i in ids for region in REGIONS)
    for result in results:
        assert result.ok and result.stage is None and result.error is None
        assert result.error_code is None
        assert result.value == result.account.id  # the work ran as the account's role
        assert result.account == Account(result.account.id)
    assert sts_server.count("AssumeRole") == 5  # shared by each account's two regions
    assert sts_server.count("GetCallerIdentity") == 10
    assert sorted(call["RoleArn"] for call in sts_server.calls()) == [
        get_role_arn(i, ROLE) for i in ids
    ]
    assert {call["RoleSessionName"] for call in sts_server.calls()} == {"audit"}


async def test_without_regions_one_unit_per_account_in_the_sessions_region(
    parent: AioSession, sts_server: StsServer
) -> None:
    seen: list[tuple[str, str | None, str]] = []

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> str:
        seen.append((account.id, region, session.get_config_variable("region")))
        return await caller_account(session, account, region)

    results = await collect(fan_out(parent, work, role_name=ROLE, accounts=accounts(3)))
    assert units(results) == [(i, None) for i in accounts(3)]
    assert sorted(seen) == [(i, None, "us-east-1") for i in accounts(3)]
    assert sts_server.count("AssumeRole") == 3


async def test_work_gets_the_account_objects_given_and_their_session(
    parent: AioSession, sts_server: StsServer
) -> None:
    given = [
        Account(i, name=f"name-{i}", email=f"{i}@example.com", status="ACTIVE")
        for i in accounts(2)
    ]
    sessions: dict[str, AssumedRoleSession] = {}

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> str:
        assert session.role_arn == get_role_arn(account.id, ROLE)
        assert sessions.setdefault(account.id, session) is session  # one per account
        return account.name or ""

    results = await collect(fan_out(parent, work, role_name=ROLE, accounts=given, regions=REGIONS))
    assert {result.account for result in results} == set(given)
    assert sorted(str(result.value) for result in results) == sorted(
        [f"name-{i}" for i in accounts(2)] * 2
    )


async def test_an_assume_failure_is_a_result_for_each_region_and_no_work_runs(
    parent: AioSession, sts_server: StsServer
) -> None:
    sts_server.fail_next("AssumeRole", code="AccessDenied", status=403, message="not you")
    ids = accounts(3)
    results = await collect(
        fan_out(
            parent, caller_account, role_name=ROLE, accounts=ids, regions=REGIONS, concurrency=1
        )
    )
    failed = [result for result in results if not result.ok]
    assert units(failed) == [(ids[0], region) for region in sorted(REGIONS)]  # the first call
    for result in failed:
        assert result.stage == "assume"
        assert result.error_code == "AccessDenied"
        assert isinstance(result.error, ClientError)
        assert result.value is None
    assert failed[0].error is failed[1].error  # the account's one failure, not a second call
    assert sts_server.count("AssumeRole") == 3
    assert sts_server.count("GetCallerIdentity") == 4  # only the other two accounts worked
    assert sum(result.ok for result in results) == 4


async def test_an_accounts_assume_failure_is_a_result_not_a_warning(
    parent: AioSession, sts_server: StsServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A WARNING per failed account ("callers get this error; next attempt from ...") means
    # nothing in a fan-out and breaks its progress bar: the result reports it.
    caplog.set_level(logging.DEBUG, logger="aio_assume_role")
    sts_server.fail_next("AssumeRole", code="AccessDenied", status=403)
    results = await collect(fan_out(parent, caller_account, role_name=ROLE, accounts=accounts(2)))
    assert sorted(result.ok for result in results) == [False, True]
    refresh_records = [r for r in caplog.records if "Refreshing credentials" in r.getMessage()]
    assert [record.levelno for record in refresh_records] == [logging.DEBUG]


async def test_an_exception_from_work_is_that_units_result(
    parent: AioSession, sts_server: StsServer
) -> None:
    ids = accounts(3)

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> int:
        if (account.id, region) == (ids[1], "eu-west-1"):
            raise KeyError("Reservations")
        return 7

    results = await collect(fan_out(parent, work, role_name=ROLE, accounts=ids, regions=REGIONS))
    (failed,) = [result for result in results if not result.ok]
    assert (failed.account.id, failed.region, failed.stage) == (ids[1], "eu-west-1", "work")
    assert failed.error_code == "KeyError"
    assert isinstance(failed.error, KeyError)
    assert [result.value for result in results if result.ok] == [7] * 5


async def test_a_base_exception_from_work_stops_the_run_and_cleans_up(
    parent: AioSession, sts_server: StsServer
) -> None:
    class Stop(BaseException):
        pass

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> None:
        raise Stop

    with pytest.raises(Stop):
        await collect(fan_out(parent, work, role_name=ROLE, accounts=accounts(4)))
    assert active_shared_clients(parent) is None
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_no_accounts_no_calls_and_no_client(
    parent: AioSession, sts_server: StsServer
) -> None:
    assert await collect(fan_out(parent, caller_account, role_name=ROLE, accounts=[])) == []
    assert sts_server.requests == []


# --- concurrency and sharing -------------------------------------------------------------------


async def test_at_most_concurrency_units_do_work_at_once(
    parent: AioSession, sts_server: StsServer
) -> None:
    # An account's regions all wait for its one AssumeRole: without the bound, all of
    # them would start their work at once when it completes.
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"]
    running = peak = 0
    full, release = asyncio.Event(), asyncio.Event()

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 3:
            full.set()
        await release.wait()
        running -= 1

    async def run() -> list[FanOutResult[None]]:
        return await collect(
            fan_out(
                parent, work, role_name=ROLE, accounts=accounts(2), regions=regions, concurrency=3
            )
        )

    task = asyncio.ensure_future(run())
    # Woken after every unit that was ready to start when the third one did (FIFO).
    await asyncio.wait_for(full.wait(), timeout=60)  # a bound below 3 never gets here
    assert (running, peak) == (3, 3)
    release.set()
    results = await task
    assert len(results) == 12 and all(result.ok for result in results)
    assert peak == 3
    assert sts_server.count("AssumeRole") == 2


async def test_at_most_concurrency_assume_role_calls_at_once(
    parent: AioSession, sts_server: StsServer
) -> None:
    in_flight = peak = 0
    full = asyncio.Event()

    async def sending(**_: Any) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 4:
            full.set()
        await full.wait()

    def answered(**_: Any) -> None:
        nonlocal in_flight
        in_flight -= 1

    parent.register("before-send.sts.AssumeRole", sending)
    parent.register("needs-retry.sts.AssumeRole", answered)

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> None:
        return None

    results = await asyncio.wait_for(
        collect(fan_out(parent, work, role_name=ROLE, accounts=accounts(12), concurrency=4)),
        timeout=60,
    )
    assert len(results) == 12
    assert peak == 4
    assert sts_server.count("AssumeRole") == 12


async def test_every_assume_role_goes_through_one_sts_client(parent: AioSession) -> None:
    created = []
    original = parent.create_client

    def counting(service_name: str, *args: Any, **kwargs: Any) -> Any:
        created.append((service_name, kwargs.get("config")))
        return original(service_name, *args, **kwargs)

    parent.create_client = counting
    results = await collect(
        fan_out(
            parent,
            caller_account,
            role_name=ROLE,
            accounts=accounts(20),
            regions=REGIONS,
            concurrency=60,
        )
    )
    assert len(results) == 40
    ((service, config),) = created
    assert service == "sts"
    assert config is not None and config.max_pool_connections == 60


async def test_a_callers_open_shared_clients_are_used_and_left_open(
    parent: AioSession, sts_server: StsServer
) -> None:
    async with SharedStsClients(parent) as shared:
        await collect(fan_out(parent, caller_account, role_name=ROLE, accounts=accounts(4)))
        assert shared.client_count == 1 and not shared.closed


async def test_an_accounts_session_is_dropped_once_its_regions_are_done(
    parent: AioSession, sts_server: StsServer
) -> None:
    ids = accounts(3)
    refs: dict[str, weakref.ref[AssumedRoleSession]] = {}
    alive_at_last_account: list[bool] = []

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> None:
        refs.setdefault(account.id, weakref.ref(session))
        if account.id == ids[2]:  # one unit at a time: accounts 0 and 1 are done
            gc.collect()
            alive_at_last_account.extend(refs[i]() is not None for i in ids[:2])

    await collect(
        fan_out(parent, work, role_name=ROLE, accounts=ids, regions=REGIONS, concurrency=1)
    )
    assert alive_at_last_account == [False, False, False, False]


# --- stopping early ------------------------------------------------------------------------


@pytest.fixture
def open_clients(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Clients entered and exited, through any session (the shared STS client and the work's)."""
    counted = {"entered": 0, "exited": 0}
    original = AioSession.create_client

    @contextlib.asynccontextmanager
    async def counting(self: AioSession, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with original(self, *args, **kwargs) as client:
            counted["entered"] += 1
            try:
                yield client
            finally:
                counted["exited"] += 1

    monkeypatch.setattr(AioSession, "create_client", counting)
    return counted


def blocking_work(started: asyncio.Event, first_done: int = 1) -> Any:
    """Work whose first ``first_done`` units return; the rest hold a client, waiting forever."""
    done = 0
    never = asyncio.Event()

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> None:
        nonlocal done
        async with session.create_client("sts", region_name=region) as sts:
            await sts.get_caller_identity()
            if done < first_done:
                done += 1
                return
            started.set()
            await never.wait()

    return work


async def test_closing_early_cancels_the_units_and_closes_every_client(
    parent: AioSession, sts_server: StsServer, open_clients: dict[str, int]
) -> None:
    started = asyncio.Event()
    results = fan_out(
        parent,
        blocking_work(started),
        role_name=ROLE,
        accounts=accounts(30),
        regions=REGIONS,
        concurrency=4,
    )

    async def first_result_then_close() -> SharedStsClients | None:
        async with contextlib.aclosing(results):
            async for result in results:
                assert result.ok
                await started.wait()  # other units hold clients, in flight
                return active_shared_clients(parent)
        return None

    # Units left running would block the close for ever: fail instead of hanging.
    owner = await asyncio.wait_for(first_result_then_close(), timeout=60)
    assert owner is not None and owner.closed and owner.client_count == 0
    assert active_shared_clients(parent) is None
    assert open_clients["entered"] >= 2
    assert open_clients["exited"] == open_clients["entered"]
    assert asyncio.all_tasks() == {asyncio.current_task()}
    gc.collect()  # an unclosed aiohttp session would warn here, failing the test


async def test_cancelling_the_consumer_cancels_the_units_and_closes_every_client(
    parent: AioSession, sts_server: StsServer, open_clients: dict[str, int]
) -> None:
    started = asyncio.Event()
    two_received = asyncio.Event()
    received: list[FanOutResult[Any]] = []

    async def consume() -> None:
        async for result in fan_out(
            parent,
            blocking_work(started, first_done=2),
            role_name=ROLE,
            accounts=accounts(30),
            concurrency=5,
        ):
            received.append(result)
            if len(received) == 2:  # the two units that return
                two_received.set()

    task = asyncio.ensure_future(consume())
    await started.wait()  # other units hold clients, in flight
    await two_received.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=60)
    assert active_shared_clients(parent) is None
    assert open_clients["exited"] == open_clients["entered"] > 0
    assert asyncio.all_tasks() == {asyncio.current_task()}
    gc.collect()


# --- arguments -------------------------------------------------------------------------------


async def _noop(session: AssumedRoleSession, account: Account, region: str | None) -> None:
    return None


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"role_name": "bad role!"}, "RoleArn"),
        ({"DurationSeconds": 5}, "DurationSeconds"),
        ({"RoleSessionName": "x"}, "RoleSessionName"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"regions": "us-east-1"}, "regions"),
        ({"regions": []}, "regions"),
        ({"regions": ["us-east-1", 1]}, "regions"),
        ({"regions": ["not a region"]}, "regions"),
        ({"shard": (2, 2)}, "shard"),
        ({"shard": "0/2"}, "shard"),
        ({"shard": (0, 0)}, "shard"),
        ({"progress": "yes"}, "progress"),
        ({"accounts": "200000000000"}, "accounts"),
        ({"accounts": ["200000000000", "12345x"]}, "accounts"),
        ({"accounts": [2000000000000]}, "accounts"),
        ({"work": "not callable"}, "work"),
    ],
)
def test_arguments_wrong_for_every_account_raise_at_call_time(
    kwargs: dict[str, Any], parameter: str, sts_server: StsServer
) -> None:
    arguments: dict[str, Any] = {"role_name": ROLE, "accounts": accounts(2), "work": _noop}
    arguments.update(kwargs)
    work = arguments.pop("work")
    with pytest.raises(InvalidParameterError) as raised:
        fan_out(get_session(), work, **arguments)
    assert raised.value.parameter == parameter
    assert "200000000000" not in str(raised.value)  # no value echoed
    assert sts_server.requests == []


def test_a_role_path_given_twice_raises_at_call_time() -> None:
    with pytest.raises(InvalidParameterError) as raised:
        fan_out(get_session(), _noop, role_name="team/Audit", path="/team/", accounts=accounts(1))
    assert raised.value.parameter == "path"


async def test_regions_are_deduplicated_in_order(
    parent: AioSession, sts_server: StsServer
) -> None:
    results = await collect(
        fan_out(
            parent,
            _noop,
            role_name=ROLE,
            accounts=accounts(1),
            regions=iter(["eu-west-1", "us-east-1", "eu-west-1"]),
        )
    )
    assert units(results) == [(accounts(1)[0], "eu-west-1"), (accounts(1)[0], "us-east-1")]


async def test_the_summary_validates_before_any_call(sts_server: StsServer) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        await fan_out_summary(
            get_session(), _noop, role_name=ROLE, accounts=accounts(1), concurrency=-1
        )
    assert raised.value.parameter == "concurrency"
    assert sts_server.requests == []


# --- sharding --------------------------------------------------------------------------------


async def test_a_shard_runs_only_its_accounts(parent: AioSession, sts_server: StsServer) -> None:
    ids = accounts(12)
    seen: list[str] = []
    for index in range(3):
        results = await collect(
            fan_out(parent, _noop, role_name=ROLE, accounts=ids, shard=(index, 3))
        )
        expected = [account.id for account in shard_accounts(ids, index, 3)]
        assert sorted(result.account.id for result in results) == sorted(expected)
        seen.extend(expected)
    assert sorted(seen) == ids  # the shards partition the accounts
    assert sts_server.count("AssumeRole") == 12


# --- results as JSON, and the summary ----------------------------------------------------------


def test_to_json_holds_the_account_the_outcome_and_an_encodable_value() -> None:
    account = Account("200000000000", name="prod", email="p@example.com", status="ACTIVE")
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    result = FanOutResult(account, "eu-west-1", None, {"LaunchTime": when, "n": 1})
    assert result.to_json() == {
        "account_id": "200000000000",
        "account_name": "prod",
        "account_email": "p@example.com",
        "account_status": "ACTIVE",
        "region": "eu-west-1",
        "ok": True,
        "stage": None,
        "error_code": None,
        "error": None,
        "value": {"LaunchTime": "2026-01-02T03:04:05+00:00", "n": 1},
    }
    json.dumps(result.to_json())


def test_to_json_never_uses_a_values_repr() -> None:
    class Secretive:
        def __repr__(self) -> str:
            return "SECRET"

    data = FanOutResult(Account("200000000000"), None, None, {"creds": Secretive()}).to_json()
    assert data["value"] is None and data["value_type"] == "dict"
    assert "SECRET" not in json.dumps(data)


def test_to_json_error_messages_hold_no_secret() -> None:
    account = Account("200000000000")
    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole"
    )
    data = FanOutResult(account, None, "assume", None, denied).to_json()
    assert (data["ok"], data["stage"], data["error_code"], data["error"]) == (
        False,
        "assume",
        "AccessDenied",
        "not authorized",
    )
    # botocore's own report quotes the values it rejects: only its class name is kept.
    quoted = ParamValidationError(report="Invalid type for parameter SecretString, value: hunter2")
    data = FanOutResult(account, "us-east-1", "work", None, quoted).to_json()
    assert data["error"] == "ParamValidationError" and "hunter2" not in json.dumps(data)
    long = FanOutResult(account, None, "work", None, RuntimeError("x" * 2000)).to_json()
    assert len(long["error"]) == 500


def test_a_result_is_a_frozen_slotted_dataclass() -> None:
    result: FanOutResult[int] = FanOutResult(Account("200000000000"), None)
    assert not hasattr(result, "__dict__")
    with pytest.raises(AttributeError):
        result.value = 1  # type: ignore[misc]


async def test_summary_counts_successes_and_failures_by_stage_and_code(
    parent: AioSession, sts_server: StsServer
) -> None:
    ids = accounts(4)
    sts_server.fail_next("AssumeRole", code="AccessDenied", status=403)

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> str:
        if account.id == ids[3] and region == "us-east-1":
            raise KeyError("x")
        return account.id

    summary = await fan_out_summary(
        parent, work, role_name=ROLE, accounts=ids, regions=REGIONS, concurrency=1
    )
    assert summary.total == 8
    assert len(summary.successes) == 5 and summary.failed == 3
    assert summary.failure_counts == {"assume": {"AccessDenied": 2}, "work": {"KeyError": 1}}
    assert [r.account.id for r in summary.failures["assume"]["AccessDenied"]] == [ids[0]] * 2
    assert summary.wall_seconds > 0
    assert summary.to_json() == {
        "total": 8,
        "ok": 5,
        "failed": 3,
        "failures": {"assume": {"AccessDenied": 2}, "work": {"KeyError": 1}},
        "wall_seconds": summary.wall_seconds,
    }
    assert summarize(summary.successes).failed == 0


# --- progress ------------------------------------------------------------------------------------


def failing_in(ids: list[str]) -> Any:
    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> None:
        if account.id in ids:
            raise ValueError("no")

    return work


async def test_the_progress_callback_counts_each_result_by_outcome(
    parent: AioSession, sts_server: StsServer
) -> None:
    ids = accounts(4)
    sts_server.fail_next("AssumeRole", code="AccessDenied", status=403)
    reports: list[FanOutProgress] = []
    received = 0
    async for _ in fan_out(
        parent,
        failing_in([ids[1]]),
        role_name=ROLE,
        accounts=ids,
        regions=REGIONS,
        concurrency=1,
        progress=reports.append,
    ):
        received += 1
        assert len(reports) == received  # called as each result is ready
    assert [report.done for report in reports] == list(range(1, 9))
    assert {report.total for report in reports} == {8}
    assert reports[-1] == FanOutProgress(8, 8, ok=4, failed_assume=2, failed_work=2)
    assert reports[-1].failed == 4


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A stand-in tqdm module; the bars it made."""
    bars: list[Any] = []

    class Bar:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs
            self.n = 0
            self.postfix: dict[str, Any] = {}
            self.closed = False
            bars.append(self)

        def update(self, n: int) -> None:
            self.n += n

        def set_postfix(self, ordered_dict: dict[str, Any], refresh: bool = True) -> None:
            self.postfix = dict(ordered_dict)

        def close(self) -> None:
            self.closed = True

    module = types.ModuleType("tqdm")
    module.tqdm = Bar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", module)
    return bars


async def test_progress_true_on_a_terminal_draws_a_tqdm_bar(
    parent: AioSession, fake_tqdm: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _TTY()
    monkeypatch.setattr(sys, "stderr", terminal)
    ids = accounts(3)
    await collect(
        fan_out(
            parent,
            failing_in([ids[0]]),
            role_name=ROLE,
            accounts=ids,
            regions=REGIONS,
            progress=True,
        )
    )
    (bar,) = fake_tqdm
    assert bar.kwargs["total"] == 6 and bar.kwargs["file"] is terminal
    assert bar.n == 6 and bar.closed
    assert bar.postfix == {"ok": 4, "failed_assume": 0, "failed_work": 2}


async def test_the_real_tqdm_draws_the_bar_with_the_counts(
    parent: AioSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tqdm")  # the optional extra 'progress'
    terminal = _TTY()
    monkeypatch.setattr(sys, "stderr", terminal)
    ids = accounts(3)
    await collect(
        fan_out(
            parent,
            failing_in([ids[0]]),
            role_name=ROLE,
            accounts=ids,
            regions=REGIONS,
            progress=True,
        )
    )
    drawn = terminal.getvalue().rsplit("\r", 1)[-1]
    assert drawn.startswith("fan_out: 100%")
    assert "6/6" in drawn and "ok=4, failed_assume=0, failed_work=2" in drawn


async def test_tqdm_is_used_only_with_progress_true(
    parent: AioSession, fake_tqdm: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", _TTY())
    for progress in (None, False, lambda _: None):
        await collect(
            fan_out(parent, _noop, role_name=ROLE, accounts=accounts(1), progress=progress)
        )
    assert fake_tqdm == []


@pytest.mark.parametrize("why", ["not a terminal", "tqdm not installed"])
async def test_progress_true_otherwise_writes_a_line_at_the_end_to_stderr(
    parent: AioSession,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    fake_tqdm: list[Any],
    why: str,
) -> None:
    stderr = io.StringIO() if why == "not a terminal" else _TTY()
    monkeypatch.setattr(sys, "stderr", stderr)
    if why != "not a terminal":
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    ids = accounts(3)
    with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
        await collect(
            fan_out(parent, failing_in([ids[2]]), role_name=ROLE, accounts=ids, progress=True)
        )
    # A short run: no line before the interval has passed, one at the end; on stderr
    # itself, not through logging.
    assert stderr.getvalue().splitlines() == [
        "fan_out: 3/3 done, 2 ok, 1 failed (assume 0, work 1)"
    ]
    assert not [r for r in caplog.records if "done" in r.getMessage()]
    assert fake_tqdm == []


async def test_progress_lines_come_at_most_every_interval(
    parent: AioSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(progress_display, "PROGRESS_LOG_INTERVAL", 0.0)  # every result is due
    await collect(fan_out(parent, _noop, role_name=ROLE, accounts=accounts(3), progress=True))
    lines = stderr.getvalue().splitlines()
    assert [line.split(" done")[0] for line in lines] == [f"fan_out: {n}/3" for n in (1, 2, 3)]


_PROGRESS_SCRIPT = """
import asyncio, sys
from aiobotocore.session import get_session
from aio_assume_role import fan_out

async def work(session, account, region):
    return None

async def main():
    accounts = [f"{n:012d}" for n in range(1, 4)]
    async for _ in fan_out(get_session(), work, role_name="R", accounts=accounts, progress=True):
        pass

asyncio.run(main())
"""


def test_progress_shows_in_a_process_without_logging_configured(sts_server: StsServer) -> None:
    # The case: a script run with stderr a pipe (CI, a log file), no logging set up.
    import os
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", _PROGRESS_SCRIPT],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["fan_out: 3/3 done, 3 ok, 0 failed (assume 0, work 0)"]
    assert result.stdout == ""


async def test_a_failing_progress_callback_stops_the_run_cleanly(parent: AioSession) -> None:
    def progress(_: FanOutProgress) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await collect(
            fan_out(parent, _noop, role_name=ROLE, accounts=accounts(6), progress=progress)
        )
    assert active_shared_clients(parent) is None
    assert asyncio.all_tasks() == {asyncio.current_task()}


# --- accounts from AWS Organizations ---------------------------------------------------------


@pytest.fixture
def organization(sts_server: StsServer) -> Iterator[dict[str, Any]]:
    """A moto organization: the management account and 5 members, one of them closed."""

    client, management, _ = new_organization(sts_server.endpoint)
    members = {}
    for n in range(5):
        status = client.create_account(AccountName=f"member-{n}", Email=f"m{n}@example.com")
        members[status["CreateAccountStatus"]["AccountId"]] = f"member-{n}"
    closed = sorted(members)[0]
    client.close_account(AccountId=closed)
    sts_server.reset()
    yield {"management": management, "members": members, "closed": closed}
    reset_moto(sts_server.endpoint)


async def test_accounts_from_an_organization_carry_their_names(
    parent: AioSession, sts_server: StsServer, organization: dict[str, Any]
) -> None:
    from aio_assume_role.targets import from_organization

    members: dict[str, str] = organization["members"]
    ignored = sorted(members)[1]
    spec = from_organization(ignore_accounts=[ignored])
    results = await collect(
        fan_out(parent, caller_account, role_name=ROLE, accounts=spec, regions=REGIONS)
    )
    expected = sorted(set(members) - {organization["closed"], ignored})
    assert sorted({result.account.id for result in results}) == expected
    assert len(results) == 2 * len(expected)
    for result in results:
        assert result.ok and result.value == result.account.id
        assert result.account.name == members[result.account.id]
        assert result.account.status == "ACTIVE"
        assert result.account.email is not None
        assert result.to_json()["account_name"] == result.account.name
    assert sts_server.count("AssumeRole") == len(expected)


async def test_an_organization_is_enumerated_only_when_iteration_starts(
    parent: AioSession, sts_server: StsServer, organization: dict[str, Any]
) -> None:
    from aio_assume_role.targets import from_organization

    calls: list[str] = []
    parent.register("before-call.organizations", lambda model, **_: calls.append(model.name))
    mixed: list[str | Account | OrganizationAccounts] = [from_organization(), accounts(1)[0]]
    results = fan_out(parent, _noop, role_name=ROLE, accounts=mixed, shard=(0, 1))
    assert calls == []
    found = await collect(results)
    assert calls  # enumerated now
    assert accounts(1)[0] in {result.account.id for result in found}
    assert len(found) == len(organization["members"]) - 1 + 1  # closed out, the extra id in


async def test_an_organizations_error_is_raised_by_the_iteration(
    parent: AioSession, sts_server: StsServer
) -> None:
    from aio_assume_role.targets import from_organization

    reset_moto(sts_server.endpoint)  # no organization
    results = fan_out(parent, _noop, role_name=ROLE, accounts=from_organization())
    with pytest.raises(ClientError) as raised:
        await collect(results)
    assert raised.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
    assert sts_server.count("AssumeRole") == 0
    assert active_shared_clients(parent) is None


async def _frozen_credentials(session: AssumedRoleSession, account: Account, region: Any) -> Any:
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()


async def _assume_role_response(session: AssumedRoleSession, account: Account, region: Any) -> Any:
    async with session.create_client("sts") as sts:
        return await sts.assume_role(
            RoleArn=get_role_arn(account.id, ROLE), RoleSessionName="work"
        )


async def test_to_json_drops_credentials_the_work_returns(parent: AioSession) -> None:
    """ReadOnlyCredentials is a named tuple: json.dumps would write it as a list
    ["ASIA...", "<secret key>", "<token>"]. It is not plain JSON data: dropped."""
    (result,) = await collect(
        fan_out(parent, _frozen_credentials, role_name=ROLE, accounts=["200000000000"])
    )
    assert result.ok and result.value is not None
    data = result.to_json()
    assert data["value"] is None and data["value_type"] == "ReadOnlyCredentials"
    text = json.dumps(data)
    assert result.value.secret_key not in text and result.value.token not in text


async def test_to_json_redacts_credential_fields_of_plain_data(parent: AioSession) -> None:
    (result,) = await collect(
        fan_out(parent, _assume_role_response, role_name=ROLE, accounts=["200000000000"])
    )
    assert result.ok
    credentials = result.value["Credentials"]
    data = result.to_json()
    text = json.dumps(data)
    assert credentials["SecretAccessKey"] not in text
    assert credentials["SessionToken"] not in text
    written = data["value"]["Credentials"]
    assert written["SecretAccessKey"] == written["SessionToken"] == "<redacted>"
    assert written["AccessKeyId"] == credentials["AccessKeyId"]
    assert written["Expiration"] == credentials["Expiration"].isoformat()


@pytest.mark.parametrize(
    ("value", "value_type"),
    [
        (float("nan"), "float"),
        ({"x": [float("inf")]}, "dict"),
        ({("a", "b"): 1}, "dict"),
        ({1, 2}, "set"),
        (type("Str", (str,), {})("sub"), "Str"),
    ],
    ids=["nan", "infinity", "tuple-key", "set", "str-subclass"],
)
def test_to_json_drops_what_is_not_plain_json(value: Any, value_type: str) -> None:
    data = FanOutResult(Account("200000000000"), None, None, value).to_json()
    assert data["value"] is None and data["value_type"] == value_type
    json.dumps(data, allow_nan=False)


def test_to_json_drops_deep_and_circular_values() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    circular: dict[str, Any] = {}
    circular["self"] = circular
    for value in (deep, circular):
        data = FanOutResult(Account("200000000000"), None, None, value).to_json()
        assert data["value"] is None and data["value_type"] == type(value).__name__
    shallow = FanOutResult(Account("200000000000"), None, None, {"a": (1, 2.5, True, None)})
    assert shallow.to_json()["value"] == {"a": [1, 2.5, True, None]}


async def test_fan_out_zero_pads_int_and_short_account_ids(
    parent: AioSession, sts_server: StsServer
) -> None:
    """aws-assume-role-lib's rule, in fan-out targets too: one account, however given."""
    results = await collect(
        fan_out(parent, _noop, role_name=ROLE, accounts=[12345, "12345", "000000012345"])
    )
    assert [result.account.id for result in results] == ["000000012345"]
    assert [call["RoleArn"] for call in sts_server.calls()] == [get_role_arn("000000012345", ROLE)]


def _sync_work(session: AssumedRoleSession, account: Account, region: str | None) -> None:
    return None


class _AsyncCallable:
    async def __call__(self, session: AssumedRoleSession, account: Account, region: Any) -> int:
        return 1


@pytest.mark.parametrize(
    ("kwargs", "parameter", "says"),
    [
        (
            {"role_name": get_role_arn("200000000000", ROLE)},
            "role_name",
            "pass the role's name, not its ARN",
        ),
        ({"work": _sync_work}, "work", "is a plain (sync) function: pass an async function"),
        ({"work": lambda s, a, r: None}, "work", "pass an async function"),
        ({"regions": ["eu-wst-1"]}, "regions", "is not a region botocore knows"),
        ({"regions": ["us east"]}, "regions", "is not a region name"),
        ({"regions": ["us-east-1\n"]}, "regions", "no spaces or newline"),
        ({"accounts": ["12345x"]}, "accounts", "not a digit"),
    ],
    ids=["role-arn", "sync-work", "sync-lambda", "region-typo", "region-space", "newline", "id"],
)
def test_fan_out_errors_are_headed_fan_out_and_name_what_the_user_wrote(
    kwargs: dict[str, Any], parameter: str, says: str, sts_server: StsServer
) -> None:
    arguments: dict[str, Any] = {"role_name": ROLE, "accounts": accounts(2), "work": _noop}
    arguments.update(kwargs)
    work = arguments.pop("work")
    with pytest.raises(InvalidParameterError) as raised:
        fan_out(get_session(), work, **arguments)
    message = str(raised.value)
    assert raised.value.parameter == parameter
    assert message.startswith("Invalid fan_out parameter(s):\n"), message
    assert says in message, message
    assert "RoleArn" not in message and "position 35" not in message
    assert sts_server.requests == []


def test_assume_role_in_accounts_refuses_an_arn_as_role_name() -> None:
    from aio_assume_role.fanout import assume_role_in_accounts

    with pytest.raises(InvalidParameterError) as raised:
        assume_role_in_accounts(get_session(), accounts(1), get_role_arn("200000000000", ROLE))
    assert raised.value.parameter == "role_name"
    assert str(raised.value).startswith("Invalid assume_role_in_accounts parameter(s):\n")


async def test_an_async_callable_object_is_async_work(parent: AioSession) -> None:
    results = await collect(
        fan_out(parent, _AsyncCallable(), role_name=ROLE, accounts=accounts(1))
    )
    assert [result.value for result in results] == [1]


def test_invalid_parameter_error_pickles_with_its_heading() -> None:
    import pickle

    error = InvalidParameterError([("regions", "is empty")], function="fan_out")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.function == "fan_out"
    assert again.problems == error.problems
