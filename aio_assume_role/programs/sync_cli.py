"""``python -m aio_assume_role.sync ROLE_ARN``: aws-assume-role-lib 2.10's command line,
on the boto3 path.

Its options (plus ``--region``), output formats (``--env``: bare ``AWS_...=value``
lines; ``--json``) and exit codes, but errors are always one line, never a traceback or
a secret, and a credential_process recursion stops (exit 2). Imports no aiobotocore,
aiohttp or aiofiles.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

import boto3

from .. import sync
from .._core.compat import botocore_session
from ._kit import (
    EXIT_NO_PARENT_CREDENTIALS,
    Failure,
    classify_error,
    credential_process_json,
    format_dotenv,
    format_json,
    logging_silenced,
    run_program,
)
from .cli import assume_role_kwargs, assume_role_parser, credential_process_guard

__all__ = ["main"]

PROG = "python -m aio_assume_role.sync"

_PREFIX = "Error when assuming role"  # aws-assume-role-lib's wording
_NO_CREDENTIALS = "Unable to locate credentials"


def _description() -> str:
    return textwrap.dedent(
        f"""\
        Assume the given role and print out the resulting credentials.

        For env var usage, export the output:
        export $( <invocation here> )

        As a credential_process (--json) in ~/.aws/config, by this Python's absolute
        path: the AWS CLI and SDKs run it without your shell's PATH or virtualenv.
        [profile my-assumed-role]
        credential_process = {sys.executable} -m aio_assume_role.sync ROLE_ARN --json

        Exit codes: 2 bad arguments, 3 no parent credentials, 4 AssumeRole failed.
        """
    )


def build_parser() -> argparse.ArgumentParser:
    formats = {
        "env": "print as env vars (default)",
        "json": "print credential_process-formatted JSON to stdout",
    }
    return assume_role_parser(PROG, _description(), formats)


def fetch_credentials(options: argparse.Namespace) -> dict[str, Any]:
    """Assume the role described by parsed ``options``; return credential_process JSON."""
    session = boto3.Session(profile_name=options.profile, region_name=options.region)
    with credential_process_guard(botocore_session(session)):
        if not session.get_credentials():
            raise Failure(EXIT_NO_PARENT_CREDENTIALS, _NO_CREDENTIALS)
        child = sync.assume_role(
            session, options.RoleArn, region_name=True, **assume_role_kwargs(options)
        )
        credentials = child.get_credentials()
        frozen = credentials.get_frozen_credentials()
    expiry = getattr(credentials, "expiry_time", None)
    if not isinstance(expiry, datetime.datetime):
        expiry = None
    return credential_process_json(frozen.access_key, frozen.secret_key, frozen.token, expiry)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (SystemExit from argparse)."""
    return run_program(PROG, lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    options = build_parser().parse_args(argv)
    try:
        with logging_silenced():
            credentials = fetch_credentials(options)
    except Exception as error:  # whatever it is: one line, exit 4 at worst, never 1
        failure = classify_error(
            error,
            prefix=_PREFIX,
            plain_prefix=f"{_PREFIX}: ",
            parent_prefix=f"{_NO_CREDENTIALS}: ",
        )
        print(failure.message, file=sys.stderr)
        return failure.code
    print(format_json(credentials) if options.format == "json" else format_dotenv(credentials))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
