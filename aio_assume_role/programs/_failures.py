"""How a program's failure becomes an exit code and one line: ``classify_error``.

Shared by ``aio-assume-role``, ``python -m aio_assume_role.sync`` and ``aio-assume-role
accounts``; imported only when a run fails or calls AWS (it imports botocore), never on
the command's cache hit.
"""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigNotFound,
    ConfigParseError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    HTTPClientError,
    InvalidConfigError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.parsers import ResponseParserError

from ..errors import AssumeRoleError, InvalidParameterError, ParentCredentialsError
from ._kit import EXIT_ASSUME_ROLE_FAILED, EXIT_NO_PARENT_CREDENTIALS, Failure

__all__ = ["classify_error"]


# botocore's errors about the parent's credentials and config; their messages are
# about the configuration (a profile name, a credential_process's stderr).
_PARENT_CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    ProfileNotFound,
    InvalidConfigError,
    ConfigNotFound,
    ConfigParseError,
)

_WITHHELD = "details withheld, they may contain credentials"

_DESCRIPTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (ResponseParserError, "STS's response could not be parsed"),
    (KeyError, "STS's response lacks a required field"),
    (ValueError, "STS's response holds an invalid value"),
    (ParamValidationError, "botocore rejected the AssumeRole parameters"),
    (BotoCoreError, "botocore could not complete the AssumeRole call"),
)


def classify_error(error: Exception, *, prefix: str, plain_prefix: str = "") -> Failure:
    """The exit code and one-line message for any error of an assume-role run.

    Never the text of an exception this library does not own, except STS's own error
    code and message and botocore's messages about the parent's configuration: a
    botocore parser error, for one, embeds the raw response and so the secret key.
    ``prefix`` heads AssumeRole failures (``prefix [Code]: message``); ``plain_prefix``
    heads those that say plainly what to fix (no region, unreachable endpoint).
    """
    if isinstance(error, ParentCredentialsError) or (
        isinstance(error, _PARENT_CREDENTIAL_ERRORS) and not isinstance(error, AssumeRoleError)
    ):
        return Failure(EXIT_NO_PARENT_CREDENTIALS, str(error))
    if isinstance(error, InvalidParameterError):  # aio-assume-role exits 2 before this
        problems = "; ".join(f"{name}: {reason}" for name, reason in error.problems)
        return Failure(
            EXIT_ASSUME_ROLE_FAILED, f"{prefix}: Invalid assume_role parameter(s): {problems}"
        )
    if isinstance(error, NoRegionError):  # botocore's, or the library's subclass of it
        return Failure(
            EXIT_ASSUME_ROLE_FAILED,
            f"{plain_prefix}no region configured: "
            "pass --region or set AWS_DEFAULT_REGION (or region in the profile)",
        )
    if isinstance(error, AssumeRoleError):  # ours: the message never holds a secret
        return Failure(EXIT_ASSUME_ROLE_FAILED, f"{prefix}: {error}")
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code") or "Unknown"
        return Failure(EXIT_ASSUME_ROLE_FAILED, f"{prefix} [{code}]: {details.get('Message', '')}")
    unreachable = _endpoint_problem(error)
    if unreachable is not None:
        return Failure(EXIT_ASSUME_ROLE_FAILED, plain_prefix + unreachable)
    description = next(
        (text for kind, text in _DESCRIPTIONS if isinstance(error, kind)), "unexpected error"
    )
    return Failure(
        EXIT_ASSUME_ROLE_FAILED,
        f"{prefix}: {type(error).__name__}: {description} ({_WITHHELD})",
    )


def _endpoint_problem(error: Exception) -> str | None:
    """What went wrong reaching the endpoint, if that is what ``error`` is about."""
    if not isinstance(error, (BotocoreConnectionError, HTTPClientError)):
        return None
    if isinstance(error, ProxyConnectionError):
        return f"cannot reach the proxy {_url(error.kwargs.get('proxy_url'))}"
    endpoint = _url(error.kwargs.get("endpoint_url"))
    if isinstance(error, ReadTimeoutError):
        return f"the STS endpoint {endpoint} did not answer in time"
    if isinstance(error, ConnectionClosedError):
        return f"the STS endpoint {endpoint} closed the connection before answering"
    if isinstance(error, ConnectTimeoutError):
        reason = "connection timed out"
    elif isinstance(error, SSLError):
        reason = "TLS/SSL validation failed"
    elif isinstance(error, EndpointConnectionError):
        reason = _connection_failure(error.kwargs.get("error"))
    else:
        reason = "connection failed"
    return f"cannot reach the STS endpoint {endpoint}: {reason}"


def _connection_failure(cause: object) -> str:
    """The reason, from the OS error under the HTTP library's exception."""
    seen: set[int] = set()
    pending = [cause]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "host name not resolved"
        number = getattr(current, "errno", None)
        if isinstance(current, ConnectionRefusedError) or number == errno.ECONNREFUSED:
            return "connection refused"
        if number in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "network unreachable"
        if isinstance(current, TimeoutError):
            return "connection timed out"
        pending += [
            getattr(current, "os_error", None),
            getattr(current, "reason", None),
            getattr(current, "__cause__", None),
            getattr(current, "__context__", None),
        ]
    return "connection failed"


def _url(url: object) -> str:
    """``scheme://host:port/path`` of ``url``, without credentials or query."""
    parts = urlsplit(str(url or ""))
    host = parts.netloc.rpartition("@")[2]
    path = "" if parts.path == "/" else parts.path
    return f"{parts.scheme}://{host}{path}" if parts.scheme else "(unknown)"
