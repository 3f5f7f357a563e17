"""MFA: a fixed TokenCode serves one AssumeRole; a provider callable allows refreshes.

moto accepts SerialNumber/TokenCode without checking them; what it receives is
read back from the server's request log.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError, RefreshWithMFAUnsupportedError
from moto_sts import StsServer
from support import ACCOUNT_ID, FakeClock, RefreshLog, role_arn

from aio_assume_role.errors import AssumeRoleError, MFARefreshError
from aio_assume_role.session import assume_role

SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"
ADVISORY = 47 * 60
MANDATORY = 59 * 60 + 30  # 30 seconds left: the mandatory window is the last minute


async def frozen(session: AioSession) -> ReadOnlyCredentials:
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()


def sent_codes(sts_server: StsServer) -> list[tuple[str | None, str | None]]:
    return [(call.get("SerialNumber"), call.get("TokenCode")) for call in sts_server.calls()]


class TestFixedCode:
    async def test_first_assume_sends_the_serial_number_and_code(
        self, parent: AioSession, sts_server: StsServer
    ) -> None:
        child = assume_role(parent, role_arn(), SerialNumber=SERIAL, TokenCode="123456")
        await child.prefetch_credentials()
        assert sent_codes(sts_server) == [(SERIAL, "123456")]

    async def test_mandatory_refresh_raises_a_typed_error_without_calling_sts(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(parent, role_arn("Mfa"), SerialNumber=SERIAL, TokenCode="987650")
        await child.prefetch_credentials()
        clock.advance(MANDATORY)
        with pytest.raises(MFARefreshError) as caught:
            await frozen(child)
        error = caught.value
        assert isinstance(error, RefreshWithMFAUnsupportedError)  # what botocore raises
        assert isinstance(error, AssumeRoleError)
        message = str(error)
        assert "MFA token code" in message and "callable" in message
        assert role_arn("Mfa") in message
        assert "987650" not in message
        assert sts_server.count() == 1  # a used code would only be refused by STS

    async def test_advisory_refresh_keeps_the_credentials_until_the_mandatory_window(
        self,
        parent: AioSession,
        sts_server: StsServer,
        clock: FakeClock,
        caplog: pytest.LogCaptureFixture,
        refreshes: RefreshLog,
    ) -> None:
        child = assume_role(parent, role_arn(), SerialNumber=SERIAL, TokenCode="123456")
        old = await frozen(child)
        clock.advance(ADVISORY)
        caplog.set_level(logging.WARNING)
        assert await frozen(child) == old
        await refreshes.wait_for(2)
        formatter = logging.Formatter()
        (warning,) = [formatter.format(r) for r in caplog.records if r.levelno >= logging.WARNING]
        assert "advisory" in warning and "MFARefreshError" in warning
        clock.advance(MANDATORY - ADVISORY)
        with pytest.raises(MFARefreshError):
            await frozen(child)
        assert sts_server.count() == 1

    async def test_a_failed_call_does_not_use_up_the_code(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        child = assume_role(parent, role_arn(), SerialNumber=SERIAL, TokenCode="123456")
        sts_server.fail_next(status=403, code="AccessDenied")
        with pytest.raises(ClientError):
            await child.prefetch_credentials()
        clock.advance(5)  # e.g. after fixing the trust policy, past the backoff
        await child.prefetch_credentials()
        assert sent_codes(sts_server) == [(SERIAL, "123456"), (SERIAL, "123456")]

    async def test_sessions_sharing_a_cache_reuse_the_mfa_session(
        self, sts_server: StsServer, clock: FakeClock
    ) -> None:
        # TokenCode is not part of the cache key (as in botocore and the AWS CLI).
        cache: dict[str, object] = {}
        first = assume_role(
            get_session(),
            role_arn(),
            RoleSessionName="mfa",
            SerialNumber=SERIAL,
            TokenCode="123456",
            cache=cache,
        )
        await first.prefetch_credentials()
        second = assume_role(
            get_session(),
            role_arn(),
            RoleSessionName="mfa",
            SerialNumber=SERIAL,
            TokenCode="654321",
            cache=cache,
        )
        assert await frozen(second) == await frozen(first)
        assert sts_server.count() == 1


def counting(codes: Callable[[], str]) -> tuple[Callable[[], str], list[str]]:
    given: list[str] = []

    def provider() -> str:
        given.append(codes())
        return given[-1]

    return provider, given


class TestProvider:
    async def test_sync_provider_gives_a_fresh_code_for_each_refresh(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        numbers = itertools.count(111111, 111111)
        provider, given = counting(lambda: str(next(numbers)))
        child = assume_role(parent, role_arn(), SerialNumber=SERIAL, TokenCode=provider)
        assert given == []  # nothing is asked for before first use
        first = await frozen(child)
        clock.advance(MANDATORY)
        second = await frozen(child)
        clock.advance(MANDATORY + 10 * 60)
        third = await frozen(child)
        assert len({first.access_key, second.access_key, third.access_key}) == 3
        assert given == ["111111", "222222", "333333"]
        assert sent_codes(sts_server) == [(SERIAL, code) for code in given]

    async def test_async_provider_is_awaited(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        codes = iter(["246810", "135790"])

        async def provider() -> str:
            return next(codes)

        child = assume_role(parent, role_arn(), SerialNumber=SERIAL, TokenCode=provider)
        await frozen(child)
        clock.advance(MANDATORY)
        await frozen(child)
        assert sent_codes(sts_server) == [(SERIAL, "246810"), (SERIAL, "135790")]

    async def test_provider_is_not_asked_when_the_cache_answers(
        self, sts_server: StsServer
    ) -> None:
        cache: dict[str, object] = {}
        provider, given = counting(lambda: "123456")
        for _ in range(3):
            session = assume_role(
                get_session(),
                role_arn(),
                RoleSessionName="mfa",
                SerialNumber=SERIAL,
                TokenCode=provider,
                cache=cache,
            )
            await session.prefetch_credentials()
        assert given == ["123456"]
        assert sts_server.count() == 1

    async def test_provider_failure_reaches_the_caller_in_the_mandatory_window(
        self, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        answers = iter(["123456"])

        def provider() -> str:
            try:
                return next(answers)
            except StopIteration:
                raise LookupError("no MFA device reachable") from None

        child = assume_role(parent, role_arn(), SerialNumber=SERIAL, TokenCode=provider)
        await frozen(child)
        clock.advance(MANDATORY)
        with pytest.raises(LookupError, match="no MFA device"):
            await frozen(child)
        assert sts_server.count() == 1
