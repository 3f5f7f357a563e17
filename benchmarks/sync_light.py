"""How light the boto3 path is: import time, and the cost of a child session.

    python benchmarks/sync_light.py [--imports 9] [--sizes 100 1000]

1. Import time of ``aio_assume_role.sync`` against ``aws_assume_role_lib``: each in
   a fresh interpreter (``python -c "import ..."``, wall time of the import alone,
   measured inside the child), the median of ``--imports`` runs, and the ratio.
2. Per child session, for N = each of ``--sizes`` sessions held at once: CPU time
   (``time.process_time``) and memory still allocated (``tracemalloc``) for
   ``aio_assume_role.sync.assume_role``, a plain ``boto3.Session()``, and
   aws-assume-role-lib's ``assume_role``. No STS call happens before first use, so
   no server is needed: dummy keys in the environment, no AWS config file.
CPU and memory are measured in separate passes (tracemalloc slows allocation).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

ROLE_ARN = "arn:aws:iam::123456789012:role/BenchRole"

_IMPORT_PROGRAM = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)


def _isolated_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    empty = os.path.join(tempfile.mkdtemp(), "none")
    env.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_CONFIG_FILE=empty,
        AWS_SHARED_CREDENTIALS_FILE=empty,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def import_seconds(module: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROGRAM.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        times.append(float(output))
    return statistics.median(times)


def makers() -> dict[str, Callable[[], Any]]:
    import aws_assume_role_lib
    import boto3

    import aio_assume_role.sync

    parent = boto3.Session()
    # Warm each once: templates, botocore's models and the STS model are per process.
    choices: dict[str, Callable[[], Any]] = {
        "aio_assume_role.sync.assume_role": lambda: aio_assume_role.sync.assume_role(
            parent, ROLE_ARN
        ),
        "boto3.Session()": boto3.Session,
        "aws_assume_role_lib.assume_role": lambda: aws_assume_role_lib.assume_role(
            parent, ROLE_ARN
        ),
    }
    for make in choices.values():
        make()
    return choices


def per_child(make: Callable[[], Any], n: int) -> tuple[float, float]:
    """(CPU seconds, bytes) per session, with ``n`` sessions alive at once."""
    gc.collect()
    start = time.process_time()
    sessions = [make() for _ in range(n)]
    cpu = (time.process_time() - start) / n
    del sessions
    gc.collect()
    tracemalloc.start()
    sessions = [make() for _ in range(n)]
    gc.collect()
    memory = tracemalloc.get_traced_memory()[0] / n
    tracemalloc.stop()
    del sessions
    return cpu, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=9, help="import runs per module")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    options = parser.parse_args()
    os.environ.clear()
    os.environ.update(_isolated_env())

    print(f"Import time, fresh interpreter, median of {options.imports} runs")
    ours = import_seconds("aio_assume_role.sync", options.imports)
    theirs = import_seconds("aws_assume_role_lib", options.imports)
    print(f"  {'aio_assume_role.sync':<34} {ours * 1e3:8.1f} ms")
    print(f"  {'aws_assume_role_lib':<34} {theirs * 1e3:8.1f} ms")
    print(f"  ratio (goal <= 1.2x)                 {ours / theirs:8.2f}x")
    print()
    print("Per child session (sessions held at once: N)")
    print(f"  {'':<34} {'N':>6} {'CPU':>10} {'memory':>11}")
    for name, make in makers().items():
        for n in options.sizes:
            cpu, memory = per_child(make, n)
            print(f"  {name:<34} {n:>6} {cpu * 1e3:8.3f} ms {memory / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
