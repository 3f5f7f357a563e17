"""Pacing AssumeRole to STS's rate quota: an adaptive (AIMD) limiter per STS endpoint.

STS throttles AssumeRole per calling account and Region (600 requests/s is the
figure usually cited, shared with GetCallerIdentity and the others; each regional
endpoint has its own). A fan-out that sends faster gets ``Throttling`` answers, and
botocore's few retries turn some of them into false "cannot assume" failures.

``StsRateLimiter`` spaces the AssumeRole calls of the tasks it is bound to
(``bind``), per endpoint (scheme and host of the request URL):

- every attempt waits for its slot, first come first served: at most ``rate``
  requests a second start, in groups of ``rate * TICK_SECONDS`` (at least one) let go
  together, one group every ``TICK_SECONDS`` at most. Groups, not even spacing,
  because each wake-up of the event loop costs CPU: an AssumeRole sent alone every
  5 ms cost raw aiobotocore 1.41x the CPU of the same calls unpaced, sent in groups of
  20 every 0.1 s 1.05x (``benchmarks/fanout.py``, N = 1,000). A group is a tenth of a
  second's requests: 20 at the default rate, well inside STS's quota;
- a throttled answer (``Throttling``, ``ThrottlingException``,
  ``RequestLimitExceeded``) lowers the endpoint's pace to ``DECREASE_FACTOR`` times
  what it was (once per round trip: only an attempt sent after the last decrease
  lowers it again), down to ``MIN_RATE``; each successful answer raises it again by
  ``INCREASE_FRACTION`` of ``rate`` per second's worth of requests, up to ``rate``
  (additive increase, multiplicative decrease);
- a throttled call is retried, whatever botocore's ``max_attempts``, until
  ``deadline`` seconds after its first attempt; after that it fails with the
  throttling error STS answered (botocore's ``ClientError``).

It hooks into aiobotocore's public events of an STS client (``install``):
``request-created.sts.AssumeRole`` awaits the slot (before signing, so the
signature is fresh) and ``needs-retry.sts.AssumeRole`` reads the answer and asks
for a retry (delay 0: the next attempt waits for its slot). aiobotocore awaits
async handlers of both events from 3.0 on (``AioHierarchicalEmitter._emit``
resolves any awaitable), and calls the more specific event's handlers before
botocore's own retry handler (registered for ``needs-retry.sts``): no private name
is used. A client with the handlers installed is paced only in tasks where a limiter
is bound (a context variable): every other call through it keeps botocore's normal
retries. Everything runs in the calling task, so cancelling it leaves nothing
behind (no timer, no task, no retry).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import itertools
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidParameterError
from . import clock

__all__ = [
    "DECREASE_FACTOR",
    "DEFAULT_RATE",
    "INCREASE_FRACTION",
    "MIN_RATE",
    "THROTTLE_DEADLINE_SECONDS",
    "THROTTLING_CODES",
    "TICK_SECONDS",
    "StsRateLimiter",
    "bind",
    "install",
]

#: A fan-out's default pace, in AssumeRole requests a second per STS endpoint: a third
#: of the 600/s commonly cited for an account and Region, leaving room for the others.
DEFAULT_RATE = 200.0

#: How long a throttled call keeps being retried, from its first attempt, in seconds:
#: under a refresh's own deadline (30 s), so the error is STS's throttling one.
THROTTLE_DEADLINE_SECONDS = 20.0

#: The error codes that mean "slow down".
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})

#: Multiplicative decrease: a throttled answer sets the pace to this times what it was.
DECREASE_FACTOR = 0.8

#: Additive increase: per second's worth of successful answers, the pace grows by this
#: fraction of the configured rate.
INCREASE_FRACTION = 0.02

#: The slowest pace (requests a second) backing off goes down to.
MIN_RATE = 1.0

#: The pace lets requests go in groups of a tick's worth (``rate * TICK_SECONDS``, at
#: least one), one group a tick at most: one event-loop wake-up a group, not a request.
TICK_SECONDS = 0.1

# request_dict["context"] key holding a call's pacing state across its attempts.
_CONTEXT_KEY = "aio_assume_role_pacing"

_BOUND: contextvars.ContextVar[StsRateLimiter | None] = contextvars.ContextVar(
    "aio_assume_role_sts_rate_limiter", default=None
)


class _Endpoint:
    """One endpoint's pace and its queue of waiting attempts (first come, first served)."""

    __slots__ = ("last_decrease", "left", "next_group", "queue", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.next_group = -math.inf  # when the next group may start
        self.left = 0  # slots left in the current group (until next_group)
        self.last_decrease = -math.inf
        # Waiting attempts, oldest first. Only the first one sleeps (for the next group);
        # the others wait for their future, set when a slot is theirs to take.
        self.queue: collections.deque[asyncio.Future[None]] = collections.deque()


class StsRateLimiter:
    """An adaptive client-side rate limiter for AssumeRole, one pace per STS endpoint.

    ``rate``: the most AssumeRole requests a second it lets start per endpoint (a
    positive number), and the pace each endpoint starts at; ``deadline``: how long
    (seconds, positive) a throttled call is retried from its first attempt before it
    fails with STS's throttling error. See the module docstring for the algorithm.
    Pass one as ``fan_out(..., rate=limiter)`` to share it between runs that call the
    same endpoints with the same parent (they share its quota), or to watch it.
    asyncio only.

    Raises:
        InvalidParameterError: ``rate`` or ``deadline`` is not a positive finite number.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        deadline: float = THROTTLE_DEADLINE_SECONDS,
        clock_function: Callable[[], float] | None = None,
    ) -> None:
        problems = [
            problem
            for name, value in (("rate", rate), ("deadline", deadline))
            if (problem := _positive_number_problem(name, value)) is not None
        ]
        if problems:
            raise InvalidParameterError(problems, function="StsRateLimiter")
        self.rate = float(rate)
        self.deadline = float(deadline)
        self._clock = clock_function
        self._endpoints: dict[str, _Endpoint] = {}
        self._changed: asyncio.Event | None = None
        #: Counts since it was made: attempts sent, and answered with a throttling error.
        self.sent = 0
        self.throttled = 0

    def __repr__(self) -> str:
        return f"<StsRateLimiter rate={self.rate:g}/s waiting={self.waiting}>"

    def now(self) -> float:
        """Its clock: ``clock_function`` if given, else the library's monotonic clock."""
        return self._clock() if self._clock is not None else clock.monotonic()

    def current_rate(self, endpoint: str) -> float:
        """The pace (requests a second) of ``endpoint`` (``scheme://host[:port]``) now:
        ``rate`` until it is throttled."""
        state = self._endpoints.get(endpoint)
        return self.rate if state is None else state.rate

    @property
    def endpoints(self) -> list[str]:
        """The endpoints it has paced so far."""
        return list(self._endpoints)

    @property
    def waiting(self) -> int:
        """How many attempts are waiting for their slot now, over all endpoints."""
        return sum(len(state.queue) for state in self._endpoints.values())

    async def wait_for_waiting(self, count: int) -> None:
        """Return once at least ``count`` attempts are waiting (for tests and monitors)."""
        while self.waiting < count:
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _endpoint(self, endpoint: str) -> _Endpoint:
        state = self._endpoints.get(endpoint)
        if state is None:
            state = self._endpoints[endpoint] = _Endpoint(self.rate)
        return state

    async def acquire(self, endpoint: str) -> float:
        """Wait for ``endpoint``'s next slot; return the time it was taken (``now()``).

        Cancelling the caller removes it from the queue and wakes the next in line.
        """
        state = self._endpoint(endpoint)
        if not state.queue and (taken := self._take(state)) is not None:
            return taken
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.queue.append(waiter)
        self._notify()
        try:
            if state.queue[0] is not waiter:
                await waiter  # set when a slot of the current group is its, or it is first
            while True:
                if (taken := self._take(state)) is not None:
                    return taken
                # First in line (or woken for a slot a throttled answer took back), the
                # group used up: sleep until the next one. The pace may change
                # meanwhile: checked at each wake-up.
                await asyncio.sleep(state.next_group - self.now())
        finally:
            state.queue.remove(waiter)
            self._wake(state)
            self._notify()

    def _take(self, state: _Endpoint) -> float | None:
        """Take a slot of the current group, or start the next group if it is due; return
        the time (``now()``), or None if the next slot is not due yet."""
        now = self.now()
        if now < state.next_group:
            if state.left <= 0:
                return None
            state.left -= 1
        else:
            # A late wake-up starts the group late: the pace never runs ahead of ``rate``
            # (a late tick costs a fraction of a tick, not a burst).
            group = max(1, int(state.rate * TICK_SECONDS))
            state.next_group = now + group / state.rate
            state.left = group - 1
        self.sent += 1
        return now

    def _wake(self, state: _Endpoint) -> None:
        """Let the waiters the current group has slots for go (at least the first, who
        sleeps for the next group when none is left). Woken ones stay in the queue, at
        its front, until they take their slot, so none is woken twice."""
        count = max(1, state.left if self.now() < state.next_group else 1)
        for waiter in itertools.islice(state.queue, count):
            if not waiter.done():
                waiter.set_result(None)

    def succeeded(self, endpoint: str) -> None:
        """A paced attempt got a successful answer: additive increase."""
        state = self._endpoint(endpoint)
        state.rate = min(self.rate, state.rate + INCREASE_FRACTION * self.rate / state.rate)

    def throttled_at(self, endpoint: str, sent_at: float) -> None:
        """An attempt sent at ``sent_at`` was throttled: multiplicative decrease, once for
        all the attempts sent before the last one."""
        self.throttled += 1
        state = self._endpoint(endpoint)
        if sent_at >= state.last_decrease:
            state.rate = max(min(MIN_RATE, self.rate), state.rate * DECREASE_FACTOR)
            state.last_decrease = self.now()
            state.left = 0  # the rest of the current group waits for the slower pace


def _positive_number_problem(name: str, value: object) -> tuple[str, str] | None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        return (name, f"must be a positive number (requests a second), got {value!r}")
    return None


def limiter_for(rate: object) -> tuple[StsRateLimiter | None, tuple[str, str] | None]:
    """``fan_out``'s ``rate`` argument as a limiter (None: unpaced), or the problem with it."""
    if rate is None or isinstance(rate, StsRateLimiter):
        return rate, None
    problem = _positive_number_problem("rate", rate)
    if problem is not None:
        return None, (
            "rate",
            f"must be a positive number of AssumeRole requests a second, an "
            f"StsRateLimiter, or None (unpaced), got {rate!r}",
        )
    return StsRateLimiter(float(rate)), None  # type: ignore[arg-type]


def bind(limiter: StsRateLimiter | None) -> None:
    """Pace the AssumeRole calls of the current task (and the tasks it starts) with
    ``limiter`` (None: unpaced). Call it at the start of a task: the binding is the
    task's own context."""
    _BOUND.set(limiter)


# --- the STS client's event handlers ---------------------------------------------------


class _Call:
    """One AssumeRole call's pacing state, kept across its attempts."""

    __slots__ = ("endpoint", "first", "limiter", "sent_at")

    def __init__(self, limiter: StsRateLimiter, endpoint: str) -> None:
        self.limiter = limiter
        self.endpoint = endpoint
        self.first = limiter.now()
        self.sent_at = self.first


async def _before_attempt(request: Any, **_: Any) -> None:
    """``request-created.sts.AssumeRole``: wait for the attempt's slot."""
    context = getattr(request, "context", None)
    if not isinstance(context, dict):
        return
    call = context.get(_CONTEXT_KEY)
    if call is None:
        limiter = _BOUND.get()
        if limiter is None:
            return
        parts = urlsplit(str(request.url))
        call = context[_CONTEXT_KEY] = _Call(limiter, f"{parts.scheme}://{parts.netloc}")
    call.sent_at = await call.limiter.acquire(call.endpoint)


def _after_attempt(request_dict: Any = None, response: Any = None, **_: Any) -> float | None:
    """``needs-retry.sts.AssumeRole``: adapt the pace; retry a throttled call (delay 0,
    its next attempt waits for its slot) until its deadline; else botocore decides."""
    context = request_dict.get("context") if isinstance(request_dict, dict) else None
    call = context.get(_CONTEXT_KEY) if isinstance(context, dict) else None
    if not isinstance(call, _Call) or response is None:
        return None  # not paced, or no answer (a connection error): botocore's retries
    http, parsed = response
    code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    limiter = call.limiter
    if code in THROTTLING_CODES:
        limiter.throttled_at(call.endpoint, call.sent_at)
        if limiter.now() - call.first < limiter.deadline:
            return 0.0
        return None  # past its deadline: botocore's handler (out of attempts) lets it fail
    if getattr(http, "status_code", 500) < 300:
        limiter.succeeded(call.endpoint)
    return None


def install(client: Any) -> None:
    """Register the pacing handlers on an aiobotocore STS client's own events.

    Only tasks with a limiter bound (``bind``) are paced through it.
    """
    events = client.meta.events
    # Distinct ids: botocore ignores a second registration under an id already used.
    events.register_first(
        "request-created.sts.AssumeRole", _before_attempt, unique_id=_CONTEXT_KEY + "-slot"
    )
    events.register_first(
        "needs-retry.sts.AssumeRole", _after_attempt, unique_id=_CONTEXT_KEY + "-retry"
    )
