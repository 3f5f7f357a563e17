"""AssumeRole calls and per-request cost of boto3 assumed-role sessions: aws-assume-role-lib
against aio_assume_role.sync, for 15-minute and 1-hour sessions, against a local moto server.

    python benchmarks/sync_short_sessions.py [--requests 40] [--repeats 5]

Each library assumes the role (a private cache, its default) and makes ``--requests``
``sts:GetCallerIdentity`` calls through one client; AssumeRole calls are counted with
a botocore event hook on the parent session (every STS client the fetchers create
comes from it). botocore refreshes credentials 15 minutes before expiry, so with
15-minute sessions aws-assume-role-lib refreshes, and calls AssumeRole, on every
request; aio_assume_role.sync scales the refresh windows to the session length.
No real AWS is contacted: dummy keys, a temporary AWS config, a local moto server.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

# Run as a script, so this directory is on sys.path: reuse the cache benchmark's set-up.
from cache_bench import _free_port, isolate_aws_env, start_moto

ROLE_ARN = "arn:aws:iam::123456789012:role/BenchRole"


def libraries() -> dict[str, Callable[..., Any]]:
    import aws_assume_role_lib

    import aio_assume_role.sync

    return {
        "aws-assume-role-lib 2.10": aws_assume_role_lib.assume_role,
        "aio_assume_role.sync": aio_assume_role.sync.assume_role,
    }


def measure(assume_role: Callable[..., Any], duration: int, requests: int) -> tuple[int, float]:
    """(AssumeRole calls, median ms per request) for one fresh assumed-role session."""
    import boto3

    parent = boto3.Session()
    assume_role_calls = 0

    def count(**_: Any) -> None:
        nonlocal assume_role_calls
        assume_role_calls += 1

    parent._session.register("before-call.sts.AssumeRole", count)
    sts = assume_role(parent, ROLE_ARN, DurationSeconds=duration).client("sts")
    sts.get_caller_identity()  # first use: the initial AssumeRole, not measured
    assume_role_calls = 0
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        sts.get_caller_identity()
        timings.append((time.perf_counter() - start) * 1000)
    return assume_role_calls, statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    port = _free_port()
    server = start_moto(port)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            isolate_aws_env(f"http://127.0.0.1:{port}", workdir)
            rows = []
            for duration in (900, 3600):
                for name, assume_role in libraries().items():
                    runs = [
                        measure(assume_role, duration, args.requests) for _ in range(args.repeats)
                    ]
                    calls = statistics.median(run[0] for run in runs)
                    ms = statistics.median(run[1] for run in runs)
                    rows.append((name, duration, calls, ms))
    finally:
        server.terminate()
        server.wait()

    print(
        f"{args.requests} GetCallerIdentity requests after first use, "
        f"median of {args.repeats} runs\n"
    )
    header = ("library", "DurationSeconds", "AssumeRole calls", "ms/request", "vs ours")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    ours = {duration: ms for name, duration, _, ms in rows if name == "aio_assume_role.sync"}
    for name, duration, calls, ms in rows:
        ratio = ms / ours[duration]
        print(f"| {name} | {duration} | {calls:g} | {ms:.2f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
