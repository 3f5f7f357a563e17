"""The refresh engine: when credentials refresh, who waits, what happens on failure.

One ``RefreshState`` per credentials object decides; a driver runs the fetch.
Validity and activity are two small state machines (windows in ``windows``)::

    validity:  first use ─┐
               fresh ──(advisory point, jittered)──▶ advisory ──▶ mandatory ──▶ expired
               any ──(a service rejected the current key)──▶ invalidated
    activity:  idle ──▶ refreshing ──▶ idle          (one refresh in flight; outcome shared)
                          └─ failed ──▶ backing off ──▶ idle

Fresh and advisory serve the credentials held (advisory also starts one background
refresh); the others wait for the refresh in flight, whose outcome goes to every
waiter. The rules on failure (static stability) are in ``RefreshState.failed`` and
docs/explanation/refresh-windows.md. Drivers: ``AsyncRefresher`` (asyncio and trio,
one flight per loop) and ``ThreadedRefresher`` (the boto3 path).
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from botocore.credentials import ReadOnlyCredentials

from ..errors import (
    ExpiredCredentialsError,
    InvalidParameterError,
    MFARefreshError,
    ParentCredentialsError,
    RefreshError,
    RefreshTimeoutError,
)
from . import clock as _clock
from .response import credential_responses_redacted, safe_error
from .windows import (
    INVALIDATION_COOLDOWN_SECONDS,
    REFRESH_TIMEOUT_SECONDS,
    parse_expiry,
    refresh_points,
    repeat_failure_until,
    served_retry_point,
)

__all__ = [
    "AsyncRefresher",
    "EngineDecides",
    "RefreshEvent",
    "RefreshListener",
    "RefreshState",
    "ThreadedRefresher",
    "add_refresh_listener",
    "is_retryable",
]

logger = logging.getLogger("aio_assume_role")

FIRST_USE = "first-use"
FRESH = "fresh"
ADVISORY = "advisory"
MANDATORY = "mandatory"
EXPIRED = "expired"
INVALIDATED = "invalidated"

# What RefreshState.plan() tells a caller to do, besides waiting.
SERVE = "serve"
START_AND_SERVE = "start-and-serve"

# Which rule a failed refresh fell under (RefreshEvent.rule).
#: valid credentials are held: served; next attempt in 300-600 s.
RULE_SERVED = "served"
#: as ``served``, the next attempt capped at the mandatory point (the last try).
RULE_LAST_TRY = "served-last-try"
#: callers waited: they got the error, and new callers get it for 1-5 s.
RULE_RAISED = "raised"
#: a background refresh failed after the mandatory point: the next caller waits for a new one.
RULE_RETRY_NOW = "retry-now"

#: STS error codes that no retry can fix: the caller (or an administrator) must act
#: (a trust or permissions policy, a parameter, a region, the parent's credentials).
NEEDS_ACTION_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidAction",
        "InvalidClientTokenId",
        "InvalidParameterCombination",
        "InvalidParameterValue",
        "MalformedPolicyDocument",
        "MissingAuthenticationToken",
        "MissingParameter",
        "OptInRequired",
        "PackedPolicyTooLarge",
        "RegionDisabledException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ValidationError",
    }
)
#: The library's own errors that no retry can fix.
_NEEDS_ACTION_TYPES = (
    ExpiredCredentialsError,
    InvalidParameterError,
    MFARefreshError,
    ParentCredentialsError,
)

Metadata = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RefreshEvent:
    """The outcome of one refresh, as given to refresh listeners and in log records.

    Never holds a secret: the keys themselves are not part of it.
    """

    #: The ARN of the role whose credentials were refreshed.
    role_arn: str
    #: Why: ``"first-use"``, ``"advisory"``, ``"mandatory"``, ``"expired"`` or
    #: ``"invalidated"`` (a service rejected the credentials held).
    trigger: str
    #: Where the credentials came from: ``"cache"`` or ``"sts"`` (None on failure).
    source: str | None
    #: Wall time of the refresh, in seconds.
    duration: float
    #: When the new credentials expire (None on failure).
    expiry_time: datetime.datetime | None = None
    #: The STS error code (e.g. ``"AccessDenied"``) or the exception's type name, on failure.
    error_code: str | None = None
    #: On failure: the earliest time of the next attempt (None: the next caller's).
    next_attempt: datetime.datetime | None = None
    #: On failure, the rule applied: ``"served"`` (valid credentials held and served;
    #: next attempt 300-600 s later), ``"served-last-try"`` (the same, next attempt at
    #: the mandatory point), ``"raised"`` (the waiting callers got the error, and new
    #: callers get it for 1-5 s) or ``"retry-now"`` (nobody waited; the next caller
    #: waits for a new attempt).
    rule: str | None = None
    #: On failure: whether retrying can fix the error (False: AccessDenied, a bad
    #: parameter, the parent's credentials rejected... see ``is_retryable``).
    retryable: bool | None = None

    @property
    def ok(self) -> bool:
        """Whether the refresh succeeded."""
        return self.error_code is None


#: Called with each ``RefreshEvent``; must not block (it runs on the event loop).
RefreshListener = Callable[[RefreshEvent], object]

_LISTENERS: list[RefreshListener] = []


def add_refresh_listener(listener: RefreshListener) -> Callable[[], None]:
    """Call ``listener(event)`` after every refresh of every assumed-role session.

    For metrics: count refreshes by role, trigger, source and error code. Returns a
    function that removes the listener again. A listener that raises is logged
    and otherwise ignored. Raises ``TypeError`` if ``listener`` is not callable.
    """
    if not callable(listener):
        raise TypeError(f"listener must be callable, got {type(listener).__name__}")
    _LISTENERS.append(listener)

    def remove() -> None:
        if listener in _LISTENERS:
            _LISTENERS.remove(listener)

    return remove


def _publish(event: RefreshEvent) -> None:
    for listener in list(_LISTENERS):
        try:
            listener(event)
        except Exception:
            logger.exception("A refresh listener failed for %s", event.role_arn)


def error_code(error: BaseException) -> str:
    """The STS error code of a botocore ClientError, else the exception's type name."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(error).__name__


def is_retryable(error: BaseException) -> bool:
    """Whether a later attempt can succeed where this refresh failed: False for the STS
    codes of ``NEEDS_ACTION_CODES`` and the library's own errors that need a change, True
    otherwise (throttling, 5xx, connection errors, timeouts, malformed answers)."""
    if isinstance(error, _NEEDS_ACTION_TYPES):
        return False
    return error_code(error) not in NEEDS_ACTION_CODES


def validated_timeout(value: object) -> float | None:
    """A ``refresh_timeout`` value checked: a positive number of seconds, or None.

    Raises ``InvalidParameterError`` naming ``refresh_timeout`` otherwise.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        # (NaN is not > 0 either)
        raise InvalidParameterError(
            [
                (
                    "refresh_timeout",
                    "must be a positive number of seconds (or None for no deadline), "
                    f"got {type(value).__name__}",
                )
            ]
        )
    if value == float("inf"):
        return None
    return float(value)


#: The environment variable that sets the default ``refresh_timeout`` for the process.
REFRESH_TIMEOUT_VARIABLE = "AIO_ASSUME_ROLE_REFRESH_TIMEOUT"


def default_refresh_timeout() -> float | None:
    """The deadline new credentials objects start with: ``AIO_ASSUME_ROLE_REFRESH_TIMEOUT``
    (seconds; ``none`` for no deadline) if set, else ``REFRESH_TIMEOUT_SECONDS`` (30).

    Raises ``InvalidParameterError`` naming the variable if it is set to something else.
    """
    text = os.environ.get(REFRESH_TIMEOUT_VARIABLE)
    if text is None:
        return REFRESH_TIMEOUT_SECONDS
    if text.strip().lower() == "none":
        return None
    try:
        return validated_timeout(float(text))
    except (ValueError, InvalidParameterError):
        raise InvalidParameterError(
            [
                (
                    REFRESH_TIMEOUT_VARIABLE,
                    "must be a positive number of seconds, or none for no deadline",
                )
            ]
        ) from None


class RefreshState:
    """The decisions of the refresh engine for one credentials object; no I/O, no waiting."""

    def __init__(self, role_arn: str, lifetime_seconds: float) -> None:
        self.role_arn = role_arn
        self.lifetime_seconds = lifetime_seconds
        self.frozen: ReadOnlyCredentials | None = None
        self.expiry: datetime.datetime | None = None
        self._advisory_point: datetime.datetime | None = None
        self._mandatory_point: datetime.datetime | None = None
        self._retry_point: datetime.datetime | None = None  # no new attempt before
        self._failure: BaseException | None = None  # repeated to callers until then
        self._failure_code = ""
        #: The access key a service rejected while it was the current one.
        self.invalid_key: str | None = None
        self._invalidated_at: datetime.datetime | None = None
        #: Until this time, callers are served ``frozen`` with no other check: the
        #: advisory point; during an advisory refresh or its backoff, the end of that.
        self.serve_until: datetime.datetime | None = None

    def phase(self, now: datetime.datetime) -> str:
        """Where the current credentials are: first-use, fresh, advisory, mandatory,
        expired, or invalidated."""
        if self.expiry is None or self._advisory_point is None or self._mandatory_point is None:
            return FIRST_USE
        invalid = self.invalid_key
        if invalid is not None and self.frozen is not None and self.frozen.access_key == invalid:
            return INVALIDATED
        if now < self._advisory_point:
            return FRESH
        if now < self._mandatory_point:
            return ADVISORY
        if now < self.expiry:
            return MANDATORY
        return EXPIRED

    def plan(self, now: datetime.datetime) -> str:
        """What a caller does now: ``SERVE``, ``START_AND_SERVE`` (an advisory refresh
        is due and none is known to run), or the phase whose refresh it must wait for
        (first-use, mandatory, expired, invalidated)."""
        until = self.serve_until
        if until is not None and now < until:  # fresh, or an advisory refresh in hand
            return SERVE
        phase = self.phase(now)
        if phase == FRESH or (phase == ADVISORY and self.backing_off(now)):
            return SERVE
        if phase == ADVISORY:
            return START_AND_SERVE
        return phase

    def advisory_refresh_started(self) -> None:
        """An advisory refresh runs: serve everyone without checks until the mandatory point."""
        self.serve_until = self._mandatory_point

    def refresh_abandoned(self) -> None:
        """A refresh ended with no outcome (its loop shut down): check again at the next use."""
        self.serve_until = None

    def backing_off(self, now: datetime.datetime) -> bool:
        """Whether a failed refresh said not to try again yet."""
        return self._retry_point is not None and now < self._retry_point

    def repeated_failure(self, now: datetime.datetime) -> RefreshError | None:
        """During the short backoff after a failure that callers waited for: its error."""
        if self._failure is None or not self.backing_off(now):
            return None
        assert self._retry_point is not None
        error = RefreshError(
            role_arn=self.role_arn, error_code=self._failure_code, retry_at=self._retry_point
        )
        error.__cause__ = self._failure
        return error

    def rejected(self, access_key: str, now: datetime.datetime) -> bool:
        """A service rejected a request signed with ``access_key``: whether to retry it.

        The current key: invalidated (callers wait for one refresh), and the request
        is retried once; unless a key was invalidated less than
        ``INVALIDATION_COOLDOWN_SECONDS`` ago, so credentials that were just fetched in
        place of rejected ones and are rejected too surface to the caller (no loop).
        An older key (newer credentials are held): retried with those, nothing
        invalidated.
        """
        frozen = self.frozen
        if frozen is None:
            return False
        if frozen.access_key != access_key or self.invalid_key == access_key:
            return True  # newer credentials held, or this key's refresh is under way
        last = self._invalidated_at
        if last is not None and (now - last).total_seconds() < INVALIDATION_COOLDOWN_SECONDS:
            return False
        self.invalid_key, self._invalidated_at = access_key, now
        self.serve_until = self._retry_point = self._failure = None
        return True

    def succeeded(
        self, metadata: Metadata, trigger: str, started: float, now: datetime.datetime
    ) -> ReadOnlyCredentials:
        """Take freshly fetched credentials in; log and publish the outcome.

        Raises ``ExpiredCredentialsError`` (the current credentials stay) if they
        are already expired by the local clock.
        """
        expiry = parse_expiry(metadata["expiry_time"])
        if expiry <= now:
            raise ExpiredCredentialsError(
                role_arn=self.role_arn, expiry_time=expiry.isoformat(), local_time=now.isoformat()
            )
        self.frozen = ReadOnlyCredentials(
            metadata["access_key"],
            metadata["secret_key"],
            metadata["token"],
            metadata.get("account_id"),
        )
        self.expiry = expiry
        self._advisory_point, self._mandatory_point = refresh_points(
            expiry, now, self.lifetime_seconds, _clock.random_fraction()
        )
        self._retry_point = self._failure = None
        self.serve_until = self._advisory_point
        if not _LISTENERS and not logger.isEnabledFor(logging.DEBUG):
            return self.frozen  # nobody to tell: a fan-out refreshes thousands at once
        event = RefreshEvent(
            role_arn=self.role_arn,
            trigger=trigger,
            source=metadata.get("source"),
            duration=time.monotonic() - started,
            expiry_time=expiry,
        )
        logger.debug(
            "Refreshed credentials for %s (%s, from %s, %.3f s), valid until %s",
            self.role_arn,
            trigger,
            event.source,
            event.duration,
            expiry.isoformat(),
            extra={"aio_assume_role_refresh": event},
        )
        _publish(event)
        return self.frozen

    def failed(
        self,
        error: BaseException,
        trigger: str,
        started: float,
        now: datetime.datetime,
        *,
        caller_reports: bool = False,
    ) -> None:
        """Record a failed refresh and the rule it falls under (``RULE_*``); log, publish.

        ``caller_reports``: the one waiting caller reports the error itself (a
        fan-out's result), so the log record is DEBUG, not WARNING.
        """
        code = error_code(error)
        retryable = is_retryable(error)
        phase = self.phase(now)
        if phase in (FRESH, ADVISORY):
            assert self.expiry is not None and self._mandatory_point is not None
            self._retry_point, capped = served_retry_point(
                now, self._mandatory_point, _clock.random_fraction()
            )
            self._failure = None
            self.serve_until = self._retry_point
            rule = RULE_LAST_TRY if capped else RULE_SERVED
            consequence = "serving the credentials held, valid until " + self.expiry.isoformat()
        elif trigger == ADVISORY:
            self._retry_point = self._failure = self.serve_until = None
            rule = RULE_RETRY_NOW
            consequence = "nobody waited for it; the next caller waits for a new attempt"
        else:
            self._retry_point = repeat_failure_until(now, _clock.random_fraction())
            self._failure, self._failure_code = error, code
            self.serve_until = None
            rule = RULE_RAISED
            consequence = "callers get this error"
        next_attempt = self._retry_point
        event = RefreshEvent(
            role_arn=self.role_arn,
            trigger=trigger,
            source=None,
            duration=time.monotonic() - started,
            error_code=code,
            next_attempt=next_attempt,
            rule=rule,
            retryable=retryable,
        )
        logger.log(
            logging.DEBUG if caller_reports else logging.WARNING,
            "Refreshing credentials for %s failed (%s, %s%s); %s; next attempt %s",
            self.role_arn,
            trigger,
            code,
            "" if retryable else ": retrying cannot fix this, it needs a change",
            consequence,
            "from " + next_attempt.isoformat() if next_attempt is not None else "at the next use",
            extra={"aio_assume_role_refresh": event},
        )
        _publish(event)


#: The credentials that last handed out keys in this task or thread, and the access key:
#: set at every read, so that right after botocore signs a request the rejection
#: handlers (``rejection``) know which state signed it.
SERVED: contextvars.ContextVar[tuple[RefreshState, str] | None] = contextvars.ContextVar(
    "aio_assume_role_served", default=None
)


class EngineDecides:
    """What both credentials classes (async and sync) take from the engine's state.

    Listed before botocore's class in the bases, so these win over its versions,
    which read botocore's own refresh bookkeeping.
    """

    _state: RefreshState
    _refresher: _Refresher

    @property
    def expiry_time(self) -> datetime.datetime | None:
        """When the current credentials expire (None before the first fetch)."""
        return self._state.expiry

    @property
    def refresh_timeout(self) -> float | None:
        """The deadline of each refresh in seconds (30 by default; None: no deadline).

        Waiters of a refresh past it get ``RefreshTimeoutError``. Setting it raises
        ``InvalidParameterError`` unless it is a positive number or None.
        """
        return self._refresher.timeout

    @refresh_timeout.setter
    def refresh_timeout(self, value: float | None) -> None:
        self._refresher.timeout = validated_timeout(value)

    def refresh_needed(self, refresh_in: float | None = None) -> bool:
        """Whether the credentials are due (or, with ``refresh_in`` seconds, expire within it)."""
        now = _clock.now()
        if refresh_in is None or self._state.expiry is None:
            return self._state.phase(now) != FRESH
        return (self._state.expiry - now).total_seconds() < refresh_in

    def _served(self, frozen: ReadOnlyCredentials) -> ReadOnlyCredentials:
        """Note which credentials this task or thread signs with next; return them."""
        SERVED.set((self._state, frozen.access_key))
        return frozen

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} RoleArn={self._state.role_arn!r} "
            f"expiry_time={self._state.expiry}>"
        )


class _Flight:
    """One refresh in flight: where it runs, and its outcome once known."""

    __slots__ = (
        "__weakref__",
        "caller_reports",
        "done",
        "outcome",
        "owner",
        "started",
        "traceback",
        "trigger",
        "wakeup",
    )

    def __init__(self, owner: object, trigger: str, *, caller_reports: bool = False) -> None:
        self.owner = owner  # the event loop (or trio token, or thread lock) it runs in
        self.trigger = trigger
        self.started = time.monotonic()  # for the refresh event's duration
        # Run in its only caller's task, which reports the outcome (a fan-out's first fetch).
        self.caller_reports = caller_reports
        self.done = False
        # Credentials, or the exception for every waiter; None if abandoned (cancelled).
        self.outcome: ReadOnlyCredentials | BaseException | None = None
        # The error's traceback as the fetch left it: each waiter re-raises from there.
        self.traceback: TracebackType | None = None
        # What waiters of an async flight await: its asyncio.Task, or a trio.Event.
        self.wakeup: Any = None


#: Fetch the credentials; the argument is an access key that a service rejected (a
#: cache entry holding it is a miss), or None.
FetchAsync = Callable[[str | None], Awaitable[Metadata]]
FetchSync = Callable[[str | None], Metadata]

#: Background refreshes in flight (advisory, or started by a waiter), for
#: ``aio_assume_role.testing.wait_for_refreshes()``.
BACKGROUND: weakref.WeakSet[_Flight] = weakref.WeakSet()


class _Refresher:
    """What both drivers share: the state, the deadline, the outcome bookkeeping.

    A driver's ``_run`` only fetches (awaiting, or blocking) and hands the result
    or the exception to ``_settle``, then ``_mark_done``.
    """

    def __init__(self, state: RefreshState, timeout: float | None) -> None:
        self.state = state
        self.timeout = timeout

    def _timed_out(self) -> RefreshTimeoutError:
        assert self.timeout is not None
        return RefreshTimeoutError(role_arn=self.state.role_arn, seconds=self.timeout)

    def _settle(self, flight: _Flight, result: Metadata | BaseException) -> None:
        """Record a finished fetch's outcome in the state and on the flight."""
        trigger, started = flight.trigger, flight.started
        now = _clock.now()
        quiet = flight.caller_reports
        if isinstance(result, BaseException):
            error = safe_error(result, self.state.role_arn)
            self.state.failed(error, trigger, started, now, caller_reports=quiet)
            flight.outcome, flight.traceback = error, error.__traceback__
            return
        try:
            flight.outcome = self.state.succeeded(result, trigger, started, now)
        except ExpiredCredentialsError as error:
            self.state.failed(error, trigger, started, now, caller_reports=quiet)
            flight.outcome = error

    def _mark_done(self, flight: _Flight) -> None:
        """The flight is over: settled, or abandoned (cancelled, interrupted) before that."""
        if not flight.done:
            flight.done = True
            if flight.outcome is None:
                self.state.refresh_abandoned()

    def _result(self, flight: _Flight) -> ReadOnlyCredentials | None:
        """What a waiter of ``flight`` gets: its credentials, or its error (raised).

        None, to start over, if it was abandoned, or if it was a background refresh
        that failed after the mandatory point (nobody waited for it: this waiter
        gets an attempt of its own). The held credentials, if the state still serves
        them (a failure while they are valid beyond the mandatory point).
        """
        outcome = flight.outcome
        if isinstance(outcome, BaseException):
            state = self.state
            if state.plan(_clock.now()) in (SERVE, START_AND_SERVE):
                return state.frozen
            if flight.trigger == ADVISORY:
                return None
            # The one error object goes to every waiter; restarting from the fetch's
            # traceback keeps it from growing by each waiter's frames (thousands).
            raise outcome.with_traceback(flight.traceback)
        return outcome


class AsyncRefresher(_Refresher):
    """Runs refreshes as background tasks of the running event loop (asyncio or trio).

    A waiter that is cancelled stops waiting; the refresh goes on and its outcome
    is kept. A loop that closes with a refresh in flight cancels it; the next
    caller, in whatever loop, starts a new one. Loops in other threads each run
    their own flight (one per loop), never wait for another loop's.
    """

    def __init__(
        self, state: RefreshState, fetch: FetchAsync, timeout: float | None = None
    ) -> None:
        super().__init__(state, default_refresh_timeout() if timeout is None else timeout)
        self._fetch = fetch
        # The running flight of each event loop (or trio run), removed when it ends.
        self._flights: dict[object, _Flight] = {}

    async def frozen_credentials(self) -> ReadOnlyCredentials:
        """The credentials to sign with now, refreshing as the state says.

        Raises what the refresh raised (redacted), ``RefreshTimeoutError`` past its
        deadline, or ``RefreshError`` during the backoff after a failure.
        """
        state = self.state
        now = _clock.now()
        phase = state.plan(now)
        if phase in (SERVE, START_AND_SERVE):
            assert state.frozen is not None
            if phase == START_AND_SERVE:
                owner = _current_owner()
                if self._running_flight(owner) is None:
                    BACKGROUND.add(self._launch(ADVISORY, owner))
                    state.advisory_refresh_started()
            return state.frozen
        while True:
            repeated = state.repeated_failure(now)
            if repeated is not None:
                raise repeated
            owner = _current_owner()
            flight = self._running_flight(owner)
            if flight is None:
                flight = self._launch(phase, owner)
                BACKGROUND.add(flight)
            await _wait_for(flight)
            credentials = self._result(flight)
            if credentials is not None:
                return credentials
            now = _clock.now()  # abandoned (its loop shut down): start over
            phase = state.plan(now)
            if phase in (SERVE, START_AND_SERVE):
                return await self.frozen_credentials()

    async def first_fetch_in_caller(self) -> ReadOnlyCredentials:
        """The first credentials, fetched in the calling task rather than a background one.

        Only for credentials no other task can be waiting on (their session is not
        handed out yet): there is nobody to shield the fetch for, so a cancelled caller
        cancels it and the next caller starts over; a failure is the caller's to report
        (logged at DEBUG, not WARNING). When a fetch already ran or runs, as
        ``frozen_credentials()``. Raises what the fetch raised (redacted).
        """
        if self._flights or self.state.phase(_clock.now()) != FIRST_USE:
            return await self.frozen_credentials()
        owner = _current_owner()
        flight = self._flights[owner] = _Flight(owner, FIRST_USE, caller_reports=True)
        await self._run(flight)
        credentials = self._result(flight)
        assert credentials is not None  # settled: _run returned without being cancelled
        return credentials

    def _running_flight(self, owner: object) -> _Flight | None:
        flight = self._flights.get(owner)
        return flight if flight is not None and not flight.done else None

    def _launch(self, trigger: str, owner: object) -> _Flight:
        import asyncio  # imported in functions: the sync path does not load asyncio

        flight = self._flights[owner] = _Flight(owner, trigger)
        if isinstance(owner, asyncio.AbstractEventLoop):
            task = flight.wakeup = owner.create_task(self._run(flight))
            # Also when cancelled before it ever ran (its loop shut down at once).
            task.add_done_callback(lambda _: self._finish(flight))
        else:
            import trio

            event = flight.wakeup = trio.Event()

            async def run_and_signal() -> None:
                try:
                    await self._run(flight)
                finally:
                    event.set()

            trio.lowlevel.spawn_system_task(run_and_signal)
        return flight

    async def _run(self, flight: _Flight) -> None:
        result: Metadata | BaseException
        try:
            try:
                with credential_responses_redacted():
                    result = await self._fetch_within_deadline(flight.owner)
            except Exception as error:
                result = error
            self._settle(flight, result)
        finally:
            self._finish(flight)

    async def _fetch_within_deadline(self, owner: object) -> Metadata:
        """The fetch, bounded by ``timeout`` (``RefreshTimeoutError`` past it)."""
        import asyncio

        seconds = self.timeout
        fetch = self._fetch(self.state.invalid_key)
        if seconds is None:
            return await fetch
        if not isinstance(owner, asyncio.AbstractEventLoop):
            import trio

            with trio.move_on_after(seconds):
                return await fetch
            raise self._timed_out()
        if sys.version_info >= (3, 11):
            deadline = asyncio.timeout(seconds)
            try:
                async with deadline:
                    return await fetch
            except TimeoutError:
                if deadline.expired():
                    raise self._timed_out() from None
                raise
        try:  # Python 3.10: wait_for runs the fetch as a task of its own
            return await asyncio.wait_for(fetch, seconds)
        except asyncio.TimeoutError:
            raise self._timed_out() from None

    def _finish(self, flight: _Flight) -> None:
        self._mark_done(flight)  # abandoned: cancelled (its loop shut down) before settling
        if self._flights.get(flight.owner) is flight:
            del self._flights[flight.owner]
        # Not kept for the session's life: the finished task, its coroutine's frame
        # (which held the fetched metadata) and its context (the flight keeps the outcome).
        flight.wakeup = None


async def _wait_for(flight: _Flight) -> None:
    """Until the async ``flight`` is done (shielded: a cancelled waiter leaves it running)."""
    import asyncio

    wakeup = flight.wakeup
    if flight.done or wakeup is None:
        return
    if isinstance(wakeup, asyncio.Task):
        # Shielded: a cancelled waiter must not cancel the refresh others wait for.
        await asyncio.shield(wakeup)
    else:
        await wakeup.wait()


async def wait_for_background_refreshes() -> int:
    """Wait for the background refreshes in flight in this event loop; return how many."""
    owner = _current_owner()
    flights = [flight for flight in list(BACKGROUND) if flight.owner is owner and not flight.done]
    for flight in flights:
        await _wait_for(flight)
    return len(flights)


def _current_owner() -> object:
    """The running asyncio loop, else the running trio run's token."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()


# Every ThreadedRefresher, so that a forked child can drop the flights of threads that
# do not exist in it (their waiters would wait for ever).
_THREADED: weakref.WeakSet[ThreadedRefresher] = weakref.WeakSet()


class ThreadedRefresher(_Refresher):
    """Runs refreshes for the calling threads (the boto3 path).

    The first thread that needs a refresh runs it; threads that need one meanwhile
    wait for its outcome and share it; in the advisory window, other threads are
    served the current credentials without waiting. With a deadline, the fetch runs
    in a helper thread that the refreshing thread waits for at most that long (a
    blocking socket cannot be interrupted); after a fork, a refresh the parent
    process had in flight is forgotten.
    """

    def __init__(
        self, state: RefreshState, fetch: FetchSync, timeout: float | None = None
    ) -> None:
        super().__init__(state, default_refresh_timeout() if timeout is None else timeout)
        self._fetch = fetch
        self._lock = threading.Lock()
        self._flight: _Flight | None = None
        self._finished = threading.Condition(self._lock)
        _THREADED.add(self)

    def frozen_credentials(self) -> ReadOnlyCredentials:
        """The credentials to sign with now, refreshing as the state says.

        Raises what the refresh raised (redacted), ``RefreshTimeoutError`` past its
        deadline, or ``RefreshError`` during the backoff after a failure.
        """
        state = self.state
        while True:
            now = _clock.now()
            phase = state.plan(now)
            if phase in (SERVE, START_AND_SERVE):
                assert state.frozen is not None
                flight = self._claim(ADVISORY) if phase == START_AND_SERVE else None
                if flight is not None:
                    state.advisory_refresh_started()
                    self._run(flight)
                return state.frozen
            repeated = state.repeated_failure(now)
            if repeated is not None:
                raise repeated
            flight = self._claim(phase)
            if flight is not None:
                self._run(flight)
            else:
                flight = self._await_current()
            credentials = self._result(flight)
            if credentials is not None:
                return credentials

    def _claim(self, trigger: str) -> _Flight | None:
        """A new flight for this thread to run, or None if one is already running."""
        with self._lock:
            if self._flight is not None and not self._flight.done:
                return None
            self._flight = _Flight(self._lock, trigger)
            return self._flight

    def _await_current(self) -> _Flight:
        with self._finished:
            flight = self._flight
            assert flight is not None
            self._finished.wait_for(lambda: flight.done)
            return flight

    def _run(self, flight: _Flight) -> None:
        result: Metadata | BaseException
        try:
            try:
                result = self._fetch_within_deadline()
            except Exception as error:
                result = error
            self._settle(flight, result)
        finally:
            with self._finished:
                self._mark_done(flight)  # abandoned: interrupted (KeyboardInterrupt) first
                self._finished.notify_all()

    def _fetch_within_deadline(self) -> Metadata:
        """The fetch, here or (with a deadline) in a helper thread waited for that long."""
        rejected = self.state.invalid_key
        seconds = self.timeout
        if seconds is None:
            with credential_responses_redacted():
                return self._fetch(rejected)
        outcome: list[Any] = []  # [True, metadata] or [False, error]
        done = threading.Event()
        fetch = self._fetch

        def work() -> None:
            try:
                with credential_responses_redacted():
                    outcome[:] = [True, fetch(rejected)]
            except BaseException as error:
                outcome[:] = [False, error]
            finally:
                done.set()

        context = contextvars.copy_context()  # the caller's context (tracing, logging)
        threading.Thread(
            target=context.run, args=(work,), name="aio-assume-role-refresh", daemon=True
        ).start()
        if not done.wait(seconds):
            raise self._timed_out()
        ok, value = outcome
        if not ok:
            raise value
        return dict(value)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        if self._flight is not None and not self._flight.done:
            self._flight = None
            self.state.refresh_abandoned()


def _reset_threaded_after_fork() -> None:
    for refresher in list(_THREADED):
        refresher._reset_after_fork()


os.register_at_fork(after_in_child=_reset_threaded_after_fork)
