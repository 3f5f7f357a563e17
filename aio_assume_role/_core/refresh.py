"""The refresh engine: when credentials refresh, who waits, what happens on failure.

One ``RefreshState`` per credentials object decides; a driver runs the fetch.
Validity and activity are two small state machines::

    validity:  first use ─┐
               fresh ──(advisory point, jittered)──▶ advisory ──▶ mandatory ──▶ expired
    activity:  idle ──▶ refreshing ──▶ idle          (one refresh in flight; outcome shared)
                          └─ failed ──▶ backing off ──▶ idle

- fresh: serve the current credentials.
- advisory: serve the current credentials; if idle and not backing off, start one
  refresh in the background (asyncio task, trio system task). Nobody waits.
- first use, mandatory, expired: wait for the refresh in flight (start it if idle).
  Its outcome, credentials or error, goes to every waiter. During the short
  backoff after a failure here, callers get ``RefreshError`` at once.

Drivers: ``AsyncRefresher`` (asyncio and trio; nothing bound to one event loop:
a flight belongs to the loop that started it, and a caller in another loop starts
its own) and ``ThreadedRefresher`` (the boto3 path: the first thread runs the
refresh, others wait for its outcome; in the advisory window that thread pays).

Time is read through ``_clock.now()`` and chance through ``_clock.random_fraction()``.
Each outcome is one log record (DEBUG on success, WARNING on failure, never a
traceback or a secret) and one ``RefreshEvent`` to the listeners registered with
``add_refresh_listener``.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from botocore.credentials import ReadOnlyCredentials

from ..errors import ExpiredCredentialsError, RefreshError
from . import clock as _clock
from .response import credential_responses_redacted, safe_error
from .windows import (
    advisory_retry_point,
    mandatory_retry_point,
    parse_expiry,
    refresh_points,
)

__all__ = [
    "AsyncRefresher",
    "EngineDecides",
    "RefreshEvent",
    "RefreshListener",
    "RefreshState",
    "ThreadedRefresher",
    "add_refresh_listener",
]

logger = logging.getLogger("aio_assume_role")

FIRST_USE = "first-use"
FRESH = "fresh"
ADVISORY = "advisory"
MANDATORY = "mandatory"
EXPIRED = "expired"

# What RefreshState.plan() tells a caller to do, besides waiting.
SERVE = "serve"
START_AND_SERVE = "start-and-serve"

Metadata = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RefreshEvent:
    """The outcome of one refresh, as given to refresh listeners and in log records.

    Never holds a secret: the keys themselves are not part of it.
    """

    #: The ARN of the role whose credentials were refreshed.
    role_arn: str
    #: Why: ``"first-use"``, ``"advisory"``, ``"mandatory"`` or ``"expired"``.
    trigger: str
    #: Where the credentials came from: ``"cache"`` or ``"sts"`` (None on failure).
    source: str | None
    #: Wall time of the refresh, in seconds.
    duration: float
    #: When the new credentials expire (None on failure).
    expiry_time: datetime.datetime | None = None
    #: The STS error code (e.g. ``"AccessDenied"``) or the exception's type name, on failure.
    error_code: str | None = None
    #: On failure: the earliest time of the next attempt.
    next_attempt: datetime.datetime | None = None

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
        #: Until this time, callers are served ``frozen`` with no other check: the
        #: advisory point; during an advisory refresh or its backoff, the end of that.
        self.serve_until: datetime.datetime | None = None

    def phase(self, now: datetime.datetime) -> str:
        """Where the current credentials are: first-use, fresh, advisory, mandatory, expired."""
        if self.expiry is None or self._advisory_point is None or self._mandatory_point is None:
            return FIRST_USE
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
        (first-use, mandatory, expired)."""
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
        self, error: BaseException, trigger: str, started: float, now: datetime.datetime
    ) -> None:
        """Record a failed refresh: back off (with jitter); log and publish the outcome.

        Failed while the current credentials are in the advisory window: they keep
        being served and nobody tries again for a randomized share of the time left
        before the mandatory point. Otherwise callers waited for it: it is
        repeated to new callers for a few randomized seconds, then tried again.
        """
        code = error_code(error)
        if self.phase(now) == ADVISORY:
            assert self.expiry is not None and self._mandatory_point is not None
            self._retry_point = advisory_retry_point(
                now, self._mandatory_point, _clock.random_fraction()
            )
            self._failure = None
            self.serve_until = self._retry_point
            consequence = "keeping the current credentials, valid until " + (
                self.expiry.isoformat()
            )
        else:
            self._retry_point = mandatory_retry_point(now, _clock.random_fraction())
            self._failure, self._failure_code = error, code
            self.serve_until = None
            consequence = "callers get this error"
        event = RefreshEvent(
            role_arn=self.role_arn,
            trigger=trigger,
            source=None,
            duration=time.monotonic() - started,
            error_code=code,
            next_attempt=self._retry_point,
        )
        logger.warning(
            "Refreshing credentials for %s failed (%s, %s); %s; next attempt from %s",
            self.role_arn,
            trigger,
            code,
            consequence,
            self._retry_point.isoformat(),
            extra={"aio_assume_role_refresh": event},
        )
        _publish(event)


class EngineDecides:
    """What both credentials classes (async and sync) take from the engine's state.

    Listed before botocore's class in the bases, so these win over its versions,
    which read botocore's own refresh bookkeeping.
    """

    _state: RefreshState

    @property
    def expiry_time(self) -> datetime.datetime | None:
        """When the current credentials expire (None before the first fetch)."""
        return self._state.expiry

    def refresh_needed(self, refresh_in: float | None = None) -> bool:
        """Whether the credentials are due (or, with ``refresh_in`` seconds, expire within it)."""
        now = _clock.now()
        if refresh_in is None or self._state.expiry is None:
            return self._state.phase(now) != FRESH
        return (self._state.expiry - now).total_seconds() < refresh_in

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} RoleArn={self._state.role_arn!r} "
            f"expiry_time={self._state.expiry}>"
        )


class _Flight:
    """One refresh in flight: where it runs, and its outcome once known."""

    __slots__ = ("done", "outcome", "owner", "traceback", "trigger")

    def __init__(self, owner: object, trigger: str) -> None:
        self.owner = owner  # the event loop (or trio token, or thread lock) it runs in
        self.trigger = trigger
        self.done = False
        # Credentials, or the exception for every waiter; None if abandoned (cancelled).
        self.outcome: ReadOnlyCredentials | BaseException | None = None
        # The error's traceback as the fetch left it: each waiter re-raises from there.
        self.traceback: TracebackType | None = None


FetchAsync = Callable[[], Awaitable[Metadata]]
FetchSync = Callable[[], Metadata]


class _Refresher:
    """What both drivers share: the state, the fetch wrapper, the outcome bookkeeping."""

    def __init__(self, state: RefreshState) -> None:
        self.state = state

    def _settle(
        self, flight: _Flight, trigger: str, started: float, result: Metadata | BaseException
    ) -> None:
        """Record a finished fetch's outcome in the state and on the flight."""
        now = _clock.now()
        if isinstance(result, BaseException):
            error = safe_error(result, self.state.role_arn)
            self.state.failed(error, trigger, started, now)
            flight.outcome, flight.traceback = error, error.__traceback__
            return
        try:
            flight.outcome = self.state.succeeded(result, trigger, started, now)
        except ExpiredCredentialsError as error:
            self.state.failed(error, trigger, started, now)
            flight.outcome = error

    @staticmethod
    def _result(flight: _Flight) -> ReadOnlyCredentials | None:
        """The flight's credentials; raises its error; None if it was abandoned."""
        outcome = flight.outcome
        if isinstance(outcome, BaseException):
            # The one error object goes to every waiter; restarting from the fetch's
            # traceback keeps it from growing by each waiter's frames (thousands).
            raise outcome.with_traceback(flight.traceback)
        return outcome


class AsyncRefresher(_Refresher):
    """Runs refreshes as background tasks of the running event loop (asyncio or trio).

    A waiter that is cancelled stops waiting; the refresh goes on and its outcome
    is kept. A loop that closes with a refresh in flight cancels it; the next
    caller, in whatever loop, starts a new one.
    """

    def __init__(self, state: RefreshState, fetch: FetchAsync) -> None:
        super().__init__(state)
        self._fetch = fetch
        self._flight: _Flight | None = None
        self._wakeup: Any = None  # asyncio.Task or trio.Event of the flight

    async def frozen_credentials(self) -> ReadOnlyCredentials:
        """The credentials to sign with now, refreshing as the state says.

        Raises what the refresh raised (redacted), or ``RefreshError`` during the
        backoff after a failure.
        """
        state = self.state
        now = _clock.now()
        phase = state.plan(now)
        if phase in (SERVE, START_AND_SERVE):
            assert state.frozen is not None
            if phase == START_AND_SERVE and self._running_flight() is None:
                self._launch(ADVISORY)
                state.advisory_refresh_started()
            return state.frozen
        while True:
            repeated = state.repeated_failure(now)
            if repeated is not None:
                raise repeated
            flight = self._running_flight() or self._launch(phase)
            await self._wait(flight)
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
        cancels it and the next caller starts over. When a fetch already ran or runs,
        as ``frozen_credentials()``. Raises what the fetch raised (redacted).
        """
        if self._flight is not None or self.state.phase(_clock.now()) != FIRST_USE:
            return await self.frozen_credentials()
        flight = self._flight = _Flight(_current_owner(), FIRST_USE)
        await self._run(flight)
        credentials = self._result(flight)
        assert credentials is not None  # settled: _run returned without being cancelled
        return credentials

    def _running_flight(self) -> _Flight | None:
        flight = self._flight
        if flight is None or flight.done or flight.owner is not _current_owner():
            return None
        return flight

    def _launch(self, trigger: str) -> _Flight:
        import asyncio  # imported in functions: the sync path does not load asyncio

        owner = _current_owner()
        flight = self._flight = _Flight(owner, trigger)
        if isinstance(owner, asyncio.AbstractEventLoop):
            task = self._wakeup = owner.create_task(self._run(flight))
            # Also when cancelled before it ever ran (its loop shut down at once).
            task.add_done_callback(lambda _: self._finish(flight))
        else:
            import trio

            event = self._wakeup = trio.Event()

            async def run_and_signal() -> None:
                try:
                    await self._run(flight)
                finally:
                    event.set()

            trio.lowlevel.spawn_system_task(run_and_signal)
        return flight

    async def _wait(self, flight: _Flight) -> None:
        import asyncio

        wakeup = self._wakeup
        if flight.done or wakeup is None:
            return
        if isinstance(wakeup, asyncio.Task):
            # Shielded: a cancelled waiter must not cancel the refresh others wait for.
            await asyncio.shield(wakeup)
        else:
            await wakeup.wait()

    async def _run(self, flight: _Flight) -> None:
        started = time.monotonic()
        result: Metadata | BaseException
        try:
            try:
                with credential_responses_redacted():
                    result = await self._fetch()
            except Exception as error:
                result = error
            self._settle(flight, flight.trigger, started, result)
        finally:
            self._finish(flight)

    def _finish(self, flight: _Flight) -> None:
        if not flight.done:
            flight.done = True
            if flight.outcome is None:  # cancelled (its loop shut down) before settling
                self.state.refresh_abandoned()
        if self._flight is flight:
            # Not kept for the session's life: the finished task, its coroutine's frame
            # (which held the fetched metadata) and its context (the flight keeps the outcome).
            self._wakeup = None


def _current_owner() -> object:
    """The running asyncio loop, else the running trio run's token."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()


class ThreadedRefresher(_Refresher):
    """Runs refreshes in the calling thread (the boto3 path).

    The first thread that needs a refresh runs it; threads that need one meanwhile
    wait for its outcome and share it; in the advisory window, other threads are
    served the current credentials without waiting.
    """

    def __init__(self, state: RefreshState, fetch: FetchSync) -> None:
        super().__init__(state)
        self._fetch = fetch
        self._lock = threading.Lock()
        self._flight: _Flight | None = None
        self._finished = threading.Condition(self._lock)

    def frozen_credentials(self) -> ReadOnlyCredentials:
        """The credentials to sign with now, refreshing as the state says.

        Raises what the refresh raised (redacted), or ``RefreshError`` during the
        backoff after a failure.
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
        started = time.monotonic()
        result: Metadata | BaseException
        try:
            try:
                with credential_responses_redacted():
                    result = self._fetch()
            except Exception as error:
                result = error
            self._settle(flight, flight.trigger, started, result)
        finally:
            with self._finished:
                flight.done = True
                if flight.outcome is None:  # interrupted (KeyboardInterrupt) before settling
                    self.state.refresh_abandoned()
                self._finished.notify_all()
