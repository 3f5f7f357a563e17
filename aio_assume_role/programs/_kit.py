"""The programs' kit: what every program shares, each in one place.

Exit codes (``EXIT_*``, documented in the CLI guide); ``classify_error``, the one table
from an error to an exit code and one line without secrets; the parent set-up
(``parent_session``, ``caller_arn``); ``progress_display``; the output formats; option
checks by the library's rules; ``run_program``: Ctrl-C exits 130 and SIGTERM 143 with
``PROG: interrupted``, a closed stdout 141, never a traceback. Standard library only at
import (the command's cache hit and the sync command run through it): botocore and
aiobotocore are imported by the functions that need them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import functools
import json
import os
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlsplit

EXIT_SOME_FAILED = 1  # accounts: the run completed and at least one check failed
EXIT_BAD_ARGUMENTS = 2  # also a credential_process recursion, the demo without moto
EXIT_NO_PARENT_CREDENTIALS = 3
EXIT_FAILED = 4  # AssumeRole failed (the demo: a step; accounts: listing the accounts)
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE (a constant: Windows has no SIGPIPE)

#: Whether the interrupt being handled came from SIGTERM (set by the handler).
_terminated = False


class Failure(Exception):
    """Ends the run with an exit code and a one-line message for stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = one_line(message)


class BadArguments(Exception):
    """A bad option found after parsing: exit 2, after the usage line (``bad_arguments``)."""


def bad_arguments(parser: argparse.ArgumentParser, message: object) -> int:
    """Report ``message`` as argparse reports bad arguments; returns 2."""
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_BAD_ARGUMENTS


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def say(prog: str, message: str) -> None:
    """``PROG: message`` on stderr, even when stderr is gone (then nothing)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"{prog}: {message}", file=sys.stderr, flush=True)


def _region_problem(name: str) -> str | None:
    from .._core.request import region_name_problem

    return region_name_problem(name)


def region_argument(text: str) -> str:
    """An argparse ``type`` for ``--region``, by the library's rule (``eu-wst-1`` is refused)."""
    problem = _region_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def region_list(option: str, texts: Iterable[str]) -> list[str]:
    """The regions of ``option`` (space- or comma-separated), checked; or ``BadArguments``."""
    # Spaces around a comma go; any other whitespace ('us-east-1\n') is refused below.
    regions = [name.strip(" ") for text in texts for name in text.split(",")]
    regions = [name for name in regions if name]
    if not regions:
        raise BadArguments(f"{option} must name at least one region, e.g. us-east-1,eu-west-1")
    for name in regions:
        problem = _region_problem(name)
        if problem is not None:
            raise BadArguments(f"{option} {name!r} {problem}")
    return regions


def account_id(text: str, where: str) -> str:
    """An account id zero-padded to 12 digits, as the library pads one; else
    ``BadArguments`` headed by ``where``."""
    from ..arns import normalized_account_id

    normalized, problem = normalized_account_id(text)
    if problem is not None:
        raise BadArguments(f"{where}: {problem}")
    assert normalized is not None
    return normalized


def parent_session(
    profile: str | None,
    region: str | None = None,
    *,
    default_region: str | None = None,
    region_options: str | None = None,
) -> Any:
    """A program's parent ``AioSession``: ``region`` over the profile's, ``default_region``
    where neither sets one. With ``region_options`` (how to pass one), no region at all is
    a ``Failure`` (exit 2) before any call."""
    from aiobotocore.session import AioSession

    parent = AioSession(profile=profile)
    if region or (default_region and not parent.get_config_variable("region")):
        parent.set_config_variable("region", region or default_region)
    if region_options is not None and not parent.get_config_variable("region"):
        raise Failure(
            EXIT_BAD_ARGUMENTS,
            f"no region: pass {region_options}, "
            "or set AWS_DEFAULT_REGION (or region in the profile)",
        )
    return parent


async def caller_arn(session: Any, account: object = None, region: str | None = None) -> str:
    """GetCallerIdentity through ``session``: the ARN (also a fan-out's work)."""
    async with session.create_client("sts", region_name=region) as sts:
        return str((await sts.get_caller_identity())["Arn"])


def progress_display(
    stream: TextIO, label: str, line: Callable[[Any], str], *, unit: str = "unit"
) -> Any:
    """The library's one ``ProgressDisplay`` in a program's words: a tqdm bar headed by
    ``label``, else ``line(progress)`` now and then and at the end."""
    from .._core.progress import ProgressDisplay

    return ProgressDisplay(
        stream,
        label=label,
        unit=unit,
        line=line,
        postfix=lambda progress: {"ok": progress.ok, "failed": progress.failed},
    )


_WITHHELD = "details withheld, they may contain credentials"


@functools.cache
def _error_table() -> tuple[tuple[type[BaseException], ...], tuple[tuple[Any, str], ...]]:
    """botocore's errors about the parent's configuration (their text is safe to show),
    and what the others are, described without their text."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    parent = (
        bx.NoCredentialsError,
        bx.PartialCredentialsError,
        bx.CredentialRetrievalError,
        bx.ProfileNotFound,
        bx.InvalidConfigError,
        bx.ConfigNotFound,
        bx.ConfigParseError,
    )
    descriptions = (
        (ResponseParserError, "STS's response could not be parsed"),
        (KeyError, "STS's response lacks a required field"),
        (ValueError, "STS's response holds an invalid value"),
        (bx.ParamValidationError, "botocore rejected the AssumeRole parameters"),
        (bx.BotoCoreError, "botocore could not complete the AssumeRole call"),
    )
    return parent, descriptions


def classify_error(
    error: BaseException, *, prefix: str, plain_prefix: str = "", parent_prefix: str = ""
) -> Failure:
    """The exit code and one-line message for any error of a program's run: never the
    text of an exception the library does not own (a parser error holds the secret key),
    but STS's code and message and botocore's about the parent's configuration.
    ``prefix`` heads failures (exit 4), ``plain_prefix`` those that say what to fix,
    ``parent_prefix`` the parent-credential ones (exit 3)."""
    from botocore.exceptions import ClientError, NoRegionError

    from ..errors import AssumeRoleError, InvalidParameterError, ParentCredentialsError

    if isinstance(error, Failure):
        return error
    parent_errors, descriptions = _error_table()
    if isinstance(error, ParentCredentialsError) or (
        isinstance(error, parent_errors) and not isinstance(error, AssumeRoleError)
    ):
        message = str(error)
        if parent_prefix and not message.startswith(parent_prefix.rstrip(": ")):
            message = parent_prefix + message
        return Failure(EXIT_NO_PARENT_CREDENTIALS, message)
    if isinstance(error, InvalidParameterError):  # aio-assume-role exits 2 before this
        problems = "; ".join(f"{name}: {reason}" for name, reason in error.problems)
        return Failure(EXIT_FAILED, f"{prefix}: Invalid assume_role parameter(s): {problems}")
    if isinstance(error, NoRegionError):  # botocore's, or the library's subclass of it
        return Failure(
            EXIT_FAILED,
            f"{plain_prefix}no region configured: "
            "pass --region or set AWS_DEFAULT_REGION (or region in the profile)",
        )
    if isinstance(error, AssumeRoleError):  # ours: the message never holds a secret
        return Failure(EXIT_FAILED, f"{prefix}: {error}")
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code") or "Unknown"
        return Failure(EXIT_FAILED, f"{prefix} [{code}]: {details.get('Message', '')}")
    unreachable = _endpoint_problem(error)
    if unreachable is not None:
        return Failure(EXIT_FAILED, plain_prefix + unreachable)
    description = next(
        (text for kind, text in descriptions if isinstance(error, kind)), "unexpected error"
    )
    return Failure(EXIT_FAILED, f"{prefix}: {type(error).__name__}: {description} ({_WITHHELD})")


def failed(prog: str, error: BaseException, **prefixes: str) -> int:
    """Say ``error`` in one line on stderr (``classify_error``); return its exit code. A
    closed stdout is re-raised, for ``run_program``."""
    if isinstance(error, BrokenPipeError):
        raise error
    failure = classify_error(error, **prefixes)
    say(prog, failure.message)
    return failure.code


def _endpoint_problem(error: BaseException) -> str | None:
    from botocore import exceptions as bx

    if not isinstance(error, (bx.ConnectionError, bx.HTTPClientError)):
        return None
    if isinstance(error, bx.ProxyConnectionError):
        return f"cannot reach the proxy {_url(error.kwargs.get('proxy_url'))}"
    endpoint = _url(error.kwargs.get("endpoint_url"))
    if isinstance(error, bx.ReadTimeoutError):
        return f"the STS endpoint {endpoint} did not answer in time"
    if isinstance(error, bx.ConnectionClosedError):
        return f"the STS endpoint {endpoint} closed the connection before answering"
    if isinstance(error, bx.ConnectTimeoutError):
        reason = "connection timed out"
    elif isinstance(error, bx.SSLError):
        reason = "TLS/SSL validation failed"
    elif isinstance(error, bx.EndpointConnectionError):
        reason = _connection_failure(error.kwargs.get("error"))
    else:
        reason = "connection failed"
    return f"cannot reach the STS endpoint {endpoint}: {reason}"


def _connection_failure(cause: object) -> str:
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


def credential_process_json(
    access_key: str, secret_key: str, token: str, expiry: datetime.datetime | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "Version": 1,
        "AccessKeyId": access_key,
        "SecretAccessKey": secret_key,
        "SessionToken": token,
    }
    if expiry is not None:  # ISO-8601 UTC (a naive time is taken as UTC)
        if expiry.tzinfo is not None:
            expiry = expiry.astimezone(datetime.timezone.utc)
        data["Expiration"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    return data


_ENVIRONMENT = (
    ("AWS_ACCESS_KEY_ID", "AccessKeyId"),
    ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
    ("AWS_SESSION_TOKEN", "SessionToken"),
    ("AWS_CREDENTIALS_EXPIRATION", "Expiration"),
)


def _environment(credentials: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, str(credentials[key])) for name, key in _ENVIRONMENT if key in credentials]


def format_json(credentials: Mapping[str, Any]) -> str:
    return json.dumps(credentials, indent=2)


def format_dotenv(credentials: Mapping[str, Any]) -> str:
    return "\n".join(f"{name}={value}" for name, value in _environment(credentials))


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _powershell_quote(value: str) -> str:
    # PowerShell also ends a single-quoted string at the typographic single quotes.
    for quote in "'\u2018\u2019\u201a\u201b":
        value = value.replace(quote, quote * 2)
    return f"'{value}'"


def format_env(credentials: Mapping[str, Any], shell: str = "sh") -> str:
    """Commands that export the ``AWS_...`` variables in ``shell`` (sh, fish, powershell)."""
    lines = []
    for name, value in _environment(credentials):
        if shell == "fish":
            lines.append(f"set -gx {name} {_fish_quote(value)}")
        elif shell == "powershell":
            lines.append(f"$Env:{name} = {_powershell_quote(value)}")
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    return "\n".join(lines)


@contextlib.contextmanager
def logging_silenced() -> Iterator[None]:
    """No log record meanwhile: botocore logs a failed fetch's traceback, which may hold
    the raw response and its secret key."""
    import logging  # not at import: the command's cache hit logs nothing

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, where there is no SIGINT handler to deliver it through."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminated
    _terminated = True
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)  # raises KeyboardInterrupt, or cancels asyncio's task
        return
    raise Terminated  # SIGINT ignored (a background job): SIGTERM still ends the program


def interrupted_exit_code() -> int:
    """130 after Ctrl-C, 143 after SIGTERM: for a program that handles the interrupt."""
    return EXIT_TERMINATED if _terminated else EXIT_INTERRUPTED


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM delivered as Ctrl-C meanwhile, where its handler is the default."""
    global _terminated
    if (
        threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "SIGTERM")
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    _terminated = False
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run_program(prog: str, body: Callable[[], int]) -> int:
    """Run ``body``; its exit code, or the interrupt's or the closed stdout's (stdout is
    flushed here, not at the interpreter's exit: a traceback and 120 there)."""
    with _sigterm_as_interrupt():
        try:
            code = body()
            sys.stdout.flush()
            return code
        except KeyboardInterrupt:
            say(prog, "interrupted")
            return interrupted_exit_code()
        except BrokenPipeError:
            _discard_stdout()
            say(prog, "stdout was closed before the output was written")
            return EXIT_BROKEN_PIPE
