"""Soak: 500 assumed sessions refreshed over and over for minutes, against moto's server.

Not part of the default run. Run it with::

    pytest -m slow -s tests/test_soak.py            # 180 s
    SOAK_SECONDS=600 pytest -m slow -s tests/test_soak.py

500 sessions with 15-minute credentials (10 of them parents of 50 chained ones)
are used continuously by one task each; 20 of them also make real API calls. A
driver moves the clock (ours and moto's) so every session's credentials land in
the advisory window, the mandatory window or past expiry, round after round, and
injects a few throttling errors per round that botocore's retries absorb. At the
end it prints, and asserts: AssumeRole calls at the server (exactly one per
session per round, plus the injected faults), caller-visible failures (0), and
the worst event-loop lag seen.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from typing import Any

import pytest
from aiobotocore.session import AioSession
from moto_sts import StsServer
from support import FakeClock, role_arn

from aio_assume_role._core import clock as _clock
from aio_assume_role.session import AssumedRoleSession, assume_role

pytestmark = pytest.mark.slow

SESSIONS = 500
PARENTS = 10  # of the 500, parents of CHAINED others
CHAINED = 50
CALLERS = 20  # of the 500, also making real API calls
DURATION = 900
FAULTS_PER_ROUND = 4  # fewer than the 5 attempts of botocore's default (legacy) retries
# Advances from a fresh 900 s session: 380 s left (advisory: under 450), 200 s left
# (mandatory: under 300), expired.
ADVANCES = [520, 700, 1000]
LAG_PROBE_SECONDS = 0.01


@pytest.fixture(autouse=True)
def only_when_selected(request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("soak test: run with -m slow")


@pytest.fixture(autouse=True)
def real_chance(dice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real jitter here (other tests pin it): each advance still lands every session in the
    intended window, since the advisory point moves by at most 75 s of the 150 s between the
    15-minute credentials' advisory (450 s left) and mandatory (300 s left) points."""
    monkeypatch.setattr(_clock, "random_fraction", random.random)


class Soak:
    def __init__(self, sessions: list[AssumedRoleSession], clock: FakeClock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.running = True
        self.failures: list[str] = []
        self.uses = 0
        self.api_calls = 0
        self.max_lag = 0.0
        self.lags: list[float] = []
        self.rounds: list[float] = []

    async def use(self, session: AssumedRoleSession, index: int) -> None:
        credentials = await session.get_credentials()
        client: Any = None
        if index < CALLERS:
            client = await session.create_client("sts").__aenter__()
        try:
            while self.running:
                try:
                    await credentials.get_frozen_credentials()
                    self.uses += 1
                    if client is not None:
                        answer = await client.get_caller_identity()
                        assert f":assumed-role/{session.role_arn.split('/')[-1]}/" in answer["Arn"]
                        self.api_calls += 1
                except Exception as error:  # every failure is counted
                    self.failures.append(f"{type(error).__name__}: {error}")
                await asyncio.sleep(random.uniform(0, 0.2))
        finally:
            if client is not None:
                await client.__aexit__(None, None, None)

    async def probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running:
            started = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            lag = loop.time() - started - LAG_PROBE_SECONDS
            self.lags.append(lag)
            self.max_lag = max(self.max_lag, lag)

    def expiries(self) -> list[Any]:
        return [s._assumed_role_credentials.expiry_time for s in self.sessions]

    def refreshed_since(self, before: list[Any]) -> bool:
        pairs = zip(self.expiries(), before, strict=True)
        return all(new is not None and new != old for new, old in pairs)

    async def all_refreshed(self, before: list[Any]) -> None:
        """Wait until every session holds credentials newer than ``before``."""
        while not self.refreshed_since(before):  # noqa: ASYNC110 - polls the sessions' state
            await asyncio.sleep(0.05)

    async def drive(self, sts_server: StsServer, deadline: float) -> None:
        await self.all_refreshed([None] * len(self.sessions))
        advances = iter(ADVANCES * 10_000)
        # Until the deadline, and at least once through advisory, mandatory and expired.
        while time.monotonic() < deadline or len(self.rounds) < len(ADVANCES):
            before = self.expiries()
            started = time.monotonic()
            sts_server.fail_next(code="Throttling", times=FAULTS_PER_ROUND)
            self.clock.advance(next(advances))
            await self.all_refreshed(before)
            self.rounds.append(time.monotonic() - started)


def build_sessions(parent: AioSession) -> list[AssumedRoleSession]:
    parents = [
        assume_role(parent, role_arn(f"Parent{i}"), DurationSeconds=DURATION)
        for i in range(PARENTS)
    ]
    chained = [
        assume_role(parents[i % PARENTS], role_arn(f"Chained{i}"), DurationSeconds=DURATION)
        for i in range(CHAINED)
    ]
    direct = [
        assume_role(parent, role_arn(f"Direct{i}"), DurationSeconds=DURATION)
        for i in range(SESSIONS - PARENTS - CHAINED)
    ]
    return direct + chained + parents  # the API callers are direct sessions


async def test_soak(
    parent: AioSession,
    sts_server: StsServer,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seconds = float(os.environ.get("SOAK_SECONDS", "180"))
    sessions = build_sessions(parent)
    soak = Soak(sessions, clock)
    started = time.monotonic()
    workers = [asyncio.create_task(soak.use(s, i)) for i, s in enumerate(sessions)]
    probe = asyncio.create_task(soak.probe_lag())
    try:
        await soak.drive(sts_server, started + seconds)
    finally:
        soak.running = False
        await asyncio.gather(*workers, probe)
    elapsed = time.monotonic() - started

    rounds = len(soak.rounds)
    expected = SESSIONS * (rounds + 1) + FAULTS_PER_ROUND * rounds
    lags = sorted(soak.lags)
    with capsys.disabled():
        print(
            f"\nsoak: {elapsed:.0f} s, {SESSIONS} sessions ({CHAINED} chained), {rounds} rounds "
            f"after the first fetch (advisory/mandatory/expired in turn)\n"
            f"  AssumeRole calls at the server  {sts_server.count():>8} (expected {expected}: "
            f"{SESSIONS} x {rounds + 1} + {FAULTS_PER_ROUND} x {rounds} injected Throttling)\n"
            f"  credential uses                 {soak.uses:>8}\n"
            f"  API calls (GetCallerIdentity)   {soak.api_calls:>8}\n"
            f"  failures                        {len(soak.failures):>8}\n"
            f"  round time median / max         {statistics.median(soak.rounds):8.2f} s / "
            f"{max(soak.rounds):.2f} s\n"
            f"  event-loop lag p50 / p99 / max  {lags[len(lags) // 2] * 1000:8.1f} ms / "
            f"{lags[int(len(lags) * 0.99)] * 1000:.1f} ms / {soak.max_lag * 1000:.1f} ms"
        )
    assert soak.failures == []
    assert rounds >= len(ADVANCES)
    assert sts_server.count() == expected
