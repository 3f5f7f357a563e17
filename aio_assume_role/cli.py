"""The command line: assume a role and print its credentials (``aio-assume-role``).

Exit codes: 0 success, 2 bad arguments, 3 no parent credentials, 4 AssumeRole failed.
Runs on the async path; errors go to stderr and never contain a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from aiobotocore.session import AioSession
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from .errors import InvalidParameterError
from .session import assume_role

__all__ = ["main"]

EXIT_BAD_ARGUMENTS = 2
EXIT_NO_PARENT_CREDENTIALS = 3
EXIT_ASSUME_ROLE_FAILED = 4

_EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_DESCRIPTION = textwrap.dedent(
    """\
    Assume an IAM role and print its credentials.

    Environment variables (default, --env):
      export $(aio-assume-role arn:aws:iam::123456789012:role/MyRole)

    credential_process (--json), in ~/.aws/config:
      [profile my-role]
      credential_process = aio-assume-role arn:aws:iam::123456789012:role/MyRole --json

    Exit codes: 2 bad arguments, 3 no parent credentials, 4 AssumeRole failed.
    """
)


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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (AssumeRole parameters keep their API names, as in the library)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("RoleArn", help="the ARN of the role to assume")
    parser.add_argument("--profile", help="the AWS config profile to assume the role with")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--env",
        dest="format",
        action="store_const",
        const="env",
        help="print AWS_...= lines (default)",
    )
    output.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="print credential_process JSON",
    )
    parser.set_defaults(format="env")
    parser.add_argument("--RoleSessionName", metavar="NAME")
    parser.add_argument(
        "--PolicyArns", type=_policy_arns, metavar="ARNS", help="Arn1,Arn2 or JSON"
    )
    parser.add_argument("--Policy", type=_json_object, metavar="JSON", help="a JSON object")
    parser.add_argument("--DurationSeconds", type=int, metavar="N")
    parser.add_argument("--Tags", type=_tags, metavar="TAGS", help="K=V,K2=V2 or JSON")
    parser.add_argument(
        "--TransitiveTagKeys", type=_string_list, metavar="KEYS", help="K1,K2 or a JSON list"
    )
    parser.add_argument("--ExternalId", metavar="ID")
    parser.add_argument("--SerialNumber", metavar="MFA_ARN")
    parser.add_argument("--TokenCode", metavar="CODE")
    parser.add_argument("--SourceIdentity", metavar="IDENTITY")
    parser.add_argument(
        "--additional-kwargs",
        dest="additional_kwargs",
        type=_json_object,
        metavar="JSON",
        help="further AssumeRole parameters, a JSON object",
    )
    return parser


class _Failure(Exception):
    """Ends the run with an exit code and a message for stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


async def fetch_credentials(options: argparse.Namespace) -> dict[str, Any]:
    """Assume the role described by parsed ``options``; return credential_process JSON."""
    parent = AioSession(profile=options.profile)
    named = {
        name: value
        for name, value in vars(options).items()
        if name not in ("RoleArn", "profile", "format")
    }
    try:
        child = assume_role(parent, options.RoleArn, **named)
        expiry = await child.prefetch_credentials()
    except InvalidParameterError:
        raise
    except (
        NoCredentialsError,
        PartialCredentialsError,
        CredentialRetrievalError,
        ProfileNotFound,
    ) as error:
        raise _Failure(EXIT_NO_PARENT_CREDENTIALS, str(error)) from None
    except ClientError as error:
        details = error.response.get("Error", {})
        raise _Failure(
            EXIT_ASSUME_ROLE_FAILED,
            f"AssumeRole failed [{details.get('Code', 'Unknown')}]: {details.get('Message', '')}",
        ) from None
    except BotoCoreError as error:
        raise _Failure(EXIT_ASSUME_ROLE_FAILED, f"AssumeRole failed: {error}") from None
    frozen = await (await child.get_credentials()).get_frozen_credentials()
    return {
        "Version": 1,
        "AccessKeyId": frozen.access_key,
        "SecretAccessKey": frozen.secret_key,
        "SessionToken": frozen.token,
        "Expiration": expiry.astimezone(datetime.timezone.utc).strftime(_EXPIRATION_FORMAT),
    }


def format_env(credentials: dict[str, Any]) -> str:
    """``AWS_...=`` lines, for ``export $(...)``."""
    return "\n".join(
        [
            f"AWS_ACCESS_KEY_ID={credentials['AccessKeyId']}",
            f"AWS_SECRET_ACCESS_KEY={credentials['SecretAccessKey']}",
            f"AWS_SESSION_TOKEN={credentials['SessionToken']}",
            f"AWS_CREDENTIALS_EXPIRATION={credentials['Expiration']}",
        ]
    )


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the command line; return the exit code (argparse exits 2 itself on bad syntax)."""
    parser = build_parser(prog)
    options = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        # botocore logs a failed first fetch with a traceback through logging's
        # last-resort stderr handler; the one-line message below says it all.
        logging.getLogger().addHandler(logging.NullHandler())
    try:
        credentials = asyncio.run(fetch_credentials(options))
    except InvalidParameterError as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    except _Failure as failure:
        print(f"{parser.prog}: {failure}", file=sys.stderr)
        return failure.code
    if options.format == "json":
        print(json.dumps(credentials, indent=2))
    else:
        print(format_env(credentials))
    return 0
