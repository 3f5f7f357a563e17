"""Cache-hit cost and event-loop lag of each credential cache, against a local moto server.

    python benchmarks/cache_bench.py [--hits 30] [--sessions 200] [--repeats 5]

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
import datetime
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


def start_moto(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
    started = time.perf_counter()
    try:
        await work()
    finally:
        wall = time.perf_counter() - started
        done.set()
        await task
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=30, help="cache-hit first uses per cache")
    parser.add_argument("--sessions", type=int, default=200, help="concurrent sessions")
    parser.add_argument("--repeats", type=int, default=5, help="lag runs per cache")
    args = parser.parse_args()

    server = start_moto(port := _free_port())
    try:
        with tempfile.TemporaryDirectory() as workdir:
            isolate_aws_env(f"http://127.0.0.1:{port}", workdir)
            started = time.perf_counter()
            results = asyncio.run(run(args, workdir))
            print(f"  total {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print_tables(results, args)


if __name__ == "__main__":
    main()
