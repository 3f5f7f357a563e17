"""Fan-out benchmark: assume a role in N accounts at once, against a local moto server.

    python benchmarks/fanout.py [--n 200] [--repeats 3] [--concurrency 50] [--variants abcdef]

Starts moto's server in its own process on a free 127.0.0.1 port, creates the role
``fanout-bench`` in each of N accounts (moto keys IAM by the caller's account, so
each is created with credentials assumed into that account), then times, in one
run:

  (a) raw aiobotocore: one shared STS client, ``assume_role`` per account (the floor)
  (b) ``assume_role_in_accounts``: sessions with credentials fetched
  (c) ``assume_role`` + the first API call (GetCallerIdentity) per account, inside
      ``SharedStsClients``
  (d) aiobotocore's own fetcher (``AioAssumeRoleCredentialFetcher``, what a
      ``role_arn`` profile uses): a new STS client per call
  (e) the sync ``aws-assume-role-lib`` in a thread pool of the same size, driven
      from the event loop with ``run_in_executor``
  (f) ``aioboto3-assume``, if it is installed beside this aiobotocore

Every (variant, repeat) runs in a fresh process, repeats interleaved across
variants so background load hits them alike; each process first does an untimed
warm-up of a few accounts, then one timed run while a 5 ms ticker task samples
event-loop lag and RSS. Reported, as medians over the repeats: wall time of the
timed run, its ratio to (a), the CPU time the client process used (less sensitive
than wall time to other load on the machine; threads included), the process's
peak RSS during the run (in brackets, its growth over the RSS at the start of the
run, after imports and warm-up), and the worst event-loop lag the ticker saw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROLE_NAME = "fanout-bench"
SETUP_ROLE = "OrganizationAccountAccessRole"
SESSION_NAME = "fanout-bench"
VARIANTS = {
    "a": "raw aiobotocore, one shared STS client",
    "b": "aio-assume-role assume_role_in_accounts",
    "c": "aio-assume-role assume_role + 1st call",
    "d": "aiobotocore fetcher, client per call",
    "e": "aws-assume-role-lib, thread pool",
    "f": "aioboto3-assume",
}
AIOBOTO3_ASSUME_REASON = (
    "not installable here: aioboto3-assume 0.1.2 needs aioboto3, whose releases pin "
    "aiobotocore exactly (newest, 15.5.0: aiobotocore==2.25.1, botocore<1.40.62); "
    "pip would downgrade aiobotocore 3.x"
)


def account_ids(n: int) -> list[str]:
    return [f"{210000000000 + i:012d}" for i in range(n)]


def role_arn(account_id: str, name: str = ROLE_NAME) -> str:
    return f"arn:aws:iam::{account_id}:role/{name}"


# --- the variants: each assumes the role in every account, C at a time -----------------


async def bounded(
    concurrency: int, items: list[str], work: Callable[[str], Awaitable[Any]]
) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(item: str) -> None:
        async with semaphore:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


async def run_a(ids: list[str], concurrency: int) -> None:
    from aiobotocore.session import get_session
    from botocore.config import Config

    config = Config(max_pool_connections=concurrency)
    async with get_session().create_client("sts", config=config) as sts:

        async def work(account_id: str) -> None:
            await sts.assume_role(RoleArn=role_arn(account_id), RoleSessionName=SESSION_NAME)

        await bounded(concurrency, ids, work)


async def run_b(ids: list[str], concurrency: int) -> None:
    from aiobotocore.session import get_session

    from aio_assume_role.fanout import assume_role_in_accounts

    results = assume_role_in_accounts(get_session(), ids, ROLE_NAME, concurrency=concurrency)
    failed = [result.error async for result in results if not result.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} accounts failed, e.g. {failed[0]!r}")


async def run_c(ids: list[str], concurrency: int) -> None:
    from aiobotocore.session import get_session
    from botocore.config import Config

    from aio_assume_role.session import assume_role
    from aio_assume_role.sts_clients import SharedStsClients

    parent = get_session()
    config = Config(max_pool_connections=concurrency)
    async with SharedStsClients(parent, config=config):

        async def work(account_id: str) -> None:
            child = assume_role(parent, role_arn(account_id))
            async with child.create_client("sts") as sts:
                identity = await sts.get_caller_identity()
            assert identity["Account"] == account_id, identity

        await bounded(concurrency, ids, work)


async def run_d(ids: list[str], concurrency: int) -> None:
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


async def run_e(ids: list[str], concurrency: int) -> None:
    import aws_assume_role_lib
    import boto3

    parent = boto3.Session()

    def work(account_id: str) -> None:
        child = aws_assume_role_lib.assume_role(parent, role_arn(account_id))
        child.get_credentials().get_frozen_credentials()

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, work, item) for item in ids))


async def run_f(ids: list[str], concurrency: int) -> None:
    import aioboto3  # type: ignore[import-not-found]
    from aioboto3_assume import assume_role  # type: ignore[import-not-found]

    parent = aioboto3.Session()

    async def work(account_id: str) -> None:
        child = assume_role(
            parent, {"RoleArn": role_arn(account_id), "RoleSessionName": SESSION_NAME}
        )
        credentials = await child.get_credentials()
        await credentials.get_frozen_credentials()

    await bounded(concurrency, ids, work)


RUNNERS = {"a": run_a, "b": run_b, "c": run_c, "d": run_d, "e": run_e, "f": run_f}


# --- one measured run, in its own process --------------------------------------------


def rss_mib() -> float:
    """The process's resident set size now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def measure(variant: str, n: int, concurrency: int, warmup: int) -> dict[str, Any]:
    """One timed run, after a warm-up; a 5 ms ticker samples loop lag and RSS meanwhile."""
    runner = RUNNERS[variant]
    await runner(account_ids(warmup), concurrency)  # imports, models, first connections
    loop = asyncio.get_running_loop()
    interval = 0.005
    start_rss = rss_mib()
    seen = {"lag": 0.0, "rss": start_rss}

    async def ticker() -> None:
        last = loop.time()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            seen["lag"] = max(seen["lag"], now - last - interval)
            seen["rss"] = max(seen["rss"], rss_mib())
            last = now

    ticking = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    started, cpu_started = time.perf_counter(), time.process_time()
    await runner(account_ids(n), concurrency)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    ticking.cancel()
    seen["rss"] = max(seen["rss"], rss_mib())
    growth = seen["rss"] - start_rss
    return {"wall": wall, "cpu": cpu, "peak": seen["rss"], "growth": growth, "lag": seen["lag"]}


def child_main(args: argparse.Namespace) -> None:
    try:
        result = asyncio.run(measure(args.run, args.n, args.concurrency, args.warmup))
    except ImportError as error:
        result = {"skipped": f"not installed ({error.name})"}
    print(json.dumps(result))


# --- orchestration -------------------------------------------------------------------


def start_server() -> tuple[subprocess.Popen[str], str]:
    code = (
        "import logging, sys, threading\n"
        "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
        "from moto.server import ThreadedMotoServer\n"
        "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
        "server.start()\n"
        "print(server.get_host_and_port()[1], flush=True)\n"
        "sys.stdin.read()\n"  # until the benchmark closes our stdin
        "server.stop()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}"


def isolated_env(endpoint: str, home: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    config = home / "config"
    config.write_text("[default]\n")
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(config),
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint,
    )
    return env


async def create_roles(ids: list[str]) -> None:
    """Create ROLE_NAME in each account, as that account (moto's IAM is per account)."""
    from aiobotocore.session import get_session

    session = get_session()
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    async with session.create_client("sts") as sts:

        async def create(account_id: str) -> None:
            response = await sts.assume_role(
                RoleArn=role_arn(account_id, SETUP_ROLE), RoleSessionName="setup"
            )
            keys = response["Credentials"]
            async with session.create_client(
                "iam",
                aws_access_key_id=keys["AccessKeyId"],
                aws_secret_access_key=keys["SecretAccessKey"],
                aws_session_token=keys["SessionToken"],
            ) as iam:
                role = await iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=trust)
            assert role["Role"]["Arn"] == role_arn(account_id), role["Role"]["Arn"]

        await bounded(20, ids, create)


def run_child(variant: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--run",
        variant,
        "--n",
        str(args.n),
        "--concurrency",
        str(args.concurrency),
        "--warmup",
        str(args.warmup),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"failed": last[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def table(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    def median(variant: str, key: str) -> float:
        return statistics.median(run[key] for run in results[variant])

    floor = median("a", "wall") if "wall" in results["a"][0] else float("nan")
    rows = [
        "| variant | wall s | ratio to (a) | client CPU s | peak RSS MiB (growth) "
        "| max loop lag ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for variant, runs in results.items():
        label = f"({variant}) {VARIANTS[variant]}"
        first = runs[0]
        if "wall" not in first:
            reason = first.get("failed") or first.get("skipped", "")
            if variant == "f" and "skipped" in first:
                reason = AIOBOTO3_ASSUME_REASON
            rows.append(f"| {label} | n/a | n/a | n/a | n/a | n/a: {reason} |")
            continue
        wall = median(variant, "wall")
        peak = median(variant, "peak")
        growth = median(variant, "growth")
        lag = median(variant, "lag") * 1000
        cpu = median(variant, "cpu")
        memory = f"{peak:.0f} (+{growth:.0f})"
        cells = f"{wall:.2f} | {wall / floor:.2f}x | {cpu:.2f} | {memory} | {lag:.0f}"
        rows.append(f"| {label} | {cells} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=200, help="accounts (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--concurrency", type=int, default=50, help="AssumeRole calls at once")
    parser.add_argument("--variants", default="abcdef", help="which variants, e.g. abd")
    parser.add_argument("--warmup", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--run", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child_main(args)
        return

    server, endpoint = start_server()
    try:
        with tempfile.TemporaryDirectory() as home:
            env = isolated_env(endpoint, Path(home))
            os.environ.update(env)
            started = time.perf_counter()
            roles = max(args.n, args.warmup)
            asyncio.run(create_roles(account_ids(roles)))
            print(
                f"created {roles} roles in {time.perf_counter() - started:.1f} s", file=sys.stderr
            )
            variants = ["a", *(v for v in args.variants if v != "a" and v in RUNNERS)]
            results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
            for repeat in range(args.repeats):
                for variant in variants:
                    if results[variant] and "wall" not in results[variant][0]:
                        continue  # skipped or failed: once is enough
                    results[variant].append(run_child(variant, args, env))
                walls = " ".join(
                    f"{v}={runs[-1]['wall']:.2f}s"
                    for v, runs in results.items()
                    if "wall" in runs[-1]
                )
                print(f"repeat {repeat + 1}/{args.repeats}: {walls}", file=sys.stderr)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    print(
        f"\nN={args.n} accounts, concurrency {args.concurrency}, median of {args.repeats} "
        f"runs, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n"
    )
    print(table(results, args))


if __name__ == "__main__":
    main()
