"""``TenantSessions`` under a multi-tenant load: peak RSS, AssumeRole calls, latency.

    python benchmarks/tenants.py [--tenants 1000,10000] [--requests 5000] [--repeats 3]

Against the local STS stub (``_endpoints.start_stub``, its own process), which is also
the service: each request is one ``GetCallerIdentity`` through the tenant's client,
checked against the tenant's account. Requests are drawn with a Zipf-like skew
(weight 1/rank^1.1, a fixed seed) over N tenants (a role per account, each with its
ExternalId), 100 at a time. Each (variant, N, repeat) runs in a fresh process, repeats
interleaved; figures are medians, with min-max:

  registry   ``TenantSessions(max_clients=100)`` (sessions bounded at 1,000, a dict
             cache behind them so a forgotten tenant's credentials are found again);
             its default ``share_clients=True``: one STS client for every tenant, each
             call signed with the requesting tenant's credentials
  own        the same with ``share_clients=False``: a client per tenant, at most 100
             open, the least recently used idle one closed for the next
  static     a hand-made dict of 100 premade clients with static credentials, tenant i
             served by client i mod 100: the per-request floor, no AssumeRole at all

Printed: peak RSS, AssumeRole calls (counted at the stub) against tenants touched,
evictions, p50/p99 request latency and their ratio to ``static``; then the memory of
an idle tenant with no client open (a session holding credentials), from the growth of
RSS and of the Python heap (tracemalloc) over 2,000 of them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _endpoints import isolated_env, start_stub

CONCURRENCY = 100
MAX_CLIENTS = 100
MAX_SESSIONS = 1000
VARIANTS = ("registry", "own", "static")


def account(index: int) -> str:
    return f"{300000000000 + index:012d}"


def draws(tenants: int, requests: int) -> list[int]:
    weights = [1 / (rank**1.1) for rank in range(1, tenants + 1)]
    return random.Random(22).choices(
        range(tenants), cum_weights=list(itertools.accumulate(weights)), k=requests
    )


def rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def run(variant: str, tenants: int, requests: int) -> dict[str, Any]:
    from aiobotocore.session import get_session

    from aio_assume_role import TenantSessions

    parent = get_session()
    sequence = draws(tenants, requests)
    latencies: list[float] = []
    queue = iter(sequence)
    result: dict[str, Any] = {"touched": len(set(sequence))}

    async def drive(call: Any) -> None:
        async def worker() -> None:
            for index in queue:
                start = time.perf_counter()
                assert await call(index) == account(index)
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    if variant in ("registry", "own"):
        async with TenantSessions(
            parent,
            max_clients=MAX_CLIENTS,
            max_sessions=MAX_SESSIONS,
            cache={},
            share_clients=variant == "registry",
        ) as registry:

            async def call(index: int) -> str:
                role = f"arn:aws:iam::{account(index)}:role/Vendor"
                async with registry.client(role, "sts", ExternalId=f"ext-{index}") as sts:
                    return str((await sts.get_caller_identity())["Account"])

            await drive(call)
            stats = registry.stats()
        result.update(evictions=stats.evictions, tenant_evictions=stats.tenant_evictions)
    else:
        from contextlib import AsyncExitStack

        from _endpoints import stub_key

        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    parent.create_client(
                        "sts",
                        aws_access_key_id=stub_key(account(slot), 1),
                        aws_secret_access_key="secret",
                        aws_session_token="token",
                    )
                )
                for slot in range(MAX_CLIENTS)
            ]

            async def call(index: int) -> str:
                # The stub answers with the signing key's account: slot i's, here.
                answer = await clients[index % MAX_CLIENTS].get_caller_identity()
                return account(index) if answer["Account"] == account(index % MAX_CLIENTS) else ""

            await drive(call)
    latencies.sort()
    result.update(
        p50=latencies[len(latencies) // 2] * 1000,
        p99=latencies[int(len(latencies) * 0.99)] * 1000,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    return result


async def idle_tenant_memory(count: int, traced: bool) -> float:
    """KiB per tenant whose session holds credentials and has no client open: the growth
    of RSS, or (``traced``) of the Python heap as tracemalloc counts it. The sessions
    fetch their credentials ``CONCURRENCY`` at a time, as a service's requests would, so
    what is measured is what the tenants keep, not the buffers of 2,000 fetches at once."""
    import gc
    import tracemalloc

    from aiobotocore.session import get_session

    from aio_assume_role import TenantSessions

    async with TenantSessions(get_session(), max_clients=1, max_sessions=count * 2) as registry:
        warm = registry.session("arn:aws:iam::300000000000:role/Vendor")
        await warm.prefetch_credentials()
        gc.collect()
        if traced:
            tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0] // 1024 if traced else rss_kb()
        sessions = [
            registry.session(f"arn:aws:iam::{account(i)}:role/Vendor", ExternalId=f"ext-{i}")
            for i in range(1, count + 1)
        ]
        for start in range(0, count, CONCURRENCY):
            batch = sessions[start : start + CONCURRENCY]
            await asyncio.gather(*(s.prefetch_credentials() for s in batch))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] // 1024 if traced else rss_kb()
        return (after - before) / count


def child(args: argparse.Namespace) -> None:
    if args.child in ("idle", "idle-traced"):
        kib = asyncio.run(idle_tenant_memory(args.n, traced=args.child == "idle-traced"))
        print(json.dumps({"kib": kib}))
    else:
        print(json.dumps(asyncio.run(run(args.child, args.n, args.requests))))


def spawn(env: dict[str, str], what: str, n: int, requests: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, "--n", str(n), "--requests", str(requests)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    low, middle, high = (fmt.format(f(values)) for f in (min, statistics.median, max))
    return f"{middle} ({low}-{high})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", default="1000,10000")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle", type=int, default=2000, help="tenants for the idle figure")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    sizes = [int(size) for size in args.tenants.split(",")]
    with tempfile.TemporaryDirectory() as home, start_stub() as stub:
        env = isolated_env(stub.url, Path(home))
        runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for _ in range(args.repeats):
            for size in sizes:
                for variant in VARIANTS:
                    before = stub.stats()
                    result = spawn(env, variant, size, args.requests)
                    after = stub.stats()
                    assert before is not None and after is not None
                    result["assume_role"] = after["requests"] - before["requests"] - args.requests
                    runs.setdefault((variant, size), []).append(result)
        idle = [spawn(env, "idle", args.idle, 0)["kib"] for _ in range(args.repeats)]
        traced = [spawn(env, "idle-traced", args.idle, 0)["kib"] for _ in range(args.repeats)]
    print(
        f"{args.requests} requests per run, Zipf 1/rank^1.1, {CONCURRENCY} concurrent; "
        f"registry max_clients={MAX_CLIENTS}, max_sessions={MAX_SESSIONS}; "
        f"medians of {args.repeats} fresh processes (min-max)"
    )
    for size in sizes:
        static = runs[("static", size)]
        print(f"\n{size} tenants ({static[0]['touched']} touched):")
        for name in VARIANTS:
            results = runs[(name, size)]
            print(
                f"  {name:9} peak RSS {spread([r['peak_rss_mb'] for r in results])} MB, "
                f"p50 {spread([r['p50'] for r in results], '{:.2f}')} ms, "
                f"p99 {spread([r['p99'] for r in results], '{:.2f}')} ms, "
                f"AssumeRole {spread([r['assume_role'] for r in results], '{:.0f}')}"
            )
        for name in ("registry", "own"):
            reg = runs[(name, size)]
            pairs = list(zip(reg, static, strict=True))  # the same repeat: interleaved
            p50 = spread([r["p50"] / s["p50"] for r, s in pairs], "{:.2f}")
            p99 = spread([r["p99"] / s["p99"] for r, s in pairs], "{:.2f}")
            print(
                f"  {name}/static: p50 {p50}x, p99 {p99}x; "
                f"client evictions {spread([r['evictions'] for r in reg], '{:.0f}')}, "
                f"tenants forgotten {spread([r['tenant_evictions'] for r in reg], '{:.0f}')}"
            )
    if len(sizes) > 1:
        first = statistics.median(r["peak_rss_mb"] for r in runs[("registry", sizes[0])])
        last = statistics.median(r["peak_rss_mb"] for r in runs[("registry", sizes[-1])])
        print(f"\nregistry peak RSS, {sizes[-1]} vs {sizes[0]} tenants: {last / first:.2f}x")
    print(
        f"idle tenant, no client (session with credentials), over {args.idle}: "
        f"RSS {spread(idle)} KiB, Python heap (tracemalloc) {spread(traced)} KiB"
    )


if __name__ == "__main__":
    main()
