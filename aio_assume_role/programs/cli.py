"""The command line: assume a role and print its credentials (``aio-assume-role``).

Runs on the async path; the exit codes are the programs'. Its parsing and the
credential_process recursion guard are shared with ``python -m aio_assume_role.sync``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from .._core.parameters import (
    REQUEST_PARAMETER_SPECS,
    REQUEST_PARAMETERS,
    normalize_assume_role_args,
)

# Light modules only at import: a cache hit (and --help) never imports botocore.
from . import _credential_cache as credential_cache
from ._kit import (
    EXIT_BAD_ARGUMENTS,
    Failure,
    bad_arguments,
    credential_process_json,
    failed,
    format_dotenv,
    format_env,
    format_json,
    logging_silenced,
    parent_session,
    region_argument,
    run_program,
)

__all__ = ["CREDENTIAL_PROCESS_MARKER", "main"]


_PREFIX = "AssumeRole failed"

#: The environment variable holding the profiles whose credential_process is running
#: (a JSON list): a credential_process that leads back to its own profile stops.
CREDENTIAL_PROCESS_MARKER = "AIO_ASSUME_ROLE_CREDENTIAL_PROCESS_PROFILES"

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


#: JSON option values nested deeper than this are refused (before a RecursionError).
MAX_JSON_DEPTH = 32
_TOO_DEEP = f"is nested more than {MAX_JSON_DEPTH} levels deep"

_UNDECODABLE = "holds a byte that is not UTF-8 (or an unpaired surrogate)"


def _text(text: str) -> str:
    """An option's text, refused if it holds bytes that are not UTF-8 (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(_UNDECODABLE) from None
    return text


def _check_json(value: Any) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH`` or holding a string not UTF-8."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _text(item)
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise argparse.ArgumentTypeError(_TOO_DEEP)
            children = [*item, *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def _json(text: str) -> Any:
    try:
        value = json.loads(_text(text))
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError("must be valid JSON") from None
    except RecursionError:
        raise argparse.ArgumentTypeError(_TOO_DEEP) from None
    _check_json(value)
    return value


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
        return _text(text).split(",")
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
    pairs = [item.split("=", 1) for item in _text(text).split(",")]
    if any(len(pair) != 2 for pair in pairs):
        raise argparse.ArgumentTypeError("must be K=V,K2=V2 or JSON")
    return [{"Key": key, "Value": item} for key, item in pairs]


#: The AssumeRole parameters' options, named as in the library.
ASSUME_ROLE_OPTIONS = (*REQUEST_PARAMETERS, "additional_kwargs")

# The parser of each value kind of ``REQUEST_PARAMETER_SPECS``.
_OPTION_TYPES: dict[str, Callable[[str], Any]] = {
    "str": _text,
    "int": int,
    "arns": _policy_arns,
    "json": _json_object,
    "tags": _tags,
    "list": _string_list,
}


def assume_role_parser(
    prog: str | None, description: str, formats: Mapping[str, str]
) -> argparse.ArgumentParser:
    """A parser of ``formats`` (exclusive options storing ``format``, ``env`` by default),
    RoleArn, ``--profile``, ``--region`` and the AssumeRole parameters (API names)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog=prog, description=description, formatter_class=formatter)
    output = parser.add_mutually_exclusive_group()
    for name, text in formats.items():
        output.add_argument(
            f"--{name}", dest="format", action="store_const", const=name, help=text
        )
    parser.set_defaults(format="env")
    parser.add_argument("RoleArn", type=_text, help="the ARN of the role to assume")
    parser.add_argument("--profile", type=_text, help="the AWS config profile to assume it with")
    parser.add_argument("--region", type=region_argument, help="the STS endpoint's region")
    for name, spec in REQUEST_PARAMETER_SPECS.items():
        kind = _OPTION_TYPES[spec.cli]
        parser.add_argument(f"--{name}", type=kind, metavar=spec.metavar, help=spec.help)
    parser.add_argument(
        "--additional-kwargs",
        dest="additional_kwargs",
        type=_json_object,
        metavar="JSON",
        help="further AssumeRole parameters, a JSON object",
    )
    return parser


def assume_role_kwargs(options: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(options, name) for name in ASSUME_ROLE_OPTIONS}


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    formats = {
        "env": "print commands that set AWS_... variables, for eval (default; see --shell)",
        "json": "print credential_process JSON",
        "dotenv": "print bare AWS_...=value lines (export $(...), docker --env-file)",
    }
    parser = assume_role_parser(prog, _description(), formats)
    parser.add_argument("--shell", choices=SHELLS, help="for --env (default: sh)")
    cache = parser.add_argument_group("credential_process cache (--json only)").add_argument
    cache("--no-cache", action="store_true", help="neither read nor write the cache")
    where = f"the cache's directory (default: ${credential_cache.CACHE_DIR_VARIABLE}, or XDG's)"
    cache("--cache-dir", type=_text, metavar="DIR", help=where)
    return parser


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
    """Stop (exit 2) a credential_process that leads back to the profile it resolves:
    each run records its profiles in ``CREDENTIAL_PROCESS_MARKER``, which its credential
    processes inherit. ``session`` is the parent's botocore session."""
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


def _normalized_request(options: argparse.Namespace) -> dict[str, Any]:
    return normalize_assume_role_args(**assume_role_kwargs(options))


def cache_directory(options: argparse.Namespace) -> str | None:
    """The credential_process cache's directory, or None: ``--json`` only, no ``--no-cache``."""
    if options.format != "json" or options.no_cache:
        return None
    return str(options.cache_dir or credential_cache.default_cache_dir())


def cached_credentials(options: argparse.Namespace) -> dict[str, Any] | None:
    """The credential_process JSON of a fresh cache entry, or None; botocore-free."""
    directory = cache_directory(options)
    if directory is None:
        return None
    try:
        hit = credential_cache.cached_credentials(
            directory, options.RoleArn, _normalized_request(options)
        )
    except Exception:  # whatever is odd about the entry or the options: the full path
        return None
    return None if hit is None else credential_process_json(*hit)


async def fetch_credentials(options: argparse.Namespace) -> dict[str, Any]:
    """Assume the role of ``options`` (through the cache, if any): credential_process JSON."""
    from ..cache import AioJSONFileCache
    from ..session import assume_role

    parent = parent_session(options.profile, options.region)
    directory = cache_directory(options)
    cache = None
    if directory is not None:
        request = _normalized_request(options)
        cache = credential_cache.CheckedCache(
            AioJSONFileCache(directory), options.RoleArn, request
        )
    with credential_process_guard(parent):
        child = assume_role(parent, options.RoleArn, cache=cache, **assume_role_kwargs(options))
        expiry = await child.prefetch_credentials()
        frozen = await (await child.get_credentials()).get_frozen_credentials()
    return credential_process_json(frozen.access_key, frozen.secret_key, frozen.token, expiry)


#: ``aio-assume-role NAME ...`` runs this module's ``main(rest, prog=...)`` instead.
SUBCOMMANDS = {
    "demo": "aio_assume_role.programs.demo",
    "accounts": "aio_assume_role.programs.accounts",
}


def _run_subcommand(argv: Sequence[str] | None, prog: str | None) -> int | None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in SUBCOMMANDS:
        return None
    module = importlib.import_module(SUBCOMMANDS[args[0]])
    name = f"{_program_name(prog)} {args[0]}"
    return int(module.main(args[1:], prog=name))


def _program_name(prog: str | None) -> str:
    return prog or os.path.basename(sys.argv[0]) or "aio-assume-role"


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the command line (or a subcommand); return the exit code (SystemExit from
    argparse: 2 on bad syntax, 0 after ``--help``)."""
    return run_program(_program_name(prog), functools.partial(_main, argv, prog))


def _main(argv: Sequence[str] | None, prog: str | None) -> int:
    code = _run_subcommand(argv, prog)
    if code is not None:
        return code
    parser = build_parser(prog)
    options = parser.parse_args(argv)
    if options.shell is not None and options.format != "env":
        parser.error("--shell applies to --env output only")
    if options.format != "json" and (options.no_cache or options.cache_dir):
        parser.error("--no-cache and --cache-dir apply to --json output only")
    credentials = cached_credentials(options)
    if credentials is None:
        import asyncio

        from ..errors import InvalidParameterError

        try:
            with logging_silenced():
                credentials = asyncio.run(fetch_credentials(options))
        except InvalidParameterError as error:
            return bad_arguments(parser, error)
        except Exception as error:  # whatever it is: one line, exit 4 at worst, never 1
            return failed(parser.prog, error, prefix=_PREFIX)
    if options.format == "json":
        print(format_json(credentials))
    elif options.format == "dotenv":
        print(format_dotenv(credentials))
    else:
        print(format_env(credentials, options.shell or "sh"))
    return 0
