"""Refresh under STS faults: advisory vs mandatory windows, retries, clock skew.

1-hour credentials have the 2026 windows: advisory 15 minutes before expiry
(a failed refresh keeps the still-valid credentials and logs a warning),
mandatory in the last minute (a failed refresh raises to the caller). Faults are
answered by the real moto server (``fail_next``) or by a closed port; the clock
fixture moves our clock and moto's together.
"""

from __future__ import annotations

import datetime
import logging
import pickle
import socket
from datetime import timedelta

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError, EndpointConnectionError
from moto_sts import StsServer
from support import Dice, FakeClock, RefreshLog, patch_retry_sleep, role_arn

from aio_assume_role._core import clock as _clock
from aio_assume_role.errors import ExpiredCredentialsError, RefreshError
from aio_assume_role.session import AssumedRoleSession, assume_role

ADVISORY = 47 * 60  # 13 of 60 minutes left: inside the 15-minute advisory window only
MANDATORY = 59 * 60 + 30  # 30 seconds left: the mandatory window is the last minute
EXPIRED = 65 * 60

TRANSIENT = [
    pytest.param(400, "Throttling", id="throttling"),
    pytest.param(503, "ServiceUnavailable", id="503"),
    pytest.param(500, "InternalFailure", id="500"),
]
ALL_FAULTS = [*TRANSIENT, pytest.param(403, "AccessDenied", id="access-denied")]


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry delays botocore asks for, recorded instead of slept (only time is faked)."""
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    patch_retry_sleep(monkeypatch, record)
    return delays


def two_attempts(session: AioSession) -> AioSession:
    """Retry config the way users set it: the parent's default client config."""
    session.set_default_client_config(
        AioConfig(retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=2)
    )
    return session


async def frozen(session: AioSession) -> ReadOnlyCredentials:
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()


async def caller_arn(session: AioSession) -> str:
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


def refresh_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The refresh-failure warnings, formatted as a handler would (with any traceback)."""
    formatter = logging.Formatter()
    return [
        formatter.format(record)
        for record in caplog.records
        if record.levelno >= logging.WARNING and "Refreshing credentials" in record.getMessage()
    ]


class TestRetries:
    @pytest.mark.parametrize(("status", "code"), TRANSIENT)
    @pytest.mark.parametrize("mode", ["legacy", "standard"])
    async def test_transient_errors_are_retried_then_the_refresh_succeeds(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        backoffs: list[float],
        status: int,
        code: str,
        mode: str,
    ) -> None:
        parent.set_default_client_config(AioConfig(retries={"mode": mode}))
        child = assume_role(parent, role_arn())
        old = await frozen(child)
        clock.advance(MANDATORY)
        sts_server.fail_next(status=status, code=code, times=2)
        new = await frozen(child)
        assert new.access_key != old.access_key
        assert sts_server.count() == 1 + 3  # first fetch, then 2 faults and 1 success
        assert len(backoffs) == 2

    async def test_attempts_follow_the_parents_default_client_config(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock, backoffs: list[float]
    ) -> None:
        child = assume_role(two_attempts(parent), role_arn())
        await frozen(child)
        clock.advance(MANDATORY)
        sts_server.fail_next(code="Throttling", times=10)
        with pytest.raises(ClientError) as caught:
            await frozen(child)
        assert caught.value.response["Error"]["Code"] == "Throttling"
        assert sts_server.count() == 1 + 2

    async def test_attempts_follow_the_environment(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        backoffs: list[float],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("AWS_RETRY_MODE", "standard")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
        child = assume_role(parent, role_arn())
        await frozen(child)
        clock.advance(MANDATORY)
        sts_server.fail_next(status=503, code="ServiceUnavailable", times=10)
        with pytest.raises(ClientError):
            await frozen(child)
        assert sts_server.count() == 1 + 4

    @pytest.mark.parametrize("mode", ["legacy", "standard"])
    async def test_access_denied_is_not_retried(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        backoffs: list[float],
        mode: str,
    ) -> None:
        parent.set_default_client_config(AioConfig(retries={"mode": mode}))
        child = assume_role(parent, role_arn())
        await frozen(child)
        clock.advance(MANDATORY)
        sts_server.fail_next(status=403, code="AccessDenied", message="Not authorized", times=5)
        with pytest.raises(ClientError) as caught:
            await frozen(child)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert sts_server.count() == 1 + 1
        assert backoffs == []


class TestAdvisoryWindow:
    @pytest.mark.parametrize(("status", "code"), ALL_FAULTS)
    async def test_failed_refresh_keeps_valid_credentials_and_warns_once(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        backoffs: list[float],
        caplog: pytest.LogCaptureFixture,
        refreshes: RefreshLog,
        status: int,
        code: str,
    ) -> None:
        child = assume_role(two_attempts(parent), role_arn("Kept"))
        old = await frozen(child)
        clock.advance(ADVISORY)
        sts_server.fail_next(status=status, code=code, times=1 if code == "AccessDenied" else 2)
        caplog.set_level(logging.WARNING)

        assert await frozen(child) == old  # served at once; the refresh runs behind
        (_, failed) = await refreshes.wait_for(2)
        assert (failed.ok, failed.trigger, failed.error_code) == (False, "advisory", code)
        assert "assumed-role/Kept/" in await caller_arn(child)  # API calls keep working
        (warning,) = refresh_warnings(caplog)  # one line, no traceback
        assert "advisory" in warning and code in warning and "next attempt" in warning
        assert "Traceback" not in warning
        assert old.secret_key not in warning
        assert old.token not in warning

    async def test_a_failed_refresh_is_not_retried_before_its_backoff(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        refreshes: RefreshLog,
    ) -> None:
        child = assume_role(parent, role_arn())
        old = await frozen(child)
        clock.advance(ADVISORY)  # 13 minutes left: 12 minutes before the mandatory point
        sts_server.fail_next(status=403, code="AccessDenied")
        dice.value = 0.5  # backoff: half-way between 300 and 600 s = 450 s
        await frozen(child)
        (_, failed) = await refreshes.wait_for(2)
        # In seconds: pytest.approx takes timedeltas only from pytest 9.1 on.
        assert (failed.next_attempt - _clock.now()).total_seconds() == pytest.approx(450, abs=2)
        clock.advance(445)  # still backing off: every use is served, nobody calls STS
        for _ in range(20):
            assert await frozen(child) == old
        assert sts_server.count() == 2
        assert len(refreshes.events) == 2
        clock.advance(10)  # past the backoff, still advisory: the next use retries
        assert await frozen(child) == old
        (*_, retried) = await refreshes.wait_for(3)
        assert retried.ok and retried.trigger == "advisory"
        assert (await frozen(child)).access_key != old.access_key
        assert sts_server.count() == 3

    async def test_the_backoff_never_reaches_past_the_mandatory_point(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        dice: Dice,
        refreshes: RefreshLog,
    ) -> None:
        child = assume_role(parent, role_arn())
        await frozen(child)
        clock.advance(ADVISORY)
        sts_server.fail_next(status=403, code="AccessDenied")
        dice.value = 0.999
        await frozen(child)
        (_, failed) = await refreshes.wait_for(2)
        assert failed.next_attempt < child._assumed_role_credentials._state._mandatory_point
        clock.advance(MANDATORY - ADVISORY)
        await frozen(child)  # mandatory: waits for a new refresh
        assert sts_server.count() == 3


class TestMandatoryWindow:
    @pytest.mark.parametrize(("status", "code"), ALL_FAULTS)
    @pytest.mark.parametrize("elapsed", [MANDATORY, EXPIRED], ids=["mandatory", "expired"])
    async def test_failed_refresh_raises_to_the_caller_then_recovers(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        backoffs: list[float],
        caplog: pytest.LogCaptureFixture,
        status: int,
        code: str,
        elapsed: int,
    ) -> None:
        child = assume_role(two_attempts(parent), role_arn("Raised"))
        old = await frozen(child)
        clock.advance(elapsed)
        sts_server.fail_next(status=status, code=code, times=1 if code == "AccessDenied" else 2)
        caplog.set_level(logging.WARNING)

        with pytest.raises(ClientError) as caught:
            await caller_arn(child)  # the error surfaces from an ordinary API call
        assert caught.value.response["Error"]["Code"] == code
        (warning,) = refresh_warnings(caplog)
        assert "mandatory" in warning or "expired" in warning
        assert "Traceback" not in warning
        assert old.secret_key not in warning and old.token not in warning
        assert old.secret_key not in str(caught.value) and old.token not in str(caught.value)

        # For a few seconds, callers get the same error at once, typed, with no new call.
        calls = sts_server.count()
        with pytest.raises(RefreshError) as repeated:
            await caller_arn(child)
        assert repeated.value.__cause__ is caught.value
        assert repeated.value.error_code == code
        assert sts_server.count("AssumeRole") == calls

        # Then the next call refreshes: nothing is left broken.
        clock.advance(3)
        assert "assumed-role/Raised/" in await caller_arn(child)
        assert (await frozen(child)).access_key != old.access_key

    async def test_the_short_backoff_is_randomized(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock, dice: Dice
    ) -> None:
        child = assume_role(parent, role_arn())
        await frozen(child)
        clock.advance(MANDATORY)
        for value, backoff in ((0.0, 1.0), (0.5, 3.0), (0.99, 4.96)):
            dice.value = value
            sts_server.fail_next(status=403, code="AccessDenied")
            started = _clock.now()
            with pytest.raises(ClientError):
                await frozen(child)
            failed = _clock.now()
            with pytest.raises(RefreshError) as repeated:
                await frozen(child)
            retry_at = repeated.value.retry_at
            assert started + timedelta(seconds=backoff) <= retry_at
            assert retry_at <= failed + timedelta(seconds=backoff)
            clock.advance(5)


class TestConnectionRefused:
    @pytest.fixture
    def closed_port(self) -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    @pytest.fixture
    async def unreachable(
        self,
        parent: AioSession,
        sts_server: StsServer,
        closed_port: int,
        monkeypatch: pytest.MonkeyPatch,
    ) -> AssumedRoleSession:
        """A session holding valid cached credentials whose parent's STS endpoint is closed."""
        cache: dict[str, object] = {}
        await frozen(assume_role(parent, role_arn(), RoleSessionName="shared", cache=cache))
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{closed_port}")
        child = assume_role(
            two_attempts(get_session()), role_arn(), RoleSessionName="shared", cache=cache
        )
        await frozen(child)  # from the cache: nothing reaches the closed port yet
        assert sts_server.count() == 1
        return child

    async def test_advisory_keeps_the_credentials(
        self,
        unreachable: AssumedRoleSession,
        clock: FakeClock,
        backoffs: list[float],
        caplog: pytest.LogCaptureFixture,
        refreshes: RefreshLog,
    ) -> None:
        old = await frozen(unreachable)
        clock.advance(ADVISORY)
        caplog.set_level(logging.WARNING)
        assert await frozen(unreachable) == old
        await refreshes.wait_for(1)
        (warning,) = refresh_warnings(caplog)
        assert "EndpointConnectionError" in warning
        assert len(backoffs) == 1  # the connection error was retried, per the config

    async def test_mandatory_raises_endpoint_connection_error(
        self, unreachable: AssumedRoleSession, clock: FakeClock, backoffs: list[float]
    ) -> None:
        clock.advance(MANDATORY)
        with pytest.raises(EndpointConnectionError):
            await frozen(unreachable)
        assert len(backoffs) == 1


def skew_our_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only our clock jumps two hours ahead; STS (moto) keeps the true time."""
    real_now = _clock.now
    monkeypatch.setattr(_clock, "now", lambda: real_now() + datetime.timedelta(hours=2))


class TestRefreshedButStillExpired:
    async def test_raises_a_typed_error_naming_the_role_and_the_clock(
        self, parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        child = assume_role(parent, role_arn("Skewed"))
        await child.prefetch_credentials()
        skew_our_clock(monkeypatch)
        with pytest.raises(ExpiredCredentialsError) as caught:
            await child.prefetch_credentials()
        error = caught.value
        assert isinstance(error, RuntimeError)  # what aiobotocore raises in this case
        assert error.role_arn == role_arn("Skewed")
        assert "already expired" in str(error) and "clock" in str(error)
        assert sts_server.count() == 2  # it did refresh: STS is fine, the clock is not
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is ExpiredCredentialsError and str(copy) == str(error)

    async def test_expired_credentials_are_never_handed_out(
        self, parent: AioSession, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        child = assume_role(parent, role_arn())
        skew_our_clock(monkeypatch)
        with pytest.raises(ExpiredCredentialsError):
            await frozen(child)
        # A second try right after is not served stale state either: the same error.
        with pytest.raises(RefreshError) as repeated:
            await frozen(child)
        assert isinstance(repeated.value.__cause__, ExpiredCredentialsError)
        assert sts_server.count() == 1
