"""Assume one role in many accounts at once, with bounded concurrency."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any, NamedTuple

from aiobotocore.session import AioSession
from botocore.config import Config

from .arns import get_role_arn
from .errors import InvalidParameterError
from .session import AssumedRoleSession, assume_role
from .sts_clients import SharedStsClients, active_shared_clients

__all__ = ["AccountResult", "ProgressCallback", "assume_role_in_accounts"]

#: Called as ``progress(done, total)`` each time an account's result is ready.
ProgressCallback = Callable[[int, int], object]

# Any well-formed account id: assume_role() is tried on it once, before any I/O, so
# arguments that are wrong for every account raise at once instead of N times.
_PROBE_ACCOUNT_ID = "000000000000"


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
    **assume_role_kwargs: Any,
) -> AsyncGenerator[AccountResult, None]:
    """Assume ``role_name`` in each account, yielding results as they complete.

    At most ``concurrency`` AssumeRole calls run at once, all through one shared
    STS client (see ``SharedStsClients``; an open one for ``parent`` is used if
    there is one). Each ``AccountResult`` holds a session whose credentials are
    already fetched, or the exception that account raised: one account's failure
    never stops the others. Arguments wrong for every account (``role_name``,
    ``assume_role_kwargs`` such as ``DurationSeconds``) raise before any call.
    ``progress(done, total)`` is called as each result becomes ready. An account
    id is exactly 12 digits as a str (never zero-padded): any other is that
    account's ``InvalidParameterError``, naming ``account_id``.

    The sessions keep refreshing after the iteration ends (through a client per
    call, or through an open ``SharedStsClients`` the caller holds). To stop
    early and release everything at once, iterate inside
    ``contextlib.aclosing(...)``. Runs on asyncio.
    """
    _check_options(account_ids, concurrency, progress)
    probe_arn = get_role_arn(_PROBE_ACCOUNT_ID, role_name, path, partition)
    assume_role(parent, probe_arn, **assume_role_kwargs)
    return _run(
        parent,
        list(account_ids),
        role_name,
        concurrency=concurrency,
        path=path,
        partition=partition,
        progress=progress,
        assume_role_kwargs=assume_role_kwargs,
    )


async def _run(
    parent: AioSession,
    pending: list[str],
    role_name: str,
    *,
    concurrency: int,
    path: str,
    partition: str,
    progress: ProgressCallback | None,
    assume_role_kwargs: dict[str, Any],
) -> AsyncGenerator[AccountResult, None]:
    total = len(pending)
    results: asyncio.Queue[AccountResult | _WorkerCrash] = asyncio.Queue()
    ids = iter(pending)

    async def worker() -> None:
        try:
            for account_id in ids:  # shared by the workers: each takes the next id
                results.put_nowait(
                    await _assume_one(
                        parent, account_id, role_name, path, partition, assume_role_kwargs
                    )
                )
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # _assume_one returns every Exception as a result
            results.put_nowait(_WorkerCrash(error))  # the consumer re-raises it

    async with _sharing(parent, concurrency):
        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, total))]
        try:
            for done in range(1, total + 1):
                result = await results.get()
                if isinstance(result, _WorkerCrash):
                    raise result.error
                if progress is not None:
                    progress(done, total)
                yield result
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


async def _assume_one(
    parent: AioSession,
    account_id: str,
    role_name: str,
    path: str,
    partition: str,
    assume_role_kwargs: dict[str, Any],
) -> AccountResult:
    try:
        role_arn = get_role_arn(account_id, role_name, path, partition)
        session = assume_role(parent, role_arn, **assume_role_kwargs)
        await session.prefetch_credentials()
    except Exception as error:
        return AccountResult(account_id, None, error)
    return AccountResult(account_id, session, None)


class _WorkerCrash:
    """A non-``Exception`` (e.g. KeyboardInterrupt) that stopped a worker."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _sharing(parent: AioSession, concurrency: int) -> contextlib.AbstractAsyncContextManager[Any]:
    """The caller's open SharedStsClients if any, else one for this run only."""
    if active_shared_clients(parent) is not None:
        return contextlib.nullcontext()
    default = parent.get_default_client_config()
    pool = getattr(default, "max_pool_connections", None) or 10
    return SharedStsClients(parent, config=Config(max_pool_connections=max(pool, concurrency)))


def _check_options(account_ids: object, concurrency: object, progress: object) -> None:
    problems = []
    if isinstance(account_ids, (str, bytes)) or not isinstance(account_ids, Iterable):
        problems.append(("account_ids", "must be an iterable of account ids, not a single value"))
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        problems.append(("concurrency", "must be an int of at least 1"))
    if progress is not None and not callable(progress):
        problems.append(("progress", "must be a callable progress(done, total) or None"))
    if problems:
        raise InvalidParameterError(problems)
