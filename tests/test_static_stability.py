"""Static stability: held credentials keep serving through STS outages; rejected credentials
recover by themselves; every refresh has a deadline.

STS is the moto server (faults injected at it, or a rejection of one access key), an
endpoint that never answers, or one that trickles. Time moves through the ``clock``
fixture (``aio_assume_role.testing.moved_clock``), chance through ``dice``; background
refreshes are awaited through ``testing.wait_for_refreshes()`` or the ``refreshes`` log.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import threading
import time
import warnings
from typing import Any

import boto3
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError
from moto_sts import StsServer
from stub_endpoints import silent_endpoint, trickling_endpoint
from support import Dice, FakeClock, RefreshLog, patch_retry_sleep, role_arn

import aio_assume_role.sync as sync_path
from aio_assume_role import testing
from aio_assume_role._core import clock as _clock
from aio_assume_role._core.refresh import RefreshState, is_retryable
from aio_assume_role._core.windows import refresh_windows, served_retry_point, sts_timeouts
from aio_assume_role.errors import (
    InvalidParameterError,
    ParentCredentialsError,
    RefreshError,
    RefreshTimeoutError,
)
from aio_assume_role.session import AssumedRoleSession, assume_role

HOUR = 3600
ADVISORY = 46 * 60  # 14 of 60 minutes left: advisory (from 15 minutes before expiry)
MANDATORY = 59 * 60 + 30  # 30 seconds left: the last minute is mandatory


async def frozen(session: AioSession) -> ReadOnlyCredentials:
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()


async def caller_arn(session: AioSession) -> str:
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


def state_of(session: AssumedRoleSession) -> RefreshState:
    return session._assumed_role_credentials._state


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def skip(seconds: float) -> None:
        return None

    patch_retry_sleep(monkeypatch, skip)


def failures(refreshes: RefreshLog) -> list[Any]:
    return [event for event in refreshes.events if not event.ok]


class TestWindows:
    @pytest.mark.parametrize(
        ("lifetime", "advisory"),
        [
            (900, 300),  # AssumeRole's minimum: 5 minutes
            (20 * 60, 300),
            (20 * 60 + 1, 900),
            (HOUR, 900),
            (90 * 60 - 1, 900),
            (90 * 60, 3600),  # from 90 minutes: an hour
            (12 * HOUR, 3600),
        ],
    )
    def test_the_advisory_window_follows_the_lifetimes_band(
        self, lifetime: int, advisory: int
    ) -> None:
        assert refresh_windows(lifetime) == (advisory, 60)

    def test_lifetimes_shorter_than_a_band_are_advisory_all_along(self) -> None:
        # Shorter than a band (a test's own duration): advisory all along, a third mandatory.
        assert refresh_windows(120) == (120, 40)

    def test_each_credential_set_gets_its_own_jittered_advisory_point(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock, dice: Dice
    ) -> None:
        now = _clock.now()
        expiry = now + datetime.timedelta(hours=1)
        metadata = {"access_key": "A", "secret_key": "S", "token": "T", "expiry_time": expiry}
        state = RefreshState(role_arn(), HOUR)
        left = []
        for value in (0.0, 0.999):
            dice.value = value
            state.succeeded(metadata, "first-use", 0.0, now)  # recomputed at each success
            left.append((expiry - state._advisory_point).total_seconds())
        # 15 minutes before expiry, moved later by up to half of the 14 advisory-only minutes.
        assert left == pytest.approx([900, 900 - 0.999 * 420], abs=0.01)
        assert (expiry - state._mandatory_point).total_seconds() == 60

    @pytest.mark.parametrize(("chance", "seconds"), [(0.0, 300), (0.5, 450), (0.999, 599.7)])
    def test_the_served_backoff_is_uniform_from_300_to_600_seconds(
        self, chance: float, seconds: float
    ) -> None:
        now = _clock.now()
        far = now + datetime.timedelta(hours=1)
        point, capped = served_retry_point(now, far, chance)
        assert (point - now).total_seconds() == pytest.approx(seconds)
        assert not capped

    def test_the_served_backoff_is_capped_at_the_mandatory_point(self) -> None:
        now = _clock.now()
        near = now + datetime.timedelta(seconds=200)
        assert served_retry_point(now, near, 0.0) == (near, True)


class TestServeThroughOutage:
    async def test_an_outage_of_18_minutes_fails_no_caller_with_few_attempts(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        refreshes: RefreshLog,
        no_retry_sleep: None,
    ) -> None:
        """The issue's scenario: hour-long credentials, STS answering 503 from 20 minutes
        until 90 seconds before expiry, the clock moved in 15-second steps, 20 readers
        and one signed request at each step."""
        child = assume_role(parent, role_arn("Outage"))
        first = await frozen(child)
        assert state_of(child).expiry is not None
        clock.advance(HOUR - 20 * 60)
        sts_server.fail_next(status=503, code="ServiceUnavailable", times=100_000)
        expiry = state_of(child).expiry
        failed_calls = 0
        async with child.create_client("sts") as sts:
            for _ in range(20 * 4 - 1):  # up to 15 s before the first credentials' expiry
                clock.advance(15)
                if (expiry - _clock.now()).total_seconds() <= 90:
                    sts_server.clear_faults()  # the outage ends 90 s before expiry
                results = await asyncio.gather(
                    *(frozen(child) for _ in range(20)),
                    sts.get_caller_identity(),
                    return_exceptions=True,
                )
                failed_calls += sum(isinstance(result, BaseException) for result in results)
                await testing.wait_for_refreshes()
        assert failed_calls == 0
        attempts = len(refreshes.events) - 1  # after the first use
        assert 2 <= attempts <= 5
        assert {event.rule for event in failures(refreshes)} <= {"served", "served-last-try"}
        assert refreshes.events[-1].ok  # the last try, once STS was back
        assert state_of(child).frozen.access_key != first.access_key

    async def test_a_failure_while_valid_logs_one_warning_and_backs_off_300_to_600_s(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        refreshes: RefreshLog,
        caplog: pytest.LogCaptureFixture,
        no_retry_sleep: None,
    ) -> None:
        child = assume_role(parent, role_arn("Warned"))
        held = await frozen(child)
        clock.advance(ADVISORY - 10 * 60)  # 24 minutes left: long before the mandatory point
        state_of(child).serve_until = None  # the advisory point, pulled forward for the test
        state_of(child)._advisory_point = _clock.now()
        dice.value = 0.5
        sts_server.fail_next(status=503, code="ServiceUnavailable", times=100)
        caplog.set_level(logging.WARNING, logger="aio_assume_role")
        assert await frozen(child) == held
        await testing.wait_for_refreshes()
        (event,) = failures(refreshes)
        assert (event.rule, event.retryable, event.error_code) == (
            "served",
            True,
            "ServiceUnavailable",
        )
        assert (event.next_attempt - _clock.now()).total_seconds() == pytest.approx(450, abs=2)
        (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
        message = record.getMessage()
        assert role_arn("Warned") in message and "ServiceUnavailable" in message
        assert "serving the credentials held" in message and "next attempt from" in message
        assert held.secret_key not in message
        clock.advance(440)  # still backing off: served, no attempt
        for _ in range(10):
            assert await frozen(child) == held
        assert await testing.wait_for_refreshes() == 0
        assert len(refreshes.events) == 2

    async def test_the_backoff_is_capped_so_the_last_minute_gets_a_last_try(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        refreshes: RefreshLog,
        no_retry_sleep: None,
    ) -> None:
        child = assume_role(parent, role_arn())
        held = await frozen(child)
        clock.advance(ADVISORY)  # 14 minutes left: any backoff of 5-10 minutes fits...
        clock.advance(8 * 60)  # ... not now, with 6 minutes left
        sts_server.fail_next(status=503, code="ServiceUnavailable", times=100)
        dice.value = 0.9
        assert await frozen(child) == held
        await testing.wait_for_refreshes()
        (event,) = failures(refreshes)
        assert event.rule == "served-last-try"
        assert event.next_attempt == state_of(child)._mandatory_point
        sts_server.clear_faults()
        clock.advance((event.next_attempt - _clock.now()).total_seconds() + 1)
        renewed = await frozen(child)  # the mandatory point: callers wait for the last try
        assert renewed.access_key != held.access_key
        assert refreshes.events[-1].ok and refreshes.events[-1].trigger == "mandatory"

    @pytest.mark.parametrize(
        ("status", "code", "retryable"),
        [(403, "AccessDenied", False), (400, "Throttling", True)],
    )
    async def test_any_error_while_valid_is_served_through(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        refreshes: RefreshLog,
        no_retry_sleep: None,
        status: int,
        code: str,
        retryable: bool,
    ) -> None:
        # A trust policy broken (and fixed) while a service runs must not take it down.
        child = assume_role(parent, role_arn())
        held = await frozen(child)
        clock.advance(ADVISORY)
        sts_server.fail_next(status=status, code=code, times=100)
        assert await frozen(child) == held
        assert "assumed-role/MyRole/" in await caller_arn(child)
        await testing.wait_for_refreshes()
        (event,) = failures(refreshes)
        assert (event.error_code, event.rule, event.retryable) == (code, "served", retryable)

    def test_the_sync_path_serves_through_an_outage_too(
        self, sts_server: StsServer, clock: FakeClock, refreshes: RefreshLog
    ) -> None:
        child = sync_path.assume_role(boto3.Session(), role_arn())
        credentials = child.get_credentials()
        held = credentials.get_frozen_credentials()
        clock.advance(ADVISORY)
        sts_server.fail_next(status=403, code="AccessDenied", times=100)
        assert credentials.get_frozen_credentials() == held  # this thread paid the failed try
        (event,) = failures(refreshes)
        assert (event.rule, event.retryable) == ("served", False)
        assert credentials.get_frozen_credentials() == held  # backing off: no new attempt
        assert sts_server.count() == 2


class TestNothingValidHeld:
    async def test_a_non_retryable_first_use_error_is_repeated_without_calling_sts(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        refreshes: RefreshLog,
    ) -> None:
        child = assume_role(parent, role_arn())
        sts_server.fail_next(status=403, code="AccessDenied")
        dice.value = 0.999  # the longest repeat: 5 seconds
        with pytest.raises(ClientError) as caught:
            await frozen(child)
        (event,) = refreshes.events
        assert (event.rule, event.retryable, event.trigger) == ("raised", False, "first-use")
        clock.advance(4.9)
        for _ in range(50):
            with pytest.raises(RefreshError) as repeated:
                await frozen(child)
            assert repeated.value.__cause__ is caught.value
        assert sts_server.count() == 1
        clock.advance(0.2)  # past the 1-5 s: the next caller tries again (and succeeds)
        await frozen(child)
        assert sts_server.count() == 2

    @pytest.mark.parametrize(
        ("chance", "seconds"), [(0.0, 1.0), (0.5, 3.0), (0.999, 4.996)], ids=str
    )
    async def test_a_waited_for_failure_is_repeated_for_1_to_5_seconds(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        no_retry_sleep: None,
        chance: float,
        seconds: float,
    ) -> None:
        child = assume_role(parent, role_arn())
        await frozen(child)
        clock.advance(MANDATORY)
        dice.value = chance
        sts_server.fail_next(status=503, code="ServiceUnavailable", times=100)
        with pytest.raises(ClientError):
            await frozen(child)
        with pytest.raises(RefreshError) as repeated:
            await frozen(child)
        left = (repeated.value.retry_at - _clock.now()).total_seconds()
        assert left == pytest.approx(seconds, abs=0.5)

    def test_errors_that_need_a_change_are_not_retryable(self) -> None:
        def client_error(code: str) -> ClientError:
            return ClientError({"Error": {"Code": code, "Message": ""}}, "AssumeRole")

        for code in ("AccessDenied", "MalformedPolicyDocument", "RegionDisabledException"):
            assert not is_retryable(client_error(code))
        assert not is_retryable(ParentCredentialsError(role_arn=role_arn()))
        for code in ("Throttling", "ServiceUnavailable", "InternalFailure", "SomethingNew"):
            assert is_retryable(client_error(code))
        assert is_retryable(RefreshTimeoutError(role_arn=role_arn(), seconds=1))


class TestRejectedCredentials:
    async def test_a_rejected_key_is_replaced_and_the_call_succeeds(
        self, parent: AioSession, sts_server: StsServer, refreshes: RefreshLog
    ) -> None:
        child = assume_role(parent, role_arn("Rejected"))
        first = await frozen(child)
        sts_server.reject_key(first.access_key)
        assert "assumed-role/Rejected/" in await caller_arn(child)  # succeeds, once retried
        assert sts_server.count() == 2  # exactly one extra AssumeRole
        assert sts_server.signing_keys("GetCallerIdentity")[0] == first.access_key
        assert sts_server.signing_keys("GetCallerIdentity")[1] != first.access_key
        assert refreshes.events[-1].trigger == "invalidated"

    async def test_a_hundred_rejected_requests_cause_one_assume_role(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        child = assume_role(parent, role_arn())
        first = await frozen(child)
        sts_server.reject_key(first.access_key)
        async with child.create_client("sts") as sts:
            answers = await asyncio.gather(*(sts.get_caller_identity() for _ in range(100)))
        assert all("assumed-role/MyRole/" in answer["Arn"] for answer in answers)
        assert sts_server.count() == 2
        assert sts_server.signing_keys("GetCallerIdentity").count(first.access_key) == 100

    async def test_replacements_rejected_too_surface_without_a_loop(
        self, parent: AioSession, sts_server: StsServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        child = assume_role(parent, role_arn())
        first = await frozen(child)
        sts_server.reject_key(first.access_key)
        second_keys: list[str] = []

        def reject_every_new_key(**_: Any) -> None:  # after the refresh: reject its key too
            key = state_of(child).frozen.access_key
            if key != first.access_key and key not in second_keys:
                second_keys.append(key)
                sts_server.reject_key(key)

        child.register("before-send.sts.GetCallerIdentity", reject_every_new_key)
        with pytest.raises(ClientError) as caught:
            await caller_arn(child)
        assert caught.value.response["Error"]["Code"] == "ExpiredToken"
        assert sts_server.count() == 2  # one replacement, then the error
        with pytest.raises(ClientError):  # a new call moments later: no new AssumeRole
            await caller_arn(child)
        assert sts_server.count() == 2
        assert any("moments after they replaced" in r.getMessage() for r in caplog.records)

    def test_an_older_keys_rejection_invalidates_nothing(self) -> None:
        now = _clock.now()
        expiry = now + datetime.timedelta(hours=1)
        state = RefreshState(role_arn(), HOUR)
        for key in ("OLD", "NEW"):
            metadata = {"access_key": key, "secret_key": "S", "token": "T", "expiry_time": expiry}
            state.succeeded(metadata, "first-use", 0.0, now)
        assert state.rejected("OLD", now)  # retried, with the newer credentials...
        assert state.invalid_key is None and state.plan(now) == "serve"  # ... kept
        assert state.rejected("NEW", now)
        assert state.plan(now) == "invalidated"

    async def test_a_cache_entry_holding_the_rejected_key_is_a_miss(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        cache: dict[str, Any] = {}
        child = assume_role(parent, role_arn(), cache=cache)
        first = await frozen(child)
        sts_server.reject_key(first.access_key)
        assert "assumed-role/MyRole/" in await caller_arn(child)
        assert sts_server.count() == 2
        (entry,) = cache.values()
        assert entry["Credentials"]["AccessKeyId"] != first.access_key

    async def test_an_error_that_is_not_a_rejection_is_not_retried(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        child = assume_role(parent, role_arn())
        first = await frozen(child)
        sts_server.reject_key(first.access_key, code="AccessDenied")
        with pytest.raises(ClientError):
            await caller_arn(child)
        assert sts_server.count() == 1
        assert sts_server.count("GetCallerIdentity") == 1

    def test_the_sync_path_replaces_a_rejected_key(self, sts_server: StsServer) -> None:
        child = sync_path.assume_role(boto3.Session(), role_arn("SyncRejected"))
        first = child.get_credentials().get_frozen_credentials()
        sts_server.reject_key(first.access_key)
        arn = child.client("sts").get_caller_identity()["Arn"]
        assert "assumed-role/SyncRejected/" in arn
        assert sts_server.count() == 2


class TestDeadline:
    async def test_a_silent_endpoint_fails_a_first_use_within_the_deadline(
        self, parent: AioSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with silent_endpoint() as url:
            monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
            child = assume_role(parent, role_arn("Silent"))
            child.refresh_timeout = 1.0
            started = time.monotonic()
            callers = [frozen(child) for _ in range(50)]
            results = await asyncio.gather(*callers, return_exceptions=True)
            assert time.monotonic() - started < 30  # a failure bound, not a timing claim
        assert all(isinstance(result, RefreshTimeoutError) for result in results)
        error = results[0]
        assert isinstance(error, TimeoutError)
        assert "1 s deadline" in str(error) and role_arn("Silent") in str(error)

    async def test_held_credentials_are_served_past_a_timed_out_refresh(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        refreshes: RefreshLog,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        child = assume_role(parent, role_arn())
        held = await frozen(child)
        child.refresh_timeout = 0.5
        clock.advance(ADVISORY)
        with silent_endpoint() as url:
            monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
            assert await frozen(child) == held
            await testing.wait_for_refreshes()
        (event,) = failures(refreshes)
        assert (event.error_code, event.rule) == ("RefreshTimeoutError", "served")

    async def test_a_trickling_answer_is_cut_at_the_deadline(
        self, parent: AioSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        parent.set_default_client_config(AioConfig(read_timeout=1, retries={"max_attempts": 2}))
        with trickling_endpoint(interval=0.3) as url:
            monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
            child = assume_role(parent, role_arn())
            child.refresh_timeout = 2
            results = await asyncio.gather(
                *(frozen(child) for _ in range(50)), return_exceptions=True
            )
        assert all(isinstance(result, RefreshTimeoutError) for result in results)

    def test_the_sync_path_has_the_deadline_too(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with silent_endpoint() as url:
            monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
            child = sync_path.assume_role(boto3.Session(), role_arn())
            credentials = child.get_credentials()
            credentials.refresh_timeout = 0.5
            with pytest.raises(RefreshTimeoutError):
                credentials.get_frozen_credentials()

    @pytest.mark.parametrize("value", [0, -1, "30", True, float("nan")])
    async def test_a_bad_deadline_is_refused_naming_it(
        self, parent: AioSession, value: Any
    ) -> None:
        child = assume_role(parent, role_arn())
        with pytest.raises(InvalidParameterError) as caught:
            child.refresh_timeout = value
        assert caught.value.parameter == "refresh_timeout"

    @pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("none", None), (" 2.5", 2.5)])
    def test_the_environment_sets_the_default_deadline(
        self, monkeypatch: pytest.MonkeyPatch, text: str, seconds: float | None
    ) -> None:
        monkeypatch.setenv("AIO_ASSUME_ROLE_REFRESH_TIMEOUT", text)
        assert assume_role(get_session(), role_arn()).refresh_timeout == seconds
        child = sync_path.assume_role(boto3.Session(), role_arn())
        assert child.get_credentials().refresh_timeout == seconds

    @pytest.mark.parametrize("text", ["soon", "0", "-5", "nan"])
    def test_a_bad_deadline_in_the_environment_is_refused_naming_it(
        self, monkeypatch: pytest.MonkeyPatch, text: str
    ) -> None:
        monkeypatch.setenv("AIO_ASSUME_ROLE_REFRESH_TIMEOUT", text)
        with pytest.raises(InvalidParameterError) as caught:
            assume_role(get_session(), role_arn())
        assert caught.value.parameter == "AIO_ASSUME_ROLE_REFRESH_TIMEOUT"

    def test_the_default_deadline_and_the_sts_clients_timeouts_that_fit_it(self) -> None:
        timeouts = sts_timeouts(None, 30)
        assert timeouts is not None
        assert (timeouts.connect_timeout, timeouts.read_timeout) == (5, 10)
        own = sts_timeouts(Config(connect_timeout=2, read_timeout=120), 30)
        assert own is None  # the parent's own timeouts win
        assert sts_timeouts(None, None) is None
        child = sync_path.assume_role(boto3.Session(), role_arn())
        assert child.get_credentials().refresh_timeout == 30


class TestThreadsProcessesLoops:
    def test_a_forked_child_does_not_wait_for_its_parents_refresh(
        self, sts_server: StsServer
    ) -> None:
        # Counted by this test's own session name: an AssumeRole an earlier test left
        # behind (a timed-out refresh's last retry) may still reach the shared server.
        name = "forked-child-test"
        child = sync_path.assume_role(boto3.Session(), role_arn(), RoleSessionName=name)
        credentials = child.get_credentials()
        sts_server.delay_next(3)

        def ours() -> int:
            return sum(1 for call in sts_server.calls() if call.get("RoleSessionName") == name)

        thread = threading.Thread(target=credentials.get_frozen_credentials)
        thread.start()
        deadline = time.monotonic() + 30
        while ours() < 1:  # the thread's AssumeRole is at the server
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # the child process: one fetch of its own, then out
            code = 1
            try:
                credentials.get_frozen_credentials()
                code = 0
            finally:
                os._exit(code)
        try:
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the forked child hung waiting for its parent's refresh")
        finally:
            if not done:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            thread.join()
        assert os.waitstatus_to_exitcode(status) == 0
        assert ours() == 2

    def test_two_event_loops_in_two_threads_share_nothing_but_the_state(
        self, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(get_session(), role_arn())
        asyncio.run(frozen(child))
        clock.advance(MANDATORY)
        sts_server.delay_next(1.0, times=2)
        second_started = threading.Event()
        errors: list[BaseException] = []
        bound = time.monotonic() + 60

        async def first_loop() -> None:
            early = [asyncio.ensure_future(frozen(child)) for _ in range(100)]
            while sts_server.count() < 2:
                assert time.monotonic() < bound, "the other loop never refreshed"
                await asyncio.sleep(0.01)
            second_started.set()
            late = [asyncio.ensure_future(frozen(child)) for _ in range(100)]
            results = await asyncio.gather(*early, *late, return_exceptions=True)
            errors.extend(r for r in results if isinstance(r, BaseException))

        async def second_loop() -> None:
            while sts_server.count() < 1:
                assert time.monotonic() < bound, "the first loop never refreshed"
                await asyncio.sleep(0.01)
            results = await asyncio.gather(
                *(frozen(child) for _ in range(100)), return_exceptions=True
            )
            errors.extend(r for r in results if isinstance(r, BaseException))

        threads = [
            threading.Thread(target=asyncio.run, args=(loop(),), daemon=True)
            for loop in (first_loop, second_loop)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert second_started.is_set()
        assert errors == []
        assert sts_server.count() == 1 + 2  # the first use, then one refresh per loop


class TestTestingModule:
    def test_the_clock_and_the_dice_are_restored(self) -> None:
        real_now, real_draw = _clock.now, _clock.random_fraction
        with testing.moved_clock() as clock, testing.pinned_jitter(0.25) as dice:
            clock.advance(3600)
            assert (
                _clock.now() - datetime.datetime.now(datetime.timezone.utc)
            ).total_seconds() == pytest.approx(3600, abs=5)
            assert _clock.random_fraction() == 0.25
            dice.value = 0.75
            assert _clock.random_fraction() == 0.75
        assert (_clock.now, _clock.random_fraction) == (real_now, real_draw)

    def test_bad_jitter_is_refused(self) -> None:
        with pytest.raises(ValueError), testing.pinned_jitter(1.0):
            pass

    async def test_wait_for_refreshes_awaits_the_advisory_refresh(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(parent, role_arn())
        held = await frozen(child)
        clock.advance(ADVISORY)
        assert await frozen(child) == held  # served; the refresh runs behind
        assert await testing.wait_for_refreshes() == 1
        assert (await frozen(child)).access_key != held.access_key
        assert await testing.wait_for_refreshes() == 0
