"""Run work in many accounts and regions at once: one role, bounded concurrency, streamed.

``fan_out(parent, work, role_name=..., accounts=..., regions=[...])`` assumes
``role_name`` once per account and runs ``await work(session, account, region)`` for
each (account, region), yielding a ``FanOutResult`` per unit as it completes.
``fan_out_summary`` (or ``summarize``) collects them into counts by outcome.
``assume_role_in_accounts`` is the same machinery without work: it yields the
sessions themselves. Units are taken account by account, so an account's session
lives only while its regions run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import inspect
import logging
import math
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from aiobotocore.session import AioSession
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from ._core import pacing
from ._core.child_session import share_ssl_contexts, ssl_sharing_config
from ._core.pacing import DEFAULT_RATE, StsRateLimiter, limiter_for
from ._core.progress import PROGRESS_LOG_INTERVAL, ProgressDisplay  # the one display
from ._core.refresh import error_code
from ._core.request import region_name_problem
from .arns import get_role_arn
from .errors import AssumeRoleError, InvalidParameterError
from .session import AssumedRoleSession, prepare_assume_role
from .shared_clients import SharedClients
from .sts_clients import SharedStsClients, active_shared_clients, pool_config
from .targets import (
    Account,
    OrganizationAccounts,
    Targets,
    accounts_or_ids,
    in_shard,
    resolve_targets,
    shard_accounts,
)

# Plain sorted() order, as tests/test_exported_members.py checks (not ruff's isort order).
__all__ = [  # noqa: RUF022
    "AccountResult",
    "DEFAULT_RATE",
    "FanOutProgress",
    "FanOutResult",
    "FanOutSummary",
    "PROGRESS_LOG_INTERVAL",
    "ProgressCallback",
    "Stage",
    "StsRateLimiter",
    "assume_role_in_accounts",
    "fan_out",
    "fan_out_summary",
    "summarize",
]

logger = logging.getLogger("aio_assume_role")

T = TypeVar("T")

#: Where a unit failed: assuming the role in its account, or the work itself.
Stage = Literal["assume", "work"]

#: ``assume_role_in_accounts``'s callback: ``progress(done, total)`` per result.
ProgressCallback = Callable[[int, int], object]

# Any well-formed account id: assume_role()'s checks run on it once, before any I/O, so
# arguments that are wrong for every account raise at once instead of N times.
_PROBE_ACCOUNT_ID = "000000000000"

# What to_json() keeps of a message from outside this library, at most.
_MAX_MESSAGE = 500


@dataclasses.dataclass(frozen=True, slots=True)
class FanOutResult(Generic[T]):
    """One unit's outcome: the value ``work`` returned in (account, region), or the error.

    - ``account``: the ``Account`` (``id``; ``name``, ``email``, ``status`` when
      known from Organizations).
    - ``region``: the region the unit ran for (None when ``fan_out`` had no
      ``regions``: the work used the session's region).
    - ``stage``: None on success; ``"assume"`` if assuming the role in the account
      failed (every region of that account then has its own result, with the same
      error), ``"work"`` if ``work`` raised.
    - ``value``: what ``work`` returned (None on failure).
    - ``error``: the exception (None on success).
    """

    account: Account
    region: str | None
    stage: Stage | None = None
    value: T | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the work returned (``stage`` and ``error`` are None)."""
        return self.stage is None

    @property
    def error_code(self) -> str | None:
        """botocore ``ClientError``'s ``Error.Code``, else the error's class name; None if ok."""
        return None if self.error is None else error_code(self.error)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict for logs and JSON lines; never holds a secret.

        Keys: ``account_id``, ``account_name``, ``account_email``, ``account_status``,
        ``region``, ``ok``, ``stage``, ``error_code``, ``error`` (a message, see
        below, or None), and ``value``: the work's value if it is plain JSON data,
        else None with ``value_type`` naming its type. Plain JSON data is built of
        exactly ``dict`` (``str`` or ``int`` keys), ``list``, ``tuple``, ``str``,
        ``int``, finite ``float``, ``bool`` and None, plus ``datetime.date`` and
        ``datetime.datetime`` (written as ISO 8601 strings), at most 100 levels
        deep. Anything else is dropped, never encoded nor replaced by its ``repr``:
        a subclass of those too, so botocore's ``ReadOnlyCredentials`` (a named
        tuple: access key, secret key, token) gives None. Within plain data, the
        values of credential fields (``SecretAccessKey``, ``SessionToken``,
        ``secret_key``, ``aws_secret_access_key``, ``aws_session_token``... in any
        case) are replaced by ``"<redacted>"``: an AssumeRole response the work
        returns keeps its ``AccessKeyId`` and ``Expiration`` only.

        The message of a botocore ``ClientError`` is AWS's ``Error.Message``; of
        this library's errors and botocore's, their own message (none contains a
        secret), except botocore's ``ParamValidationError``, whose report quotes
        parameter values: only its class name. Other exceptions come from the
        work coroutine: their ``str()``, cut to 500 characters.
        """
        account = self.account
        result: dict[str, Any] = {
            "account_id": account.id,
            "account_name": account.name,
            "account_email": account.email,
            "account_status": account.status,
            "region": self.region,
            "ok": self.ok,
            "stage": self.stage,
            "error_code": self.error_code,
            "error": None if self.error is None else _safe_message(self.error),
            "value": None,
        }
        if self.value is not None:
            try:
                result["value"] = _plain_json(self.value, 0)
            except _NotPlain:
                result["value_type"] = type(self.value).__name__
        return result


def _safe_message(error: BaseException) -> str:
    """A message for ``error`` that holds no secret (see ``FanOutResult.to_json``)."""
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message")
        return str(message) if message else error_code(error)
    if isinstance(error, AssumeRoleError):
        return str(error)
    if isinstance(error, ParamValidationError):  # botocore's report quotes the values
        return type(error).__name__
    if isinstance(error, BotoCoreError):
        return str(error)
    text = str(error)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


class _NotPlain(Exception):
    """A value ``to_json`` does not write (see ``FanOutResult.to_json``)."""


# Field names whose values are credentials (compared in lower case).
_CREDENTIAL_FIELDS = frozenset(
    {
        "secretaccesskey",
        "sessiontoken",
        "secret_key",
        "secret_access_key",
        "session_token",
        "aws_secret_access_key",
        "aws_session_token",
    }
)
_REDACTED = "<redacted>"
_MAX_DEPTH = 100


def _plain_json(value: object, depth: int) -> object:
    """``value`` as JSON data (credential fields redacted); raises ``_NotPlain`` otherwise."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise _NotPlain  # NaN and infinities are not JSON
        return value
    if kind is datetime.datetime or kind is datetime.date:
        return value.isoformat()  # type: ignore[attr-defined]
    if depth >= _MAX_DEPTH:  # also what a reference cycle reaches
        raise _NotPlain
    if kind is list or kind is tuple:
        return [_plain_json(item, depth + 1) for item in value]  # type: ignore[attr-defined]
    if kind is dict:
        plain: dict[str, object] = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str and type(key) is not int:
                raise _NotPlain
            name = str(key)
            if name.lower() in _CREDENTIAL_FIELDS:
                plain[name] = _REDACTED
            else:
                plain[name] = _plain_json(item, depth + 1)
        return plain
    raise _NotPlain


@dataclasses.dataclass(frozen=True, slots=True)
class FanOutProgress:
    """Counts so far: ``done`` of ``total`` units, ``ok``, and failures by stage."""

    done: int
    total: int
    ok: int
    failed_assume: int
    failed_work: int

    @property
    def failed(self) -> int:
        """Units that failed, at either stage."""
        return self.failed_assume + self.failed_work

    def __str__(self) -> str:
        return (
            f"fan_out: {self.done}/{self.total} done, {self.ok} ok, {self.failed} failed "
            f"(assume {self.failed_assume}, work {self.failed_work})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class FanOutSummary(Generic[T]):
    """Every result of a run, counted.

    ``successes``: the ok results. ``failures``: the failed ones by stage
    (``"assume"``, ``"work"``) then error code (see ``FanOutResult.error_code``),
    each list in completion order. ``wall_seconds``: how long the run took (0.0
    when built by ``summarize`` without it).
    """

    successes: list[FanOutResult[T]]
    failures: dict[Stage, dict[str, list[FanOutResult[T]]]]
    wall_seconds: float = 0.0

    @property
    def total(self) -> int:
        """Every unit's result: successes and failures."""
        return len(self.successes) + self.failed

    @property
    def failed(self) -> int:
        """How many units failed."""
        return sum(len(results) for codes in self.failures.values() for results in codes.values())

    @property
    def failure_counts(self) -> dict[Stage, dict[str, int]]:
        """How many units failed, by stage then error code."""
        return {
            stage: {code: len(results) for code, results in codes.items()}
            for stage, codes in self.failures.items()
        }

    def to_json(self) -> dict[str, Any]:
        """The counts: ``total``, ``ok``, ``failed``, ``failures`` (``failure_counts``),
        and ``wall_seconds``."""
        return {
            "total": self.total,
            "ok": len(self.successes),
            "failed": self.failed,
            "failures": self.failure_counts,
            "wall_seconds": self.wall_seconds,
        }


def summarize(
    results: Iterable[FanOutResult[T]], *, wall_seconds: float = 0.0
) -> FanOutSummary[T]:
    """Count ``results`` (from ``fan_out``) into a ``FanOutSummary``. Raises nothing."""
    successes: list[FanOutResult[T]] = []
    failures: dict[Stage, dict[str, list[FanOutResult[T]]]] = {}
    for result in results:
        if result.stage is None:
            successes.append(result)
        else:
            code = result.error_code or ""
            failures.setdefault(result.stage, {}).setdefault(code, []).append(result)
    return FanOutSummary(successes, failures, wall_seconds)


def fan_out(
    parent: AioSession,
    work: Callable[[AssumedRoleSession, Account, str | None], Awaitable[T]],
    *,
    role_name: str,
    accounts: Targets,
    regions: Iterable[str] | None = None,
    concurrency: int = 50,
    shard: tuple[int, int] | None = None,
    progress: Callable[[FanOutProgress], object] | bool | None = None,
    path: str = "",
    partition: str = "aws",
    rate: float | StsRateLimiter | None = DEFAULT_RATE,
    share_clients: bool = False,
    **assume_role_kwargs: Any,
) -> AsyncGenerator[FanOutResult[T], None]:
    """Run ``await work(session, account, region)`` in every account and region, streamed.

    Use as ``async for result in fan_out(...)``; results come in completion order,
    one ``FanOutResult`` per (account, region): ``len(accounts) * len(regions)`` of
    them (``regions=None``: one per account, with ``region=None``, the work using
    the session's region). ``session`` is the account's ``AssumedRoleSession``
    (credentials fetched), shared by that account's regions: create clients with
    ``session.create_client(service, region_name=region)``.

    - ``accounts``: account ids (12-digit strs), ``Account`` objects, and/or
      ``from_organization(...)`` specs, which are enumerated through ``parent``
      when iteration starts (see ``aio_assume_role.targets.resolve_targets``).
    - ``shard=(index, count)``: run only that shard of the resolved accounts
      (``targets.shard_accounts``; ``targets.parse_shard`` reads one from a string or
      the environment).
    - The role is assumed once per account, with ``role_name``, ``path``,
      ``partition`` and ``assume_role_kwargs`` (``assume_role``'s: ``RoleSessionName``,
      ``DurationSeconds``, ``ExternalId``, ...). If that fails, each region of the
      account gets a result with ``stage="assume"`` and that error, and no work runs
      there. An exception from ``work`` is that unit's result, ``stage="work"``. One
      unit's failure never stops the others.
    - At most ``concurrency`` units are in flight at once (AssumeRole calls and work
      together); every AssumeRole call goes through one shared STS client.
    - ``rate``: the most AssumeRole requests a second per STS endpoint (the parent's: calls
      are not spread over regions; default ``DEFAULT_RATE``, 200), slowed by throttling
      answers and raised again by successes (AIMD); a throttled call is retried for 20
      seconds beyond botocore's attempts before it is the account's failure. An
      ``StsRateLimiter`` shares one pace between runs (or sets its ``deadline``); None:
      unpaced. Calls the work makes through the shared STS clients are paced too.
    - ``share_clients``: True makes ``session.create_client(...)`` in the work hand out
      views of one client per (service, region, endpoint, config) for the whole run
      (``shared_clients.SharedClients``), each call signed with the unit's own
      credentials: no client to build per unit. The work sees a view, not an instance
      of the client's class, and event handlers registered on it apply to every unit;
      services whose clients keep state per account get the unit's own client (see
      ``aio_assume_role.shared_clients``).
    - ``progress``: a callable, called with a ``FanOutProgress`` per result; or True:
      a tqdm bar on stderr when it is a terminal and ``aio-assume-role[progress]`` is
      installed, else a line on stderr at most every ``PROGRESS_LOG_INTERVAL`` seconds
      and one at the end.

    Raises ``InvalidParameterError`` here, before any I/O, for arguments wrong for
    every account: ``role_name``, ``path``, ``partition``, ``assume_role_kwargs``
    (as ``assume_role`` would), ``accounts`` (a single value, or an id that is not
    an account id: see ``targets.Account``), ``regions`` (not a list of region
    names), ``concurrency`` (not an int >= 1), ``rate`` (not a positive number, an
    ``StsRateLimiter`` or None), ``shard``, ``progress``, ``work`` (not callable),
    ``share_clients`` (not a bool).
    When iteration starts, enumerating an organization raises what
    ``targets.resolve_targets`` raises (botocore's ``ClientError``). An exception
    that is not an ``Exception`` (``KeyboardInterrupt``) stops the run and is
    re-raised. Closing the iterator early, or cancelling its consumer, cancels
    the units in flight and closes the STS client it opened. Runs on asyncio.
    """
    problems: list[tuple[str, str]] = []
    if not callable(work):
        problems.append(("work", "must be an async function work(session, account, region)"))
    elif not _is_async_callable(work):
        problems.append(
            (
                "work",
                f"is a plain (sync) {type(work).__name__}: pass an async function, "
                "'async def work(session, account, region): ...' (wrap a function that "
                "returns an awaitable in one)",
            )
        )
    _check_role_name(role_name, problems)
    region_list = _check_regions(regions, problems)
    _check_concurrency(concurrency, problems)
    limiter, rate_problem = limiter_for(rate)
    problems.extend([rate_problem] if rate_problem else [])
    if shard is not None:
        if (
            not isinstance(shard, tuple)
            or len(shard) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
        ):
            problems.append(
                ("shard", "must be a tuple (index, count) of ints, or None; see parse_shard()")
            )
        else:
            try:
                shard_accounts([], *shard)
            except InvalidParameterError as error:
                problems.extend(("shard", f"{name} {reason}") for name, reason in error.problems)
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        problems.append(("progress", "must be a callable progress(FanOutProgress), True, or None"))
    if not isinstance(share_clients, bool):
        problems.append(("share_clients", "must be True or False"))
    resolved, targets = _early_targets(accounts, problems)
    if problems:
        raise InvalidParameterError(problems, function="fan_out")
    return _fan_out(
        parent,
        work,
        targets,
        _Assumer(parent, role_name, path, partition, assume_role_kwargs, checked_ids=True),
        resolved,
        regions=region_list,
        concurrency=concurrency,
        shard=shard,
        progress=progress,
        limiter=limiter,
        share_clients=share_clients,
    )


async def _fan_out(
    parent: AioSession,
    work: Callable[[AssumedRoleSession, Account, str | None], Awaitable[T]],
    targets: list[Account] | Targets,
    assumer: _Assumer,
    resolved: bool,
    *,
    regions: list[str | None],
    concurrency: int,
    shard: tuple[int, int] | None,
    progress: Callable[[FanOutProgress], object] | bool | None,
    limiter: StsRateLimiter | None,
    share_clients: bool = False,
) -> AsyncGenerator[FanOutResult[T], None]:
    # Checked ids stay str until their result is made (see targets.accounts_or_ids).
    accounts = targets if resolved else await resolve_targets(parent, targets)
    assert isinstance(accounts, list)
    if shard is not None:
        accounts = in_shard(accounts, *shard)
    total = len(accounts) * len(regions)
    reporter = _reporter(progress)
    counts = {"ok": 0, "assume": 0, "work": 0}
    try:
        async with contextlib.aclosing(
            _run(parent, accounts, regions, assumer, work, concurrency, limiter, share_clients)
        ) as outcomes:
            async for outcome in outcomes:
                account = outcome.account
                result: FanOutResult[T] = FanOutResult(
                    Account(account) if isinstance(account, str) else account,
                    outcome.region,
                    outcome.stage,
                    outcome.value,
                    outcome.error,
                )
                counts[outcome.stage or "ok"] += 1
                if reporter is not None:
                    reporter(FanOutProgress(sum(counts.values()), total, *counts.values()))
                yield result
    finally:
        if isinstance(reporter, ProgressDisplay):
            reporter.close()


async def fan_out_summary(
    parent: AioSession,
    work: Callable[[AssumedRoleSession, Account, str | None], Awaitable[T]],
    *,
    role_name: str,
    accounts: Targets,
    regions: Iterable[str] | None = None,
    concurrency: int = 50,
    shard: tuple[int, int] | None = None,
    progress: Callable[[FanOutProgress], object] | bool | None = None,
    path: str = "",
    partition: str = "aws",
    rate: float | StsRateLimiter | None = DEFAULT_RATE,
    share_clients: bool = False,
    **assume_role_kwargs: Any,
) -> FanOutSummary[T]:
    """Run ``fan_out`` with these arguments to the end and return its ``FanOutSummary``.

    For scripts that do not stream: every result is kept. Raises what ``fan_out``
    raises (``InvalidParameterError`` before any I/O).
    """
    started = time.monotonic()
    results = fan_out(
        parent,
        work,
        role_name=role_name,
        accounts=accounts,
        regions=regions,
        concurrency=concurrency,
        shard=shard,
        progress=progress,
        path=path,
        partition=partition,
        rate=rate,
        share_clients=share_clients,
        **assume_role_kwargs,
    )
    async with contextlib.aclosing(results):
        collected = [result async for result in results]
    return summarize(collected, wall_seconds=time.monotonic() - started)


class AccountResult(NamedTuple):
    """One account's outcome: a session with credentials fetched, or the error."""

    account_id: str
    session: AssumedRoleSession | None
    error: Exception | None

    @property
    def ok(self) -> bool:
        """Whether the role was assumed (``session`` is set, ``error`` is None)."""
        return self.error is None


def assume_role_in_accounts(
    parent: AioSession,
    account_ids: Iterable[str],
    role_name: str,
    *,
    concurrency: int = 50,
    path: str = "",
    partition: str = "aws",
    progress: ProgressCallback | None = None,
    rate: float | StsRateLimiter | None = DEFAULT_RATE,
    **assume_role_kwargs: Any,
) -> AsyncGenerator[AccountResult, None]:
    """Assume ``role_name`` in each account, yielding results as they complete.

    At most ``concurrency`` AssumeRole calls run at once, all through one shared
    STS client (see ``SharedStsClients``; an open one for ``parent`` is used if
    there is one). Each ``AccountResult`` holds a session whose credentials are
    already fetched, or the exception that account raised: one account's failure
    never stops the others. Arguments wrong for every account (``role_name``,
    ``assume_role_kwargs`` such as ``DurationSeconds``) raise before any call.
    ``progress(done, total)`` is called as each result becomes ready. ``rate`` paces
    the AssumeRole calls as in ``fan_out`` (a bad one raises ``InvalidParameterError``
    naming it). An account id is a str of up to 12 digits or an int, zero-padded to 12
    digits (as aws-assume-role-lib does); anything else (more digits, a non-digit) is
    that account's ``InvalidParameterError``, naming ``account_id``.

    The sessions keep refreshing after the iteration ends (through a client per
    call, or through an open ``SharedStsClients`` the caller holds). To stop
    early and release everything at once, iterate inside
    ``contextlib.aclosing(...)``. To run work in each account, see ``fan_out``.
    Runs on asyncio.
    """
    problems: list[tuple[str, str]] = []
    if isinstance(account_ids, (str, bytes)) or not isinstance(account_ids, Iterable):
        problems.append(("account_ids", "must be an iterable of account ids, not a single value"))
    _check_concurrency(concurrency, problems)
    _check_role_name(role_name, problems)
    if progress is not None and not callable(progress):
        problems.append(("progress", "must be a callable progress(done, total) or None"))
    limiter, rate_problem = limiter_for(rate)
    problems.extend([rate_problem] if rate_problem else [])
    if problems:
        raise InvalidParameterError(problems, function="assume_role_in_accounts")
    return _assume_in_accounts(
        parent,
        list(account_ids),
        _Assumer(parent, role_name, path, partition, assume_role_kwargs, checked_ids=False),
        concurrency=concurrency,
        progress=progress,
        limiter=limiter,
    )


async def _assume_in_accounts(
    parent: AioSession,
    account_ids: list[str],
    assumer: _Assumer,
    *,
    concurrency: int,
    progress: ProgressCallback | None,
    limiter: StsRateLimiter | None,
) -> AsyncGenerator[AccountResult, None]:
    total = len(account_ids)
    async with contextlib.aclosing(
        _run(parent, account_ids, [None], assumer, None, concurrency, limiter)
    ) as outcomes:
        done = 0
        async for outcome in outcomes:
            done += 1
            if progress is not None:
                progress(done, total)
            yield AccountResult(outcome.account, outcome.value, outcome.error)


class _Outcome(NamedTuple):
    account: Any  # an Account, or assume_role_in_accounts's account id (maybe invalid)
    region: str | None
    stage: Stage | None
    value: Any
    error: Exception | None


class _Assumer:
    """Builds and prefetches an account's session: the role, path, partition, parameters."""

    __slots__ = (
        "_arn_prefix",
        "_arn_suffix",
        "checked_ids",
        "new_session",
        "partition",
        "path",
        "role_name",
    )

    def __init__(
        self,
        parent: AioSession,
        role_name: str,
        path: str,
        partition: str,
        assume_role_kwargs: dict[str, Any],
        *,
        checked_ids: bool,
    ) -> None:
        """Raises what ``assume_role()`` would for every account, without I/O: its checks
        on a well-formed id (only the id differs, and ``get_role_arn()`` checks it)."""
        self.role_name, self.path, self.partition = role_name, path, partition
        probe = get_role_arn(_PROBE_ACCOUNT_ID, role_name, path, partition)
        kwargs = assume_role_kwargs
        options = {name: kwargs[name] for name in _ASSUME_ROLE_OPTIONS if name in kwargs}
        parameters = {name: value for name, value in kwargs.items() if name not in options}
        self.new_session = prepare_assume_role(parent, probe, parameters, **options)
        self.checked_ids = checked_ids  # fan_out's: ids checked before the run
        # The role's ARN around the account id, for ids checked already.
        self._arn_prefix = f"arn:{partition}:iam::"
        assert probe.startswith(self._arn_prefix + _PROBE_ACCOUNT_ID)
        self._arn_suffix = probe[len(self._arn_prefix) + len(_PROBE_ACCOUNT_ID) :]

    async def __call__(self, account: object) -> AssumedRoleSession:
        """``account``: an ``Account``, an id checked already (``checked_ids``) or, from
        ``assume_role_in_accounts``, any value (checked here)."""
        if isinstance(account, Account):
            role_arn = self._arn_prefix + account.id + self._arn_suffix
        elif self.checked_ids and isinstance(account, str):
            role_arn = self._arn_prefix + account + self._arn_suffix
        else:
            role_arn = get_role_arn(account, self.role_name, self.path, self.partition)  # type: ignore[arg-type]
        return await self.new_session.prefetched(role_arn)


class _AccountState:
    """One account's AssumeRole: done once, by its first unit; the others wait for it."""

    __slots__ = ("assumed", "error", "finished", "remaining", "session", "started")

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining  # units of this account not finished yet
        self.started = self.finished = False
        # Made by the first unit that has to wait (none, with one region per account).
        self.assumed: asyncio.Event | None = None
        self.session: AssumedRoleSession | None = None
        self.error: Exception | None = None

    def finish(self) -> None:
        self.finished = True
        if self.assumed is not None:
            self.assumed.set()

    async def wait(self) -> None:
        if not self.finished:
            if self.assumed is None:
                self.assumed = asyncio.Event()
            await self.assumed.wait()


class _WorkerCrash:
    """A non-``Exception`` (e.g. KeyboardInterrupt) that stopped a worker."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _run(
    parent: AioSession,
    accounts: list[Any],
    regions: list[str | None],
    assumer: _Assumer,
    work: Callable[[AssumedRoleSession, Any, str | None], Awaitable[Any]] | None,
    concurrency: int,
    limiter: StsRateLimiter | None = None,
    share_clients: bool = False,
) -> AsyncGenerator[_Outcome, None]:
    """Every (account, region)'s outcome, in completion order, from ``concurrency`` workers.

    Without ``work``, an outcome's value is the account's session. ``share_clients``: the
    work's ``create_client`` calls get views of the run's ``SharedClients``.
    """
    total = len(accounts) * len(regions)
    if total == 0:
        return
    # Bounded: a slow consumer holds the workers back instead of piling up results.
    results: asyncio.Queue[_Outcome | _WorkerCrash] = asyncio.Queue(maxsize=concurrency)

    def units() -> Iterable[tuple[Any, _AccountState, str | None]]:
        for account in accounts:
            state = _AccountState(len(regions))
            for region in regions:
                yield account, state, region

    pending = iter(units())  # shared by the workers: each takes the next unit
    sharing = ssl_sharing_config()  # the run's clients: one SSL context per settings
    clients: SharedClients | None = None

    async def run_unit(account: Any, state: _AccountState, region: str | None) -> _Outcome:
        if not state.started:
            state.started = True
            try:
                state.session = await assumer(account)
                share_ssl_contexts(state.session, sharing)
                state.session._client_owner = clients
            except Exception as error:
                state.error = error
            finally:
                state.finish()  # also when cancelled: the run is ending
        else:
            await state.wait()
        session, assume_error = state.session, state.error
        if session is None and assume_error is None:  # the first unit was cancelled: so is the run
            raise asyncio.CancelledError
        state.remaining -= 1
        if state.remaining == 0:
            state.session = None  # the account's last unit: drop the session
        if session is None:
            return _Outcome(account, region, "assume", None, assume_error)
        if work is None:
            return _Outcome(account, region, None, session, None)
        if isinstance(account, str):  # a checked id (see _fan_out): work gets an Account
            account = Account(account)
        try:
            value = await work(session, account, region)
        except Exception as error:
            return _Outcome(account, region, "work", None, error)
        return _Outcome(account, region, None, value, None)

    async def worker() -> None:
        pacing.bind(limiter)  # this worker task's AssumeRole calls (see _core/pacing)
        try:
            for account, state, region in pending:
                outcome = await run_unit(account, state, region)
                await results.put(outcome)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # run_unit returns every Exception as an outcome
            await results.put(_WorkerCrash(error))  # the consumer re-raises it

    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(_sharing(parent, concurrency))
        if share_clients:
            clients = SharedClients(parent, max_pool_connections=concurrency)
            await stack.enter_async_context(clients)
        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, total))]
        try:
            for _ in range(total):
                result = await results.get()
                if isinstance(result, _WorkerCrash):
                    raise result.error
                yield result
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


def _sharing(parent: AioSession, concurrency: int) -> contextlib.AbstractAsyncContextManager[Any]:
    """The caller's open SharedStsClients if any, else one for this run only."""
    if active_shared_clients(parent) is not None:
        return contextlib.nullcontext()
    return SharedStsClients(parent, config=pool_config(parent, concurrency))


# assume_role()'s keyword arguments that are not AssumeRole parameters.
_ASSUME_ROLE_OPTIONS = ("region_name", "validate", "cache", "additional_kwargs")


def _is_async_callable(work: object) -> bool:
    """Whether calling ``work`` gives a coroutine: an async function (or a partial of
    one), or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(work) or inspect.iscoroutinefunction(
        getattr(work, "__call__", None)  # noqa: B004 - the method itself is inspected
    )


def _check_role_name(role_name: object, problems: list[tuple[str, str]]) -> None:
    # get_role_arn() would build "arn:aws:iam::<id>:role/arn:aws:iam::...", and its
    # check would report a character of an ARN the caller never wrote.
    if isinstance(role_name, str) and role_name.startswith("arn:"):
        problems.append(
            (
                "role_name",
                "is an ARN: pass the role's name, not its ARN (e.g. 'Audit', or "
                "'team/Audit' with its path); the account ids come from accounts",
            )
        )


def _check_concurrency(concurrency: object, problems: list[tuple[str, str]]) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        problems.append(("concurrency", "must be an int of at least 1"))


def _check_regions(regions: object, problems: list[tuple[str, str]]) -> list[str | None]:
    if regions is None:
        return [None]
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Iterable):
        problems.append(
            ("regions", "must be a list of region names (e.g. ['us-east-1']), or None")
        )
        return []
    checked: list[str | None] = []
    for position, region in enumerate(regions):
        if not isinstance(region, str):
            problems.append(
                (
                    f"regions[{position}]",
                    f"must be a region name such as 'us-east-1', got {type(region).__name__}",
                )
            )
            continue
        problem = region_name_problem(region)
        if problem is not None:
            problems.append((f"regions[{position}]", problem))
        elif region not in checked:
            checked.append(region)
    if not checked and not problems:
        problems.append(("regions", "is empty: pass None to use each session's region"))
    return checked


def _early_targets(accounts: object, problems: list[tuple[str, str]]) -> tuple[bool, Any]:
    """(True, Accounts) for ids and Account objects, checked now; (False, targets) for
    targets with organization specs, which resolve_targets checks and resolves later."""
    if isinstance(accounts, OrganizationAccounts):
        return False, accounts
    if isinstance(accounts, (str, bytes, Account)) or not isinstance(accounts, Iterable):
        problems.append(
            (
                "accounts",
                "must be a list of account ids, Account objects or from_organization() specs, "
                "not a single value",
            )
        )
        return True, []
    items = list(accounts)
    if any(isinstance(item, OrganizationAccounts) for item in items):
        return False, items
    try:
        return True, accounts_or_ids(items)
    except InvalidParameterError as error:
        problems.extend(error.problems)
        return True, []


def _reporter(
    progress: Callable[[FanOutProgress], object] | bool | None,
) -> Callable[[FanOutProgress], object] | None:
    if progress is None or progress is False:
        return None
    if progress is True:
        return ProgressDisplay(sys.stderr, label="fan_out")
    assert callable(progress)
    return progress
