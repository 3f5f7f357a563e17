"""The library's exception types.

Each also subclasses the exception a boto3/aiobotocore user already catches in
that situation, so ``except ParamValidationError`` or ``except NoCredentialsError``
keep working::

    AssumeRoleError
    ├── InvalidParameterError      (also botocore ParamValidationError, ValueError)
    ├── ParentCredentialsError     (also botocore NoCredentialsError)
    ├── NoRegionError              (also botocore NoRegionError)
    ├── MFARefreshError            (also botocore RefreshWithMFAUnsupportedError)
    ├── ExpiredCredentialsError    (also RuntimeError, what aiobotocore raises here)
    ├── MalformedResponseError     (also botocore CredentialRetrievalError)
    ├── RefreshError               (also botocore CredentialRetrievalError)
    ├── RefreshTimeoutError        (also botocore CredentialRetrievalError, TimeoutError)
    └── UnboundCredentialsError    (also botocore NoCredentialsError)

Errors from STS itself (throttling, AccessDenied, ...) reach the callers that waited
for the failed refresh as botocore's ``ClientError``, connection failures as
botocore's ``EndpointConnectionError``, and a refresh past its deadline as
``RefreshTimeoutError``; callers arriving during the few seconds of backoff that
follow get ``RefreshError``, with that error as ``__cause__``. While valid
credentials are held (before the last minute), a failed refresh raises nothing: they
keep being served.

No message ever contains a parameter's string value, a secret key or a session token.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence

import botocore.exceptions
from botocore.exceptions import (
    CredentialRetrievalError,
    NoCredentialsError,
    ParamValidationError,
    RefreshWithMFAUnsupportedError,
)

__all__ = [
    "AssumeRoleError",
    "ExpiredCredentialsError",
    "InvalidParameterError",
    "MFARefreshError",
    "MalformedResponseError",
    "NoRegionError",
    "ParentCredentialsError",
    "RefreshError",
    "RefreshTimeoutError",
    "UnboundCredentialsError",
]


class AssumeRoleError(Exception):
    """Base class of every error this library raises itself."""


class InvalidParameterError(AssumeRoleError, ParamValidationError, ValueError):
    """One or more arguments of ``assume_role`` (or of ``function``) are invalid.

    ``parameter`` names the first offending argument (as ``function`` spells it),
    ``problems`` lists every ``(parameter path, reason)`` found, and ``function``
    is the function the message is headed with ("Invalid fan_out parameter(s)").
    """

    fmt = "Invalid {function} parameter(s):\n{report}"

    def __init__(
        self, problems: Sequence[tuple[str, str]], *, function: str = "assume_role"
    ) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        self.parameter: str = _top_level_name(self.problems[0][0]) if self.problems else ""
        self.function = function
        report = "\n".join(f"  {name}: {reason}" for name, reason in self.problems)
        super().__init__(report=report, function=function)  # type: ignore[call-arg]

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return _rebuild_invalid_parameter_error, (type(self), self.problems, self.function)


class ParentCredentialsError(AssumeRoleError, NoCredentialsError):
    """The parent session has no credentials to call ``sts:AssumeRole`` with."""

    fmt = (
        "Unable to locate credentials: the parent session has no credentials "
        "to call sts:AssumeRole for {role_arn}"
    )

    def __init__(self, *, role_arn: str) -> None:
        self.role_arn = role_arn
        super().__init__(role_arn=role_arn)  # type: ignore[call-arg]


class NoRegionError(AssumeRoleError, botocore.exceptions.NoRegionError):
    """The parent session has no region, so it cannot sign (or address) ``sts:AssumeRole``.

    AssumeRole goes to the parent's region: the child's ``region_name`` (the region of
    the clients the child creates) does not change it. The message says how to give
    the parent one.
    """

    fmt = (
        "No region to call sts:AssumeRole for {role_arn} in: the parent session has none. "
        "Set AWS_DEFAULT_REGION, or region in the parent's profile in ~/.aws/config, or "
        "give the parent one in code: boto3.Session(region_name=...), or "
        "parent.set_config_variable('region', ...) on an aiobotocore session "
        "(assume_role's region_name is the child's region, not STS's)"
    )

    def __init__(self, *, role_arn: str) -> None:
        self.role_arn = role_arn
        super().__init__(role_arn=role_arn)  # type: ignore[call-arg]

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return functools.partial(type(self), role_arn=self.role_arn), ()


class MFARefreshError(AssumeRoleError, RefreshWithMFAUnsupportedError):
    """A refresh needs a new MFA token code, but only a fixed one was given."""

    fmt = (
        "The credentials for {role_arn} need refreshing, which needs a new MFA token code; "
        "TokenCode was a fixed string that has been used. Pass TokenCode as a callable "
        "that returns a fresh code (async allowed on the async path) to allow refreshes."
    )

    def __init__(self, *, role_arn: str) -> None:
        self.role_arn = role_arn
        super().__init__(role_arn=role_arn)  # type: ignore[call-arg]


class ExpiredCredentialsError(AssumeRoleError, RuntimeError):
    """AssumeRole returned credentials that are already expired by the local clock.

    The local clock is then most likely ahead of AWS's by more than the session
    duration. Raised instead of aiobotocore's plain ``RuntimeError``, and only when
    no still-valid credentials can be used instead (mandatory refresh).
    """

    def __init__(self, *, role_arn: str, expiry_time: str, local_time: str) -> None:
        self.role_arn = role_arn
        self.expiry_time = expiry_time
        self.local_time = local_time
        super().__init__(
            f"AssumeRole for {role_arn} returned credentials that are already expired "
            f"(expiration {expiry_time}, local clock {local_time}): the local clock is "
            "probably ahead of AWS's; check the system clock (NTP)"
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        kwargs = {name: getattr(self, name) for name in ("role_arn", "expiry_time", "local_time")}
        return functools.partial(type(self), **kwargs), ()


class MalformedResponseError(AssumeRoleError, CredentialRetrievalError):
    """AssumeRole answered without usable credentials (a partial or ill-typed body).

    Raised before the response is cached, so the cache (which other tools may
    share) never holds it. ``field`` names the missing or ill-typed field, such as
    ``Credentials`` or ``Credentials.SessionToken``; the message never holds a value.
    A cache entry with such a shape is a cache miss, not this error.
    """

    fmt = (
        "AssumeRole for {role_arn} returned a malformed response: {field} {problem}. "
        "Nothing was cached; the next use calls AssumeRole again (a proxy or middlebox "
        "between here and STS may be altering responses)"
    )

    def __init__(self, *, role_arn: str, field: str, problem: str) -> None:
        self.role_arn = role_arn
        self.field = field
        self.problem = problem
        super().__init__(role_arn=role_arn, field=field, problem=problem)  # type: ignore[call-arg]
        self.provider = "assume-role"  # CredentialRetrievalError's attribute

    def __reduce__(self):  # type: ignore[no-untyped-def]
        kwargs = {name: getattr(self, name) for name in ("role_arn", "field", "problem")}
        return functools.partial(type(self), **kwargs), ()


class RefreshError(AssumeRoleError, CredentialRetrievalError):
    """A refresh that callers must wait for failed moments ago; not retried yet.

    Raised at once, without a new AssumeRole call, to callers arriving during the
    short randomized backoff after such a failure. ``__cause__`` is that failure,
    ``error_code`` its STS error code (or exception type), ``retry_at`` when the
    next caller tries again.
    """

    fmt = (
        "Refreshing credentials for {role_arn} failed moments ago ({error_code}); "
        "next attempt from {retry_at}"
    )

    def __init__(self, *, role_arn: str, error_code: str, retry_at: datetime.datetime) -> None:
        self.role_arn = role_arn
        self.error_code = error_code
        self.retry_at = retry_at
        super().__init__(  # type: ignore[call-arg]
            role_arn=role_arn,
            error_code=error_code,
            retry_at=retry_at.isoformat(),
            provider="assume-role",
            error_msg=error_code,
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        kwargs = {name: getattr(self, name) for name in ("role_arn", "error_code", "retry_at")}
        return functools.partial(type(self), **kwargs), ()


class RefreshTimeoutError(AssumeRoleError, CredentialRetrievalError, TimeoutError):
    """A refresh that callers waited for did not finish within its deadline.

    The deadline (``seconds``, 30 by default) bounds the whole refresh: the cache,
    AssumeRole and botocore's retries of it, however slowly STS (or a proxy) answers.
    Set it with the credentials' or session's ``refresh_timeout``. While valid
    credentials are held, a refresh past its deadline raises nothing: they are served.
    """

    fmt = (
        "Refreshing credentials for {role_arn} did not finish within its {seconds:g} s "
        "deadline (STS, or a proxy, did not answer in time); set refresh_timeout to change it"
    )

    def __init__(self, *, role_arn: str, seconds: float) -> None:
        self.role_arn = role_arn
        self.seconds = seconds
        super().__init__(  # type: ignore[call-arg]
            role_arn=role_arn, seconds=seconds, provider="assume-role", error_msg="timeout"
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return functools.partial(type(self), role_arn=self.role_arn, seconds=self.seconds), ()


class UnboundCredentialsError(AssumeRoleError, NoCredentialsError):
    """A shared client was used with no session's credentials bound (``shared_clients``).

    A client shared by many sessions signs each call with the credentials its view
    binds; a call made on the shared client itself, outside any view, has none.
    """

    fmt = (
        "A shared client was used with no credentials bound: call it through the view "
        "that SharedClients.client(session, ...) yields, which signs as that session"
    )


def _rebuild_invalid_parameter_error(
    cls: type[InvalidParameterError], problems: Sequence[tuple[str, str]], function: str
) -> InvalidParameterError:
    return cls(problems, function=function)


def _top_level_name(path: object) -> str:
    path = str(path)
    for separator in ("[", "."):
        path = path.split(separator, 1)[0]
    return path
