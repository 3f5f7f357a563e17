"""Outage benchmark: what callers of one session pay when STS is down, or merely slow.

    python benchmarks/outage.py [--repeats 3] [--max-n 1000] [--only static]

Checks the two promises of the refresh engine (``aio_assume_role/_refresh.py``),
against endpoints the script starts itself (dummy keys, a temporary empty AWS
config, so neither real AWS nor ``~/.aws`` is touched), in one process:

1. Outage. STS refuses connections: the endpoint is a port on 127.0.0.1 that is
   bound but never listened on (kept bound, so nothing else can take it). The
   parent session keeps botocore's default retries (legacy mode: 5 attempts, with
   its real randomized exponential backoff sleeps, several seconds in all). N
   concurrent first-use callers of one fresh child session each await
   ``(await child.get_credentials()).get_frozen_credentials()`` and record their
   own latency until it raises. Promised: one refresh in flight, its error shared
   with every waiter; so N=1000 callers take as long as one, and STS sees the
   attempts of one fetch, not N times as many.

   Per N, medians over the repeats: the callers' p50 latency; the slowest
   caller's latency (min-max over the repeats in brackets); that slowest latency
   over the N=1 run's slowest in the same repeat; the AssumeRole attempts made
   (counted client-side on the parent's ``before-send.sts.AssumeRole`` event, which
   botocore emits once per attempt); the callers that got the error (the worst
   repeat: must be N of N); and the fetch's own duration, as the engine's refresh
   event reports it. The backoff sleeps are random (up to 15 s in all), so each
   repeat seeds Python's ``random`` the same way for every N: the runs of one
   repeat sleep alike, and the ratio shows the engine's cost, not the dice.

2. Advisory refresh against a slow endpoint. A moto server in this process
   (``tests/moto_sts.py``); a fresh child's credentials (one hour) are fetched,
   then ``calls`` concurrent ``get_frozen_credentials()`` calls are timed each:
   first with no refresh due (the baseline), then with the library's clock moved
   47 minutes on, into the advisory window (unjittered), while the next AssumeRole
   answer is delayed 2 s. Promised: nobody waits; the first caller starts a
   background refresh and every caller gets the current credentials at once. A
   third row times as many calls again while that refresh is in flight (0.5 s into
   it, after an untimed round). The clock is read through the same shifted
   function in every row (shifted by zero for the baseline), and one untimed round
   runs first, so the rows differ only in what the engine does. Latencies are
   microseconds: p50, p99 and max per row, medians over the repeats, and each
   row's p99 over the baseline's. At this scale a row shows the work its path does
   (the advisory path also checks for a refresh in flight) and, in its tail, the
   machine's noise (a preemption, a GIL hand-off to the server's threads); a
   caller that waited for the refresh would take seconds. The script waits for the
   refresh to finish (a refresh listener) and reports how long it took.

3. Static stability (the 2026 SDKs' rules). (a) Hour-long credentials; the moto
   server answers 503 to every AssumeRole from 20 minutes before expiry until 90
   seconds before it (an 18.5-minute regional incident); the library's clock (and
   moto's) moves in 15-second steps; at each step 20 concurrent callers read the
   credentials and one request is signed through a client of the child session.
   Real jitter (a new seed per repeat), botocore's default retries (legacy, with
   their real sleeps). Promised: 0 failed calls, at most 5 refresh attempts. (b) The
   same with 15-minute credentials, the outage scaled to their windows (from 5
   minutes before expiry, the advisory window, until 90 s before). (c) An endpoint
   that accepts connections and never answers: how long a first use takes to fail,
   with the default deadline (30 s) and with ``refresh_timeout=5``. (d) A service
   that rejects the first credentials with ``ExpiredToken``: 1 and 100 concurrent
   requests, the extra AssumeRole calls they cost, and whether they succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import logging
import math
import os
import random
import shlex
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiobotocore
import botocore
from aiobotocore.session import AioSession, get_session

from aio_assume_role import assume_role, testing
from aio_assume_role._core import clock as _clock
from aio_assume_role._core.refresh import RefreshEvent, add_refresh_listener

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from moto_sts import StsServer

OUTAGE_ROLE = "arn:aws:iam::123456789012:role/Outage"
ADVISORY_ROLE = "arn:aws:iam::123456789012:role/Advisory"
ADVANCE = datetime.timedelta(minutes=47)  # 1-hour credentials: advisory from 45 to 59 min
DELAY = 2.0  # seconds the slow endpoint takes to answer the advisory refresh
IN_FLIGHT_AFTER = 0.5  # seconds into that refresh when the third row's calls are made
OUTAGE_GOAL = 1.2
ADVISORY_GOAL = 1.1
BEFORE = (
    "before (aiobotocore's refresh lock, measured in issue 9): "
    "N=10 p50 36 s, max 59 s vs N=1 9.7 s"
)


def isolate_aws_env(workdir: str) -> None:
    """Dummy keys and empty config files: never real AWS, never ``~/.aws``."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    empty = Path(workdir, "config")
    empty.write_text("")
    os.environ.update(
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )


def parent_session(endpoint: str) -> AioSession:
    """A parent session whose STS calls go to ``endpoint``, with default retries."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return get_session()


def closed_port() -> socket.socket:
    """A 127.0.0.1 socket bound to a free port, never listening: connections are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def counts_of_n(max_n: int) -> list[int]:
    counts = [n for n in (1, 10, 100, 1000) if n <= max_n]
    if max_n not in counts:
        counts.append(max_n)
    return counts


# --- 1. outage ----------------------------------------------------------------------


@dataclass
class OutageRun:
    latencies: list[float]
    errors: int
    error_types: set[str]
    attempts: int
    fetches: list[RefreshEvent]


class AttemptCounter:
    """Counts AssumeRole attempts: botocore emits ``before-send`` once per attempt."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **kwargs: Any) -> None:
        self.count += 1  # returns None: the request goes on to be sent


async def outage_once(parent: AioSession, counter: AttemptCounter, n: int, seed: int) -> OutageRun:
    """N concurrent first uses of one fresh child session while STS refuses connections."""
    child = assume_role(parent, OUTAGE_ROLE)
    events: list[RefreshEvent] = []
    remove = add_refresh_listener(events.append)

    async def caller() -> tuple[float, str | None]:
        started = time.perf_counter()
        try:
            credentials = await child.get_credentials()
            await credentials.get_frozen_credentials()
        except Exception as error:
            return time.perf_counter() - started, type(error).__name__
        return time.perf_counter() - started, None

    counter.count = 0
    random.seed(seed)  # the same backoff sleeps for every N of this repeat
    try:
        results = await asyncio.gather(*(caller() for _ in range(n)))
    finally:
        remove()
    types = {kind for _, kind in results if kind is not None}
    errors = sum(1 for _, kind in results if kind is not None)
    return OutageRun([latency for latency, _ in results], errors, types, counter.count, events)


async def outage(args: argparse.Namespace, counts: list[int]) -> dict[int, list[OutageRun]]:
    sock = closed_port()
    try:
        parent = parent_session(f"http://127.0.0.1:{sock.getsockname()[1]}")
        counter = AttemptCounter()
        parent.register("before-send.sts.AssumeRole", counter)
        async with parent.create_client("sts"):
            pass  # untimed: loads the STS model and endpoint data once, for every run
        runs: dict[int, list[OutageRun]] = {n: [] for n in counts}
        for repeat in range(args.repeats):
            for n in counts:
                run = await outage_once(parent, counter, n, seed=repeat)
                runs[n].append(run)
                print(
                    f"outage repeat {repeat + 1}/{args.repeats} N={n}: "
                    f"max {max(run.latencies):.2f} s, {run.attempts} attempts, "
                    f"{run.errors}/{n} errors",
                    file=sys.stderr,
                )
        return runs
    finally:
        sock.close()


def outage_table(runs: dict[int, list[OutageRun]], counts: list[int]) -> list[str]:
    base = runs[counts[0]]
    rows = [
        "| N | p50 s | max s (min-max) | max / N=1 max | AssumeRole attempts "
        "| callers with the error | one fetch s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    summary: dict[int, tuple[float, float]] = {}
    for n in counts:
        repeats = runs[n]
        p50 = statistics.median(statistics.median(run.latencies) for run in repeats)
        maxes = [max(run.latencies) for run in repeats]
        pairs = zip(repeats, base, strict=True)
        ratio = statistics.median(max(run.latencies) / max(one.latencies) for run, one in pairs)
        attempts = sorted(run.attempts for run in repeats)
        attempt_cell = str(attempts[0])
        if attempts[0] != attempts[-1]:
            attempt_cell = f"{statistics.median(attempts):g} ({attempts[0]}-{attempts[-1]})"
        errors = min(run.errors for run in repeats)
        durations = [event.duration for run in repeats for event in run.fetches]
        fetch = f"{statistics.median(durations):.2f}" if durations else "n/a"
        fetch_count = {len(run.fetches) for run in repeats}
        if fetch_count != {1}:
            fetch += f" ({'/'.join(map(str, sorted(fetch_count)))} fetches)"
        rows.append(
            f"| {n} | {p50:.2f} | {statistics.median(maxes):.2f} "
            f"({min(maxes):.2f}-{max(maxes):.2f}) | {ratio:.2f}x | {attempt_cell} "
            f"| {errors}/{n} | {fetch} |"
        )
        summary[n] = (ratio, statistics.median(attempts))
    largest, first = counts[-1], counts[0]
    ratio, attempts = summary[largest]
    one_fetch = summary[first][1]
    all_errors = all(run.errors == n for n in counts for run in runs[n])
    types = sorted({kind for n in counts for run in runs[n] for kind in run.error_types})
    rows += [
        "",
        f"goal: slowest of N={largest} within {OUTAGE_GOAL}x of N={first}: {ratio:.2f}x, "
        + ("met" if ratio <= OUTAGE_GOAL else "NOT met"),
        f"goal: attempts at N={largest} equal one fetch's ({one_fetch:g}), not N times: "
        f"{attempts:g}, " + ("met" if attempts == one_fetch else "NOT met"),
        f"every caller got the error: {'yes' if all_errors else 'NO'} "
        f"({', '.join(types) or 'no errors'})",
        BEFORE,
    ]
    return rows


# --- 2. advisory refresh ------------------------------------------------------------


@dataclass
class AdvisoryRun:
    rows: dict[str, list[float]]  # microseconds per call
    served_current: int  # advisory callers given the credentials from before the refresh
    callers_done: float  # seconds until the advisory batch had all its answers
    in_flight: bool  # the refresh was still running when the third row's calls were made
    refresh: RefreshEvent | None


async def timed_calls(credentials: Any, calls: int) -> tuple[list[float], list[Any], float]:
    """``calls`` concurrent ``get_frozen_credentials()``: each one's latency in microseconds,
    each one's answer, and the seconds until all had answered."""

    async def one() -> tuple[float, Any]:
        started = time.perf_counter_ns()
        frozen = await credentials.get_frozen_credentials()
        return (time.perf_counter_ns() - started) / 1000, frozen

    gc.collect()
    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(calls)))
    elapsed = time.perf_counter() - started
    return [latency for latency, _ in results], [frozen for _, frozen in results], elapsed


async def advisory_once(
    parent: AioSession, server: StsServer, calls: int, delay: float
) -> AdvisoryRun:
    """Baseline, advisory and in-flight rows for one fresh child; waits for its refresh."""
    refreshed = asyncio.Event()
    seen: list[RefreshEvent] = []

    def listener(event: RefreshEvent) -> None:
        if event.role_arn == ADVISORY_ROLE and event.trigger == "advisory":
            seen.append(event)
            refreshed.set()

    # Every row reads the clock through the same shifted function, so the rows differ
    # only in what the engine does; the baseline's shift is zero.
    shift = [datetime.timedelta(0)]
    real_now = _clock.now
    _clock.now = lambda: real_now() + shift[0]
    remove = add_refresh_listener(listener)
    try:
        child = assume_role(parent, ADVISORY_ROLE)
        await child.prefetch_credentials()
        credentials = await child.get_credentials()
        current = await credentials.get_frozen_credentials()
        await timed_calls(credentials, calls)  # untimed warm-up
        baseline, _, _ = await timed_calls(credentials, calls)

        server.delay_next(delay)
        shift[0] = ADVANCE
        advisory, answers, callers_done = await timed_calls(credentials, calls)
        await asyncio.sleep(min(IN_FLIGHT_AFTER, delay / 2))
        await timed_calls(credentials, calls)  # untimed: the CPU was idle meanwhile
        in_flight = not refreshed.is_set()
        during, _, _ = await timed_calls(credentials, calls)
        await asyncio.wait_for(refreshed.wait(), timeout=delay + 30)
    finally:
        _clock.now = real_now
        remove()
    return AdvisoryRun(
        rows={"baseline": baseline, "advisory": advisory, "in flight": during},
        served_current=sum(1 for frozen in answers if frozen is current),
        callers_done=callers_done,
        in_flight=in_flight,
        refresh=seen[0] if seen else None,
    )


async def advisory(args: argparse.Namespace) -> list[AdvisoryRun]:
    server = StsServer().start()
    real_fraction = _clock.random_fraction
    _clock.random_fraction = lambda: 0.0  # the advisory point is not jittered
    try:
        parent = parent_session(server.endpoint)
        # Untimed, with a fast endpoint: the advisory path's first run in this process
        # (the interpreter specializes code as it warms up) is not measured.
        await advisory_once(parent, server, args.calls, delay=0.0)
        runs = []
        for repeat in range(args.repeats):
            run = await advisory_once(parent, server, args.calls, DELAY)
            runs.append(run)
            print(
                f"advisory repeat {repeat + 1}/{args.repeats}: p99 "
                f"{percentile(run.rows['baseline'], 0.99):.1f} -> "
                f"{percentile(run.rows['advisory'], 0.99):.1f} us, refresh "
                f"{run.refresh.duration if run.refresh else float('nan'):.2f} s",
                file=sys.stderr,
            )
        return runs
    finally:
        _clock.random_fraction = real_fraction
        server.stop()


def advisory_table(runs: list[AdvisoryRun], calls: int) -> list[str]:
    labels = {
        "baseline": "baseline: no refresh due",
        "advisory": "advisory window: 1st caller starts the refresh",
        "in flight": f"advisory, refresh in flight ({IN_FLIGHT_AFTER} s in)",
    }
    base_p99 = statistics.median(percentile(run.rows["baseline"], 0.99) for run in runs)
    rows = [
        f"| {calls} concurrent calls | p50 us | p99 us | max us | p99 / baseline p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    p99s: dict[str, float] = {}
    for key, label in labels.items():
        p50 = statistics.median(statistics.median(run.rows[key]) for run in runs)
        p99 = p99s[key] = statistics.median(percentile(run.rows[key], 0.99) for run in runs)
        top = statistics.median(max(run.rows[key]) for run in runs)
        rows.append(f"| {label} | {p50:.1f} | {p99:.1f} | {top:.1f} | {p99 / base_p99:.2f}x |")
    ratio = p99s["advisory"] / base_p99
    durations = [run.refresh.duration for run in runs if run.refresh is not None]
    sources = sorted({str(run.refresh.source) for run in runs if run.refresh is not None})
    served = min(run.served_current for run in runs)
    done_ms = statistics.median(run.callers_done for run in runs) * 1000
    rows += [
        "",
        f"goal: p99 in the advisory window within {ADVISORY_GOAL}x of the baseline: "
        f"{ratio:.2f}x, " + ("met" if ratio <= ADVISORY_GOAL else "NOT met"),
        f"advisory callers served the current credentials at once: {served}/{calls} "
        f"(all {calls} answered within {done_ms:.1f} ms)",
        f"background refresh (endpoint delayed {DELAY:g} s): took "
        + (
            f"{statistics.median(durations):.2f} s (median; {min(durations):.2f}-"
            f"{max(durations):.2f}), source {', '.join(sources)}, "
            f"in {len(durations)}/{len(runs)} repeats"
            if durations
            else "n/a: it never finished"
        )
        + "; nobody waited for it",
        "still in flight when the third row's calls were made: "
        f"{sum(run.in_flight for run in runs)}/{len(runs)} repeats",
    ]
    return rows


# --- 3. static stability ------------------------------------------------------------

STATIC_BEFORE = (
    "before (the engine of 0.1.0, measured in the issue): 1,113 of 1,575 calls failed, "
    "112 AssumeRole attempts; a silent endpoint failed a first use after 304 s"
)


@dataclass
class StaticRun:
    calls: int
    failed: int
    attempts: int  # refreshes after the first use (RefreshEvents)
    requests: int  # AssumeRole requests that reached the server after the first use


async def ride_out(server: StsServer, lifetime: int, outage_from: int, seed: int) -> StaticRun:
    """One outage: ``outage_from`` seconds before expiry until 90 s before, 15 s steps."""
    random.seed(seed)
    events: list[RefreshEvent] = []
    remove = add_refresh_listener(events.append)
    server.reset()
    parent = parent_session(server.endpoint)
    try:
        with testing.moved_clock(moto=True) as clock:
            child = assume_role(parent, OUTAGE_ROLE, DurationSeconds=lifetime)
            credentials = await child.get_credentials()
            await credentials.get_frozen_credentials()
            expiry = credentials.expiry_time
            before = server.count()
            clock.advance(lifetime - outage_from)
            server.fail_next(status=503, code="ServiceUnavailable", times=1_000_000)
            calls = failed = 0
            async with child.create_client("sts") as sts:
                while (expiry - _clock.now()).total_seconds() > 15:
                    clock.advance(15)
                    if (expiry - _clock.now()).total_seconds() <= 90:
                        server.clear_faults()
                    results = await asyncio.gather(
                        *(credentials.get_frozen_credentials() for _ in range(20)),
                        sts.get_caller_identity(),
                        return_exceptions=True,
                    )
                    calls += len(results)
                    failed += sum(isinstance(result, BaseException) for result in results)
                    await testing.wait_for_refreshes()
            return StaticRun(calls, failed, len(events) - 1, server.count() - before)
    finally:
        remove()
        server.clear_faults()


async def silent_first_use(refresh_timeout: float | None) -> tuple[float, str]:
    """Seconds until a first use against a never-answering endpoint fails, and the error."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        child = assume_role(
            parent_session(f"http://127.0.0.1:{silent.getsockname()[1]}"), OUTAGE_ROLE
        )
        if refresh_timeout is not None:
            child.refresh_timeout = refresh_timeout
        started = time.perf_counter()
        try:
            await child.prefetch_credentials()
            error = "no error"
        except Exception as caught:
            error = type(caught).__name__
        return time.perf_counter() - started, error


async def rejected(server: StsServer, requests: int) -> tuple[int, int]:
    """(extra AssumeRole calls, succeeded requests) when the first credentials are rejected."""
    server.reset()
    child = assume_role(parent_session(server.endpoint), ADVISORY_ROLE)
    first = await (await child.get_credentials()).get_frozen_credentials()
    server.reject_key(first.access_key)
    async with child.create_client("sts") as sts:
        results = await asyncio.gather(
            *(sts.get_caller_identity() for _ in range(requests)), return_exceptions=True
        )
    return server.count() - 1, sum(not isinstance(result, BaseException) for result in results)


async def static_stability(args: argparse.Namespace) -> list[str]:
    server = StsServer().start()
    rows = [STATIC_BEFORE, ""]
    try:
        for name, lifetime, outage_from in (
            ("(a) 1-hour credentials, outage from 20 min to 90 s before expiry", 3600, 20 * 60),
            ("(b) 15-minute credentials, outage from 5 min to 90 s before expiry", 900, 5 * 60),
        ):
            runs = [
                await ride_out(server, lifetime, outage_from, seed) for seed in range(args.repeats)
            ]
            worst_failed = max(run.failed for run in runs)
            worst_attempts = max(run.attempts for run in runs)
            rows.append(
                f"{name}: failed calls {worst_failed} of {runs[0].calls} (worst repeat; goal 0), "
                f"refresh attempts median {statistics.median(r.attempts for r in runs):g}, "
                f"max {worst_attempts} (goal <= 5), AssumeRole requests with botocore's "
                f"retries median {statistics.median(r.requests for r in runs):g} "
                f"-> {'met' if worst_failed == 0 and worst_attempts <= 5 else 'NOT MET'}"
            )
    finally:
        for requests in (1, 100):
            extra, ok = await rejected(server, requests)
            verdict = "met" if extra == 1 and ok == requests else "NOT MET"
            rows.append(
                f"(d) {requests} request(s) rejected with ExpiredToken: {ok}/{requests} "
                f"succeeded, {extra} extra AssumeRole (goal 1) -> {verdict}"
            )
        server.stop()
    for timeout in (None, 5.0):
        seconds, error = await silent_first_use(timeout)
        label = "default deadline (30 s)" if timeout is None else f"refresh_timeout={timeout:g}"
        rows.append(
            f"(c) silent endpoint, {label}: first use failed after {seconds:.1f} s with {error}"
        )
    return rows


# --- main ---------------------------------------------------------------------------


async def run_all(args: argparse.Namespace, counts: list[int]) -> tuple[Any, Any, Any]:
    if args.only == "static":
        return None, None, await static_stability(args)
    outage_runs = await outage(args, counts)
    advisory_runs = await advisory(args)
    return outage_runs, advisory_runs, await static_stability(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per N and row (default 3)")
    parser.add_argument("--max-n", type=int, default=1000, help="largest N (default 1000)")
    parser.add_argument("--calls", type=int, default=1000, help="calls per advisory row")
    parser.add_argument("--only", choices=["static"], help="run section 3 alone")
    args = parser.parse_args()
    counts = counts_of_n(args.max_n)
    # A failed refresh logs a WARNING per run; the tables report the failures instead.
    logging.getLogger("aio_assume_role").addHandler(logging.NullHandler())
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    print(
        f"aiobotocore {aiobotocore.__version__}, botocore {botocore.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(f"command: python {shlex.join(sys.argv)}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        isolate_aws_env(workdir)
        outage_runs, advisory_runs, static_rows = asyncio.run(run_all(args, counts))

    if outage_runs is not None:
        print_first_sections(args, counts, outage_runs, advisory_runs)
    print(f"\n3. Static stability; {args.repeats} repeats\n")
    print("\n".join(static_rows))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


def print_first_sections(
    args: argparse.Namespace, counts: list[int], outage_runs: Any, advisory_runs: Any
) -> None:
    print(
        f"\n1. Outage: STS refuses connections, default retries (legacy, 5 attempts); "
        f"concurrent first uses of one session; median of {args.repeats} repeats\n"
    )
    print("\n".join(outage_table(outage_runs, counts)))
    print(
        f"\n2. Advisory refresh against a slow endpoint (moto, next AssumeRole delayed "
        f"{DELAY:g} s); median of {args.repeats} repeats\n"
    )
    print("\n".join(advisory_table(advisory_runs, args.calls)))


if __name__ == "__main__":
    main()
