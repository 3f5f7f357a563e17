"""Processes sharing an AioJSONFileCache directory single-flight AssumeRole through a file lock.

Real processes (tests/xproc_worker.py), against the moto server fixture: every worker
inherits this process's environment, which the fixtures point at the server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import get_session
from moto_sts import StsServer
from support import DUMMY_SECRET_KEY, role_arn

from aio_assume_role import assume_role
from aio_assume_role._core.cache_key import assume_role_cache_key
from aio_assume_role.cache import AioJSONFileCache

WORKER = str(Path(__file__).with_name("xproc_worker.py"))
PROCESSES, ROLES = 8, 50


def key_for(arn: str) -> str:
    """The cache key a session with a generated name uses for ``arn`` (botocore's)."""
    return assume_role_cache_key({"RoleArn": arn, "RoleSessionName": "x"}, generated_name=True)


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),  # the fixtures' AWS_* (moto's endpoint, dummy keys)
    )


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line, f"worker exited early (code {process.wait()})"
    return line


def finish(process: subprocess.Popen[str]) -> int:
    """Kill ``process`` if it still runs; reap it and close its pipes. Its exit code."""
    if process.poll() is None:
        process.kill()
    code = process.wait(timeout=30)
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    return code


@contextmanager
def holder(directory: Path, key: str) -> Iterator[subprocess.Popen[str]]:
    """A process holding ``key``'s lock (it has said so) until told otherwise or killed."""
    process = spawn("hold", str(directory), key)
    try:
        assert read_line(process) == "locked"
        yield process
    finally:
        finish(process)


def tell(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


async def access_key(session: Any) -> str:
    credentials = await session.get_credentials()
    return str((await credentials.get_frozen_credentials()).access_key)


class CountingCache(AioJSONFileCache):
    """Counts ``lock()`` calls, and says when one is waiting for (or holds) the lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locks = 0
        self.entered = asyncio.Event()

    def lock(self, key: str, timeout: float | None = None) -> AbstractAsyncContextManager[bool]:
        self.locks += 1
        self.entered.set()
        return super().lock(key, timeout)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "shared_cache"
    directory.mkdir(mode=0o700)
    return directory


def test_8_processes_assuming_50_roles_at_once_make_50_assume_role_calls(
    cache_dir: Path, sts_server: StsServer
) -> None:
    workers = [spawn("assume", str(cache_dir), str(ROLES)) for _ in range(PROCESSES)]
    try:
        for worker in workers:
            assert read_line(worker) == "ready"
        for worker in workers:  # all released at once, every session cold
            tell(worker, "go")
        results = [json.loads(read_line(worker)) for worker in workers]
        assert [worker.wait(timeout=60) for worker in workers] == [0] * PROCESSES
    finally:
        for worker in workers:
            finish(worker)
    assert sts_server.count() == ROLES
    assert all(result == results[0] for result in results)  # one access key per role
    assert len(set(results[0].values())) == ROLES
    assert sorted(results[0]) == sorted(role_arn(f"XprocRole{i}") for i in range(ROLES))


class TestOnlyOnAMiss:
    async def test_a_miss_takes_the_lock_once_and_leaves_a_0600_lock_file(
        self, cache_dir: Path, sts_server: StsServer
    ) -> None:
        os.umask(old := os.umask(0))  # the most permissive umask: the mode is filelock's fchmod
        try:
            cache = CountingCache(cache_dir)
            await access_key(assume_role(get_session(), role_arn(), cache=cache))
        finally:
            os.umask(old)
        assert cache.locks == 1
        assert stat.S_IMODE(os.stat(cache.lock_path_for(key_for(role_arn()))).st_mode) == 0o600
        assert sts_server.count() == 1

    async def test_a_hit_takes_no_lock_and_makes_no_lock_file(
        self, cache_dir: Path, sts_server: StsServer
    ) -> None:
        await access_key(assume_role(get_session(), role_arn(), cache=AioJSONFileCache(cache_dir)))
        os.unlink(AioJSONFileCache(cache_dir).lock_path_for(key_for(role_arn())))
        cache = CountingCache(cache_dir)  # another process's view: a warm directory
        await access_key(assume_role(get_session(), role_arn(), cache=cache))
        assert cache.locks == 0
        assert sorted(os.listdir(cache_dir)) == [key_for(role_arn()) + ".json"]
        assert sts_server.count() == 1

    async def test_a_cache_without_lock_is_used_as_before(self, sts_server: StsServer) -> None:
        # Any async cache: the fetcher looks the method up; none means no cross-process step.
        class DictCache:
            def __init__(self) -> None:
                self.entries: dict[str, Any] = {}

            async def get(self, key: str) -> dict[str, Any] | None:
                return self.entries.get(key)

            async def set(self, key: str, value: Any) -> None:
                self.entries[key] = dict(value)

        cache = DictCache()
        await access_key(assume_role(get_session(), role_arn(), cache=cache))
        assert list(cache.entries) == [key_for(role_arn())]
        assert sts_server.count() == 1


class TestWaiting:
    async def test_the_waiter_serves_what_the_holder_wrote_without_assume_role(
        self, cache_dir: Path, tmp_path: Path, sts_server: StsServer
    ) -> None:
        key = key_for(role_arn())
        entry = tmp_path / "entry.json"
        entry.write_text(
            json.dumps(
                {
                    "Credentials": {
                        "AccessKeyId": "ASIAFROMOTHERPROCESS",
                        "SecretAccessKey": "s" * 40,
                        "SessionToken": "t" * 100,
                        "Expiration": "2099-01-01T00:00:00UTC",
                    },
                    "AssumedRoleUser": {
                        "Arn": "arn:aws:sts::123456789012:assumed-role/MyRole/"
                        "botocore-session-1700000000"
                    },
                }
            )
        )
        cache = CountingCache(cache_dir)
        with holder(cache_dir, key) as process:
            fetch = asyncio.create_task(
                access_key(assume_role(get_session(), role_arn(), cache=cache))
            )
            await asyncio.wait_for(cache.entered.wait(), 60)  # missed; waits for the holder
            tell(process, f"fill {entry}")
            assert await fetch == "ASIAFROMOTHERPROCESS"
            assert read_line(process) == "released"
        assert sts_server.count() == 0

    async def test_a_holder_that_dies_releases_the_lock_at_once(
        self, cache_dir: Path, sts_server: StsServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        key = key_for(role_arn())
        with holder(cache_dir, key) as process:
            process.kill()  # SIGKILL while holding: no cleanup of its own
            assert finish(process) == -9
        cache = AioJSONFileCache(cache_dir)
        async with cache.lock(key, timeout=0) as locked:  # one attempt only
            assert locked
        await access_key(assume_role(get_session(), role_arn(), cache=cache))
        assert sts_server.count() == 1
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    async def test_a_hung_holder_is_given_up_on_after_the_timeout_with_one_warning(
        self, cache_dir: Path, sts_server: StsServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        key = key_for(role_arn())
        cache = AioJSONFileCache(cache_dir, lock_timeout=0.3)
        with holder(cache_dir, key):  # holds it and never lets go
            started = time.monotonic()
            got = await access_key(assume_role(get_session(), role_arn(), cache=cache))
            waited = time.monotonic() - started
        assert got.startswith("ASIA")
        assert sts_server.count() == 1  # fetched without the lock
        assert waited >= 0.3
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        message = warnings[0].getMessage()
        assert cache.lock_path_for(key) in message
        assert "0.3 s" in message
        assert DUMMY_SECRET_KEY not in caplog.text

    async def test_the_event_loop_runs_while_a_held_lock_is_waited_for(
        self, cache_dir: Path
    ) -> None:
        key = key_for(role_arn())
        cache = AioJSONFileCache(cache_dir)
        ticks: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.001)

        with holder(cache_dir, key):
            task = asyncio.create_task(ticker())
            try:
                async with cache.lock(key, timeout=0.5) as locked:
                    assert not locked
            finally:
                done.set()
                await task
        gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
        assert len(ticks) > 50, len(ticks)  # a 1 ms ticker over a 0.5 s wait
        assert max(gaps) < 0.25, max(gaps)

    async def test_a_cancelled_waiter_leaves_the_lock_free(self, cache_dir: Path) -> None:
        key = key_for(role_arn())
        cache = CountingCache(cache_dir)

        async def wait_for_lock() -> None:
            async with cache.lock(key, timeout=30):
                raise AssertionError("the holder still holds it")

        with holder(cache_dir, key) as process:
            waiter = asyncio.create_task(wait_for_lock())
            await asyncio.wait_for(cache.entered.wait(), 60)
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            tell(process, "release")
            assert read_line(process) == "released"
        # Cancelled in the middle of an attempt, the attempt finishes on its own and may
        # take the lock the holder just gave up: it is then given back at once, so a
        # leaked lock is what would make this wait time out.
        async with cache.lock(key, timeout=10) as locked:
            assert locked
        with holder(cache_dir, key) as other:  # and another process can take it
            tell(other, "release")
            assert read_line(other) == "released"


class TestLockFileSafety:
    async def test_a_symlink_at_the_lock_path_is_not_followed(
        self,
        cache_dir: Path,
        tmp_path: Path,
        sts_server: StsServer,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        victim = tmp_path / "victim"
        victim.write_text("precious")
        victim.chmod(0o644)
        cache = AioJSONFileCache(cache_dir)
        lock_path = cache.lock_path_for(key_for(role_arn()))
        os.symlink(victim, lock_path)
        got = await access_key(assume_role(get_session(), role_arn(), cache=cache))
        assert got.startswith("ASIA")
        assert sts_server.count() == 1
        assert victim.read_text() == "precious"
        assert stat.S_IMODE(victim.stat().st_mode) == 0o644
        assert stat.S_ISLNK(os.lstat(lock_path).st_mode)
        (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert lock_path in warning.getMessage()
        assert "symbolic link" in warning.getMessage()

    async def test_the_lock_creates_a_missing_directory_0700(self, tmp_path: Path) -> None:
        os.umask(old := os.umask(0))
        try:
            cache = AioJSONFileCache(tmp_path / "new" / "cache")
            async with cache.lock("k", timeout=0) as locked:
                assert locked
        finally:
            os.umask(old)
        for directory in (tmp_path / "new", tmp_path / "new" / "cache"):
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700

    async def test_an_uncreatable_directory_gives_no_lock_and_no_warning(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        # No process can write entries there either: set() fails and warns, not lock().
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        async with AioJSONFileCache(blocker / "cache").lock("k") as locked:
            assert not locked
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    @pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "30", True, None])
    def test_a_bad_lock_timeout_is_a_value_error_naming_it(self, bad: Any, tmp_path: Path) -> None:
        if bad is not None:
            with pytest.raises(ValueError, match="lock_timeout must be a number of seconds"):
                AioJSONFileCache(tmp_path, lock_timeout=bad)
        with pytest.raises(ValueError, match="timeout must be a number of seconds"):
            AioJSONFileCache(tmp_path).lock("k", timeout=-1 if bad is None else bad)

    def test_an_unsafe_key_is_rejected_by_lock(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="cache key"):
            AioJSONFileCache(tmp_path).lock("../escape")
