"""``aio-assume-role accounts``: can this role be assumed in every account?

```bash
aio-assume-role accounts --role-name Audit --org
aio-assume-role accounts --role-name Audit --ou ou-ab12-cdefgh34 --regions us-east-1 eu-west-1
aio-assume-role accounts --role-name Audit --accounts-file accounts.txt --json
```

Assumes ``--role-name`` in each target account (``fan_out``) and calls GetCallerIdentity
through the assumed session, per account or per account and region (``--regions``).
Prints a table and a summary, or (``--json``) a ``FanOutResult.to_json()`` line per check
as it completes, the summary on stderr. ``--shard i/n`` checks one shard, for array jobs
(``examples/array-jobs/``). AssumeRole is paced: ``--rate N`` a second at most
(default 200, slowed while STS throttles), ``--rate none`` unpaced. Exit codes: the
programs'; 1 when some check failed. The options, output and sharding: the guide,
docs/how-to/fan-out.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ..errors import InvalidParameterError
from ..fanout import DEFAULT_RATE, FanOutProgress, FanOutResult, fan_out, summarize
from ..targets import SHARD_ENVIRONMENT_VARIABLE, Targets, from_organization, parse_shard
from ._kit import (
    EXIT_NO_PARENT_CREDENTIALS,
    EXIT_SOME_FAILED,
    BadArguments,
    Failure,
    bad_arguments,
    caller_arn,
    failed,
    interrupted_exit_code,
    logging_silenced,
    one_line,
    parent_session,
    progress_display,
    region_argument,
    region_list,
    run_program,
)
from ._kit import (
    account_id as account_id_or_exit,
)

__all__ = ["main"]

ROLE_SESSION_NAME = "aio-assume-role-accounts"  # what CloudTrail shows for the checks

_TARGET_OPTIONS = ("--org", "--ou", "--accounts-file", "--account")

# fan_out's and from_organization's parameter names -> this command's options.
_OPTION_OF = {
    "role_name": "--role-name",
    "regions": "--regions",
    "path": "--path",
    "partition": "--partition",
    "concurrency": "--concurrency",
    "rate": "--rate",
    "accounts": "--account",
    "ous": "--ou",
    "ignore_ous": "--ignore-ou",
    "ignore_accounts": "--ignore-account",
    "spec": "--shard",
    "RoleArn": "the role ARN made of --role-name, --path and --partition",
}

_OUTCOMES = {None: "ok", "assume": "assume failed", "work": "work failed"}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be an integer >= 1")
    return value


def _rate(text: str) -> float | None:
    """``--rate``: a positive number of AssumeRole requests a second, or ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number > 0, or 'none'") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a number > 0, or 'none'")
    return value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``aio-assume-role accounts``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check that a role can be assumed in every target account (AssumeRole, "
        "then GetCallerIdentity).",
        epilog="Exit codes: 0 all checks succeeded, 1 some failed, 2 bad arguments, 3 no "
        "parent credentials, 4 listing the organization's accounts failed. --shard /N takes "
        "the index from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX; without --shard, "
        f"{SHARD_ENVIRONMENT_VARIABLE} is read.",
    )
    arg = parser.add_argument
    arg("--role-name", required=True, metavar="NAME", help="the role to assume in each account")
    group = parser.add_argument_group("targets (exactly one of)")
    target = group.add_mutually_exclusive_group(required=True).add_argument
    target("--org", action="store_true", help="every ACTIVE account but the management one")
    target(
        "--ou", action="append", metavar="ID", help="accounts under this OU or root; repeatable"
    )
    target("--accounts-file", metavar="FILE", help="account ids, one a line ('-': stdin)")
    target("--account", action="append", metavar="ID", help="an account id; repeatable")
    leave = parser.add_argument_group("leaving accounts out").add_argument
    leave("--ignore-account", action="append", default=[], metavar="ID", help="repeatable")
    leave("--ignore-ou", action="append", default=[], metavar="ID", help="a subtree; repeatable")
    leave("--include-management-account", action="store_true", help="with --org or --ou")
    arg("--regions", nargs="+", metavar="R", help="check each account in these regions")
    arg("--profile", help="the AWS config profile of the parent credentials")
    arg("--region", type=region_argument, help="the parent's region")
    arg("--path", default="", help="the role's IAM path (default: none)")
    arg("--partition", default="aws", help="the partition (default: aws)")
    arg("--concurrency", type=_positive_int, default=50, metavar="N", help="(default: 50)")
    arg(
        "--rate",
        type=_rate,
        default=DEFAULT_RATE,
        metavar="N",
        help=f"AssumeRole requests a second at most, 'none': unpaced (default: {DEFAULT_RATE:g})",
    )
    arg("--shard", metavar="SPEC", help="check one shard of the accounts: 'i/N' or '/N'")
    arg("--json", action="store_true", help="JSON Lines on stdout, the summary on stderr")
    arg("--no-progress", action="store_true", help="no progress (nor, with --json, summary)")
    return parser


def _read_accounts_file(name: str) -> list[str]:
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8") as stream:
                text = stream.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise BadArguments(f"--accounts-file: cannot read {name!r}: {reason}") from None
    ids = []
    for number, line in enumerate(text.splitlines(), 1):
        account_id = line.split("#", 1)[0].strip()
        if account_id:
            ids.append(account_id_or_exit(account_id, f"--accounts-file {name!r} line {number}"))
    return ids


def _checked_ids(option: str, ids: Sequence[str]) -> list[str]:
    return [account_id_or_exit(text, f"{option} {text!r}") for text in ids]


def _targets(options: argparse.Namespace) -> Targets:
    ignore_accounts = _checked_ids("--ignore-account", options.ignore_account)
    if options.org or options.ou:
        try:
            return from_organization(
                ous=options.ou,
                ignore_accounts=ignore_accounts,
                ignore_ous=options.ignore_ou,
                include_management_account=options.include_management_account,
            )
        except InvalidParameterError as error:
            raise BadArguments(_problems(error)) from None
    for option, given in (
        ("--ignore-ou", options.ignore_ou),
        ("--include-management-account", options.include_management_account),
    ):
        if given:
            raise BadArguments(f"{option} applies to --org and --ou only")
    if options.accounts_file is not None:
        ids = _read_accounts_file(options.accounts_file)
    else:
        ids = _checked_ids("--account", options.account)
    ignored = set(ignore_accounts)
    return [account_id for account_id in dict.fromkeys(ids) if account_id not in ignored]


def _problems(error: InvalidParameterError) -> str:
    parts = []
    for name, reason in error.problems:
        top = name.split("[", 1)[0]
        option = _OPTION_OF.get(top)
        where = name if option is None else option + name[len(top) :]
        parts.append(f"{where}: {reason}")
    return one_line("; ".join(parts))


def _progress(stream: TextIO, prog: str) -> Any:
    def line(done: Any) -> str:
        return f"{prog}: {done.done}/{done.total} checks done, {done.ok} ok, {done.failed} failed"

    return progress_display(stream, prog, line, unit="check")


class _Results:
    """The results as they come; with ``--json`` each also written at once, flushed."""

    def __init__(self, stream_json: bool) -> None:
        self.stream_json = stream_json
        self.results: list[FanOutResult[str]] = []
        self.total: int | None = None  # known from the first progress report on

    def add(self, result: FanOutResult[str]) -> None:
        self.results.append(result)
        if self.stream_json:
            print(json.dumps(result.to_json()), flush=True)

    def sorted(self) -> list[FanOutResult[str]]:
        return sorted(self.results, key=lambda result: (result.account.id, result.region or ""))


async def _check(options: argparse.Namespace, progress: Any, collected: _Results) -> None:
    """The checks of ``options`` (its regions and shard parsed), into ``collected``."""
    regions = options.regions
    parent = parent_session(
        options.profile,
        options.region,
        region_options="--region or --regions" if regions is None else None,
    )
    if await parent.get_credentials() is None:
        raise Failure(
            EXIT_NO_PARENT_CREDENTIALS,
            "no parent credentials: pass --profile, or configure credentials "
            "(AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)",
        )

    def report(state: FanOutProgress) -> None:
        collected.total = state.total
        if progress is not None:
            progress(state)

    results = fan_out(
        parent,
        caller_arn,
        role_name=options.role_name,
        accounts=options.targets,
        regions=regions,
        concurrency=options.concurrency,
        rate=options.rate,
        shard=options.shard,
        progress=report,
        path=options.path,
        partition=options.partition,
        RoleSessionName=ROLE_SESSION_NAME,
    )
    try:
        async with contextlib.aclosing(results):
            async for result in results:
                collected.add(result)
    finally:
        if progress is not None:
            progress.close()


def _table(results: list[FanOutResult[str]], with_regions: bool) -> list[str]:
    header = ["account", "name", *(["region"] if with_regions else []), "outcome", "error code"]
    rows = [header]
    for result in results:
        rows.append(
            [
                result.account.id,
                result.account.name or "-",
                *([result.region or "-"] if with_regions else []),
                _OUTCOMES[result.stage],
                result.error_code or "-",
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _summary(
    results: list[FanOutResult[str]], regions: list[str] | None, shard: tuple[int, int] | None
) -> str:
    summary = summarize(results)
    accounts = len({result.account.id for result in results})
    text = f"{accounts} account{'' if accounts == 1 else 's'}"
    if regions is not None:
        text += f" x {len(regions)} region{'' if len(regions) == 1 else 's'}"
        text += f" = {summary.total} checks"
    if shard is not None:
        text += f" (shard {shard[0]}/{shard[1]})"
    text += f": {len(summary.successes)} ok, {summary.failed} failed"
    failures = [
        f"{stage} {code} {count}"
        for stage, codes in sorted(summary.failure_counts.items())
        for code, count in sorted(codes.items())
    ]
    return text + (f" ({', '.join(failures)})" if failures else "")


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run ``aio-assume-role accounts``; return the exit code (SystemExit from argparse)."""
    name = prog or os.path.basename(sys.argv[0]) or "aio-assume-role accounts"
    return run_program(name, lambda: _main(argv, prog))


def _main(argv: Sequence[str] | None, prog: str | None) -> int:
    parser = build_parser(prog)
    options = parser.parse_args(argv)
    try:
        options.targets = _targets(options)
        if options.regions is not None:
            options.regions = region_list("--regions", options.regions)
        try:
            options.shard = parse_shard(options.shard)
        except InvalidParameterError as error:
            raise BadArguments(_problems(error)) from None
    except BadArguments as error:
        return bad_arguments(parser, error)
    progress = None if options.no_progress else _progress(sys.stderr, parser.prog)
    collected = _Results(stream_json=options.json)
    try:
        with logging_silenced():
            asyncio.run(_check(options, progress, collected))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what is done, and that it was cut short
        _report(parser.prog, options, collected, interrupted=True)
        return interrupted_exit_code()
    except InvalidParameterError as error:  # fan_out's checks, before any call
        return bad_arguments(parser, _problems(error))
    except Exception as error:  # listing the organization: one line, never a traceback
        what = "listing the organization's accounts failed"
        return failed(parser.prog, error, prefix=what, plain_prefix=f"{what}: ")
    _report(parser.prog, options, collected)
    return 0 if all(result.ok for result in collected.results) else EXIT_SOME_FAILED


def _report(
    prog: str, options: argparse.Namespace, collected: _Results, interrupted: bool = False
) -> None:
    """The table and the summary; with ``--json`` the summary alone, on stderr."""
    results = collected.sorted()
    summary = _summary(results, options.regions, options.shard)
    if interrupted:
        done = f"{len(results)}" + ("" if collected.total is None else f" of {collected.total}")
        summary = f"interrupted after {done} checks; done: {summary}"
    if options.json:
        if interrupted or not options.no_progress:
            print(f"{prog}: {summary}", file=sys.stderr, flush=True)
        return
    for line in _table(results, options.regions is not None):
        print(line)
    print(summary, flush=True)


if __name__ == "__main__":
    raise SystemExit(main(prog="python -m aio_assume_role.programs.accounts"))
