"""Fan-out benchmark: assume a role in N accounts at once, against local STS endpoints.

    python benchmarks/fanout.py                      # the scale curve on the stub, then --full
    python benchmarks/fanout.py --quick              # a CI smoke run (small N, 1 repeat)
    python benchmarks/fanout.py --sections scale --endpoints stub,moto --n 100,1000
    python benchmarks/fanout.py --sections full --full-accounts 1000 --regions 2

Endpoints (``_endpoints.py``), each in its own process so its CPU never counts
against the client: ``stub``, a canned STS answering AssumeRole (and
GetCallerIdentity) in tens of microseconds, so the client's own cost is what is
measured; and ``moto``, a fresh ``ThreadedMotoServer`` for every single run
(moto slows down as it accumulates state, so a shared server makes later runs
look worse).

Section ``scale``, AssumeRole only, for each N:

  floor    raw aiobotocore: one shared STS client, AssumeRole N times, C at a time
  floor@rate  the same, paced as fan_out paces (DEFAULT_RATE, in groups of a tick's
           worth): the floor of a paced run
  unpaced  ``fan_out(rate=None)``: the library's own cost, against ``floor``
  ours     ``fan_out`` with a work that does nothing: AssumeRole per account, each
           session dropped when its work is done
  kept     ``assume_role_in_accounts``: the sessions, first credentials fetched, all
           kept by the caller (more objects alive, so more garbage collection)
  fetcher  aiobotocore's own fetcher (``AioAssumeRoleCredentialFetcher``, what a
           ``role_arn`` profile uses): a new STS client per call; N <= --fetcher-max-n
  aarl     aws-assume-role-lib (sync) in a pool of C threads
  cove     botocove (threads), a function that does nothing (if importable)

Section ``full``, accounts x regions, each ``work`` creating one STS client in its
region and calling GetCallerIdentity:

  raw      raw aiobotocore, credentials pre-made before the timer (the floor)
  raw+ar   raw aiobotocore, AssumeRole per account through one shared client, then work
  ours     ``fan_out``: AssumeRole once per account, work per (account, region)
  shared   ``fan_out(share_clients=True)``: the same, the work's clients views of one
           client per region for the run (``aio_assume_role.shared_clients``)
  aarl     aws-assume-role-lib, a child session per account, then work, C threads
  cove     botocove over the regions (it assumes the role per account *and region*)

Every (variant, repeat) runs in a fresh process, after an untimed warm-up of 10
accounts; repeats are interleaved (A B C A B C ...) so background load hits the
variants alike; the peers (slow) run in the first --peer-repeats only, and
up to N = --peers-max-n. Reported per variant: median wall and client CPU time
(``time.process_time``, threads included) with min-max over the repeats, the
ratio of the medians to the section's floor, peak RSS of the process
(``getrusage`` maxrss, imports included), garbage collections during the timed
run (gen0/gen1/gen2, and the time they took), and the stub's CPU % over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _endpoints

ROLE_NAME = "fanout-bench"
SESSION_NAME = "fanout-bench"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]

SCALE = {
    "floor": "raw aiobotocore, one shared STS client",
    "floor@rate": "raw aiobotocore, one shared STS client, paced at the default rate",
    "ours": "aio-assume-role fan_out, no-op work",
    "unpaced": "aio-assume-role fan_out(rate=None), no-op work",
    "kept": "aio-assume-role assume_role_in_accounts (sessions kept)",
    "fetcher": "aiobotocore fetcher, client per call",
    "aarl": "aws-assume-role-lib, thread pool",
    "cove": "botocove, thread pool",
}
FULL = {
    "raw": "raw aiobotocore, pre-made credentials",
    "raw+ar": "raw aiobotocore, shared-client AssumeRole + work",
    "ours": "aio-assume-role fan_out + work",
    "shared": "aio-assume-role fan_out(share_clients=True) + work",
    "aarl": "aws-assume-role-lib + work, thread pool",
    "cove": "botocove over regions, thread pool",
}


OWN_AND_FLOORS = ("floor", "floor@rate", "ours", "unpaced", "kept", "raw", "raw+ar", "shared")


def account_ids(n: int, first: int = 0) -> list[str]:
    return [f"{210000000000 + first + i:012d}" for i in range(n)]


def role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{ROLE_NAME}"


async def bounded(
    concurrency: int, items: list[Any], work: Callable[[Any], Awaitable[Any]]
) -> None:
    """Run ``work(item)`` for every item, ``concurrency`` at a time (C worker tasks)."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await work(item)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))


def check_identity(identity: dict[str, Any], account_id: str) -> None:
    if identity["Account"] != account_id:
        raise AssertionError(f"signed as {identity['Account']}, expected {account_id}")


# --- section scale: AssumeRole only --------------------------------------------------


async def scale_floor(ids: list[str], concurrency: int) -> None:
    from aiobotocore.session import get_session
    from botocore.config import Config

    config = Config(max_pool_connections=concurrency)
    async with get_session().create_client("sts", config=config) as sts:

        async def work(account_id: str) -> None:
            await sts.assume_role(RoleArn=role_arn(account_id), RoleSessionName=SESSION_NAME)

        await bounded(concurrency, ids, work)


async def scale_floor_paced(ids: list[str], concurrency: int) -> None:
    """The floor for a paced run: the same calls, paced as ``fan_out`` paces them (groups
    of a tick's worth at the default rate, one group a tick), so what ``ours`` pays for
    pacing beyond its lost bursts of ``concurrency`` is measured against this."""
    from aiobotocore.session import get_session
    from botocore.config import Config

    from aio_assume_role._core.pacing import TICK_SECONDS
    from aio_assume_role.fanout import DEFAULT_RATE

    group = max(1, int(DEFAULT_RATE * TICK_SECONDS))
    config = Config(max_pool_connections=concurrency)
    loop = asyncio.get_running_loop()
    slots = iter(range(len(ids)))
    async with get_session().create_client("sts", config=config) as sts:
        start = loop.time()

        async def work(account_id: str) -> None:
            delay = start + (next(slots) // group) * group / DEFAULT_RATE - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await sts.assume_role(RoleArn=role_arn(account_id), RoleSessionName=SESSION_NAME)

        await bounded(concurrency, ids, work)


async def scale_ours(ids: list[str], concurrency: int, **options: Any) -> None:
    from aiobotocore.session import get_session

    from aio_assume_role.fanout import fan_out

    async def nothing(session: Any, account: Any, region: Any) -> None:
        return None

    results = fan_out(
        get_session(),
        nothing,
        role_name=ROLE_NAME,
        accounts=ids,
        concurrency=concurrency,
        RoleSessionName=SESSION_NAME,
        **options,
    )
    failed = [result.error async for result in results if not result.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} accounts failed, e.g. {failed[0]!r}")


async def scale_unpaced(ids: list[str], concurrency: int) -> None:
    await scale_ours(ids, concurrency, rate=None)


async def scale_kept(ids: list[str], concurrency: int) -> None:
    from aiobotocore.session import get_session

    from aio_assume_role.fanout import assume_role_in_accounts

    results = assume_role_in_accounts(
        get_session(), ids, ROLE_NAME, concurrency=concurrency, RoleSessionName=SESSION_NAME
    )
    failed = [result.error async for result in results if not result.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} accounts failed, e.g. {failed[0]!r}")


async def scale_fetcher(ids: list[str], concurrency: int) -> None:
    from aiobotocore.credentials import (
        AioAssumeRoleCredentialFetcher,
        AioDeferredRefreshableCredentials,
    )
    from aiobotocore.session import get_session

    parent = get_session()
    source = await parent.get_credentials()

    async def work(account_id: str) -> None:
        fetcher = AioAssumeRoleCredentialFetcher(
            client_creator=parent.create_client,
            source_credentials=source,
            role_arn=role_arn(account_id),
            extra_args={"RoleSessionName": SESSION_NAME},
            cache={},
        )
        credentials = AioDeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
        await credentials.get_frozen_credentials()

    await bounded(concurrency, ids, work)


async def in_threads(concurrency: int, items: list[Any], work: Callable[[Any], Any]) -> None:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, work, item) for item in items))


async def scale_aarl(ids: list[str], concurrency: int) -> None:
    import aws_assume_role_lib
    import boto3

    parent = boto3.Session()

    def work(account_id: str) -> None:
        child = aws_assume_role_lib.assume_role(
            parent, role_arn(account_id), RoleSessionName=SESSION_NAME
        )
        child.get_credentials().get_frozen_credentials()

    await in_threads(concurrency, ids, work)


def run_cove(ids: list[str], concurrency: int, regions: list[str] | None, func: Any) -> None:
    import logging

    from botocove import cove

    logging.getLogger("botocove").setLevel(logging.CRITICAL)  # ListAccounts is refused
    output = cove(
        func,
        target_ids=ids,
        rolename=ROLE_NAME,
        role_session_name=SESSION_NAME,
        thread_workers=concurrency,
        regions=regions,
    )()
    problems = output["Exceptions"] + output["FailedAssumeRole"]
    if problems:
        raise RuntimeError(f"{len(problems)} failed, e.g. {problems[0]!r}")


async def scale_cove(ids: list[str], concurrency: int) -> None:
    os.environ["TQDM_DISABLE"] = "1"
    await asyncio.to_thread(run_cove, ids, concurrency, None, lambda session: None)


SCALE_RUNNERS = {
    "floor": scale_floor,
    "floor@rate": scale_floor_paced,
    "ours": scale_ours,
    "unpaced": scale_unpaced,
    "kept": scale_kept,
    "fetcher": scale_fetcher,
    "aarl": scale_aarl,
    "cove": scale_cove,
}


# --- section full: accounts x regions, one client and one call each --------------------


async def call_once(session: Any, region: str, account_id: str, **keys: str) -> None:
    """The ``work`` of the full fan-out: one client in ``region``, one API call."""
    async with session.create_client("sts", region_name=region, **keys) as client:
        check_identity(await client.get_caller_identity(), account_id)


async def full_raw(ids: list[str], regions: list[str], concurrency: int, premade: Any) -> None:
    from aiobotocore.session import get_session

    session = get_session()
    pairs = [(a, r) for a in ids for r in regions]

    async def work(pair: tuple[str, str]) -> None:
        account_id, region = pair
        await call_once(session, region, account_id, **premade[account_id])

    await bounded(concurrency, pairs, work)


async def assume_raw(ids: list[str], concurrency: int) -> dict[str, dict[str, str]]:
    """Credentials per account through one shared STS client (made before ``full_raw``)."""
    from aiobotocore.session import get_session
    from botocore.config import Config

    keys: dict[str, dict[str, str]] = {}
    config = Config(max_pool_connections=concurrency)
    async with get_session().create_client("sts", config=config) as sts:

        async def work(account_id: str) -> None:
            response = await sts.assume_role(
                RoleArn=role_arn(account_id), RoleSessionName=SESSION_NAME
            )
            credentials = response["Credentials"]
            keys[account_id] = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }

        await bounded(concurrency, ids, work)
    return keys


async def full_raw_ar(ids: list[str], regions: list[str], concurrency: int, _: Any) -> None:
    await full_raw(ids, regions, concurrency, await assume_raw(ids, concurrency))


async def ours_full(
    ids: list[str],
    regions: list[str],
    concurrency: int,
    work: Callable[[Any, str, str], Awaitable[None]],
    **options: Any,
) -> None:
    """Ours: ``fan_out`` runs ``work(session, region, account_id)`` per (account, region)."""
    from aiobotocore.session import get_session

    from aio_assume_role.fanout import fan_out

    async def unit(session: Any, account: Any, region: Any) -> None:
        await work(session, region, account.id)

    async for result in fan_out(
        get_session(),
        unit,
        role_name=ROLE_NAME,
        accounts=ids,
        regions=regions,
        concurrency=concurrency,
        RoleSessionName=SESSION_NAME,
        **options,
    ):
        if not result.ok:
            raise RuntimeError(f"{result.account.id} failed: {result.error!r}")


async def full_ours(ids: list[str], regions: list[str], concurrency: int, _: Any) -> None:
    async def work(session: Any, region: str, account_id: str) -> None:
        await call_once(session, region, account_id)

    await ours_full(ids, regions, concurrency, work)


async def full_shared(ids: list[str], regions: list[str], concurrency: int, _: Any) -> None:
    async def work(session: Any, region: str, account_id: str) -> None:
        await call_once(session, region, account_id)

    await ours_full(ids, regions, concurrency, work, share_clients=True)


async def full_aarl(ids: list[str], regions: list[str], concurrency: int, _: Any) -> None:
    import aws_assume_role_lib
    import boto3

    parent = boto3.Session()
    children: dict[str, Any] = {}

    def assume(account_id: str) -> None:
        child = aws_assume_role_lib.assume_role(
            parent, role_arn(account_id), RoleSessionName=SESSION_NAME
        )
        child.get_credentials().get_frozen_credentials()
        children[account_id] = child

    def work(pair: tuple[str, str]) -> None:
        account_id, region = pair
        client = children[account_id].client("sts", region_name=region)
        check_identity(client.get_caller_identity(), account_id)
        client.close()

    await in_threads(concurrency, ids, assume)
    await in_threads(concurrency, [(a, r) for a in ids for r in regions], work)


async def full_cove(ids: list[str], regions: list[str], concurrency: int, _: Any) -> None:
    os.environ["TQDM_DISABLE"] = "1"

    def work(session: Any) -> None:
        info = session.session_information
        client = session.client("sts", region_name=info["Region"])
        check_identity(client.get_caller_identity(), info["Id"])
        client.close()

    await asyncio.to_thread(run_cove, ids, concurrency, regions, work)


FULL_RUNNERS = {
    "raw": full_raw,
    "raw+ar": full_raw_ar,
    "ours": full_ours,
    "shared": full_shared,
    "aarl": full_aarl,
    "cove": full_cove,
}


# --- one measured run, in its own process --------------------------------------------


class GcCounter:
    """Counts collections per generation, and the time spent in them, via gc.callbacks."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.seconds = 0.0
        self.by_generation = [0.0, 0.0, 0.0]
        self._started = 0.0
        self.on = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            took = time.perf_counter() - self._started
            self.counts[info["generation"]] += 1
            self.by_generation[info["generation"]] += took
            self.seconds += took


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    counter = GcCounter()
    gc.callbacks.append(counter)
    concurrency = args.concurrency
    if args.section == "scale":
        scale = SCALE_RUNNERS[args.run]
        await scale(account_ids(10, first=900_000), concurrency)  # warm-up: imports, models

        def timed() -> Awaitable[None]:
            return scale(account_ids(args.n), concurrency)
    else:
        full = FULL_RUNNERS[args.run]
        regions = REGIONS[: args.regions]
        warm = account_ids(10, first=900_000)
        await full(warm, regions, concurrency, await assume_raw(warm, concurrency))
        ids = account_ids(args.n)
        premade = await assume_raw(ids, concurrency) if args.run == "raw" else None

        def timed() -> Awaitable[None]:
            return full(ids, regions, concurrency, premade)

    counter.on = True
    started, cpu_started = time.perf_counter(), time.process_time()
    await timed()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    counter.on = False
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "wall": wall,
        "cpu": cpu,
        "peak": peak,
        "gc": counter.counts,
        "gc_s": counter.seconds,
    }


def child_main(args: argparse.Namespace) -> None:
    try:
        result = asyncio.run(measure(args))
    except ImportError as error:
        result = {"skipped": f"not installed ({error.name})"}
    print(json.dumps(result))


# --- orchestration -------------------------------------------------------------------


def run_child(
    section: str, variant: str, n: int, args: argparse.Namespace, env: dict[str, str]
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--section", section, "--run", variant]
    command += ["--n", str(n), "--concurrency", str(args.concurrency)]
    command += ["--regions", str(args.regions)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"failed": last[:160]}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_on(kind: str, stub: _endpoints.Endpoint, run: Callable[[dict[str, str]], Any]) -> Any:
    """Run ``run(env)`` against the stub, or against a fresh moto server.

    On moto, Organizations still goes to the stub, which refuses ListAccounts (as
    for a member account): botocove then targets the given ids, as on the stub.
    """
    with tempfile.TemporaryDirectory() as home:
        if kind == "stub":
            return run(_endpoints.isolated_env(stub.url, Path(home)))
        with _endpoints.start_moto() as moto:
            env = _endpoints.isolated_env(moto.url, Path(home))
            env["AWS_ENDPOINT_URL_ORGANIZATIONS"] = stub.url
            return run(env)


def measure_variants(
    kind: str,
    section: str,
    variants: list[str],
    n: int,
    args: argparse.Namespace,
    stub: _endpoints.Endpoint,
) -> dict[str, list[dict[str, Any]]]:
    """Every variant ``args.repeats`` times, interleaved, each run in a fresh process.

    The order rotates from one repeat to the next (A B C, B C A, C A B, ...): a variant
    is not always the one that runs right after the machine's quiet moment, or after
    its busiest one.
    """
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for repeat in range(args.repeats):
        shift = repeat % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            if results[variant] and "wall" not in results[variant][0]:
                continue  # skipped or failed: once is enough
            if variant not in OWN_AND_FLOORS and repeat >= args.peer_repeats:
                continue  # the peers are slow: fewer repeats

            def run(env: dict[str, str], variant: str = variant) -> dict[str, Any]:
                on_stub = kind == "stub"
                before = stub.stats() if on_stub else None
                started = time.perf_counter()
                result = run_child(section, variant, n, args, env)
                if before is not None and "wall" in result:
                    after = stub.stats()
                    assert after is not None
                    # Over the whole child process (start-up included): an upper bound
                    # of the stub's share during the timed run is its CPU / timed wall.
                    result["stub_cpu"] = after["cpu"] - before["cpu"]
                    result["stub_share"] = result["stub_cpu"] / result["wall"]
                    result["child_wall"] = time.perf_counter() - started
                return result

            results[variant].append(run_on(kind, stub, run))
        walls = " ".join(
            f"{v}={runs[-1]['wall']:.2f}s"
            for v, runs in results.items()
            if len(runs) == repeat + 1 and "wall" in runs[-1]
        )
        print(
            f"  [{kind} {section} N={n}] repeat {repeat + 1}/{args.repeats}: {walls}",
            file=sys.stderr,
            flush=True,
        )
    return results


def spread(runs: list[dict[str, Any]], key: str, fmt: str = "{:.2f}") -> str:
    values = [run[key] for run in runs]
    median = statistics.median(values)
    if len(values) == 1:
        return fmt.format(median)
    return f"{fmt.format(median)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def table(
    results: dict[str, list[dict[str, Any]]], labels: dict[str, str], floor: str
) -> list[str]:
    def median(variant: str, key: str) -> float:
        return statistics.median(run[key] for run in results[variant])

    ok = floor in results and "wall" in results[floor][0]
    floor_wall = median(floor, "wall") if ok else float("nan")
    floor_cpu = median(floor, "cpu") if ok else float("nan")
    rows = [
        f"| variant | wall s, median (min-max) | wall / {floor} | CPU s, median (min-max) "
        f"| CPU / {floor} | peak RSS MiB | GCs gen0/1/2 (s in GC) | stub CPU % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, runs in results.items():
        label = f"{variant}: {labels[variant]}"
        first = runs[0]
        if "wall" not in first:
            reason = first.get("failed") or first.get("skipped", "")
            rows.append(f"| {label} | n/a: {reason} | | | | | | |")
            continue
        wall, cpu = median(variant, "wall"), median(variant, "cpu")
        gcs = "/".join(str(int(statistics.median(r["gc"][g] for r in runs))) for g in range(3))
        gc_s = median(variant, "gc_s")
        stub_share = f"{100 * median(variant, 'stub_share'):.0f}" if "stub_share" in first else "-"
        rows.append(
            f"| {label} | {spread(runs, 'wall')} | {wall / floor_wall:.2f}x "
            f"| {spread(runs, 'cpu')} | {cpu / floor_cpu:.2f}x | {median(variant, 'peak'):.0f} "
            f"| {gcs} ({gc_s:.2f}) | {stub_share} |"
        )
    return rows


def scale_curve(curve: dict[int, dict[str, list[dict[str, Any]]]]) -> list[str]:
    """Each variant's median wall (and CPU) ratio to the floor, per N."""
    ns = sorted(curve)
    variants = [v for v in SCALE if any(v in curve[n] for n in ns)]
    rows = [
        "| variant | " + " | ".join(f"N={n:,}" for n in ns) + " |",
        "|---|" + "---:|" * len(ns),
    ]
    for variant in variants:
        cells = []
        for n in ns:
            runs = curve[n].get(variant)
            floor = curve[n].get("floor")
            if not runs or "wall" not in runs[0] or not floor or "wall" not in floor[0]:
                cells.append("-")
                continue
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            floor_wall = statistics.median(r["wall"] for r in floor)
            floor_cpu = statistics.median(r["cpu"] for r in floor)
            cells.append(f"{wall / floor_wall:.2f}x wall, {cpu / floor_cpu:.2f}x CPU")
        rows.append(f"| {variant} | " + " | ".join(cells) + " |")
    rows += [
        "",
        "CPU ratio to the floor run of the same repeat, median (min-max) of the repeats:",
        "",
    ]
    rows.append("| variant | " + " | ".join(f"N={n:,}" for n in ns) + " |")
    rows.append("|---|" + "---:|" * len(ns))
    for variant in variants:
        cells = []
        for n in ns:
            pairs = [
                run["cpu"] / floor_run["cpu"]
                # peers run fewer repeats: the first ones, paired with those of the floor
                for run, floor_run in zip(
                    curve[n].get(variant, []), curve[n].get("floor", []), strict=False
                )
                if "cpu" in run and "cpu" in floor_run
            ]
            cells.append(
                f"{statistics.median(pairs):.2f}x ({min(pairs):.2f}-{max(pairs):.2f})"
                if pairs
                else "-"
            )
        rows.append(f"| {variant} | " + " | ".join(cells) + " |")
    per_account = ["", "Per account (median wall / N, ms):", ""]
    per_account.append("| variant | " + " | ".join(f"N={n:,}" for n in ns) + " |")
    per_account.append("|---|" + "---:|" * len(ns))
    for variant in variants:
        cells = []
        for n in ns:
            runs = curve[n].get(variant)
            if not runs or "wall" not in runs[0]:
                cells.append("-")
                continue
            cells.append(f"{1000 * statistics.median(r['wall'] for r in runs) / n:.3f}")
        per_account.append(f"| {variant} | " + " | ".join(cells) + " |")
    return rows + per_account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sections", default="scale,full", help="scale and/or full")
    parser.add_argument("--endpoints", default="stub", help="stub and/or moto, e.g. stub,moto")
    parser.add_argument("--n", default="10,100,1000,5000", help="scale: account counts")
    parser.add_argument("--variants", default=",".join(SCALE), help="scale: which variants")
    parser.add_argument(
        "--peers-max-n", type=int, default=1000, help="scale: run the peers up to this N"
    )
    parser.add_argument("--full-accounts", type=int, default=1000, help="full: accounts")
    parser.add_argument("--full-variants", default=",".join(FULL), help="full: which variants")
    parser.add_argument("--regions", type=int, default=2, help="full: regions per account")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant")
    parser.add_argument(
        "--full-repeats", type=int, default=0, help="full: timed runs (default --repeats)"
    )
    parser.add_argument(
        "--peer-repeats", type=int, default=2, help="timed runs per peer (at most --repeats)"
    )
    parser.add_argument(
        "--fetcher-max-n", type=int, default=100, help="scale: run the fetcher up to this N"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="calls at once (C)")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: small N, 1 repeat")
    parser.add_argument("--section", choices=["scale", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        args.n = int(args.n)
        child_main(args)
        return
    if args.quick:
        args.n, args.repeats, args.full_accounts, args.peers_max_n = "10,50", 1, 20, 50
    ns = [int(n) for n in args.n.split(",")]
    sections = args.sections.split(",")
    kinds = args.endpoints.split(",")
    header = (
        f"concurrency {args.concurrency}, {args.repeats} interleaved repeats "
        f"({min(args.peer_repeats, args.repeats)} for peers), each run a fresh process; "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    out: list[str] = []

    def emit(lines: list[str]) -> None:  # each table as soon as it is ready
        out.extend(lines)
        print("\n".join(lines), flush=True)

    stub = _endpoints.start_stub()  # also moto runs' Organizations endpoint (see run_on)
    try:
        for kind in kinds:
            if "scale" in sections:
                curve: dict[int, dict[str, list[dict[str, Any]]]] = {}
                for n in ns:
                    variants = [
                        v
                        for v in args.variants.split(",")
                        if v in ("floor", "floor@rate", "ours", "unpaced")
                        or n <= (args.fetcher_max_n if v == "fetcher" else args.peers_max_n)
                    ]
                    variants = ["floor", *(v for v in variants if v != "floor")]
                    curve[n] = measure_variants(kind, "scale", variants, n, args, stub)
                    emit([f"\n### AssumeRole only, {kind}, N={n:,} ({header})\n"])
                    emit(table(curve[n], SCALE, "floor"))
                emit([f"\n### Scale curve, {kind}: ratio of medians to the floor\n"])
                emit(scale_curve(curve))
            if "full" in sections:
                # raw first, as the floor; a run without it (10,000 accounts: raw's
                # clients take minutes) is against its first variant.
                variants = args.full_variants.split(",")
                if "raw" in variants:
                    variants = ["raw", *(v for v in variants if v != "raw")]
                n = args.full_accounts
                full_args = argparse.Namespace(**vars(args))
                full_args.repeats = args.full_repeats or args.repeats
                results = measure_variants(kind, "full", variants, n, full_args, stub)
                emit(
                    [
                        f"\n### Full fan-out, {kind}: {n:,} accounts x {args.regions} regions, "
                        f"one client + GetCallerIdentity each ({full_args.repeats} interleaved "
                        f"repeats, {min(args.peer_repeats, full_args.repeats)} for peers; "
                        f"concurrency {args.concurrency}; each run a fresh process)\n"
                    ]
                )
                emit(table(results, FULL, variants[0]))
    finally:
        stub.close()


if __name__ == "__main__":
    main()
