"""The scale curve again, in instructions: what the fan-out costs when the machine is noisy.

    python benchmarks/fanout_instructions.py [--n 10,100,1000] [--variants floor,ours,kept]

CPU times on a shared machine spread by 30 % and more between identical runs. The number
of instructions a run executes does not: this runs ``benchmarks/fanout.py``'s scale
variants (AssumeRole only, against the STS stub) under valgrind (``--tool=cachegrind
--cache-sim=no``), each in a fresh process, and prints the instructions of the timed run
(the process's count, minus that of the same process stopped before the timed run) per
account and as a ratio to the floor. Instructions are not time: memory stalls and the
work done in C count differently. Needs valgrind (skips, saying so, without it). Each
run is about 25 times slower than natively: N = 5,000 takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _endpoints
import fanout

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def child(variant: str, n: int) -> None:
    """Warm up as fanout.py's child does, then run N accounts (none if N is 0)."""
    run = fanout.SCALE_RUNNERS[variant]

    async def main() -> None:
        await run(fanout.account_ids(10, first=900_000), 50)  # imports, models
        if n:
            await run(fanout.account_ids(n), 50)

    asyncio.run(main())


def instructions(variant: str, n: int, env: dict[str, str]) -> int:
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
    ]
    command += [sys.executable, __file__, "--child", variant, str(n)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{variant} N={n} failed: {last[:200]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", default="10,100,1000")
    parser.add_argument("--variants", default="floor,ours,kept")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return
    sizes = [int(n) for n in args.n.split(",")]
    variants = args.variants.split(",")
    with _endpoints.start_stub() as stub, tempfile.TemporaryDirectory() as home:
        env = {**os.environ, **_endpoints.isolated_env(stub.url, Path(home))}
        # Under valgrind a run is 25 to 50 times slower: no refresh deadline (30 s by default).
        env["AIO_ASSUME_ROLE_REFRESH_TIMEOUT"] = "none"
        jobs = [(variant, n) for variant in variants for n in [0, *sizes]]
        with ThreadPoolExecutor(max_workers=2) as pool:  # two valgrinds: the 2 CPUs
            counts = dict(
                zip(jobs, pool.map(lambda job: instructions(*job, env), jobs), strict=True)
            )
    print(
        f"### AssumeRole only, stub, instructions of the timed run (valgrind; "
        f"Python {sys.version.split()[0]})\n"
    )
    print("| variant | " + " | ".join(f"N={n:,}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    floor = (
        {n: counts["floor", n] - counts["floor", 0] for n in sizes} if "floor" in variants else {}
    )
    for variant in variants:
        cells = []
        for n in sizes:
            run = counts[variant, n] - counts[variant, 0]
            ratio = f", {run / floor[n]:.2f}x" if floor else ""
            cells.append(f"{run / n / 1e6:.2f} M/account{ratio}")
        print(f"| {variant}: {fanout.SCALE[variant]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
