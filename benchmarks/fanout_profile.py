"""Where ours spends its time over the floor: profile both at N accounts on the STS stub.

    python benchmarks/fanout_profile.py [--n 1000] [--repeats 5] [--cprofile] [--tracemalloc]
    python benchmarks/fanout_profile.py --repeats 1 --count-opcodes 200   # where, in bytecodes

In one process (after a warm-up of each): the floor (one shared STS client,
AssumeRole N times), ours (``fan_out`` with no-op work, as the scale section) and kept
(``assume_role_in_accounts``, sessions kept) alternately, reporting
per variant the median wall and CPU time per account, the garbage collections
per generation (``gc.callbacks``) and the time spent in them, the objects that stay
reachable after the run (``gc.get_objects()`` delta per account, results kept), and
optionally a cProfile (top functions by own time, the package's own code summed)
and tracemalloc (allocation sites by peak size). Set AIO_ASSUME_ROLE_FROM to the
directory holding a scratch copy of ``aio_assume_role`` to measure a candidate change.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
if os.environ.get("AIO_ASSUME_ROLE_FROM"):  # a scratch copy of the package, to try a change
    # An editable install's finder comes before sys.path: take it out of the way.
    sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in type(f).__name__]
    sys.path.insert(0, os.environ["AIO_ASSUME_ROLE_FROM"])

import _endpoints
import fanout


async def floor_kept(ids: list[str], concurrency: int) -> list[Any]:
    """The floor, keeping each response (as ours keeps each session)."""
    from aiobotocore.session import get_session
    from botocore.config import Config

    kept: list[Any] = []
    config = Config(max_pool_connections=concurrency)
    async with get_session().create_client("sts", config=config) as sts:

        async def work(account_id: str) -> None:
            kept.append(
                await sts.assume_role(
                    RoleArn=fanout.role_arn(account_id), RoleSessionName=fanout.SESSION_NAME
                )
            )

        await fanout.bounded(concurrency, ids, work)
    return kept


async def ours_fan_out(ids: list[str], concurrency: int) -> list[Any]:
    """What the scale section's goal measures: ``fan_out`` with no-op work."""
    await fanout.scale_ours(ids, concurrency)
    return []


async def ours_kept(ids: list[str], concurrency: int) -> list[Any]:
    from aiobotocore.session import get_session

    from aio_assume_role.fanout import assume_role_in_accounts

    return [
        result.session
        async for result in assume_role_in_accounts(
            get_session(),
            ids,
            fanout.ROLE_NAME,
            concurrency=concurrency,
            RoleSessionName=fanout.SESSION_NAME,
        )
    ]


async def ours_unpaced(ids: list[str], concurrency: int) -> list[Any]:
    """``fan_out(rate=None)``: the library's own cost, without pacing's event-loop wake-ups."""
    await fanout.scale_unpaced(ids, concurrency)
    return []


VARIANTS = {"floor": floor_kept, "ours": ours_fan_out, "unpaced": ours_unpaced, "kept": ours_kept}


async def one_run(variant: str, n: int, concurrency: int, profile: Any) -> dict[str, Any]:
    counter = fanout.GcCounter()
    gc.callbacks.append(counter)
    gc.collect()
    objects_before = tracked = len(gc.get_objects())
    tracked = objects_before
    counter.on = True
    if profile is not None:
        profile.enable()
    started, cpu = time.perf_counter(), time.process_time()
    kept = await VARIANTS[variant](fanout.account_ids(n), concurrency)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profile is not None:
        profile.disable()
    counter.on = False
    gc.callbacks.remove(counter)
    gc.collect()
    retained = (len(gc.get_objects()) - objects_before) / n
    del kept
    gc.collect()
    return {
        "wall": wall,
        "cpu": cpu,
        "gc": counter.counts,
        "gc_s": counter.seconds,
        "retained": retained,
        "gc_by": counter.by_generation,
        "tracked": tracked,
    }


async def main_async(args: argparse.Namespace) -> None:
    for variant in VARIANTS:  # warm-up
        await VARIANTS[variant](fanout.account_ids(20, first=900_000), args.concurrency)
    if args.freeze:
        gc.freeze()
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    profiles = {v: cProfile.Profile() for v in VARIANTS} if args.cprofile else {}
    for _ in range(args.repeats):
        for variant in VARIANTS:
            results[variant].append(
                await one_run(variant, args.n, args.concurrency, profiles.get(variant))
            )
    import aio_assume_role

    print(
        f"package: {Path(aio_assume_role.__file__).parent}, SCRATCH_FIX="
        f"{os.environ.get('SCRATCH_FIX', '')}"
    )
    print(
        f"N={args.n}, concurrency {args.concurrency}, median of {args.repeats}, one process"
        + (", gc.freeze() after warm-up" if args.freeze else "")
    )
    print(
        "| variant | wall ms/account | CPU ms/account | GCs gen0/1/2 | ms in GC/run "
        "(gen0/1/2) | objects kept/account | objects tracked at start |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for variant, runs in results.items():

        def med(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        gcs = "/".join(str(int(statistics.median(r["gc"][g] for r in runs))) for g in range(3))
        by = "/".join(
            f"{1000 * statistics.median(r['gc_by'][g] for r in runs):.0f}" for g in range(3)
        )
        print(
            f"| {variant} | {1000 * med('wall') / args.n:.3f} | {1000 * med('cpu') / args.n:.3f}"
            f" | {gcs} | {1000 * med('gc_s'):.0f} ({by}) | {med('retained'):.0f} "
            f"| {med('tracked'):.0f} |"
        )
    pairs = list(zip(results["ours"], results["floor"], strict=True))
    paired = [ours["cpu"] / floor["cpu"] for ours, floor in pairs]
    paired_wall = [ours["wall"] / floor["wall"] for ours, floor in pairs]
    print(
        f"ours / floor, paired by repeat: CPU {statistics.median(paired):.2f}x "
        f"({min(paired):.2f}-{max(paired):.2f}), wall {statistics.median(paired_wall):.2f}x"
    )
    if args.count_calls:
        for variant in VARIANTS:
            calls = 0

            def count(frame: Any, event: str, arg: Any) -> None:
                nonlocal calls
                if event == "call":
                    calls += 1

            sys.setprofile(count)
            await VARIANTS[variant](fanout.account_ids(args.count_calls), args.concurrency)
            sys.setprofile(None)
            print(
                f"{variant}: {calls / args.count_calls:.0f} Python calls/account "
                "(coroutine resumptions included; deterministic, unlike times)"
            )
    if args.count_opcodes:
        await count_opcodes(args.count_opcodes, args.concurrency, args.top)
    for variant, profile in profiles.items():
        stream = io.StringIO()
        stats = pstats.Stats(profile, stream=stream)
        own = sum(
            tt
            for (file, _, _), (_, _, tt, _, _) in stats.stats.items()  # type: ignore[attr-defined]
            if "aio_assume_role" in file
        )
        total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.stats.items())  # type: ignore[attr-defined]
        calls = args.n * args.repeats
        print(
            f"\n{variant}: profiled {1000 * total / calls:.3f} ms/account, "
            f"aio_assume_role's own code {1000 * own / calls:.3f} ms/account"
        )
        stats.sort_stats("tottime").print_stats(args.top)
        print("\n".join(stream.getvalue().splitlines()[-args.top - 3 :]))
        stream = io.StringIO()
        stats = pstats.Stats(profile, stream=stream)
        stats.sort_stats("cumulative").print_stats("aio_assume_role", args.top)
        print("\n".join(stream.getvalue().splitlines()[-args.top - 3 :]))
    if args.tracemalloc:
        for variant in VARIANTS:
            gc.collect()
            tracemalloc.start(8)
            kept = await VARIANTS[variant](fanout.account_ids(args.n), args.concurrency)
            snapshot = tracemalloc.take_snapshot()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            top = snapshot.statistics("filename")
            print(
                f"\n{variant}: traced peak {peak / 2**20:.1f} MiB, kept "
                f"{sum(s.size for s in top) / args.n / 1024:.1f} KiB/account; top files:"
            )
            for stat in top[:12]:
                print(
                    f"  {stat.size / args.n:8.0f} B/account {stat.count / args.n:6.1f} "
                    f"blocks/account  {stat.traceback[0].filename.split('site-packages/')[-1]}"
                )
            del kept


async def count_opcodes(n: int, concurrency: int, top: int) -> None:
    """Bytecodes run per account by each function, ``unpaced`` against ``floor``: where the
    library's own cost is, deterministically (``sys.settrace`` with opcode events)."""
    import collections

    async def counted(variant: str) -> collections.Counter[tuple[str, int, str]]:
        counts: collections.Counter[tuple[str, int, str]] = collections.Counter()

        def trace(frame: Any, event: str, arg: Any) -> Any:
            frame.f_trace_opcodes = True
            code = frame.f_code
            key = (code.co_filename, code.co_firstlineno, code.co_name)

            def opcode(frame: Any, event: str, arg: Any) -> Any:
                if event == "opcode":
                    counts[key] += 1
                return opcode

            return opcode

        sys.settrace(trace)
        try:
            await VARIANTS[variant](fanout.account_ids(n), concurrency)
        finally:
            sys.settrace(None)
        return counts

    floor, ours = await counted("floor"), await counted("unpaced")
    own = sum(count for key, count in ours.items() if "aio_assume_role" in key[0])
    print(
        f"\nbytecodes/account: floor {floor.total() / n:.0f}, unpaced {ours.total() / n:.0f} "
        f"(the package's own code {own / n:.0f})"
    )
    keys = ours.keys() | floor.keys()
    extra = collections.Counter({key: ours[key] - floor[key] for key in keys})
    for (file, line, name), count in extra.most_common(top):
        print(f"  {count / n:8.1f}  {file.split('site-packages/')[-1]}:{line}:{name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() after the warm-up")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--count-calls",
        type=int,
        default=0,
        metavar="N",
        help="count Python calls over N accounts",
    )
    parser.add_argument(
        "--count-opcodes",
        type=int,
        default=0,
        metavar="N",
        help="count the bytecodes each function runs over N accounts, unpaced against floor",
    )
    args = parser.parse_args()
    with _endpoints.start_stub() as stub, tempfile.TemporaryDirectory() as home:
        os.environ.update(_endpoints.isolated_env(stub.url, Path(home)))
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
