"""Fan-out at STS's rate quota: false failures, wall time and requests, paced or not.

    python benchmarks/fanout_quota.py                     # 1,000 at 40/s, 1,500 at 100/s
    python benchmarks/fanout_quota.py --repeats 1 --cases 200:40,300:100   # a quick look

Each case ``N:QUOTA`` runs ``fan_out`` (no-op work, the default concurrency of 50)
in N accounts against the canned STS stub (``_endpoints.py``) throttling AssumeRole
with a token bucket of QUOTA requests a second, burst 20, answering HTTP 400
``Throttling: Rate exceeded`` when empty, as STS does past its quota. Variants:

  unpaced   ``rate=None``: botocore's default (legacy) retries only, what fan_out did
  adaptive  ``rate=None`` and botocore's adaptive retry mode (its client-side token
            bucket, ``Config(retries={"mode": "adaptive"})``)
  paced     ``rate`` left at its default (200/s): the adaptive limiter of _core/pacing

Every (variant, repeat) runs in a fresh process against a fresh stub (a full bucket),
interleaved (A B C, B C A, ...). Reported per variant: median, with min-max over the
repeats, of the units that failed, the wall time against N / QUOTA (the least time the
quota allows; goal: within 1.15x), and the AssumeRole requests the stub received
against N (goal: at most 1.1 N), with how many it throttled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _endpoints

ROLE_NAME = "fanout-bench"
BURST = 20.0
VARIANTS = {
    "unpaced": "fan_out(rate=None), botocore's legacy retries",
    "adaptive": "fan_out(rate=None), botocore's adaptive retry mode",
    "paced": "fan_out(), the default rate (200/s), adaptive pacing",
}


async def measure(variant: str, n: int, concurrency: int) -> dict[str, Any]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    from aio_assume_role.fanout import fan_out_summary

    parent = get_session()
    if variant == "adaptive":
        parent.set_default_client_config(AioConfig(retries={"mode": "adaptive"}))

    async def nothing(session: Any, account: Any, region: Any) -> None:
        return None

    ids = [f"{100000000000 + i:012d}" for i in range(n)]
    started = time.perf_counter()
    summary = await fan_out_summary(
        parent,
        nothing,
        role_name=ROLE_NAME,
        accounts=ids,
        concurrency=concurrency,
        **({} if variant == "paced" else {"rate": None}),
    )
    return {
        "wall": time.perf_counter() - started,
        "failed": summary.failed,
        "failures": summary.failure_counts,
    }


def run_once(variant: str, n: int, quota: float, concurrency: int) -> dict[str, Any]:
    """One run in a fresh process, against a fresh throttling stub."""
    with (
        _endpoints.start_stub(throttle=(quota, BURST)) as stub,
        tempfile.TemporaryDirectory() as home,
    ):
        env = _endpoints.isolated_env(stub.url, Path(home))
        command = [sys.executable, __file__, "--child", variant, "--n", str(n)]
        command += ["--concurrency", str(concurrency)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return {"error": last[:160]}
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        stats = stub.stats()
        assert stats is not None
        result["requests"] = stats["assume_role"]
        result["throttled"] = stats["throttled"]
        return result


def spread(values: list[float], fmt: str) -> str:
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(n: int, quota: float, runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    floor = n / quota
    lines = [
        f"\n## {n:,} accounts, STS throttling at {quota:g}/s (burst {BURST:g}): "
        f"N / rate = {floor:.1f} s",
        "",
        "| variant | failed units | wall s | wall / (N/rate) | AssumeRole requests / N "
        "| throttled | failed units' codes, all repeats |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, results in runs.items():
        good = [r for r in results if "wall" in r]
        if not good:
            lines.append(f"| {variant} | {results[0].get('error', '?')} |")
            continue
        codes: dict[str, int] = {}
        for result in good:
            for stage_codes in result["failures"].values():
                for code, count in stage_codes.items():
                    codes[code] = codes.get(code, 0) + count
        lines.append(
            f"| {variant} | {spread([r['failed'] for r in good], '{:.0f}')} "
            f"| {spread([r['wall'] for r in good], '{:.1f}')} "
            f"| {spread([r['wall'] / floor for r in good], '{:.2f}x')} "
            f"| {spread([r['requests'] / n for r in good], '{:.2f}x')} "
            f"| {spread([r['throttled'] for r in good], '{:.0f}')} "
            f"| {', '.join(f'{c} {k}' for c, k in sorted(codes.items())) or '-'} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="1000:40,1500:100", help="N:QUOTA,...")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child, args.n, args.concurrency))))
        return
    variants = args.variants.split(",")
    print("# fan_out at STS's rate quota (benchmarks/fanout_quota.py)")
    print(f"repeats: {args.repeats}, concurrency {args.concurrency}; variants:")
    for variant in variants:
        print(f"- {variant}: {VARIANTS[variant]}")
    for case in args.cases.split(","):
        n_text, quota_text = case.split(":")
        n, quota = int(n_text), float(quota_text)
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for repeat in range(args.repeats):
            shift = repeat % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                result = run_once(variant, n, quota, args.concurrency)
                runs[variant].append(result)
                print(
                    f"  [N={n} quota={quota:g}] repeat {repeat + 1}/{args.repeats} "
                    f"{variant}: {json.dumps(result)}",
                    file=sys.stderr,
                    flush=True,
                )
        print("\n".join(report(n, quota, runs)), flush=True)


if __name__ == "__main__":
    main()
