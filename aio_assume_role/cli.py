"""The command line: assume a role and print its credentials (``aio-assume-role``).

Exit codes: 0 success, 2 bad arguments (or a credential_process recursion), 3 no
parent credentials, 4 AssumeRole failed, however it failed. Runs on the async path;
errors are one line on stderr, never a traceback, never a secret.

The argument parsing, output formats, error messages and the credential_process
recursion guard here are shared with ``python -m aio_assume_role.sync``
(``aio_assume_role.sync.__main__``), aws-assume-role-lib's command line on the boto3 path.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import errno
import importlib
import json
import logging
import os
import shlex
import socket
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.session import AioSession
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

from ._core.request import REQUEST_PARAMETER_SPECS, REQUEST_PARAMETERS
from .errors import AssumeRoleError, InvalidParameterError, ParentCredentialsError
from .session import assume_role

__all__ = ["CREDENTIAL_PROCESS_MARKER", "main"]

EXIT_BAD_ARGUMENTS = 2
EXIT_NO_PARENT_CREDENTIALS = 3
EXIT_ASSUME_ROLE_FAILED = 4

_PREFIX = "AssumeRole failed"

#: The environment variable holding the profiles whose credential_process is running
#: (a JSON list): a credential_process that leads back to its own profile stops.
CREDENTIAL_PROCESS_MARKER = "AIO_ASSUME_ROLE_CREDENTIAL_PROCESS_PROFILES"
"""Environment variable: the profiles that enclosing runs of the command are resolving
(a JSON list), so that a credential_process that leads back to one of them stops."""

EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

SHELLS = ("sh", "fish", "powershell")


def _description() -> str:
    return textwrap.dedent(
        f"""\
        Assume an IAM role and print its credentials.

        Into the current shell's environment (--env, the default):
          bash, zsh, sh:  eval "$(aio-assume-role ROLE_ARN)"
          fish:           aio-assume-role ROLE_ARN --shell fish | source
          PowerShell:     aio-assume-role ROLE_ARN --shell powershell | Invoke-Expression

        As a credential_process (--json) in ~/.aws/config, by this Python's absolute
        path: the AWS CLI and SDKs run it without your shell's PATH or virtualenv.
          [profile my-role]
          credential_process = {sys.executable} -m aio_assume_role ROLE_ARN --json --profile dev

        Exit codes: 2 bad arguments, 3 no parent credentials, 4 AssumeRole failed.

        Subcommands (see their --help): {", ".join(sorted(SUBCOMMANDS))}.
        """
    )


# --- Argument parsing -------------------------------------------------------------


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError("must be valid JSON") from None


def _json_object(text: str) -> dict[str, Any]:
    value = _json(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[", '"')


def _string_list(text: str) -> list[Any]:
    """``A,B`` or a JSON list."""
    if not _looks_like_json(text):
        return text.split(",")
    value = _json(text)
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError("must be A,B or a JSON list")
    return value


def _policy_arns(text: str) -> list[Any]:
    """``Arn1,Arn2``, a JSON list (of ARNs or ``{"arn": ...}``), or one JSON object."""
    if _looks_like_json(text) and isinstance(value := _json(text), dict):
        return [value]
    return _string_list(text)


def _tags(text: str) -> list[dict[str, Any]]:
    """``K=V,K2=V2``, a JSON object ``{"K": "V"}``, or a JSON list of ``{"Key", "Value"}``."""
    if _looks_like_json(text):
        value = _json(text)
        if isinstance(value, dict):
            return [{"Key": key, "Value": item} for key, item in value.items()]
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return value
        raise argparse.ArgumentTypeError(
            'must be K=V,K2=V2, a JSON object or a JSON list of {"Key": ..., "Value": ...}'
        )
    pairs = [item.split("=", 1) for item in text.split(",")]
    if any(len(pair) != 2 for pair in pairs):
        raise argparse.ArgumentTypeError("must be K=V,K2=V2 or JSON")
    return [{"Key": key, "Value": item} for key, item in pairs]


#: The AssumeRole parameters' options, named as in the library (``_request``' table).
ASSUME_ROLE_OPTIONS = (*REQUEST_PARAMETERS, "additional_kwargs")


def _option_types() -> dict[str, Callable[[str], Any]]:
    """The parser of each value kind of ``_request.REQUEST_PARAMETER_SPECS``."""
    return {
        "str": str,
        "int": int,
        "arns": _policy_arns,
        "json": _json_object,
        "tags": _tags,
        "list": _string_list,
    }


def add_assume_role_arguments(parser: argparse.ArgumentParser) -> None:
    """RoleArn, the parent (``--profile``, ``--region``) and the AssumeRole parameters,
    which keep their API names, as in the library."""
    parser.add_argument("RoleArn", help="the ARN of the role to assume")
    parser.add_argument("--profile", help="the AWS config profile to assume the role with")
    parser.add_argument(
        "--region", help="the region of the STS endpoint (default: the profile's or AWS_REGION)"
    )
    types = _option_types()
    for name, spec in REQUEST_PARAMETER_SPECS.items():
        parser.add_argument(
            f"--{name}", type=types[spec.cli], metavar=spec.metavar, help=spec.help
        )
    parser.add_argument(
        "--additional-kwargs",
        dest="additional_kwargs",
        type=_json_object,
        metavar="JSON",
        help="further AssumeRole parameters, a JSON object",
    )


def assume_role_kwargs(options: argparse.Namespace) -> dict[str, Any]:
    """The AssumeRole parameters given on the command line, for ``assume_role()``."""
    return {name: getattr(options, name) for name in ASSUME_ROLE_OPTIONS}


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``aio-assume-role``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--env",
        dest="format",
        action="store_const",
        const="env",
        help="print commands that set AWS_... variables, for eval (default; see --shell)",
    )
    output.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="print credential_process JSON",
    )
    output.add_argument(
        "--dotenv",
        dest="format",
        action="store_const",
        const="dotenv",
        help="print bare AWS_...=value lines (export $(...), docker --env-file)",
    )
    parser.set_defaults(format="env")
    parser.add_argument(
        "--shell",
        choices=SHELLS,
        help="the shell --env writes for: sh (bash, zsh, ...; default), fish, powershell",
    )
    add_assume_role_arguments(parser)
    return parser


# --- Output -------------------------------------------------------------------------


def format_expiration(expiry: datetime.datetime) -> str:
    """ISO-8601 UTC, as credential_process wants it (a naive time is taken as UTC)."""
    if expiry.tzinfo is not None:
        expiry = expiry.astimezone(datetime.timezone.utc)
    return expiry.strftime(EXPIRATION_FORMAT)


def credential_process_json(
    access_key: str, secret_key: str, token: str, expiry: datetime.datetime | None
) -> dict[str, Any]:
    """The credential_process document (no ``Expiration`` if there is no expiry)."""
    data: dict[str, Any] = {
        "Version": 1,
        "AccessKeyId": access_key,
        "SecretAccessKey": secret_key,
        "SessionToken": token,
    }
    if expiry is not None:
        data["Expiration"] = format_expiration(expiry)
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
    """Bare ``AWS_...=value`` lines: for ``export $(...)``, dotenv and ``--env-file``."""
    return "\n".join(f"{name}={value}" for name, value in _environment(credentials))


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _powershell_quote(value: str) -> str:
    # PowerShell also ends a single-quoted string at the typographic single quotes.
    for quote in "'\u2018\u2019\u201a\u201b":
        value = value.replace(quote, quote * 2)
    return f"'{value}'"


def format_env(credentials: Mapping[str, Any], shell: str = "sh") -> str:
    """Commands that set and export the ``AWS_...`` variables in ``shell``, values quoted:
    ``export NAME=value`` (sh), ``set -gx NAME value`` (fish), ``$Env:NAME = 'value'``."""
    lines = []
    for name, value in _environment(credentials):
        if shell == "fish":
            lines.append(f"set -gx {name} {_fish_quote(value)}")
        elif shell == "powershell":
            lines.append(f"$Env:{name} = {_powershell_quote(value)}")
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    return "\n".join(lines)


# --- Errors -------------------------------------------------------------------------


class Failure(Exception):
    """Ends the run with an exit code and a one-line message for stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = one_line(message)


def one_line(text: object) -> str:
    return " ".join(str(text).split())


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
    if isinstance(error, AssumeRoleError):  # ours: the message never holds a secret
        return Failure(EXIT_ASSUME_ROLE_FAILED, f"{prefix}: {error}")
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code") or "Unknown"
        return Failure(EXIT_ASSUME_ROLE_FAILED, f"{prefix} [{code}]: {details.get('Message', '')}")
    if isinstance(error, NoRegionError):
        return Failure(
            EXIT_ASSUME_ROLE_FAILED,
            f"{plain_prefix}no region configured: "
            "pass --region or set AWS_REGION / AWS_DEFAULT_REGION",
        )
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


# --- The run --------------------------------------------------------------------------


@contextmanager
def logging_silenced() -> Iterator[None]:
    """No log record, from any logger, while the command runs.

    botocore logs a failed fetch with its traceback (at WARNING), whose text can be a
    parser error holding the raw response, secret key included; wherever the
    process's logging goes (a sitecustomize, an embedding program), the one-line
    message is the only output.
    """
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


def _marker_chain() -> list[dict[str, str]]:
    try:
        chain = json.loads(os.environ.get(CREDENTIAL_PROCESS_MARKER, "[]"))
    except json.JSONDecodeError:
        return []
    if not isinstance(chain, list):
        return []
    return [
        entry
        for entry in chain
        if isinstance(entry, dict) and all(isinstance(value, str) for value in entry.values())
    ]


def _source_profiles(session: Any, profile: str) -> list[str]:
    """``profile`` and the profiles it takes its credentials from (``source_profile``)."""
    try:
        profiles = session.full_config.get("profiles", {})
    except Exception:  # an unreadable config fails later, with botocore's own message
        return [profile]
    chain = [profile]
    while True:
        source = profiles.get(chain[-1], {}).get("source_profile")
        if not source or source in chain or "role_arn" not in profiles.get(chain[-1], {}):
            return chain
        chain.append(source)


@contextmanager
def credential_process_guard(session: Any) -> Iterator[None]:
    """Stop a credential_process that leads back to the profile it is resolving.

    A profile whose ``credential_process`` runs this command for that same profile
    (directly or through ``source_profile``) would start it again and again without
    end. Each run records the profiles it resolves (with the config files they come
    from) in ``CREDENTIAL_PROCESS_MARKER``, which its credential processes inherit; a
    run asked for a profile already recorded fails (exit 2) instead.
    ``session`` is the parent's botocore session.
    """
    explicit = session.instance_variables().get("profile") is not None
    if (
        not explicit
        and os.environ.get("AWS_ACCESS_KEY_ID")
        and os.environ.get("AWS_SECRET_ACCESS_KEY")
    ):
        yield  # environment credentials come first: no profile is resolved
        return
    files = {
        name: os.path.abspath(os.path.expanduser(str(session.get_config_variable(name))))
        for name in ("config_file", "credentials_file")
    }
    profile = session.get_config_variable("profile") or "default"
    chain = _marker_chain()
    for index, entry in enumerate(chain):
        if entry.get("profile") == profile and all(entry.get(k) == v for k, v in files.items()):
            cycle = " -> ".join([item.get("profile", "?") for item in chain[index:]] + [profile])
            raise Failure(
                EXIT_BAD_ARGUMENTS,
                f"credential_process recursion: profile {profile!r} is already being "
                f"resolved by an enclosing run of this command (cycle: {cycle}); a "
                "credential_process must not need the credentials of its own profile",
            )
    chain += [{"profile": name, **files} for name in _source_profiles(session, profile)]
    previous = os.environ.get(CREDENTIAL_PROCESS_MARKER)
    os.environ[CREDENTIAL_PROCESS_MARKER] = json.dumps(chain)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CREDENTIAL_PROCESS_MARKER, None)
        else:
            os.environ[CREDENTIAL_PROCESS_MARKER] = previous


async def fetch_credentials(options: argparse.Namespace) -> dict[str, Any]:
    """Assume the role described by parsed ``options``; return credential_process JSON."""
    parent = AioSession(profile=options.profile)
    if options.region:
        parent.set_config_variable("region", options.region)
    with credential_process_guard(parent):
        child = assume_role(parent, options.RoleArn, **assume_role_kwargs(options))
        expiry = await child.prefetch_credentials()
        frozen = await (await child.get_credentials()).get_frozen_credentials()
    return credential_process_json(frozen.access_key, frozen.secret_key, frozen.token, expiry)


# --- Subcommands ---------------------------------------------------------------------

#: ``aio-assume-role NAME ...`` runs this module's ``main(rest, prog=...)`` instead of
#: assuming a role (no role ARN is a bare word). Each is imported only when run.
SUBCOMMANDS = {"demo": "aio_assume_role.demo", "accounts": "aio_assume_role.accounts_cli"}


def _run_subcommand(argv: Sequence[str] | None, prog: str | None) -> int | None:
    """The exit code of the subcommand ``argv`` names, or None if it names none."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in SUBCOMMANDS:
        return None
    module = importlib.import_module(SUBCOMMANDS[args[0]])
    name = f"{prog or os.path.basename(sys.argv[0]) or 'aio-assume-role'} {args[0]}"
    return int(module.main(args[1:], prog=name))


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the command line (or a subcommand, see ``SUBCOMMANDS``); return the exit code.

    Every failure but bad syntax is a one-line message on stderr and an exit code.

    Raises:
        SystemExit: from argparse, with code 2, on bad syntax (and 0 after ``--help``).
    """
    code = _run_subcommand(argv, prog)
    if code is not None:
        return code
    parser = build_parser(prog)
    options = parser.parse_args(argv)
    if options.shell is not None and options.format != "env":
        parser.error("--shell applies to --env output only")
    try:
        with logging_silenced():
            credentials = asyncio.run(fetch_credentials(options))
    except InvalidParameterError as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    except Exception as error:  # whatever it is: one line, exit 4 at worst, never 1
        failure = error if isinstance(error, Failure) else classify_error(error, prefix=_PREFIX)
        print(f"{parser.prog}: {failure.message}", file=sys.stderr)
        return failure.code
    if options.format == "json":
        print(format_json(credentials))
    elif options.format == "dotenv":
        print(format_dotenv(credentials))
    else:
        print(format_env(credentials, options.shell or "sh"))
    return 0
