"""Peak RSS and wall time of ``fan_out`` over N accounts x 2 regions, against local moto.

    python benchmarks/fanout_rss.py [--n 1000] [--repeats 3] [--concurrency 50]

The work in every (account, region): create an STS client in the region, call
GetCallerIdentity once. Variants, each (variant, repeat) in a fresh process, repeats
interleaved so background load hits them alike; moto's server runs in its own process:

  fan_out      ``aio_assume_role.fanout.fan_out`` (one AssumeRole per account)
  raw_assume   hand-written aiobotocore: one shared STS client, AssumeRole per account,
               then a client per region with the returned keys (the same calls)
  raw_static   aiobotocore with pre-made (static) credentials: no AssumeRole at all,
               just the 2N clients and calls

Reported, as medians: wall time of the run; the process's peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and its growth over the RSS measured
after imports, before the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

ROLE = "fanout-rss"
REGIONS = ["us-east-1", "eu-west-1"]
VARIANTS = ("fan_out", "raw_assume", "raw_static")
KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


def account_ids(n: int) -> list[str]:
    return [f"{220000000000 + i:012d}" for i in range(n)]


def rss_now_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def pool(
    concurrency: int, items: Iterator[Any], work: Callable[..., Awaitable[None]]
) -> None:
    """``concurrency`` workers taking the next item: no task per item up front."""

    async def worker() -> None:
        for item in items:
            await work(*item)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def run_fan_out(ids: list[str], concurrency: int) -> int:
    from aiobotocore.session import get_session

    from aio_assume_role.fanout import fan_out

    async def work(session: Any, account: Any, region: str | None) -> str:
        async with session.create_client("sts", region_name=region) as sts:
            return str((await sts.get_caller_identity())["Account"])

    ok = 0
    async for result in fan_out(
        get_session(),
        work,
        role_name=ROLE,
        accounts=ids,
        regions=REGIONS,
        concurrency=concurrency,
        RoleSessionName="rss",
    ):
        if not result.ok:
            raise RuntimeError(f"{result.to_json()}")
        ok += 1
    return ok


async def run_raw_assume(ids: list[str], concurrency: int) -> int:
    from aiobotocore.session import get_session
    from botocore.config import Config

    session = get_session()
    done = 0
    async with session.create_client(
        "sts", config=Config(max_pool_connections=concurrency)
    ) as shared:
        assumed: dict[str, asyncio.Future[dict[str, Any]]] = {}

        async def work(account_id: str, region: str) -> None:
            nonlocal done
            future = assumed.get(account_id)
            if future is None:
                future = assumed[account_id] = asyncio.get_running_loop().create_future()
                response = await shared.assume_role(
                    RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="rss"
                )
                future.set_result(response["Credentials"])
            credentials = await future
            async with session.create_client(
                "sts",
                region_name=region,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            ) as sts:
                await sts.get_caller_identity()
            done += 1
            if region == REGIONS[-1]:
                del assumed[account_id]

        await pool(concurrency, ((i, r) for i in ids for r in REGIONS), work)
    return done


async def run_raw_static(ids: list[str], concurrency: int) -> int:
    from aiobotocore.session import get_session

    session = get_session()
    done = 0

    async def work(account_id: str, region: str) -> None:
        nonlocal done
        async with session.create_client("sts", region_name=region) as sts:
            await sts.get_caller_identity()
        done += 1

    await pool(concurrency, ((i, r) for i in ids for r in REGIONS), work)
    return done


def child(variant: str, n: int, concurrency: int) -> None:
    import aiobotocore.session  # noqa: F401  (imports before the baseline RSS)

    import aio_assume_role.fanout  # noqa: F401

    runner = {"fan_out": run_fan_out, "raw_assume": run_raw_assume, "raw_static": run_raw_static}
    ids = account_ids(n)
    asyncio.run(runner[variant](account_ids(5), 5))  # warm-up: models loaded, untimed
    start_rss = rss_now_kb()
    cpu_before = time.process_time()
    started = time.perf_counter()
    units = asyncio.run(runner[variant](ids, concurrency))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    assert units == n * len(REGIONS), units
    print(
        json.dumps(
            {"wall": wall, "cpu": cpu, "peak_kb": peak, "start_kb": start_rss, "units": units}
        )
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("moto server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.concurrency)
        return
    server, endpoint = start_moto()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **KEYS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    variants = args.variants.split(",")
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    try:
        for _ in range(args.repeats):
            for variant in variants:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        variant,
                        "--n",
                        str(args.n),
                        "--concurrency",
                        str(args.concurrency),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        server.terminate()
        server.wait()
    print(
        f"{args.n} accounts x {len(REGIONS)} regions, concurrency {args.concurrency}, "
        f"medians of {args.repeats}"
    )
    print(f"{'variant':<12} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12} {'growth MB':>10}")
    for variant, results in runs.items():
        wall = statistics.median(r["wall"] for r in results)
        cpu = statistics.median(r["cpu"] for r in results)
        peak = statistics.median(r["peak_kb"] for r in results) / 1024
        growth = statistics.median(r["peak_kb"] - r["start_kb"] for r in results) / 1024
        print(f"{variant:<12} {wall:>8.2f} {cpu:>8.2f} {peak:>12.1f} {growth:>10.1f}")


if __name__ == "__main__":
    main()
