"""Session-creation benchmark: CPU time and memory per child session, at several N.

    python benchmarks/session_creation.py [--repeats 7] [--sizes 100,1000,5000]

No endpoint is needed: creating a session does no I/O (credentials are fetched on
first use). For each N it creates N sessions in one list and reports, as medians
over the repeats (min-max in brackets), the CPU time per session and the memory
each one holds (tracemalloc, in a separate run): ``assume_role()`` children on the
async path, the same on the sync path, and, as the floors they are compared
against, a plain ``AioSession`` and a plain ``boto3.Session``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable

os.environ.update(
    AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY="bench-not-a-secret",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
)

import boto3
from aiobotocore.session import AioSession, get_session

import aio_assume_role.sync
from aio_assume_role import assume_role


def makers() -> dict[str, Callable[[int], object]]:
    async_parent = get_session()
    sync_parent = boto3.Session()

    def arn(i: int) -> str:
        return f"arn:aws:iam::{i + 1:012d}:role/Bench"

    return {
        "assume_role() child, async": lambda i: assume_role(async_parent, arn(i)),
        "AioSession (floor)": lambda i: AioSession(),
        "assume_role() child, sync": lambda i: aio_assume_role.sync.assume_role(
            sync_parent, arn(i)
        ),
        "boto3.Session (floor)": lambda i: boto3.Session(),
    }


def cpu_per_session(make: Callable[[int], object], n: int) -> float:
    gc.collect()
    started = time.process_time()
    sessions = [make(i) for i in range(n)]
    elapsed = time.process_time() - started
    del sessions
    return elapsed / n * 1e6


def memory_per_session(make: Callable[[int], object], n: int) -> float:
    gc.collect()
    tracemalloc.start()
    sessions = [make(i) for i in range(n)]
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del sessions
    return held / n / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", default="100,1000,5000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    variants = makers()
    for make in variants.values():  # warm-up: loaders, models, handler templates
        cpu_per_session(make, 20)
    print(f"{'variant':30} {'N':>6} {'CPU us/session':>26} {'KiB/session':>12}")
    for name, make in variants.items():
        for n in sizes:
            floor_n = n if "floor" not in name else min(n, 1000)  # plain sessions are slow
            runs = [cpu_per_session(make, floor_n) for _ in range(args.repeats)]
            kib = memory_per_session(make, floor_n)
            spread = f"[{min(runs):.1f}-{max(runs):.1f}]"
            print(
                f"{name:30} {floor_n:>6} {statistics.median(runs):>10.1f} {spread:>15} "
                f"{kib:>12.2f}"
            )


if __name__ == "__main__":
    main()
