"""No secret access key or session token in reprs, exception messages or logs.

What the library promises (README, "Security"):

- the secret access key of assumed credentials appears in no log record, at any
  level, from any logger: botocore logs raw response bodies at DEBUG, and the
  AssumeRole ones are replaced by a placeholder while our fetch runs;
- session tokens appear in no record of ours at any level and in no record of
  anyone's at WARNING or above; botocore's own wire-level DEBUG records of a request
  signed with temporary credentials (``botocore.auth`` canonical request,
  ``botocore.endpoint`` prepared request) do show its X-Amz-Security-Token header,
  as they do for every credential source: a token is useless without its secret
  key, but do not enable DEBUG logging for botocore in production;
- no ``repr``/``str`` of a session, credentials object, fetcher, cache adapter or
  exception of ours contains either. (botocore's ``ReadOnlyCredentials``, returned
  by ``get_frozen_credentials()``, is a namedtuple whose repr shows everything: it
  *is* the secret.)

The secrets checked are every key and token moto issued during the test, read
from moto's own backend, so ones that never reached the test code count too.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import moto.sts.models
import pytest
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError
from moto_sts import StsServer
from support import ACCOUNT_ID, FakeClock, RefreshLog, role_arn

from aio_assume_role._core import clock as _clock
from aio_assume_role.cache import MappingCache
from aio_assume_role.errors import (
    ExpiredCredentialsError,
    InvalidParameterError,
    MalformedResponseError,
    MFARefreshError,
    ParentCredentialsError,
    RefreshError,
)
from aio_assume_role.session import AssumedRoleSession, assume_role

ADVISORY = 47 * 60
MANDATORY = 59 * 60 + 30  # 30 seconds left: the mandatory window is the last minute

#: The botocore loggers that print a request's headers at DEBUG (see the docstring).
WIRE_LOGGERS = {"botocore.auth", "botocore.endpoint"}


class Capture(logging.Handler):
    """Every record from every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        self.lines: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelno, self.format(record)))


@pytest.fixture
def all_logs() -> Iterator[Capture]:
    """Root at DEBUG, and no logger filtering below it, for the duration of the test."""
    root = logging.getLogger()
    capture = Capture()
    saved = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    saved_root = root.level
    for name in saved:
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    yield capture
    root.removeHandler(capture)
    root.setLevel(saved_root)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


class Issued:
    """The credentials moto issues from now on, straight from its backend."""

    def __init__(self) -> None:
        self._start = len(self._roles())

    @staticmethod
    def _roles() -> list[Any]:
        return moto.sts.models.sts_backends[ACCOUNT_ID]["aws"].assumed_roles

    def secrets(self) -> list[tuple[str, str]]:
        roles = self._roles()[self._start :]
        return [(role.secret_access_key, role.session_token) for role in roles]


def assert_clean(text: str, issued: Issued) -> None:
    for secret_key, token in issued.secrets():
        assert secret_key not in text
        assert token not in text


async def caller_arn(session: AioSession) -> str:
    async with session.create_client("sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


async def test_full_cycle_leaks_no_secret(
    parent: AioSession,
    sts_server: StsServer,
    clock: FakeClock,
    all_logs: Capture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refreshes: RefreshLog,
) -> None:
    from aio_assume_role.cache import AioJSONFileCache

    issued = Issued()
    dict_cache: dict[str, Any] = {}
    file_cache = AioJSONFileCache(tmp_path / "cache")
    with_dict = assume_role(parent, role_arn("A"), RoleSessionName="sess-A", cache=dict_cache)
    with_file = assume_role(parent, role_arn("F"), RoleSessionName="sess-F", cache=file_cache)
    chained = assume_role(with_dict, role_arn("C"), RoleSessionName="sess-C")
    sessions: list[AssumedRoleSession] = [with_dict, with_file, chained]
    errors: list[BaseException] = []

    # First use, then the caches answer new sessions.
    for session in sessions:
        await caller_arn(session)
    for cache, name in ((dict_cache, "A"), (file_cache, "F")):
        again = assume_role(
            get_session(), role_arn(name), RoleSessionName=f"sess-{name}", cache=cache
        )
        await again.prefetch_credentials()
    # Advisory refresh that fails (a warning), then succeeds after its backoff.
    clock.advance(ADVISORY)
    sts_server.fail_next(status=403, code="AccessDenied", times=3)
    before = len(refreshes.events)
    for session in sessions:
        await caller_arn(session)
    await refreshes.wait_for(before + 3)
    clock.advance(300)  # past the 300-600 s backoff (the dice at 0)
    for session in sessions:
        await caller_arn(session)
    await refreshes.wait_for(before + 6)
    # Mandatory refresh that fails (raised, then repeated as RefreshError), then succeeds.
    clock.advance(MANDATORY)
    sts_server.fail_next(status=403, code="AccessDenied", times=1)
    with pytest.raises(ClientError) as client_error:
        await caller_arn(with_dict)
    errors.append(client_error.value)
    with pytest.raises(RefreshError) as repeated:
        await caller_arn(with_dict)
    errors.append(repeated.value)
    clock.advance(5)
    for session in sessions:
        await caller_arn(session)
    # A truncated response: botocore's parser error quotes the body, secret key and all.
    clock.advance(2 * 3600)
    sts_server.truncate_next(times=5)
    with pytest.raises(MalformedResponseError) as truncated:
        await caller_arn(with_file)
    errors.append(truncated.value)
    sts_server.clear_faults()  # however many attempts the retry config made
    clock.advance(5)
    # Refreshed but still expired by our (skewed) clock.
    real_now = _clock.now
    monkeypatch.setattr(_clock, "now", lambda: real_now() + datetime.timedelta(hours=3))
    with pytest.raises(ExpiredCredentialsError) as expired:
        await with_file.prefetch_credentials()
    errors.append(expired.value)
    monkeypatch.setattr(_clock, "now", real_now)
    # A fixed MFA code, used up.
    mfa = assume_role(
        parent, role_arn("M"), SerialNumber=f"arn:aws:iam::{ACCOUNT_ID}:mfa/a", TokenCode="987650"
    )
    await mfa.prefetch_credentials()
    clock.advance(2 * 3600)
    with pytest.raises(MFARefreshError) as mfa_error:
        await mfa.prefetch_credentials()
    errors.append(mfa_error.value)
    sessions.append(mfa)
    # Bad input and a parent without credentials.
    with pytest.raises(InvalidParameterError) as invalid:
        assume_role(with_dict, role_arn(), ExternalId="not valid!", DurationSeconds=7200)
    errors.append(invalid.value)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ParentCredentialsError) as no_parent:
        await assume_role(get_session(), role_arn()).prefetch_credentials()
    errors.append(no_parent.value)

    assert len(issued.secrets()) >= 10
    # Logs: no secret key anywhere; tokens only in botocore's wire-level DEBUG records.
    assert any(name == "aio_assume_role" for name, _, _ in all_logs.lines)
    assert any(level >= logging.WARNING for _, level, _ in all_logs.lines)
    for name, level, line in all_logs.lines:
        for secret_key, token in issued.secrets():
            assert secret_key not in line, name
            if token in line:
                assert name in WIRE_LOGGERS and level == logging.DEBUG, name
    # Reprs, strs and exception messages.
    for session in sessions:
        credentials = session._assumed_role_credentials
        for thing in (session, credentials, credentials.fetcher):
            assert_clean(repr(thing) + str(thing), issued)
    for cache_adapter in (MappingCache(dict_cache), file_cache):
        assert_clean(repr(cache_adapter) + str(cache_adapter), issued)
    for error in errors:
        chained: BaseException | None = error
        while chained is not None:  # and what they were raised from
            assert_clean(repr(chained) + str(chained) + repr(chained.args), issued)
            chained = chained.__cause__ or chained.__context__


async def test_only_our_own_fetches_are_redacted(
    parent: AioSession, sts_server: StsServer, all_logs: Capture
) -> None:
    """botocore's logging is untouched outside our fetches (and the capture does work)."""
    issued = Issued()
    async with parent.create_client("sts") as sts:
        await sts.assume_role(RoleArn=role_arn(), RoleSessionName="direct")
    ((secret_key, _),) = issued.secrets()
    assert any(
        name == "botocore.parsers" and secret_key in line for name, _, line in all_logs.lines
    )


def test_sync_path_leaks_no_secret_key(
    sts_server: StsServer, clock: FakeClock, all_logs: Capture
) -> None:
    boto3 = pytest.importorskip("boto3")
    from aio_assume_role.sync import assume_role as sync_assume_role

    issued = Issued()
    child = sync_assume_role(boto3.Session(), role_arn(), RoleSessionName="sync")
    child.client("sts").get_caller_identity()
    clock.advance(2 * 3600)
    child.client("sts").get_caller_identity()  # refreshed
    clock.advance(2 * 3600)
    sts_server.truncate_next(times=10)  # whatever the retry config: every attempt truncated
    with pytest.raises(MalformedResponseError) as truncated:
        child.client("sts").get_caller_identity()
    sts_server.clear_faults()
    error: BaseException | None = truncated.value
    while error is not None:  # neither the error nor anything it was raised from
        assert_clean(repr(error) + str(error) + repr(error.args), issued)
        error = error.__cause__ or error.__context__
    assert len(issued.secrets()) >= 3
    for name, level, line in all_logs.lines:
        for secret_key, token in issued.secrets():
            assert secret_key not in line, name
            if token in line:
                assert name in WIRE_LOGGERS and level == logging.DEBUG, name


# --- traceback frame locals: what Sentry and similar tools capture by default ---

MARKED_SECRET = "SECRETMARKER" + "s" * 28
MARKED_TOKEN = "TOKENMARKER" + "t" * 100
_NS = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'


def _body(expiration: str = "2099-01-01T00:00:00Z", token: str = MARKED_TOKEN) -> str:
    return (
        f"<AssumeRoleResponse {_NS}><AssumeRoleResult><Credentials>"
        "<AccessKeyId>ASIAEXAMPLEEXAMPLE00</AccessKeyId>"
        f"<SecretAccessKey>{MARKED_SECRET}</SecretAccessKey><SessionToken>{token}</SessionToken>"
        f"<Expiration>{expiration}</Expiration></Credentials></AssumeRoleResult>"
        "<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{ACCOUNT_ID}:assumed-role/MyRole/s</Arn></AssumedRoleUser>"
        "</AssumeRoleResponse>"
    )


#: Every 200 whose credentials the library refuses: the error is raised where the
#: parsed response (or the raw body, in botocore's parser) is a local variable.
MALFORMED_BODIES = {
    "empty-session-token": _body(token=""),
    "expiration-without-zone": _body("2099-01-01T00:00:00"),
    "expiration-year-10000": _body("10000-01-01T00:00:00Z"),
    "expiration-a-word": _body("soon"),
    "truncated": _body()[: len(_body()) * 2 // 3],
    "no-credentials": (
        f"<AssumeRoleResponse {_NS}><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>"
    ),
}


def frames_holding_secrets(error: BaseException) -> list[str]:
    """The frames (of ``error``'s traceback and its chain's) whose locals, as
    ``capture_locals=True`` shows them, hold the marked secret key or token.

    This test module's own frames are left out: their locals are the fixtures
    (the server's repr lists the bodies it was told to send).
    """
    import traceback

    found = []
    pending: list[traceback.TracebackException | None] = [
        traceback.TracebackException.from_exception(error, capture_locals=True)
    ]
    while pending:
        exception = pending.pop()
        if exception is None:
            continue
        for frame in exception.stack:
            if frame.filename == __file__:
                continue
            shown = repr(frame.locals)
            if MARKED_SECRET in shown or MARKED_TOKEN in shown:
                found.append(f"{frame.filename}:{frame.name}")
        pending.extend((exception.__cause__, exception.__context__))
    text = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=False).format()
    )
    assert MARKED_SECRET not in text and MARKED_TOKEN not in text
    return found


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES)
async def test_async_errors_carry_no_secret_in_frame_locals(
    parent: AioSession, sts_server: StsServer, body: str
) -> None:
    child = assume_role(parent, role_arn(), cache={})
    sts_server.respond_next(body, times=10)  # whatever the retry config
    with pytest.raises(Exception) as first:
        await child.prefetch_credentials()
    assert frames_holding_secrets(first.value) == []
    # Within the seconds of backoff: RefreshError, raised from the first error.
    with pytest.raises(RefreshError) as repeated:
        await child.prefetch_credentials()
    assert repeated.value.__cause__ is first.value
    assert frames_holding_secrets(repeated.value) == []


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES)
def test_sync_errors_carry_no_secret_in_frame_locals(sts_server: StsServer, body: str) -> None:
    boto3 = pytest.importorskip("boto3")
    from aio_assume_role.sync import assume_role as sync_assume_role

    child = sync_assume_role(boto3.Session(), role_arn(), cache={})
    sts_server.respond_next(body, times=10)
    with pytest.raises(Exception) as first:
        child.get_credentials().get_frozen_credentials()
    assert frames_holding_secrets(first.value) == []
    with pytest.raises(RefreshError) as repeated:
        child.get_credentials().get_frozen_credentials()
    assert repeated.value.__cause__ is first.value
    assert frames_holding_secrets(repeated.value) == []


# --- redaction of values, not of field names ---


async def test_async_unknown_parameter_without_validation_is_botocores_error(
    parent: AioSession, sts_server: StsServer
) -> None:
    """botocore's report lists the valid names (MinimumSessionTokenSize among them, from
    botocore 1.42's STS model on): a field's name is no secret, so its
    ParamValidationError is raised as it is."""
    from botocore.exceptions import ParamValidationError

    child = assume_role(parent, role_arn(), validate=False, additional_kwargs={"Bogus": 1})
    with pytest.raises(ParamValidationError) as caught:
        await child.prefetch_credentials()
    assert not isinstance(caught.value, MalformedResponseError)
    assert "Bogus" in str(caught.value)
    assert sts_server.count() == 0


def test_sync_unknown_parameter_without_validation_is_botocores_error(
    sts_server: StsServer,
) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.exceptions import ParamValidationError

    from aio_assume_role.sync import assume_role as sync_assume_role

    child = sync_assume_role(
        boto3.Session(), role_arn(), validate=False, additional_kwargs={"Bogus": 1}
    )
    with pytest.raises(ParamValidationError) as caught:
        child.get_credentials().get_frozen_credentials()
    assert not isinstance(caught.value, MalformedResponseError)
    assert "Bogus" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "b'<AssumeRoleResponse><Credentials><SecretAccessKey>abcd1234</Secret'",
        "{'Credentials': {'SecretAccessKey': 'abcd1234'}}",
        '{"Credentials": {"SessionToken": "FQoGZXIvYXdz"}}',
        '{\\"SessionToken\\": \\"FQoGZXIvYXdz\\"}',
        "ReadOnlyCredentials(access_key='ASIA', secret_key='abcd1234', token='FQoG')",
        "aws_session_token = FQoGZXIvYXdz",
    ],
)
def test_an_error_quoting_a_credential_value_is_withheld(text: str) -> None:
    from aio_assume_role._core.response import safe_error

    replaced = safe_error(ValueError(text), role_arn())
    assert isinstance(replaced, MalformedResponseError)
    assert "abcd1234" not in str(replaced) and "FQoG" not in str(replaced)


@pytest.mark.parametrize(
    "text",
    [
        "must be one of: RoleArn, ProvidedContexts, MinimumSessionTokenSize",
        "<SessionToken></SessionToken>",
        'Unknown parameter in Credentials: "SecretAccessKey"',
        "SecretAccessKey is missing",
    ],
)
def test_an_error_naming_a_secret_field_passes(text: str) -> None:
    from aio_assume_role._core.response import safe_error

    error = ValueError(text)
    assert safe_error(error, role_arn()) is error
