"""``aio-assume-role demo``: the library's whole story in a minute, with no AWS account.

By default against an embedded endpoint (moto's STS, IAM and Organizations, the ``demo``
extra) on 127.0.0.1, in this process, isolated from ``~/.aws`` (``isolated_run``,
restored after): 0. an organization of ``--accounts`` accounts, an ``Audit`` role in most;
1. a role assumed and a second chained from it; 2. a refresh timeline on a moved clock,
with an STS outage ridden out; 3. ``AioJSONFileCache`` shared by two processes; 4. a
fan-out over every account and region. With ``--profile P --role-name R`` and
``--account ID ...`` or ``--accounts-from-org``: steps 1 and 4 against real AWS,
read-only. Exit codes: the programs'; 2 also for moto missing, 4 a step failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import os
import sys
import tempfile
import time
import types
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any
from unittest import mock

from aiobotocore.config import AioConfig
from botocore.exceptions import EndpointConnectionError
from botocore.loaders import Loader

from .. import testing
from .._core import clock as _clock
from .._core.refresh import RefreshEvent, add_refresh_listener
from .._core.windows import refresh_points
from ..arns import get_role_arn
from ..cache import AioJSONFileCache
from ..fanout import FanOutSummary, fan_out, summarize
from ..session import assume_role
from ..targets import Account, from_organization
from ._kit import (
    EXIT_BAD_ARGUMENTS,
    EXIT_FAILED,
    BadArguments,
    Failure,
    account_id,
    caller_arn,
    failed,
    parent_session,
    progress_display,
    region_list,
    run_program,
)

__all__ = ["main"]

INSTALL_HINT = "pip install 'aio-assume-role[demo]'"

DEFAULT_ACCOUNTS = 300
MIN_ACCOUNTS = 5
MAX_ACCOUNTS = 5000
DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
CONCURRENCY = 50
CALLERS = 100  # concurrent uses of one session at each point of the refresh timeline

AUDIT_ROLE = "Audit"
ACCESS_ROLE = "OrganizationAccountAccessRole"
OU_NAMES = ("Security", "Infrastructure", "Workloads", "Sandbox")
DUMMY_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example
_CACHE_CHILD_OPTION = "--_cache-child"

#: Why the accounts without the Audit role fail at the work stage here, not at assume.
MOTO_ASSUME_NOTE = (
    "why at the work stage: moto's AssumeRole does not check that the role exists, so",
    f"the accounts without {AUDIT_ROLE!r} pass the assume stage and fail at IAM GetRole;",
    "on AWS they fail at the assume stage (AccessDenied), the work never runs.",
)

Work = Callable[[Any, Account, str | None], Awaitable[Any]]

# The refresh timeline: (minutes, whether STS is down from then on).
TIMELINE = ((0, False), (5, False), (11, True), (12.5, True), (14.5, False), (40, False))


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The demo's argument parser (``parse_args`` also checks the combinations)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Show what aio-assume-role does, in under a minute: assume and chain, "
        "refresh, a file cache shared by two processes, a fan-out over an organization. "
        f"By default against an embedded endpoint (moto: {INSTALL_HINT}), never reading "
        "~/.aws; with --profile and --role-name, against real AWS (read-only).",
        epilog="Exit codes: 2 bad arguments or moto missing, 3 no parent credentials, "
        "4 a step failed.",
    )
    embedded = parser.add_argument_group("embedded endpoint (the default)").add_argument
    embedded("--accounts", type=int, metavar="N", help=f"{MIN_ACCOUNTS}-{MAX_ACCOUNTS}")
    real = parser.add_argument_group("real AWS (read-only)")
    real.add_argument("--profile", help="the parent credentials' profile")
    real.add_argument("--role-name", help="the role to assume in each account")
    targets = real.add_mutually_exclusive_group().add_argument
    targets("--account", action="append", metavar="ID", help="an account id; repeatable")
    targets("--accounts-from-org", action="store_true", help="every ACTIVE member account")
    parser.add_argument("--regions", metavar="R1,R2", help="the fan-out's regions")
    parser.add_argument(  # a child process of step 3
        _CACHE_CHILD_OPTION, nargs=2, metavar=("DIR", "ROLE_ARN"), help=argparse.SUPPRESS
    )
    return parser


def parse_args(
    argv: Sequence[str] | None, prog: str | None = None
) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Parse and check the demo's arguments (SystemExit from argparse, 2 or 0)."""
    parser = build_parser(prog)
    options = parser.parse_args(argv)
    options.real = options.profile is not None or options.role_name is not None
    try:
        _check(options)
    except BadArguments as error:
        parser.error(str(error))
    return parser, options


def _check(options: argparse.Namespace) -> None:
    if options.real:
        if options.profile is None or options.role_name is None:
            raise BadArguments("real AWS needs both --profile and --role-name")
        if not options.account and not options.accounts_from_org:
            raise BadArguments(
                "real AWS needs the accounts: --account ID (repeatable) or --accounts-from-org"
            )
        if options.accounts is not None:
            raise BadArguments(
                "--accounts sizes the embedded organization: leave it out with "
                "--profile (use --account or --accounts-from-org)"
            )
        ids = [account_id(text, f"--account {text!r}") for text in options.account or ()]
        options.account = ids or None
    else:
        if options.account or options.accounts_from_org:
            raise BadArguments(
                "--account and --accounts-from-org are for real AWS: add --profile and --role-name"
            )
        if options.accounts is None:
            options.accounts = DEFAULT_ACCOUNTS
        if not MIN_ACCOUNTS <= options.accounts <= MAX_ACCOUNTS:
            raise BadArguments(f"--accounts must be between {MIN_ACCOUNTS} and {MAX_ACCOUNTS}")
    if options.regions is not None:
        options.regions = region_list("--regions", [options.regions])
    elif not options.real:
        options.regions = list(DEFAULT_REGIONS)


def out(*lines: str) -> None:
    print(*lines, sep="\n", flush=True)


def section(title: str) -> None:
    out("", title)


class AssumeRoleCounter:
    """AssumeRole calls counted: a botocore hook on each watched session."""

    def __init__(self) -> None:
        self.calls = 0

    def watch(self, session: Any) -> None:
        session.register("before-call.sts.AssumeRole", self._count)

    def _count(self, **_: Any) -> None:
        self.calls += 1


def _bar(progress: Any) -> str:
    filled = 30 * progress.done // max(progress.total, 1)
    return (
        f"   [{'#' * filled}{'.' * (30 - filled)}] {progress.done}/{progress.total} units, "
        f"{progress.ok} ok, {progress.failed} failed"
    )


def _client(session: Any, service: str) -> Any:
    """A client; for the plain-http endpoint, without loading the CA bundle (slow)."""
    plain_http = os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://")
    return session.create_client(service, verify=False if plain_http else None)


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 0.01 else f"{value * 1000:.0f} ms"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def no_user_models(directory: str) -> contextlib.AbstractContextManager[Any]:
    """botocore loaders created meanwhile skip ``~/.aws/models`` (read at import)."""
    return mock.patch.object(Loader, "CUSTOMER_DATA_PATH", os.path.join(directory, "models"))


@contextlib.contextmanager
def isolated_run() -> Iterator[str]:
    """Everything the embedded demo changes in the process, restored after: no ``AWS_*``
    variable but an empty config, dummy keys, us-east-1; botocore's own models; werkzeug
    quiet. Yields a temporary directory."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    with contextlib.ExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="aio-assume-role-"))
        files = {
            "AWS_CONFIG_FILE": os.path.join(directory, "aws_config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(directory, "aws_credentials"),
        }
        for path in files.values():
            open(path, "w").close()
        environment = {name: value for name, value in os.environ.items() if name[:4] != "AWS_"}
        environment.update(
            files,
            AWS_ACCESS_KEY_ID=DUMMY_ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=DUMMY_SECRET_KEY,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
        )
        stack.enter_context(mock.patch.dict(os.environ, environment, clear=True))
        stack.enter_context(no_user_models(directory))
        stack.callback(werkzeug.setLevel, level)
        werkzeug.setLevel(logging.ERROR)  # no line per request
        yield directory


async def _fan_out(parent: Any, work: Work, role: str, accounts: Any, **more: Any) -> list[Any]:
    results = fan_out(
        parent, work, role_name=role, accounts=accounts, concurrency=CONCURRENCY, **more
    )
    async with contextlib.aclosing(results):
        return [result async for result in results]


async def step0_setup(parent: Any, count: int, counter: AssumeRoleCounter) -> list[str]:
    """The organization, and the Audit role in most accounts; the accounts with it."""
    section(f"0. Set-up: an organization of {count} accounts, role {AUDIT_ROLE!r} in most")
    started = time.monotonic()
    async with _client(parent, "organizations") as org:
        response = await org.create_organization(FeatureSet="ALL")
        management_id = str(response["Organization"]["MasterAccountId"])
        root = str((await org.list_roots())["Roots"][0]["Id"])
        ous = []
        for name in OU_NAMES:
            created = await org.create_organizational_unit(ParentId=root, Name=name)
            ous.append(str(created["OrganizationalUnit"]["Id"]))
        slots = asyncio.Semaphore(CONCURRENCY)

        async def create(number: int) -> str:
            async with slots:
                name = f"demo-{number:04d}"
                status = await org.create_account(AccountName=name, Email=f"{name}@example.com")
                new_id = str(status["CreateAccountStatus"]["AccountId"])
                destination = ous[number % len(ous)]
                await org.move_account(
                    AccountId=new_id, SourceParentId=root, DestinationParentId=destination
                )
                return new_id

        ids = list(await asyncio.gather(*(create(n) for n in range(1, count + 1))))
    out(
        f"   {count} accounts in {len(ous)} OUs (management account {management_id}), "
        f"Organizations API: {_seconds(time.monotonic() - started)}"
    )
    # Every n-th account stays without the role, so the fan-out has real failures.
    missing = max(2, count // 60)
    step = count // missing
    skip = {ids[i * step + step - 1] for i in range(missing)}
    principal = {"AWS": f"arn:aws:iam::{management_id}:root"}
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    async def create_role(session: Any, account: Account, _: str | None) -> None:
        if account.id not in skip:
            async with _client(session, "iam") as iam:
                await iam.create_role(RoleName=AUDIT_ROLE, AssumeRolePolicyDocument=trust)

    before, started = counter.calls, time.monotonic()
    setup = await _fan_out(parent, create_role, ACCESS_ROLE, ids, RoleSessionName="demo-setup")
    summary = summarize(setup)
    if summary.failed:
        raise Failure(EXIT_FAILED, f"set-up: {'; '.join(_failure_lines(summary))}")
    out(
        f"   with this library: fan_out assumed {ACCESS_ROLE} in each account",
        f"   ({counter.calls - before} AssumeRole calls through one STS client, {CONCURRENCY} "
        "at a time) and created",
        f"   role {AUDIT_ROLE!r} in {count - missing} of them (IAM CreateRole), leaving {missing} "
        f"without it: {_seconds(time.monotonic() - started)}",
    )
    return [account for account in ids if account not in skip]


async def step1_chain(
    parent: Any, hops: list[tuple[str, str]], counter: AssumeRoleCounter
) -> None:
    section("1. Assume a role" + (", and chain a second one from it" if len(hops) > 1 else ""))
    before = counter.calls
    out(f"   parent  {await caller_arn(parent)}")
    session = parent
    times = []
    for number, (account, role_name) in enumerate(hops, 1):
        role_arn = get_role_arn(account, role_name)
        session = assume_role(session, role_arn, RoleSessionName=f"demo-hop{number}")
        counter.watch(session)  # the next hop's AssumeRole is made by this session's client
        started = time.monotonic()
        arn = await caller_arn(session)
        times.append(_ms(time.monotonic() - started))
        out(f"   hop {number}   {arn}")
    calls, again = counter.calls - before, counter.calls
    await caller_arn(session)
    out(
        f"   AssumeRole calls: {calls}, one per hop on first use ({', '.join(times)}); "
        f"used again: {counter.calls - again} more"
    )


class _WarningCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def _refresh_watch(parent: Any, role_arn: str) -> Iterator[Any]:
    """Meanwhile: the role's refresh events, WARNINGs counted, an STS outage switch, one
    attempt per call, the clock moved and jitter pinned. Yields them; restored after."""
    events: list[RefreshEvent] = []
    arrived = asyncio.Event()

    def listen(event: RefreshEvent) -> None:
        if event.role_arn == role_arn:
            events.append(event)
            arrived.set()

    warnings, outage = _WarningCount(), types.SimpleNamespace(down=False)

    def fail_while_down(request: Any = None, **_: Any) -> None:
        if outage.down:
            raise EndpointConnectionError(endpoint_url=getattr(request, "url", "sts"))

    library_logger = logging.getLogger("aio_assume_role")
    config = parent.get_default_client_config()
    one_attempt = AioConfig(retries={"total_max_attempts": 1})
    remove = add_refresh_listener(listen)
    library_logger.addHandler(warnings)
    parent.register("before-send.sts.AssumeRole", fail_while_down, unique_id="demo-outage")
    parent.set_default_client_config(one_attempt if config is None else config.merge(one_attempt))
    try:
        with testing.moved_clock(moto=True) as clock, testing.pinned_jitter(0.0):
            yield events, arrived, warnings, outage, clock
    finally:
        remove()
        library_logger.removeHandler(warnings)
        parent.unregister("before-send.sts.AssumeRole", unique_id="demo-outage")
        parent.set_default_client_config(config)


async def step2_refresh(parent: Any, role_arn: str, counter: AssumeRoleCounter) -> None:
    """One session through fresh, advisory, an STS outage, mandatory and expired."""
    section("2. Refresh and an STS outage: 15-minute credentials, the clock moved")
    out(
        "   windows: advisory in the last 5:00 (one background refresh, nobody waits),",
        f"   mandatory in the last minute (callers wait for one refresh); {CALLERS} callers "
        "each time",
    )
    keys: dict[str, int] = {}
    before, failed_uses = counter.calls, 0
    with _refresh_watch(parent, role_arn) as (events, arrived, warnings, outage, clock):
        session = assume_role(
            parent, role_arn, DurationSeconds=900, RoleSessionName="demo-refresh"
        )
        credentials = await session.get_credentials()

        def at(seconds: float) -> str:
            whole = 10 * round(seconds / 10)
            return f"t+{whole // 60:02d}:{whole % 60:02d}"

        def expires(expiry: datetime.datetime | None, now: datetime.datetime) -> str:
            if expiry is None:
                return "?"
            return at(round(clock.offset.total_seconds() + (expiry - now).total_seconds()))

        def number(access_key: str) -> int:
            return keys.setdefault(access_key, len(keys) + 1)

        async def use() -> tuple[float, str]:
            began = time.monotonic()
            frozen = await credentials.get_frozen_credentials()
            return time.monotonic() - began, frozen.access_key

        expiry: datetime.datetime | None = None
        for minutes, down in TIMELINE:
            clock.advance(minutes * 60 - clock.offset.total_seconds())
            outage.down = down
            now = _clock.now()
            phase, seen = _phase(now, expiry), len(events)
            outcomes = await asyncio.gather(
                *(use() for _ in range(CALLERS)), return_exceptions=True
            )
            uses = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
            failed_uses += len(outcomes) - len(uses)
            slowest = _ms(max((seconds for seconds, _ in uses), default=0.0))
            given = ",".join(f"#{n}" for n in sorted({number(key) for _, key in uses}))
            head = f"   {at(minutes * 60)}  {f'{phase}, STS down' if down else phase:<20}"
            if phase in ("fresh", "advisory"):
                out(f"{head}  served at once (slowest {slowest}), credentials {given}")
            if phase == "fresh" or (await testing.wait_for_refreshes() == 0 and down):
                if phase != "fresh":
                    out("             backing off: no AssumeRole, nobody waits")
                continue
            while len(events) == seen:  # the refresh's outcome (awaited, not slept on)
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 120)
            event = events[seen]
            if not event.ok:
                retry_in = ((event.next_attempt or now) - now).total_seconds()
                last = " (the last minute)" if event.rule == "served-last-try" else ""
                out(
                    f"             in the background: {event.error_code} ({warnings.count} "
                    f"WARNING logged); credentials {given} served on, next attempt "
                    f"{at(minutes * 60 + retry_in)}{last}"
                )
                continue
            expiry = event.expiry_time
            if phase == "advisory":
                fresh = number((await credentials.get_frozen_credentials()).access_key)
                out(
                    f"             in the background ({_ms(event.duration)}): credentials "
                    f"#{fresh} from {event.source}, expire {expires(expiry, now)}"
                )
            else:
                out(
                    f"{head}  callers waited (slowest {slowest}), all got {given}: "
                    f"from {event.source}, expire {expires(expiry, now)}"
                )
    failed = sum(not event.ok for event in events)
    out(
        f"   AssumeRole calls: {counter.calls - before} for {CALLERS * len(TIMELINE)} uses: one "
        f"per refresh ({len(events)}, {failed} failed while STS was down), however many "
        f"callers; failed uses: {failed_uses}"
    )


def _phase(now: datetime.datetime, expiry: datetime.datetime | None) -> str:
    if expiry is None:
        return "first-use"
    advisory, mandatory = refresh_points(
        expiry, expiry - datetime.timedelta(seconds=900), 900, 0.0
    )
    if now < advisory:
        return "fresh"
    if now < mandatory:
        return "advisory"
    return "mandatory" if now < expiry else "expired"


async def step3_file_cache(role_arn: str, directory: str) -> int:
    section("3. A file cache shared by two processes")
    cache_dir = os.path.join(directory, "credential-cache")
    out("   one after the other, each: assume_role(..., cache=AioJSONFileCache(DIR))")
    total = 0
    arns: set[str] = set()
    for number in (1, 2):
        started = time.monotonic()
        child = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "aio_assume_role", "demo", _CACHE_CHILD_OPTION),
            *(cache_dir, role_arn),
            stdout=asyncio.subprocess.PIPE,
        )
        stdout, _ = await child.communicate()
        if child.returncode != 0:
            raise Failure(
                EXIT_FAILED, f"file cache: process {number} exited with {child.returncode}"
            )
        report = json.loads(stdout.decode().strip().splitlines()[-1])
        calls = report["assume_role_calls"]
        total += calls
        out(
            f"   process {number} (pid {child.pid}): credentials from {report['source'] + ',':<6} "
            f"{_plural(calls, 'AssumeRole call')}, "
            f"{_seconds(time.monotonic() - started)} with start-up"
        )
        arns.add(report["arn"])
    out(
        f"   both: {', '.join(sorted(arns))}",
        f"   AssumeRole calls across both processes: {total}",
    )
    return total


def _cache_child(directory: str, role_arn: str) -> int:
    """Step 3's child process: one session with the file cache; a JSON line."""

    async def run() -> dict[str, Any]:
        parent = parent_session(None)
        counter = AssumeRoleCounter()
        counter.watch(parent)
        sources: list[str | None] = []
        remove = add_refresh_listener(lambda event: sources.append(event.source))
        try:
            cache = AioJSONFileCache(directory)
            session = assume_role(parent, role_arn, RoleSessionName="demo-cache", cache=cache)
            arn = await caller_arn(session)
        finally:
            remove()
        source = sources[0] if sources else None
        return {"source": source, "assume_role_calls": counter.calls, "arn": arn}

    with no_user_models(os.path.dirname(directory)):  # the parent's temporary directory
        print(json.dumps(asyncio.run(run())), flush=True)
    return 0


async def step4_fan_out(
    parent: Any,
    accounts: Any,
    role: str,
    regions: list[str] | None,
    work: Work,
    title: str,
    counter: AssumeRoleCounter,
    note: Sequence[str] = (),
) -> FanOutSummary[Any]:
    """``work`` in every account and region; the summary, printed."""
    section(f"4. Fan-out: role {role!r} in {title}")
    bar = progress_display(sys.stdout, "fan-out", _bar)
    before, started = counter.calls, time.monotonic()
    try:
        done = await _fan_out(
            parent,
            work,
            role,
            accounts,
            regions=regions,
            progress=bar,
            RoleSessionName="demo-fan-out",
        )
    finally:
        bar.close()
    summary = summarize(done, wall_seconds=time.monotonic() - started)
    region_names = list(regions) if regions else ["the profile's region"]
    out(
        f"   accounts {len({result.account.id for result in done})} x regions "
        f"{len(region_names)} ({', '.join(region_names)}) = {summary.total} units: "
        f"{len(summary.successes)} ok, {summary.failed} failed",
        f"   AssumeRole calls: {counter.calls - before} (one per account); "
        f"wall time {_seconds(summary.wall_seconds)}, concurrency {CONCURRENCY}",
        f"   failures by stage and error code:{'' if summary.failed else ' none'}",
        *(f"     {text}" for text in _failure_lines(summary)),
        *(f"   {text}" for text in (note if summary.failed else ())),
    )
    return summary


def _failure_lines(summary: FanOutSummary[Any]) -> list[str]:
    lines = []
    for stage, codes in sorted(summary.failures.items()):
        for code, units in sorted(codes.items()):
            accounts = sorted({result.account.id for result in units})
            shown = ", ".join(accounts[:3]) + (", ..." if len(accounts) > 3 else "")
            lines.append(
                f"{stage} {code}: {len(units)} units in {len(accounts)} accounts ({shown})"
            )
    return lines


def _audit_role_reader() -> Work:
    """Embedded step 4's work: IAM GetRole, once per account (IAM is global)."""
    calls: dict[str, asyncio.Task[str]] = {}

    async def get_role(session: Any) -> str:
        async with _client(session, "iam") as iam:
            return str((await iam.get_role(RoleName=AUDIT_ROLE))["Role"]["Arn"])

    async def work(session: Any, account: Account, region: str | None) -> str:
        if account.id not in calls:
            calls[account.id] = asyncio.ensure_future(get_role(session))
        return await calls[account.id]

    return work


async def run_embedded(options: argparse.Namespace, directory: str) -> int:
    """The five steps, embedded; the AssumeRole calls made."""
    parent = parent_session(None)
    counter = AssumeRoleCounter()
    counter.watch(parent)
    first, second = (await step0_setup(parent, options.accounts, counter))[:2]
    await step1_chain(parent, [(first, ACCESS_ROLE), (second, AUDIT_ROLE)], counter)
    audit_arn = get_role_arn(first, AUDIT_ROLE)
    await step2_refresh(parent, audit_arn, counter)
    counter.calls += await step3_file_cache(audit_arn, directory)
    title = "every account of the organization; work: IAM GetRole"
    work, regions = _audit_role_reader(), options.regions
    orgs = from_organization()
    await step4_fan_out(parent, orgs, AUDIT_ROLE, regions, work, title, counter, MOTO_ASSUME_NOTE)
    return counter.calls


async def run_real(options: argparse.Namespace) -> int:
    """Steps 1 and 4 against real AWS, read-only; the AssumeRole calls made."""
    default_region = options.regions[0] if options.regions else None  # for step 1's clients
    parent = parent_session(
        options.profile, default_region=default_region, region_options="--regions"
    )
    counter = AssumeRoleCounter()
    counter.watch(parent)
    if options.account:
        accounts: list[str] | list[Account] = list(options.account)
        where, first = _plural(len(accounts), "account"), options.account[0]
    else:
        accounts = await from_organization().resolve(parent)
        if not accounts:
            raise Failure(EXIT_FAILED, "the organization has no ACTIVE member account")
        where = f"every account of the organization ({len(accounts)})"
        first = accounts[0].id
    await step1_chain(parent, [(first, options.role_name)], counter)
    title, role = f"{where}; work: GetCallerIdentity", options.role_name
    await step4_fan_out(parent, accounts, role, options.regions, caller_arn, title, counter)
    return counter.calls


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the demo; return the exit code (SystemExit from argparse)."""
    name = prog or os.path.basename(sys.argv[0]) or "aio-assume-role demo"
    return run_program(name, lambda: _main(argv, prog))


def _main(argv: Sequence[str] | None, prog: str | None) -> int:
    parser, options = parse_args(argv, prog)
    if options._cache_child:
        return _cache_child(*options._cache_child)
    started = time.monotonic()
    try:
        calls, where = _run(options)
    except Exception as error:  # whatever it is: one line, never a traceback or a secret
        return failed(
            parser.prog, error, prefix="a step failed", parent_prefix="no parent credentials: "
        )
    seconds = _seconds(time.monotonic() - started)
    section(f"Done in {seconds}: {calls} AssumeRole calls in all, {where}.")
    return 0


def _run(options: argparse.Namespace) -> tuple[int, str]:
    if options.real:
        out(
            f"aio-assume-role demo against AWS with profile {options.profile!r} "
            "(read-only: AssumeRole and GetCallerIdentity)"
        )
        return asyncio.run(run_real(options)), "against AWS"
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise Failure(
            EXIT_BAD_ARGUMENTS, f"the embedded AWS endpoint needs moto: {INSTALL_HINT}"
        ) from None
    with isolated_run() as directory:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()  # in a thread, on a free port
        try:
            host, port = server.get_host_and_port()
            endpoint = os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
            out(
                "aio-assume-role demo, against an embedded AWS endpoint (moto's STS, IAM "
                "and Organizations)",
                f"at {endpoint}, in this process: no AWS account used, ~/.aws never read.",
            )
            calls = asyncio.run(run_embedded(options, directory))
        finally:
            server.stop()
    return calls, "to the embedded endpoint, none to AWS"


if __name__ == "__main__":
    raise SystemExit(main(prog="python -m aio_assume_role.programs.demo"))
