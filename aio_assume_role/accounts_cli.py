"""``aio-assume-role accounts``: can this role be assumed in every account?

```bash
aio-assume-role accounts --role-name Audit --org
aio-assume-role accounts --role-name Audit --ou ou-ab12-cdefgh34 --regions us-east-1 eu-west-1
aio-assume-role accounts --role-name Audit --accounts-file accounts.txt --json
```

The command assumes ``--role-name`` in each target account (with ``fan_out``, through the
parent credentials of ``--profile`` or the environment) and calls STS
GetCallerIdentity through the assumed session: once per account in the parent's
region, or once per account and region with ``--regions``. The targets are exactly
one of ``--org`` (every ACTIVE account of the AWS Organization but the management
account), ``--ou ID`` (the accounts under these OUs, recursively), ``--accounts-file
F`` (one id a line; ``#`` comments and blank lines ignored; ``-`` reads stdin) or
``--account ID`` (repeatable).

Output: a table of account, name (from Organizations), region (with ``--regions``),
outcome (``ok``, ``assume failed``, ``work failed``) and error code, then a summary
line; or, with ``--json``, JSON Lines on stdout, one ``FanOutResult.to_json()`` a
line (the GetCallerIdentity ARN as ``value``), each written (and flushed) as its check
completes, so in completion order (``sort`` them for a stable order), with the summary
on stderr. The progress (a bar on a terminal with the
``progress`` extra, else a line every ``PROGRESS_LOG_INTERVAL`` seconds and one at
the end) goes to stderr. With ``--no-progress`` there is none, and with ``--json``
no summary either: stderr is then empty unless the command fails.

Array jobs (Kubernetes Indexed Jobs, AWS Batch array jobs): ``--shard i/n`` checks
shard ``i`` of ``n`` (``aio_assume_role.targets.shard_accounts``: an account's shard
depends only on its id and ``n``); ``--shard /n`` (or ``n``) reads the index from
``JOB_COMPLETION_INDEX`` or ``AWS_BATCH_JOB_ARRAY_INDEX``; without ``--shard``,
``AIO_ASSUME_ROLE_SHARD`` is read. The JSON Lines of the ``n`` shards, concatenated
and sorted, are the lines of one unsharded run, sorted. ``examples/array-jobs/``
holds an Indexed Job manifest and an AWS Batch job definition that run it.

The AssumeRole calls are paced to STS's rate quota: ``--rate N`` requests a second at
most (default 200), slowed down while STS throttles, a throttled check retried for 20 s
before it fails with ``Throttling`` (``fan_out``'s ``rate``); ``--rate none`` leaves
them unpaced.

Exit codes: 0 every check succeeded (also when there was nothing to check); 1 the
run completed and at least one check failed; 2 bad arguments (one line naming the
option); 3 no parent credentials; 4 listing the organization's accounts failed
(e.g. ``AWSOrganizationsNotInUseException``, ``AccessDeniedException``); 130 Ctrl-C,
143 SIGTERM; 141 stdout closed. Errors are one line on stderr, never a traceback, never
a secret. Interrupted (Ctrl-C or SIGTERM), the command prints what it has: with
``--json`` the lines written so far stand, and one line on stderr says it was
interrupted, with the summary of the checks done; the table is printed with what is
done, its summary line saying it was interrupted.
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
from typing import TextIO

from aiobotocore.session import AioSession

from ._failures import classify_error
from ._programs import (
    EXIT_BAD_ARGUMENTS,
    EXIT_NO_PARENT_CREDENTIALS,
    Failure,
    account_id_option,
    interrupted_exit_code,
    logging_silenced,
    one_line,
    region_argument,
    region_option_problem,
    run_program,
)
from .errors import InvalidParameterError
from .fanout import (
    DEFAULT_RATE,
    FanOutProgress,
    FanOutResult,
    ProgressDisplay,
    fan_out,
    summarize,
)
from .session import AssumedRoleSession
from .targets import SHARD_ENVIRONMENT_VARIABLE, Account, Targets, from_organization, parse_shard

__all__ = ["main"]

EXIT_SOME_FAILED = 1
EXIT_ENUMERATION_FAILED = 4

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


class _BadArguments(Exception):
    """A bad option found after parsing: exit 2, with this one-line message."""


# --- arguments ---------------------------------------------------------------------------


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
        description=(
            "Check that a role can be assumed in every target account: AssumeRole, then "
            "GetCallerIdentity through the assumed session, in each account (and region)."
        ),
        epilog=(
            "Exit codes: 0 all checks succeeded, 1 some failed, 2 bad arguments, "
            "3 no parent credentials, 4 listing the organization's accounts failed. "
            f"Array jobs: --shard /N takes the index from JOB_COMPLETION_INDEX or "
            f"AWS_BATCH_JOB_ARRAY_INDEX; without --shard, {SHARD_ENVIRONMENT_VARIABLE} is read."
        ),
    )
    parser.add_argument(
        "--role-name", required=True, metavar="NAME", help="the role to assume in each account"
    )
    targets = parser.add_argument_group("targets (exactly one of)").add_mutually_exclusive_group(
        required=True
    )
    targets.add_argument(
        "--org",
        action="store_true",
        help="every ACTIVE account of the AWS Organization (but the management account)",
    )
    targets.add_argument(
        "--ou",
        action="append",
        metavar="ID",
        help="the accounts under this OU (ou-...) or root (r-...), recursively; repeatable",
    )
    targets.add_argument(
        "--accounts-file",
        metavar="FILE",
        help="account ids, one a line ('#' comments, blank lines ignored; '-' for stdin)",
    )
    targets.add_argument(
        "--account",
        action="append",
        metavar="ID",
        help="an account id (up to 12 digits, zero-padded as in ARNs); repeatable",
    )
    selection = parser.add_argument_group("leaving accounts out")
    selection.add_argument(
        "--ignore-account", action="append", default=[], metavar="ID", help="repeatable"
    )
    selection.add_argument(
        "--ignore-ou",
        action="append",
        default=[],
        metavar="ID",
        help="an OU whose whole subtree is left out (--org, --ou); repeatable",
    )
    selection.add_argument(
        "--include-management-account",
        action="store_true",
        help="also check the organization's management account (--org, --ou)",
    )
    parser.add_argument(
        "--regions",
        nargs="+",
        metavar="R",
        help="check each account in these regions (space- or comma-separated; default: "
        "once per account, in the parent's region)",
    )
    parser.add_argument("--profile", help="the AWS config profile of the parent credentials")
    parser.add_argument(
        "--region",
        type=region_argument,
        help="the parent's region (default: the profile's or AWS_DEFAULT_REGION)",
    )
    parser.add_argument("--path", default="", help="the role's IAM path (default: none)")
    parser.add_argument("--partition", default="aws", help="the partition (default: aws)")
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=50,
        metavar="N",
        help="checks in flight at once (default: 50)",
    )
    parser.add_argument(
        "--rate",
        type=_rate,
        default=DEFAULT_RATE,
        metavar="N",
        help="AssumeRole requests a second at most, slowed down when STS throttles, "
        f"'none' for unpaced (default: {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--shard",
        metavar="SPEC",
        help="check one shard of the accounts: 'i/N', or '/N' with the index from the "
        "array job's environment",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="JSON Lines on stdout (one result a line, as each completes), the summary on stderr",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress on stderr (and, with --json, no summary: stderr stays empty)",
    )
    return parser


def _read_accounts_file(name: str) -> list[str]:
    """The ids in the file (``-``: stdin), checked; raises ``_BadArguments``."""
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8") as stream:
                text = stream.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise _BadArguments(f"--accounts-file: cannot read {name!r}: {reason}") from None
    ids = []
    for number, line in enumerate(text.splitlines(), 1):
        account_id = line.split("#", 1)[0].strip()
        if not account_id:
            continue
        normalized, problem = account_id_option(
            account_id, f"--accounts-file {name!r} line {number}"
        )
        if normalized is None:
            raise _BadArguments(str(problem))
        ids.append(normalized)
    return ids


def _checked_ids(option: str, ids: Sequence[str]) -> list[str]:
    """``ids`` zero-padded to 12 digits (the library's rule); raises ``_BadArguments``."""
    checked = []
    for account_id in ids:
        normalized, problem = account_id_option(account_id, f"{option} {account_id!r}")
        if normalized is None:
            raise _BadArguments(str(problem))
        checked.append(normalized)
    return checked


def _targets(options: argparse.Namespace) -> Targets:
    """The targets the options name; raises ``_BadArguments``."""
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
            raise _BadArguments(_problems(error)) from None
    for option, given in (
        ("--ignore-ou", options.ignore_ou),
        ("--include-management-account", options.include_management_account),
    ):
        if given:
            raise _BadArguments(f"{option} applies to --org and --ou only")
    if options.accounts_file is not None:
        ids = _read_accounts_file(options.accounts_file)
    else:
        ids = _checked_ids("--account", options.account)
    ignored = set(ignore_accounts)
    return [account_id for account_id in dict.fromkeys(ids) if account_id not in ignored]


def _regions(options: argparse.Namespace) -> list[str] | None:
    if options.regions is None:
        return None
    # Spaces around a comma go; any other whitespace ('us-east-1\n') is refused below.
    regions = [name.strip(" ") for text in options.regions for name in text.split(",")]
    regions = [name for name in regions if name]
    if not regions:
        raise _BadArguments("--regions must name at least one region, e.g. us-east-1")
    for name in regions:
        problem = region_option_problem("--regions", name)
        if problem is not None:
            raise _BadArguments(problem)
    return regions


def _problems(error: InvalidParameterError) -> str:
    """``error``'s problems on one line, each under its option's name."""
    parts = []
    for name, reason in error.problems:
        top = name.split("[", 1)[0]
        option = _OPTION_OF.get(top)
        where = name if option is None else option + name[len(top) :]
        parts.append(f"{where}: {reason}")
    return one_line("; ".join(parts))


# --- progress ----------------------------------------------------------------------------


def _progress(stream: TextIO, prog: str) -> ProgressDisplay:
    """fan_out's progress display on ``stream``, in the command's words: a tqdm bar on a
    terminal when tqdm is installed, else a line every ``PROGRESS_LOG_INTERVAL`` seconds
    and one at the end."""
    return ProgressDisplay(
        stream,
        label=prog,
        unit="check",
        line=lambda progress: (
            f"{prog}: {progress.done}/{progress.total} checks done, {progress.ok} ok, "
            f"{progress.failed} failed"
        ),
        postfix=lambda progress: {"ok": progress.ok, "failed": progress.failed},
    )


# --- the run -----------------------------------------------------------------------------


async def _caller_arn(session: AssumedRoleSession, account: Account, region: str | None) -> str:
    """The check: GetCallerIdentity through the assumed session; the ARN it returns."""
    async with session.create_client("sts", region_name=region) as sts:
        return str((await sts.get_caller_identity())["Arn"])


class _Results:
    """The results as they come: kept for the table and the summary, and with ``--json``
    written to stdout at once, a line each, flushed (an interrupted run keeps them)."""

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


async def _check(
    options: argparse.Namespace,
    targets: Targets,
    regions: list[str] | None,
    shard: tuple[int, int] | None,
    progress: ProgressDisplay | None,
    collected: _Results,
) -> None:
    parent = AioSession(profile=options.profile)
    if options.region:
        parent.set_config_variable("region", options.region)
    if regions is None and not parent.get_config_variable("region"):
        raise Failure(
            EXIT_BAD_ARGUMENTS,
            "no region: pass --region or --regions, "
            "or set AWS_DEFAULT_REGION (or region in the profile)",
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
        _caller_arn,
        role_name=options.role_name,
        accounts=targets,
        regions=regions,
        concurrency=options.concurrency,
        rate=options.rate,
        shard=shard,
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


# --- output ------------------------------------------------------------------------------


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
    """Run ``aio-assume-role accounts``; return the exit code (see the module's docstring).

    Every failure but bad syntax is a one-line message on stderr and an exit code;
    Ctrl-C exits 130, SIGTERM 143 (after what is done), a closed stdout 141.

    Raises:
        SystemExit: from argparse, with code 2, on bad syntax (and 0 after ``--help``).
    """
    name = prog or os.path.basename(sys.argv[0]) or "aio-assume-role accounts"
    return run_program(name, lambda: _main(argv, prog))


def _main(argv: Sequence[str] | None, prog: str | None) -> int:
    parser = build_parser(prog)
    options = parser.parse_args(argv)
    try:
        targets = _targets(options)
        regions = _regions(options)
        try:
            shard = parse_shard(options.shard)
        except InvalidParameterError as error:
            raise _BadArguments(_problems(error)) from None
    except _BadArguments as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    progress = None if options.no_progress else _progress(sys.stderr, parser.prog)
    collected = _Results(stream_json=options.json)
    try:
        with logging_silenced():
            asyncio.run(_check(options, targets, regions, shard, progress, collected))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what is done, and that it was cut short
        _print_interrupted(parser.prog, options, collected, regions, shard)
        return interrupted_exit_code()
    except InvalidParameterError as error:  # fan_out's checks, before any call
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {_problems(error)}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    except BrokenPipeError:  # stdout closed while streaming: run_program says so
        raise
    except Exception as error:  # listing the organization: one line, never a traceback
        failure = (
            error
            if isinstance(error, Failure)
            else classify_error(
                error,
                prefix="listing the organization's accounts failed",
                plain_prefix="listing the organization's accounts failed: ",
            )
        )
        print(f"{parser.prog}: {failure.message}", file=sys.stderr)
        return failure.code
    results = collected.sorted()
    summary = _summary(results, regions, shard)
    if options.json:
        if not options.no_progress:
            print(f"{parser.prog}: {summary}", file=sys.stderr)
    else:
        for line in _table(results, regions is not None):
            print(line)
        print(summary)
    sys.stdout.flush()
    return 0 if all(result.ok for result in results) else EXIT_SOME_FAILED


def _print_interrupted(
    prog: str,
    options: argparse.Namespace,
    collected: _Results,
    regions: list[str] | None,
    shard: tuple[int, int] | None,
) -> None:
    """After an interrupt: the table of what is done (the JSON lines are out already),
    and a summary line that says the run was interrupted, and how far it got."""
    results = collected.sorted()
    done = (
        f"{len(results)} of {collected.total}"
        if collected.total is not None
        else (str(len(results)))
    )
    summary = f"interrupted after {done} checks; done: {_summary(results, regions, shard)}"
    if options.json:
        print(f"{prog}: {summary}", file=sys.stderr, flush=True)
        return
    for line in _table(results, regions is not None):
        print(line)
    print(summary, flush=True)


if __name__ == "__main__":
    raise SystemExit(main(prog="python -m aio_assume_role.accounts_cli"))
