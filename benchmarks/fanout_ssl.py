"""The work's clients over https: one SSL context per run, against one per client.

    python benchmarks/fanout_ssl.py                   # N = 200 and 1000, 5 repeats
    python benchmarks/fanout_ssl.py --n 100 --repeats 1

``fan_out`` over N accounts (one region), each unit creating one STS client from its
session and calling GetCallerIdentity (checked against its account), against the
canned stub (``_endpoints.py``) served over https in its own process, with a
self-signed certificate (made here with ``cryptography``). The CA bundle, through
AWS_CA_BUNDLE, is certifi's bundle plus that certificate: what a client loads by
default (botocore's verify=True loads certifi's), so a context costs what it costs
against AWS.

  shared   fan_out as it is: the work's clients share one SSL context per run
  own      one per client, as aiobotocore builds it (the compat hook switched off)

Every (variant, repeat) runs in a fresh process after an untimed warm-up of 10
accounts, interleaved (A B, B A, ...). Reported: median client CPU
(``time.process_time``, worker threads included, where aiobotocore builds the
contexts), wall, and peak RSS (``getrusage`` maxrss, imports included), min-max in
parentheses, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import ipaddress
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _endpoints

VARIANTS = {"shared": "one SSL context per run (fan_out)", "own": "one per client (aiobotocore)"}


def make_certificate(directory: Path) -> tuple[str, str, str]:
    """A self-signed certificate for 127.0.0.1; its key; a CA bundle: certifi's + it."""
    import certifi
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fanout-ssl-bench")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file, bundle = (directory / n for n in ("cert.pem", "key.pem", "bundle.pem"))
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + pem)
    return str(cert_file), str(key_file), str(bundle)


async def run(n: int, first: int = 0) -> None:
    from aiobotocore.session import get_session

    from aio_assume_role import fan_out

    async def work(session: Any, account: Any, region: str | None) -> None:
        async with session.create_client("sts", region_name=region) as sts:
            identity = await sts.get_caller_identity()
        assert identity["Account"] == account.id, (identity, account)

    ids = [f"{100000000000 + first + i:012d}" for i in range(n)]
    results = fan_out(get_session(), work, role_name="bench", accounts=ids, concurrency=50)
    failed = [result.error async for result in results if not result.ok]
    assert not failed, failed[:3]


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    if args.run == "own":
        from aio_assume_role._core import compat

        compat.ssl_sharing_session_class = lambda: None  # aiobotocore's own, per client
    await run(10, first=900_000)  # warm-up: imports, models
    started, cpu_started = time.perf_counter(), time.process_time()
    await run(args.n)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (KiB on Linux)
    return {"wall": wall, "cpu": cpu, "peak": peak}


def run_child(variant: str, n: int, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--run", variant, "--n", str(n)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} N={n} failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def spread(values: list[float], fmt: str) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return fmt.format(median)
    return f"{fmt.format(median)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="200,1000", help="accounts, comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--run", help=argparse.SUPPRESS)  # a child process's variant
    args = parser.parse_args()
    if args.run:
        args.n = int(args.n)
        print(json.dumps(asyncio.run(measure(args))))
        return
    with tempfile.TemporaryDirectory() as home:
        cert, key, bundle = make_certificate(Path(home))
        with _endpoints.start_stub(tls=(cert, key)) as stub:
            env = _endpoints.isolated_env(stub.url, Path(home))
            env["AWS_CA_BUNDLE"] = bundle
            print(f"fan_out, one STS client + GetCallerIdentity a unit, over https ({stub.url})")
            print(f"{args.repeats} fresh processes per variant, medians (min-max); 2 cores")
            for n in (int(value) for value in args.n.split(",")):
                runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
                for repeat in range(args.repeats):
                    order = list(VARIANTS)[repeat % 2 :] + list(VARIANTS)[: repeat % 2]
                    for variant in order:
                        runs[variant].append(run_child(variant, n, env))
                print(f"\nN = {n} accounts x 1 region")
                print(f"  {'variant':<44} {'CPU s':<22} {'wall s':<22} peak RSS MiB")
                for variant, label in VARIANTS.items():
                    got = runs[variant]
                    print(
                        f"  {variant + ': ' + label:<44} "
                        f"{spread([r['cpu'] for r in got], '{:.2f}'):<22} "
                        f"{spread([r['wall'] for r in got], '{:.2f}'):<22} "
                        f"{spread([r['peak'] for r in got], '{:.0f}')}"
                    )
                ratio = {
                    key: statistics.median(r[key] for r in runs["shared"])
                    / statistics.median(r[key] for r in runs["own"])
                    for key in ("cpu", "wall", "peak")
                }
                print(
                    f"  shared / own: CPU {ratio['cpu']:.2f}x, wall {ratio['wall']:.2f}x, "
                    f"peak RSS {ratio['peak']:.2f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
