"""What one ``credential_process`` run costs the SDK that starts it: a cache hit, a miss.

    python benchmarks/credential_process.py [--runs 21] [--endpoint stub|moto]

Starts its own STS endpoint (``_endpoints``: the canned stub by default, or moto) and
a fresh cache directory, then times whole processes, wall clock from spawn to exit,
as the AWS CLI and the SDKs run them:
``python -m aio_assume_role ROLE_ARN --json``.

1. cache misses: ``--runs`` fresh processes with ``--no-cache`` (start-up, botocore,
   aiobotocore, one AssumeRole), median and min-max;
2. one run to warm the cache, then ``--runs`` fresh processes served from it
   (no AssumeRole: checked at the stub), median and min-max, against the goal of
   ``GOAL_MS`` and against the misses;
3. for scale, a bare ``python -c pass``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _endpoints import Endpoint, isolated_env, start_endpoint

GOAL_MS = 150.0
ROLE_ARN = "arn:aws:iam::123456789012:role/BenchRole"
COMMAND = [sys.executable, "-m", "aio_assume_role", ROLE_ARN, "--json"]


def timed_run(command: list[str], env: dict[str, str]) -> float:
    """Wall milliseconds of one fresh process; fails loudly if it fails."""
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:])} exited {result.returncode}: {result.stderr}")
    return elapsed


def describe(name: str, samples: list[float]) -> str:
    return (
        f"{name:<34} median {statistics.median(samples):7.1f} ms   "
        f"min-max {min(samples):7.1f}-{max(samples):7.1f} ms   (n={len(samples)})"
    )


def assume_role_calls(endpoint: Endpoint) -> int | None:
    stats = endpoint.stats()
    return None if stats is None else int(stats["requests"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="fresh processes per kind")
    parser.add_argument("--endpoint", choices=("stub", "moto"), default="stub")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")

    with tempfile.TemporaryDirectory() as home, start_endpoint(options.endpoint) as endpoint:
        env = isolated_env(endpoint.url, Path(home))
        env["AIO_ASSUME_ROLE_CACHE_DIR"] = str(Path(home) / "credential-process-cache")

        bare = [timed_run([sys.executable, "-c", "pass"], env) for _ in range(options.runs)]
        misses = [timed_run([*COMMAND, "--no-cache"], env) for _ in range(options.runs)]

        timed_run(COMMAND, env)  # warms the cache: one AssumeRole
        before = assume_role_calls(endpoint)
        hits = [timed_run(COMMAND, env) for _ in range(options.runs)]
        after = assume_role_calls(endpoint)

        output = subprocess.run(COMMAND, env=env, capture_output=True, text=True, timeout=60)
        assert json.loads(output.stdout)["Version"] == 1

    hit, miss = statistics.median(hits), statistics.median(misses)
    print(f"credential_process ({options.endpoint} STS endpoint, {options.runs} runs each)")
    print(describe("python -c pass", bare))
    print(describe("cache miss (--no-cache)", misses))
    print(describe("cache hit", hits))
    if before is not None and after is not None:
        print(f"STS requests during the hits: {after - before} (expected 0)")
    verdict = "meets" if hit < GOAL_MS else "MISSES"
    print(
        f"cache hit: median {hit:.1f} ms, {verdict} the {GOAL_MS:.0f} ms goal; "
        f"{miss / hit:.1f}x faster than a miss ({miss:.1f} ms)"
    )
    return 0 if hit < GOAL_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
