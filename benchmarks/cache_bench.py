"""Cache-hit cost and event-loop lag of each credential cache, against a local moto server.

    python benchmarks/cache_bench.py [--hits 30] [--sessions 200] [--repeats 5]
        [--gets 2000] [--processes 8] [--roles 50]

First, the two figures issue 13 item 7 sets goals for: the cost of one cache hit
straight on the cache (``get`` of a warm key: AioJSONFileCache, botocore's
JSONFileCache run in a worker thread with ``asyncio.to_thread``, and inline), with
AioJSONFileCache's ratio to the threaded botocore figure (goal: within 1.2x); and
the event loop's lag (max and p99 gap of a 1 ms ticker) while ``--sessions``
concurrent writes run on an AioJSONFileCache (goal: max under 20 ms). Then item 5's
cold start: ``--processes`` processes each assume the same ``--roles`` roles at
once on one cache directory, counting the AssumeRole calls moto saw, with the
cross-process lock and without it (the behaviour before it).

For each cache: the median cost of a cache-hit first use (the first credential load
of a new session, served from a warm cache; "no cache" makes an AssumeRole call
instead), with and without creating the session; and the median, over repeats, of
the longest the event loop went without running a 1 ms ticker while ``--sessions``
new sessions made their first credential load at once. Then the same lag for
``--sessions`` concurrent write-then-read pairs straight on each cache, where
botocore's synchronous writes (with fsync) show what they cost the loop.

moto runs in its own process, so its request handling does not hold this process's
GIL and inflate the measured lag. No real AWS is contacted: dummy keys, a temporary
AWS config, every client pointed at the local server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

ROLE_ARN = "arn:aws:iam::123456789012:role/BenchRole"
RESPONSE = {  # the shape and size of a real AssumeRole response
    "Credentials": {
        "AccessKeyId": "ASIA" + "X" * 16,
        "SecretAccessKey": "s" * 40,
        "SessionToken": "t" * 800,
        "Expiration": datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc),
    },
    "AssumedRoleUser": {
        "AssumedRoleId": "AROAEXAMPLE:session",
        "Arn": "arn:aws:sts::123456789012:assumed-role/BenchRole/session",
    },
    "PackedPolicySize": 6,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(port: int, recording: str | None = None) -> subprocess.Popen[bytes]:
    """moto in its own process; with ``recording``, it appends every request to that file."""
    env = dict(os.environ)
    if recording is not None:
        env.update(MOTO_ENABLE_RECORDING="true", MOTO_RECORDER_FILEPATH=recording)
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)


def isolate_aws_env(endpoint: str, workdir: str) -> None:
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    for name in ("config", "credentials"):
        with open(os.path.join(workdir, name), "w") as file:
            file.write("[default]\n")
    os.environ.update(
        AWS_CONFIG_FILE=os.path.join(workdir, "config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(workdir, "credentials"),
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint,
    )


def cache_factories() -> dict[str, Callable[[str], Any]]:
    """Each factory takes the directory a file cache should use."""
    from botocore.utils import JSONFileCache

    from aio_assume_role.cache import AioJSONFileCache, MappingCache

    return {
        "AioJSONFileCache": AioJSONFileCache,
        "botocore JSONFileCache (thread)": JSONFileCache,
        # What a synchronous cache does when called on the loop (aiobotocore's own
        # assume-role fetcher calls its cache this way): the comparison baseline.
        "botocore JSONFileCache (inline)": lambda path: MappingCache(JSONFileCache(path)),
        "dict (in memory)": lambda path: {},
        "no cache (AssumeRole)": lambda path: None,
    }


async def max_loop_lag(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(longest gap between 1 ms ticks, wall time) while ``work`` runs."""
    wall = 0.0

    async def timed() -> None:
        nonlocal wall
        started = time.perf_counter()
        try:
            await work()
        finally:
            wall = time.perf_counter() - started

    gaps = await loop_gaps(timed)
    return max(gaps), wall


async def measure_sessions(name: str, cache: Any, args: argparse.Namespace) -> dict[str, float]:
    from aiobotocore.session import get_session

    from aio_assume_role import assume_role

    parent = get_session()
    warm_expiry = await assume_role(parent, ROLE_ARN, cache=cache).prefetch_credentials()
    hit = cache is not None

    loads: list[float] = []
    totals: list[float] = []
    for _ in range(args.hits):
        started = time.perf_counter()
        child = assume_role(parent, ROLE_ARN, cache=cache)
        created = time.perf_counter()
        expiry = await child.prefetch_credentials()
        finished = time.perf_counter()
        # botocore's cache format keeps whole seconds of the expiry.
        if hit and expiry.replace(microsecond=0) != warm_expiry.replace(microsecond=0):
            raise AssertionError(f"{name}: expected a cache hit")
        loads.append(finished - created)
        totals.append(finished - started)

    lags: list[float] = []
    walls: list[float] = []
    # Without a cache every session calls AssumeRole: one (slow) run shows enough.
    for _ in range(args.repeats if hit else 1):
        children = [assume_role(parent, ROLE_ARN, cache=cache) for _ in range(args.sessions)]

        async def first_uses(children: list[Any] = children) -> None:
            await asyncio.gather(*(child.prefetch_credentials() for child in children))

        lag, wall = await max_loop_lag(first_uses)
        lags.append(lag)
        walls.append(wall)
    return {
        "load": statistics.median(loads),
        "total": statistics.median(totals),
        "lag": statistics.median(lags),
        "wall": statistics.median(walls),
    }


async def measure_cache_ops(
    make_cache: Callable[[str], Any], workdir: str, args: argparse.Namespace
) -> dict[str, float]:
    """``args.sessions`` concurrent set-then-get of distinct keys, straight on the cache."""
    from aio_assume_role.cache import as_async_cache

    lags: list[float] = []
    walls: list[float] = []
    for _ in range(args.repeats):
        cache = as_async_cache(make_cache(tempfile.mkdtemp(dir=workdir)))

        async def set_then_get(key: str, cache: Any = cache) -> None:
            await cache.set(key, RESPONSE)
            if await cache.get(key) is None:
                raise AssertionError("cache lost a value")

        async def work(cache: Any = cache) -> None:
            await asyncio.gather(*(set_then_get(f"key{i}") for i in range(args.sessions)))

        lag, wall = await max_loop_lag(work)
        lags.append(lag)
        walls.append(wall)
    return {"ops_lag": statistics.median(lags), "ops_wall": statistics.median(walls)}


# --- item 7: one cache hit, and the loop's lag under concurrent writes ---


async def hit_costs(workdir: str, gets: int) -> dict[str, dict[str, float]]:
    """Seconds per ``get`` of a warm key, each call timed alone; interleaved rounds."""
    from botocore.utils import JSONFileCache

    from aio_assume_role.cache import AioJSONFileCache

    key = "c03ce438bc208f6214854d85d3ca930ff73e3004"
    aio = AioJSONFileCache(tempfile.mkdtemp(dir=workdir))
    await aio.set(key, RESPONSE)
    botocore_cache = JSONFileCache(tempfile.mkdtemp(dir=workdir))
    botocore_cache[key] = RESPONSE

    async def aio_get() -> object:
        return await aio.get(key)

    async def threaded_get() -> object:
        return await asyncio.to_thread(botocore_cache.__getitem__, key)

    async def inline_get() -> object:
        return botocore_cache[key]

    ways = {
        "AioJSONFileCache": aio_get,
        "botocore JSONFileCache (asyncio.to_thread)": threaded_get,
        "botocore JSONFileCache (inline)": inline_get,
    }
    walls: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, float] = dict.fromkeys(ways, 0.0)
    for _ in range(10):  # warm up each way
        for get in ways.values():
            await get()
    for _ in range(gets // 100):
        for name, get in ways.items():
            cpu_started = time.process_time()
            for _ in range(100):
                started = time.perf_counter()
                if not await get():
                    raise AssertionError(f"{name}: expected a hit")
                walls[name].append(time.perf_counter() - started)
            cpu[name] += time.process_time() - cpu_started
    return {
        name: {
            "median": statistics.median(times),
            "min": min(times),
            "max": max(times),
            "cpu": cpu[name] / len(times),
        }
        for name, times in walls.items()
    }


async def loop_gaps(work: Callable[[], Awaitable[object]]) -> list[float]:
    """Every gap between the runs of a 1 ms ticker while ``work`` runs."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    try:
        await work()
    finally:
        done.set()
        await task
    return gaps


async def write_lag(workdir: str, writes: int, repeats: int) -> dict[str, float]:
    """Ticker gaps during ``writes`` concurrent sets: the median over ``repeats`` runs of
    each run's max, and the p99 of all runs' gaps pooled (one run has too few for a p99)."""
    from aio_assume_role.cache import AioJSONFileCache

    maxima: list[float] = []
    pooled: list[float] = []
    for _ in range(repeats):
        cache = AioJSONFileCache(tempfile.mkdtemp(dir=workdir))

        async def work(cache: Any = cache) -> None:
            await asyncio.gather(*(cache.set(f"key{i}", RESPONSE) for i in range(writes)))

        gaps = await loop_gaps(work)
        maxima.append(max(gaps))
        pooled.extend(gaps)
    pooled.sort()
    return {
        "max": statistics.median(maxima),
        "p99": pooled[min(len(pooled) - 1, int(len(pooled) * 0.99))],
        "gaps": len(pooled),
    }


def print_item_7(hits: dict[str, dict[str, float]], lag: dict[str, float], args: Any) -> None:
    threaded = hits["botocore JSONFileCache (asyncio.to_thread)"]["median"]
    print(f"One cache hit (get of a warm key), {args.gets} timed calls each:\n")
    print("| cache | median, µs | min-max, µs | CPU per get, µs | median vs threaded botocore |")
    print("|---|---:|---:|---:|---:|")
    for name, row in hits.items():
        print(
            f"| {name} | {row['median'] * 1e6:.1f} "
            f"| {row['min'] * 1e6:.1f}-{row['max'] * 1e6:.0f} | {row['cpu'] * 1e6:.1f} "
            f"| {row['median'] / threaded:.2f}x |"
        )
    ratio = hits["AioJSONFileCache"]["median"] / threaded
    print(f"\nAioJSONFileCache hit vs botocore's in a worker thread: {ratio:.2f}x (goal <= 1.2x)")
    print(
        f"Event-loop lag during {args.sessions} concurrent AioJSONFileCache writes (1 ms ticker,"
        f" {args.repeats} runs): max {lag['max'] * 1e3:.1f} ms (median of the runs' maxima;"
        f" goal < 20 ms), p99 {lag['p99'] * 1e3:.1f} ms (of all {lag['gaps']:.0f} gaps)\n"
    )


# --- item 5: processes on one host sharing a cache directory ---


def xproc_worker(directory: str, roles: int, no_lock: bool) -> None:
    """One process of the cold start: says "ready", waits for a line, assumes every role."""
    from aiobotocore.session import get_session

    from aio_assume_role import assume_role
    from aio_assume_role.cache import AioJSONFileCache

    class UnlockedCache(AioJSONFileCache):
        lock = None  # type: ignore[assignment]  # the fetcher then skips the step: as before

    cache = (UnlockedCache if no_lock else AioJSONFileCache)(directory)

    async def main() -> None:
        parent = get_session()
        sessions = [
            assume_role(parent, f"arn:aws:iam::123456789012:role/XprocRole{i}", cache=cache)
            for i in range(roles)
        ]
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await asyncio.gather(*(session.prefetch_credentials() for session in sessions))
        print("done", flush=True)

    asyncio.run(main())


def assume_role_calls(recording: str) -> int:
    """AssumeRole requests in moto's recording file."""
    count = 0
    with open(recording) as file:
        for line in file:
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            count += "Action=AssumeRole" in body
    return count


def cold_start(workdir: str, recording: str, args: argparse.Namespace, no_lock: bool) -> float:
    """Start ``args.processes`` workers on a new directory, release them at once; wall s."""
    directory = tempfile.mkdtemp(dir=workdir)
    command = [sys.executable, os.path.abspath(__file__), "--xproc-worker", directory]
    command += [str(args.roles)] + (["--no-lock"] if no_lock else [])
    workers = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(args.processes)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        with open(recording, "w"):
            pass  # forget the requests of earlier runs
        started = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "done"
        return time.perf_counter() - started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
            for pipe in (worker.stdin, worker.stdout):
                if pipe is not None:
                    pipe.close()


def run_item_5(workdir: str, recording: str, args: argparse.Namespace) -> None:
    print(
        f"Cold start: {args.processes} processes x {args.roles} roles at once on one cache"
        " directory:\n"
    )
    print("| | AssumeRole calls (moto) | wall, s |")
    print("|---|---:|---:|")
    for label, no_lock in (("without the lock (before)", True), ("with the lock", False)):
        wall = cold_start(workdir, recording, args, no_lock)
        print(f"| {label} | {assume_role_calls(recording)} | {wall:.2f} |")
    print()


def print_tables(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    base = results["AioJSONFileCache"]
    n = args.sessions
    print(
        "| cache | first load, ms | new session + first load, ms | load vs Aio "
        f"| max loop lag, {n} sessions, ms | lag vs Aio | wall, {n} sessions, ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        print(
            f"| {name} | {row['load'] * 1e3:.2f} | {row['total'] * 1e3:.2f} "
            f"| {row['load'] / base['load']:.2f}x | {row['lag'] * 1e3:.1f} "
            f"| {row['lag'] / base['lag']:.2f}x | {row['wall'] * 1e3:.0f} |"
        )
    print(
        f"\nmedians: first load of {args.hits} new sessions (a cache hit, except without a"
        f" cache); lag and wall of {args.repeats} runs of {n} concurrent first uses"
        " (no cache: 1 run).\n"
    )
    print(f"| cache | max loop lag, {n} set+get, ms | lag vs Aio | wall, {n} set+get, ms |")
    print("|---|---:|---:|---:|")
    for name, row in results.items():
        if "ops_lag" in row:
            print(
                f"| {name} | {row['ops_lag'] * 1e3:.1f} "
                f"| {row['ops_lag'] / base['ops_lag']:.2f}x | {row['ops_wall'] * 1e3:.0f} |"
            )
    print(
        f"\nmedians of {args.repeats} runs of {n} concurrent writes then reads of distinct"
        " keys (an AssumeRole response each), straight on the cache."
    )


async def run(args: argparse.Namespace, workdir: str) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for name, make_cache in cache_factories().items():
        directory = tempfile.mkdtemp(dir=workdir)
        row = await measure_sessions(name, make_cache(directory), args)
        if make_cache(directory) is not None:
            row.update(await measure_cache_ops(make_cache, workdir, args))
        results[name] = row
        print(f"  measured {name}", file=sys.stderr)
    return results


def main() -> None:
    if sys.argv[1:2] == ["--xproc-worker"]:  # a process of the cold start (run_item_5)
        xproc_worker(sys.argv[2], int(sys.argv[3]), "--no-lock" in sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=30, help="cache-hit first uses per cache")
    parser.add_argument("--sessions", type=int, default=200, help="concurrent sessions")
    parser.add_argument("--repeats", type=int, default=5, help="lag runs per cache")
    parser.add_argument(
        "--gets", type=int, default=2000, help="timed cache hits per cache (batches of 100)"
    )
    parser.add_argument("--processes", type=int, default=8, help="cold-start processes")
    parser.add_argument("--roles", type=int, default=50, help="roles per cold-start process")
    args = parser.parse_args()
    if args.gets < 100:
        parser.error("--gets must be at least 100: hits are timed in batches of 100")

    with tempfile.TemporaryDirectory() as workdir:
        recording = os.path.join(workdir, "moto_recording")
        server = start_moto(port := _free_port(), recording)
        try:
            isolate_aws_env(f"http://127.0.0.1:{port}", workdir)
            print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
            hits = asyncio.run(hit_costs(workdir, args.gets))
            lag = asyncio.run(write_lag(workdir, args.sessions, args.repeats))
            print_item_7(hits, lag, args)
            run_item_5(workdir, recording, args)
            started = time.perf_counter()
            results = asyncio.run(run(args, workdir))
            print(f"  total {time.perf_counter() - started:.0f} s", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print_tables(results, args)


if __name__ == "__main__":
    main()
