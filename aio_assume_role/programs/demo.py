"""``aio-assume-role demo``: the library's whole story in a minute, with no AWS account.

By default the demo starts an embedded AWS endpoint (moto's STS, IAM and
Organizations, ``pip install 'aio-assume-role[demo]'``) on 127.0.0.1, in this
process, and isolates itself first: a temporary AWS config and credentials file,
dummy keys, ``AWS_ENDPOINT_URL`` pointing at the endpoint, region us-east-1, and
botocore's models from botocore only. It never reads ``~/.aws`` and never reaches
AWS. Then:

0. set-up: an organization with a few OUs and ``--accounts`` accounts, and an
   ``Audit`` role created in all but a handful of them, by this library (one
   AssumeRole of OrganizationAccountAccessRole per account, then IAM CreateRole);
1. assume a role and chain a second one from it, with GetCallerIdentity at each hop;
2. a refresh timeline: 15-minute credentials, the library's clock moved through
   fresh, advisory (a background refresh, nobody waits), an STS outage ridden out
   (the credentials held served on, a backoff to the last minute), mandatory (callers
   wait) and expired;
3. ``AioJSONFileCache`` shared by two processes: the second is served from the cache;
4. a fan-out of the ``Audit`` role over every account and region of the
   organization, with a progress bar and a summary (failures by stage and code).

With ``--profile P --role-name R`` and ``--account ID ...`` or ``--accounts-from-org``
it runs against real AWS instead: no embedded endpoint, no set-up, no clock
moved, nothing written; step 1 assumes R in the first account, step 4 runs
GetCallerIdentity in every account.

Exit codes: 0 success, 2 bad arguments or moto missing, 3 no usable parent
credentials (real AWS), 4 a step failed; 130 Ctrl-C, 143 SIGTERM, 141 stdout closed
(one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TextIO

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.loaders import Loader

from .. import testing
from .._core import clock as _clock
from .._core.refresh import RefreshEvent, add_refresh_listener
from .._core.windows import refresh_points
from ..arns import get_role_arn
from ..cache import AioJSONFileCache
from ..errors import ParentCredentialsError
from ..fanout import FanOutProgress, FanOutSummary, fan_out, summarize
from ..session import AssumedRoleSession, assume_role
from ..targets import Account, from_organization
from ._kit import account_id_option, region_option_problem, run_program

__all__ = ["main"]

EXIT_BAD_ARGUMENTS = 2
EXIT_NO_PARENT_CREDENTIALS = 3
EXIT_STEP_FAILED = 4

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


# --- arguments -------------------------------------------------------------------------


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The demo's argument parser (``parse_args`` also checks the combinations)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Show what aio-assume-role does, in under a minute: assume and chain, refresh "
            "(with a moved clock), a file cache shared by two processes, and a fan-out "
            "across every account of an organization. By default against an embedded "
            "AWS endpoint on 127.0.0.1 (moto: " + INSTALL_HINT + "), never reading "
            "~/.aws; with --profile and --role-name, against real AWS (read-only)."
        ),
        epilog="Exit codes: 2 bad arguments or moto missing, 3 no parent credentials, "
        "4 a step failed.",
    )
    embedded = parser.add_argument_group("embedded endpoint (the default)")
    embedded.add_argument(
        "--accounts",
        type=int,
        metavar="N",
        help=f"accounts in the simulated organization ({MIN_ACCOUNTS}-{MAX_ACCOUNTS}, "
        f"default {DEFAULT_ACCOUNTS})",
    )
    real = parser.add_argument_group("real AWS (read-only: AssumeRole and GetCallerIdentity)")
    real.add_argument("--profile", help="the parent credentials' profile in your AWS config")
    real.add_argument("--role-name", help="the role to assume in each account")
    targets = real.add_mutually_exclusive_group()
    targets.add_argument(
        "--account",
        action="append",
        metavar="ID",
        help="an account to assume the role in (up to 12 digits, zero-padded; repeat for more)",
    )
    targets.add_argument(
        "--accounts-from-org",
        action="store_true",
        help="every ACTIVE member account of your AWS Organization",
    )
    parser.add_argument(
        "--regions",
        metavar="R1,R2",
        help="the fan-out's regions, comma-separated (default: "
        + ",".join(DEFAULT_REGIONS)
        + " embedded; the profile's region on real AWS)",
    )
    parser.add_argument(  # a child process of step 3
        _CACHE_CHILD_OPTION, nargs=2, metavar=("DIR", "ROLE_ARN"), help=argparse.SUPPRESS
    )
    return parser


def parse_args(
    argv: Sequence[str] | None, prog: str | None = None
) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Parse and check the demo's arguments; exit 2 (argparse) on a bad combination."""
    parser = build_parser(prog)
    options = parser.parse_args(argv)
    options.real = options.profile is not None or options.role_name is not None
    if options.real:
        if options.profile is None or options.role_name is None:
            parser.error("real AWS needs both --profile and --role-name")
        if not options.account and not options.accounts_from_org:
            parser.error(
                "real AWS needs the accounts: --account ID (repeatable) or --accounts-from-org"
            )
        if options.accounts is not None:
            parser.error(
                "--accounts sizes the embedded organization: leave it out with "
                "--profile (use --account or --accounts-from-org)"
            )
        accounts = []
        for account_id in options.account or ():
            normalized, problem = account_id_option(account_id, f"--account {account_id!r}")
            if normalized is None:
                parser.error(str(problem))
            accounts.append(normalized)
        options.account = accounts or None
    else:
        if options.account or options.accounts_from_org:
            parser.error(
                "--account and --accounts-from-org are for real AWS: add --profile and --role-name"
            )
        if options.accounts is None:
            options.accounts = DEFAULT_ACCOUNTS
        if not MIN_ACCOUNTS <= options.accounts <= MAX_ACCOUNTS:
            parser.error(f"--accounts must be between {MIN_ACCOUNTS} and {MAX_ACCOUNTS}")
    if options.regions is not None:
        # Spaces around a comma go; other whitespace ('us-east-1\n') is refused below.
        regions = [region.strip(" ") for region in options.regions.split(",")]
        regions = [region for region in regions if region]
        if not regions:
            parser.error("--regions must name at least one region, e.g. us-east-1,eu-west-1")
        for region in regions:
            problem = region_option_problem("--regions", region)
            if problem is not None:
                parser.error(problem)
        options.regions = regions
    elif not options.real:
        options.regions = list(DEFAULT_REGIONS)
    return parser, options


# --- output and counting -----------------------------------------------------------------


class Output:
    """Titled sections of plain text on a stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def section(self, title: str) -> None:
        self.line()
        self.line(title)


class AssumeRoleCounter:
    """AssumeRole calls counted at the client: a botocore hook on each watched session."""

    def __init__(self) -> None:
        self.calls = 0

    def watch(self, session: Any) -> None:
        session.register("before-call.sts.AssumeRole", self._count)

    def _count(self, **_: Any) -> None:
        self.calls += 1


class ProgressBar:
    """A fan-out's progress: redrawn in place on a terminal, else its last state once."""

    WIDTH = 30

    def __init__(self, out: Output) -> None:
        self.out = out
        self.tty = out.stream.isatty()
        self.last: FanOutProgress | None = None
        self._drawn = 0.0

    def __call__(self, progress: FanOutProgress) -> None:
        self.last = progress
        now = time.monotonic()
        if self.tty and (now - self._drawn > 0.1 or progress.done == progress.total):
            self._drawn = now
            self.out.stream.write("\r" + self._text(progress))
            self.out.stream.flush()

    def close(self) -> None:
        if self.last is None:
            return
        if self.tty:
            self.out.stream.write("\r" + self._text(self.last) + "\n")
            self.out.stream.flush()
        else:
            self.out.line(self._text(self.last))

    def _text(self, progress: FanOutProgress) -> str:
        filled = self.WIDTH * progress.done // max(progress.total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        return (
            f"   [{bar}] {progress.done}/{progress.total} units, {progress.ok} ok, "
            f"{progress.failed} failed"
        )


def _client(session: AioSession, service: str, region: str | None = None) -> Any:
    """``session.create_client(service)``; with no CA bundle loaded for a plain-http endpoint.

    The embedded endpoint is http://127.0.0.1 (no TLS), and loading the CA bundle
    is most of a client's cost in this demo (one client per account and step).
    """
    plain_http = os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://")
    return session.create_client(service, region_name=region, verify=False if plain_http else None)


async def _caller_arn(session: AioSession) -> str:
    async with _client(session, "sts") as sts:
        return str((await sts.get_caller_identity())["Arn"])


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 0.01 else f"{value * 1000:.0f} ms"


# --- the embedded endpoint ---------------------------------------------------------------


@contextlib.contextmanager
def no_user_models(directory: str) -> Iterator[None]:
    """botocore loaders created meanwhile skip ``~/.aws/models`` (its customer data path).

    botocore reads that path from ``HOME`` once, at import; it is pointed at a
    ``models`` directory in ``directory`` (which does not exist) and restored after.
    """
    saved = Loader.CUSTOMER_DATA_PATH
    Loader.CUSTOMER_DATA_PATH = os.path.join(directory, "models")
    try:
        yield
    finally:
        Loader.CUSTOMER_DATA_PATH = saved


@contextlib.contextmanager
def isolated_environment() -> Iterator[str]:
    """Point every AWS setting of this process (and its children) away from the user's.

    Removes every ``AWS_*`` variable, then sets a temporary (empty) config and
    credentials file, dummy keys, region us-east-1, and no instance metadata; and
    botocore's models are botocore's own (see ``no_user_models``), for the
    embedded endpoint (moto parses requests with botocore's loader) as for the
    clients. Yields the temporary directory; restores everything afterwards.
    """
    saved = dict(os.environ)
    directory = tempfile.mkdtemp(prefix="aio-assume-role-demo-")
    try:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                del os.environ[name]
        config = os.path.join(directory, "aws_config")
        credentials = os.path.join(directory, "aws_credentials")
        for path in (config, credentials):
            with open(path, "w") as file:
                file.write("")
        os.environ.update(
            {
                "AWS_CONFIG_FILE": config,
                "AWS_SHARED_CREDENTIALS_FILE": credentials,
                "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        with no_user_models(directory):
            yield directory
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def embedded_endpoint(server_class: Any) -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port) in a thread; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclasses.dataclass
class Organization:
    """What step 0 made: the accounts, and which of them have the Audit role."""

    management_id: str
    account_ids: list[str]
    with_role: list[str]
    without_role: list[str]
    ou_count: int


async def step0_setup(
    parent: AioSession, count: int, counter: AssumeRoleCounter, out: Output
) -> Organization:
    """Create the organization, then the Audit role in most accounts, with ``fan_out``.

    Raises ``StepFailed`` if a role could not be created; botocore's errors as they come.
    """
    out.section(f"0. Set-up: an organization of {count} accounts, role {AUDIT_ROLE!r} in most")
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
                account_id = str(status["CreateAccountStatus"]["AccountId"])
                await org.move_account(
                    AccountId=account_id,
                    SourceParentId=root,
                    DestinationParentId=ous[number % len(ous)],
                )
                return account_id

        account_ids = list(await asyncio.gather(*(create(n) for n in range(1, count + 1))))
    created_in = time.monotonic() - started
    out.line(
        f"   {count} accounts in {len(ous)} OUs (management account {management_id}), "
        f"Organizations API: {_seconds(created_in)}"
    )

    # Every n-th account stays without the role, so the fan-out has real failures.
    missing = max(2, count // 60)
    step = count // missing
    without_role = [account_ids[i * step + step - 1] for i in range(missing)]
    skip = set(without_role)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{management_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )

    async def create_role(session: AssumedRoleSession, account: Account, _: str | None) -> bool:
        if account.id in skip:
            return False
        async with _client(session, "iam") as iam:
            await iam.create_role(RoleName=AUDIT_ROLE, AssumeRolePolicyDocument=trust)
        return True

    before, started = counter.calls, time.monotonic()
    results = fan_out(
        parent,
        create_role,
        role_name=ACCESS_ROLE,
        accounts=account_ids,
        concurrency=CONCURRENCY,
        RoleSessionName="demo-setup",
    )
    async with contextlib.aclosing(results):
        collected = [result async for result in results]
    summary = summarize(collected, wall_seconds=time.monotonic() - started)
    if summary.failed:
        raise StepFailed(f"set-up: {'; '.join(_failure_lines(summary))}")
    out.line(f"   with this library: fan_out assumed {ACCESS_ROLE} in each account")
    out.line(
        f"   ({counter.calls - before} AssumeRole calls through one STS client, {CONCURRENCY} "
        f"at a time) and created"
    )
    out.line(
        f"   role {AUDIT_ROLE!r} in {count - missing} of them (IAM CreateRole), leaving {missing} "
        f"without it: {_seconds(summary.wall_seconds)}"
    )
    with_role = [a for a in account_ids if a not in skip]
    return Organization(management_id, account_ids, with_role, without_role, len(ous))


# --- the steps ---------------------------------------------------------------------------


class StepFailed(Exception):
    """A step could not show what it shows; its message is the one line printed."""


async def step1_chain(
    parent: AioSession,
    hops: list[tuple[str, str]],
    counter: AssumeRoleCounter,
    out: Output,
) -> None:
    """``hops``: (account id, role name) for each role assumed from the previous session."""
    out.section("1. Assume a role" + (", and chain a second one from it" if len(hops) > 1 else ""))
    before = counter.calls
    arn = await _caller_arn(parent)
    out.line(f"   parent  {arn}")
    session: AioSession = parent
    times = []
    for number, (account_id, role_name) in enumerate(hops, 1):
        child = assume_role(
            session, get_role_arn(account_id, role_name), RoleSessionName=f"demo-hop{number}"
        )
        counter.watch(child)  # the next hop's AssumeRole is made by this session's client
        started = time.monotonic()
        arn = await _caller_arn(child)
        times.append(_ms(time.monotonic() - started))
        out.line(f"   hop {number}   {arn}")
        session = child
    calls = counter.calls - before
    again = counter.calls
    await _caller_arn(session)
    out.line(
        f"   AssumeRole calls: {calls}, one per hop on first use ({', '.join(times)}); "
        f"used again: {counter.calls - again} more"
    )


class _WarningCount(logging.Handler):
    """Counts the WARNING records it is given; prints nothing."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


class _Outage:
    """While ``down``, every AssumeRole the parent signs fails as if STS were unreachable:
    a ``before-send`` hook (botocore's public event) raising botocore's connection error."""

    def __init__(self) -> None:
        self.down = False

    def __call__(self, request: Any = None, **_: Any) -> None:
        if self.down:
            raise EndpointConnectionError(endpoint_url=getattr(request, "url", "sts"))


async def step2_refresh(
    parent: AioSession, role_arn: str, counter: AssumeRoleCounter, out: Output
) -> None:
    """Use one session through fresh, advisory, an STS outage, mandatory and expired, on a
    moved clock (``aio_assume_role.testing``, restored afterwards, as is the parent).

    The timeline comes from the refresh listener's events, each awaited (never slept
    on). Raises ``TimeoutError`` if a refresh never reports (120 s).
    """
    out.section("2. Refresh and an STS outage: 15-minute credentials, the clock moved")
    out.line("   windows: advisory in the last 5:00 (one background refresh, nobody waits),")
    out.line(
        f"   mandatory in the last minute (callers wait for one refresh); {CALLERS} callers "
        "each time"
    )
    events: list[RefreshEvent] = []
    arrived = asyncio.Event()

    def listen(event: RefreshEvent) -> None:
        if event.role_arn == role_arn:
            events.append(event)
            arrived.set()

    remove = add_refresh_listener(listen)
    # The library's WARNING per failed refresh, counted here rather than printed raw by
    # logging's last-resort handler in the middle of the timeline.
    warnings = _WarningCount()
    library_logger = logging.getLogger("aio_assume_role")
    library_logger.addHandler(warnings)
    outage = _Outage()
    parent.register("before-send.sts.AssumeRole", outage, unique_id="demo-outage")
    config = parent.get_default_client_config()
    # One attempt per refresh: the outage shows at once, not after botocore's backoffs.
    one_attempt = AioConfig(retries={"total_max_attempts": 1})
    parent.set_default_client_config(one_attempt if config is None else config.merge(one_attempt))
    keys: dict[str, int] = {}
    before = counter.calls
    failed_uses = 0
    try:
        with testing.moved_clock(moto=True) as clock, testing.pinned_jitter(0.0):
            session = assume_role(
                parent, role_arn, DurationSeconds=900, RoleSessionName="demo-refresh"
            )
            credentials = await session.get_credentials()

            def at(seconds: float) -> str:
                """A time on the timeline, to 10 s (STS issues times of its own)."""
                whole = 10 * round(seconds / 10)
                return f"t+{whole // 60:02d}:{whole % 60:02d}"

            def expires(expiry: datetime.datetime | None, now: datetime.datetime) -> str:
                """When ``expiry`` is on the timeline (``now``: the current point's time)."""
                if expiry is None:
                    return "?"
                return at(round(clock.offset.total_seconds() + (expiry - now).total_seconds()))

            def number(access_key: str) -> int:
                return keys.setdefault(access_key, len(keys) + 1)

            expiry: datetime.datetime | None = None
            # (minutes on the timeline, whether STS is down from then on)
            for minutes, down in (
                (0, False),
                (5, False),
                (11, True),
                (12.5, True),
                (14.5, False),
                (40, False),
            ):
                clock.advance(minutes * 60 - clock.offset.total_seconds())
                outage.down = down
                now = _clock.now()
                phase = _phase(now, expiry)
                seen = len(events)

                async def use() -> tuple[float, str]:
                    began = time.monotonic()
                    frozen = await credentials.get_frozen_credentials()
                    return time.monotonic() - began, frozen.access_key

                outcomes = await asyncio.gather(
                    *(use() for _ in range(CALLERS)), return_exceptions=True
                )
                uses = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
                failed_uses += len(outcomes) - len(uses)
                slowest = _ms(max((seconds for seconds, _ in uses), default=0.0))
                given = ",".join(f"#{n}" for n in sorted({number(key) for _, key in uses}))
                label = f"{phase}, STS down" if down else phase
                when = at(minutes * 60)
                if phase in ("fresh", "advisory"):
                    out.line(
                        f"   {when}  {label:<20}  served at once (slowest {slowest}), "
                        f"credentials {given}"
                    )
                if phase == "fresh" or (await testing.wait_for_refreshes() == 0 and down):
                    if phase != "fresh":
                        out.line("             backing off: no AssumeRole, nobody waits")
                    continue
                while len(events) == seen:  # the refresh's outcome (awaited, not slept on)
                    arrived.clear()
                    await asyncio.wait_for(arrived.wait(), 120)
                event = events[seen]
                if not event.ok:
                    retry_in = ((event.next_attempt or now) - now).total_seconds()
                    last = " (the last minute)" if event.rule == "served-last-try" else ""
                    out.line(
                        f"             in the background: {event.error_code} ({warnings.count} "
                        f"WARNING logged); credentials {given} served on, next attempt "
                        f"{at(minutes * 60 + retry_in)}{last}"
                    )
                    continue
                expiry = event.expiry_time
                if phase == "advisory":
                    fresh = number((await credentials.get_frozen_credentials()).access_key)
                    out.line(
                        f"             in the background ({_ms(event.duration)}): credentials "
                        f"#{fresh} from {event.source}, expire {expires(expiry, now)}"
                    )
                else:
                    out.line(
                        f"   {when}  {label:<20}  callers waited (slowest {slowest}), all "
                        f"got {given}: from {event.source}, expire {expires(expiry, now)}"
                    )
    finally:
        remove()
        library_logger.removeHandler(warnings)
        parent.unregister("before-send.sts.AssumeRole", unique_id="demo-outage")
        parent.set_default_client_config(config)
    failed = sum(not event.ok for event in events)
    out.line(
        f"   AssumeRole calls: {counter.calls - before} for {CALLERS * 6} uses: one per "
        f"refresh ({len(events)}, {failed} failed while STS was down), however many callers; "
        f"failed uses: {failed_uses}"
    )


def _phase(now: datetime.datetime, expiry: datetime.datetime | None) -> str:
    """Where 15-minute credentials expiring at ``expiry`` are at ``now`` (jitter 0)."""
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


async def step3_file_cache(role_arn: str, directory: str, out: Output) -> int:
    """Returns the AssumeRole calls the two processes made."""
    out.section("3. A file cache shared by two processes")
    cache_dir = os.path.join(directory, "credential-cache")
    out.line("   one after the other, each: assume_role(..., cache=AioJSONFileCache(DIR))")
    total = 0
    arns: set[str] = set()
    for number in (1, 2):
        started = time.monotonic()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "aio_assume_role.programs.demo",
            _CACHE_CHILD_OPTION,
            cache_dir,
            role_arn,
            stdout=asyncio.subprocess.PIPE,
        )
        stdout, _ = await child.communicate()
        if child.returncode != 0:
            raise StepFailed(f"file cache: process {number} exited with {child.returncode}")
        report = json.loads(stdout.decode().strip().splitlines()[-1])
        calls = report["assume_role_calls"]
        total += calls
        out.line(
            f"   process {number} (pid {child.pid}): credentials from {report['source'] + ',':<6} "
            f"{calls} AssumeRole call{'' if calls == 1 else 's'}, "
            f"{_seconds(time.monotonic() - started)} with start-up"
        )
        arns.add(report["arn"])
    out.line(f"   both: {', '.join(sorted(arns))}")
    out.line(f"   AssumeRole calls across both processes: {total}")
    return total


def _cache_child(directory: str, role_arn: str) -> int:
    """Step 3's child process: one session with the file cache; a JSON line on stdout."""

    async def run() -> dict[str, Any]:
        parent = AioSession()
        counter = AssumeRoleCounter()
        counter.watch(parent)
        sources: list[str | None] = []
        remove = add_refresh_listener(lambda event: sources.append(event.source))
        try:
            session = assume_role(
                parent, role_arn, RoleSessionName="demo-cache", cache=AioJSONFileCache(directory)
            )
            arn = await _caller_arn(session)
        finally:
            remove()
        return {
            "source": sources[0] if sources else None,
            "assume_role_calls": counter.calls,
            "arn": arn,
        }

    with no_user_models(os.path.dirname(directory)):  # the parent's temporary directory
        print(json.dumps(asyncio.run(run())), flush=True)
    return 0


async def step4_fan_out(
    parent: AioSession,
    accounts: Any,
    role_name: str,
    regions: list[str] | None,
    work: Callable[[AssumedRoleSession, Account, str | None], Awaitable[Any]],
    describe_work: str,
    where: str,
    counter: AssumeRoleCounter,
    out: Output,
    note: Sequence[str] = (),
) -> FanOutSummary[Any]:
    """Run ``work`` in every account and region with ``fan_out``; print the summary.

    ``where`` says which accounts, for the title; ``note``, lines printed after the
    failures, if there are any. Raises what ``fan_out`` raises before any I/O
    (``InvalidParameterError``), or while enumerating an organization.
    """
    out.section(f"4. Fan-out: role {role_name!r} in {where}; work: {describe_work}")
    bar = ProgressBar(out)
    before, started = counter.calls, time.monotonic()
    results = fan_out(
        parent,
        work,
        role_name=role_name,
        accounts=accounts,
        regions=regions,
        concurrency=CONCURRENCY,
        progress=bar,
        RoleSessionName="demo-fan-out",
    )
    try:
        async with contextlib.aclosing(results):
            collected = [result async for result in results]
    finally:
        bar.close()
    summary = summarize(collected, wall_seconds=time.monotonic() - started)
    account_ids = {result.account.id for result in collected}
    region_names = list(regions) if regions else ["the profile's region"]
    out.line(
        f"   accounts {len(account_ids)} x regions {len(region_names)} "
        f"({', '.join(region_names)}) = {summary.total} units: "
        f"{len(summary.successes)} ok, {summary.failed} failed"
    )
    out.line(
        f"   AssumeRole calls: {counter.calls - before} (one per account); "
        f"wall time {_seconds(summary.wall_seconds)}, concurrency {CONCURRENCY}"
    )
    out.line(f"   failures by stage and error code:{'' if summary.failed else ' none'}")
    for text in _failure_lines(summary):
        out.line(f"     {text}")
    if summary.failed:
        for text in note:
            out.line(f"   {text}")
    return summary


def _failure_lines(summary: FanOutSummary[Any]) -> list[str]:
    lines = []
    for stage, codes in sorted(summary.failures.items()):
        for code, failed in sorted(codes.items()):
            accounts = sorted({result.account.id for result in failed})
            shown = ", ".join(accounts[:3]) + (", ..." if len(accounts) > 3 else "")
            lines.append(
                f"{stage} {code}: {len(failed)} units in {len(accounts)} accounts ({shown})"
            )
    return lines


class GlobalServiceClients:
    """One client per account for a global service (IAM), shared by the account's regions.

    fan_out runs an account's regions together and passes them one session, so the
    client is opened by the first of them and closed after the last
    (``units_per_account`` of them): at most ``concurrency`` clients are open.
    """

    def __init__(self, service: str, units_per_account: int) -> None:
        self.service = service
        self.units_per_account = units_per_account
        self._open: dict[str, tuple[asyncio.Task[tuple[Any, Any]], list[int]]] = {}

    @contextlib.asynccontextmanager
    async def client(self, session: AioSession, account_id: str) -> AsyncIterator[Any]:
        entry = self._open.get(account_id)
        if entry is None:
            entry = self._open[account_id] = (asyncio.ensure_future(self._enter(session)), [0])
        opening, done = entry
        try:
            yield (await asyncio.shield(opening))[1]
        finally:
            done[0] += 1
            if done[0] == self.units_per_account:
                del self._open[account_id]
                await self._exit(opening)

    async def aclose(self) -> None:
        """Close what is still open (after a run that stopped early)."""
        entries, self._open = list(self._open.values()), {}
        for opening, _ in entries:
            await self._exit(opening)

    async def _enter(self, session: AioSession) -> tuple[Any, Any]:
        context = _client(session, self.service)
        return context, await context.__aenter__()

    @staticmethod
    async def _exit(opening: asyncio.Task[tuple[Any, Any]]) -> None:
        if not opening.done():
            opening.cancel()
        with contextlib.suppress(BaseException):
            context, _ = await opening
            await context.__aexit__(None, None, None)


def _audit_work(
    clients: GlobalServiceClients,
) -> Callable[[AssumedRoleSession, Account, str | None], Awaitable[str]]:
    """Embedded step 4's work: the Audit role reads its own IAM record (GetRole)."""

    async def work(session: AssumedRoleSession, account: Account, region: str | None) -> str:
        async with clients.client(session, account.id) as iam:
            role = await iam.get_role(RoleName=AUDIT_ROLE)
        return str(role["Role"]["Arn"])

    return work


async def _whoami_work(session: AssumedRoleSession, account: Account, region: str | None) -> str:
    """Real AWS step 4's work: GetCallerIdentity (read-only)."""
    async with _client(session, "sts", region) as sts:
        return str((await sts.get_caller_identity())["Arn"])


# --- the two modes -------------------------------------------------------------------------


async def run_embedded(
    options: argparse.Namespace, endpoint: str, directory: str, moto_sts_models: Any, out: Output
) -> int:
    """The five steps against the embedded endpoint; returns the AssumeRole calls made."""
    parent = AioSession()
    counter = AssumeRoleCounter()
    counter.watch(parent)
    org = await step0_setup(parent, options.accounts, counter, out)
    first, second = org.with_role[0], org.with_role[1]
    await step1_chain(parent, [(first, ACCESS_ROLE), (second, AUDIT_ROLE)], counter, out)
    audit_arn = get_role_arn(first, AUDIT_ROLE)
    await step2_refresh(parent, audit_arn, counter, out)
    counter.calls += await step3_file_cache(audit_arn, directory, out)
    iam_clients = GlobalServiceClients("iam", len(options.regions))
    try:
        await step4_fan_out(
            parent,
            from_organization(),
            AUDIT_ROLE,
            options.regions,
            _audit_work(iam_clients),
            "IAM GetRole",
            "every account of the organization",
            counter,
            out,
            MOTO_ASSUME_NOTE,
        )
    finally:
        await iam_clients.aclose()
    return counter.calls


async def run_real(options: argparse.Namespace, out: Output) -> int:
    """Steps 1 and 4 against real AWS, read-only; returns the AssumeRole calls made."""
    parent = AioSession(profile=options.profile)
    if options.regions and not parent.get_config_variable("region"):
        parent.set_config_variable("region", options.regions[0])  # for step 1's clients
    counter = AssumeRoleCounter()
    counter.watch(parent)
    if options.account:
        accounts: list[str] | list[Account] = list(options.account)
        where = f"{len(accounts)} account{'' if len(accounts) == 1 else 's'}"
        first = options.account[0]
    else:
        accounts = await from_organization().resolve(parent)
        if not accounts:
            raise StepFailed("the organization has no ACTIVE member account")
        where = f"every account of the organization ({len(accounts)})"
        first = accounts[0].id
    await step1_chain(parent, [(first, options.role_name)], counter, out)
    await step4_fan_out(
        parent,
        accounts,
        options.role_name,
        options.regions,
        _whoami_work,
        "GetCallerIdentity",
        where,
        counter,
        out,
    )
    return counter.calls


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the demo; return the exit code (see the module's docstring).

    Every failure but bad arguments is a one-line message on stderr and an exit code;
    Ctrl-C exits 130, SIGTERM 143, a closed stdout 141 (``_programs.run_program``).

    Raises:
        SystemExit: from argparse, with code 2, on bad arguments (0 after ``--help``).
    """
    name = prog or os.path.basename(sys.argv[0]) or "aio-assume-role demo"
    return run_program(name, lambda: _main(argv, prog))


def _main(argv: Sequence[str] | None, prog: str | None) -> int:
    parser, options = parse_args(argv, prog)
    if options._cache_child:
        return _cache_child(*options._cache_child)
    out = Output(sys.stdout)
    started = time.monotonic()
    try:
        if options.real:
            out.line(
                f"aio-assume-role demo against AWS with profile {options.profile!r} "
                "(read-only: AssumeRole and GetCallerIdentity)"
            )
            calls = asyncio.run(run_real(options, out))
            where = "against AWS"
        else:
            try:
                import moto.sts.models as moto_sts_models
                from moto.server import ThreadedMotoServer
            except ImportError:
                print(
                    f"{parser.prog}: the embedded AWS endpoint needs moto: {INSTALL_HINT}",
                    file=sys.stderr,
                )
                return EXIT_BAD_ARGUMENTS
            with (
                isolated_environment() as directory,
                embedded_endpoint(ThreadedMotoServer) as endpoint,
            ):
                os.environ["AWS_ENDPOINT_URL"] = endpoint
                out.line(
                    "aio-assume-role demo, against an embedded AWS endpoint (moto's STS, IAM "
                    "and Organizations)"
                )
                out.line(
                    f"at {endpoint}, in this process: no AWS account used, ~/.aws never read."
                )
                calls = asyncio.run(
                    run_embedded(options, endpoint, directory, moto_sts_models, out)
                )
                where = "to the embedded endpoint, none to AWS"
    except BrokenPipeError:  # stdout closed: run_program says so, in one line
        raise
    except StepFailed as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return EXIT_STEP_FAILED
    except (
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        ParentCredentialsError,
    ) as error:
        print(f"{parser.prog}: no parent credentials: {error}", file=sys.stderr)
        return EXIT_NO_PARENT_CREDENTIALS
    except NoRegionError:
        print(
            f"{parser.prog}: no region: set one in the profile or AWS_DEFAULT_REGION, "
            "or pass --regions",
            file=sys.stderr,
        )
        return EXIT_BAD_ARGUMENTS
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        print(f"{parser.prog}: {error.operation_name} failed: {code}", file=sys.stderr)
        return EXIT_STEP_FAILED
    except Exception as error:  # whatever else: one line, never a traceback
        print(f"{parser.prog}: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_STEP_FAILED
    out.section(
        f"Done in {_seconds(time.monotonic() - started)}: {calls} AssumeRole calls in all, "
        f"{where}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(prog="python -m aio_assume_role.programs.demo"))
