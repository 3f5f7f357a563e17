"""AioJSONFileCache: botocore's on-disk format, atomic private writes, safe keys, misses."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.utils import JSONFileCache
from moto_sts import StsServer
from support import FakeClock, role_arn

from aio_assume_role import assume_role
from aio_assume_role.cache import AioJSONFileCache

KEY = "c03ce438bc208f6214854d85d3ca930ff73e3004"  # the shape of botocore's keys
EXPIRATION = datetime.datetime(2031, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)
VALUE: dict[str, Any] = {
    "Credentials": {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE00",
        "SecretAccessKey": "SECRETMARKER" + "x" * 28,
        "SessionToken": "token",
        "Expiration": EXPIRATION,
    },
    "AssumedRoleUser": {"Arn": "arn:aws:sts::123456789012:assumed-role/R/s"},
}


def _files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _access_key_in(path: Path) -> str:
    return str(json.loads(path.read_text())["Credentials"]["AccessKeyId"])


async def access_key(session: AioSession) -> str:
    credentials = await session.get_credentials()
    return str((await credentials.get_frozen_credentials()).access_key)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """An empty directory (tmp_path itself holds the aws_env fixture's config files)."""
    directory = tmp_path / "cache_dir"
    directory.mkdir()
    return directory


class TestInterface:
    async def test_set_get_contains_delete(self, tmp_path: Path) -> None:
        cache = AioJSONFileCache(tmp_path / "cache")
        assert await cache.get(KEY) is None
        assert not await cache.contains(KEY)
        await cache.set(KEY, VALUE)
        assert await cache.contains(KEY)
        got = await cache.get(KEY)
        assert got is not None
        assert got["Credentials"]["Expiration"] == "2031-02-03T04:05:06UTC"  # botocore's form
        await cache.delete(KEY)
        assert await cache.get(KEY) is None
        with pytest.raises(KeyError):
            await cache.delete(KEY)

    def test_relative_dir_is_made_absolute(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        cache = AioJSONFileCache("cache")
        assert cache.dir_path == str(tmp_path / "cache")
        assert cache.path_for(KEY) == str(tmp_path / "cache" / f"{KEY}.json")
        assert repr(cache) == f"AioJSONFileCache({str(tmp_path / 'cache')!r})"

    async def test_unserializable_value_is_a_value_error_without_the_value(
        self, cache_dir: Path
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        with pytest.raises(ValueError, match="not JSON serializable") as caught:
            await cache.set(KEY, {"SecretAccessKey": "SECRETMARKER", "bad": object()})
        assert "SECRETMARKER" not in str(caught.value)
        assert _files(cache_dir) == []


class TestBotocoreFormat:
    async def test_files_are_byte_identical_to_botocore(self, tmp_path: Path) -> None:
        JSONFileCache(str(tmp_path / "botocore"))[KEY] = VALUE
        await AioJSONFileCache(tmp_path / "ours").set(KEY, VALUE)
        ours = (tmp_path / "ours" / f"{KEY}.json").read_bytes()
        assert ours == (tmp_path / "botocore" / f"{KEY}.json").read_bytes()

    async def test_each_reads_what_the_other_wrote(self, cache_dir: Path) -> None:
        botocore_cache = JSONFileCache(str(cache_dir))
        ours = AioJSONFileCache(cache_dir)
        botocore_cache["from-botocore"] = VALUE
        await ours.set("from-ours", VALUE)
        assert await ours.get("from-botocore") == botocore_cache["from-ours"]
        assert "from-ours" in botocore_cache

    @pytest.mark.parametrize("writer", ["botocore", "ours"])
    async def test_sessions_share_a_dir_with_botocore_json_file_cache(
        self, writer: str, cache_dir: Path, parent: AioSession, sts_server: StsServer
    ) -> None:
        caches: dict[str, object] = {
            "botocore": JSONFileCache(str(cache_dir)),
            "ours": AioJSONFileCache(cache_dir),
        }
        reader = "ours" if writer == "botocore" else "botocore"
        first = assume_role(parent, role_arn(), cache=caches[writer])
        key = await access_key(first)
        second = assume_role(get_session(), role_arn(), cache=caches[reader])
        assert await access_key(second) == key
        assert sts_server.count() == 1


class TestSessions:
    async def test_restart_reuses_unexpired_credentials_with_no_assume_role_call(
        self, cache_dir: Path, sts_server: StsServer
    ) -> None:
        first = assume_role(get_session(), role_arn(), cache=AioJSONFileCache(cache_dir))
        key = await access_key(first)
        assert sts_server.count() == 1
        # A new process: new parent session, new cache object, same directory.
        second = assume_role(get_session(), role_arn(), cache=AioJSONFileCache(cache_dir))
        assert await access_key(second) == key
        assert sts_server.count() == 1

    async def test_expired_entry_is_a_miss_and_is_replaced(
        self, cache_dir: Path, parent: AioSession, sts_server: StsServer, clock: FakeClock
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        first = assume_role(parent, role_arn(), cache=cache)
        old_key = await access_key(first)
        clock.advance(2 * 3600)
        second = assume_role(get_session(), role_arn(), cache=cache)
        new_key = await access_key(second)
        assert new_key != old_key
        assert sts_server.count() == 2
        # The entry, and the lock file each miss took (kept: waiters share its inode).
        (name, lock) = _files(cache_dir)
        assert lock == name.replace(".json", ".lock")
        assert _access_key_in(cache_dir / name) == new_key


TRUNCATED = json.dumps(VALUE, default=str)[:60]
CORRUPT = {
    "empty": b"",
    "truncated": TRUNCATED.encode(),
    "not-utf8": b"\xff\xfe SECRETMARKER \x00",
    "array": b'["SECRETMARKER"]',
    "null": b"null",
    "no-credentials": b'{"SECRETMARKER": 1}',
    "missing-fields": b'{"Credentials": {"Expiration": "2099-01-01T00:00:00UTC"}}',
    "bad-expiration": (
        b'{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "SECRETMARKER",'
        b' "SessionToken": "t", "Expiration": "soon"}}'
    ),
}


class TestMisses:
    @pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
    async def test_corrupt_file_is_a_miss_logged_without_content(
        self,
        content: bytes,
        cache_dir: Path,
        parent: AioSession,
        sts_server: StsServer,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        child = assume_role(parent, role_arn(), cache=cache)
        path = Path(cache.path_for(child._assumed_role_credentials.fetcher.cache_key))
        path.write_bytes(content)  # noqa: ASYNC240 (set-up)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            key = await access_key(child)
        assert sts_server.count() == 1
        assert _access_key_in(path) == key
        assert "SECRETMARKER" not in caplog.text
        assert "Ignoring" in caplog.text

    async def test_no_secret_from_an_entry_in_logs_for_any_kind_of_miss(
        self, cache_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        secret_entry = json.dumps(VALUE, default=str)
        outside = tmp_path / "outside.json"
        outside.write_text(secret_entry)
        entries = {
            "truncated": lambda path: path.write_text(secret_entry[:80]),
            "oversized": lambda path: path.write_text(
                json.dumps({**VALUE, "padding": "x" * (1024 * 1024)}, default=str)
            ),
            "symlink": lambda path: path.symlink_to(outside),
            "directory": lambda path: path.mkdir(),
        }
        cache = AioJSONFileCache(cache_dir)
        with caplog.at_level(logging.DEBUG):
            for key, make in entries.items():
                make(cache_dir / f"{key}.json")
                assert await cache.get(key) is None
        assert len([r for r in caplog.records if "Ignoring" in r.getMessage()]) == len(entries)
        assert "SECRETMARKER" not in caplog.text

    async def test_file_level_corruption_names_the_file_only(
        self, cache_dir: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        (cache_dir / f"{KEY}.json").write_text(TRUNCATED)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            assert await cache.get(KEY) is None
        (record,) = caplog.records
        assert record.levelno == logging.DEBUG
        assert f"{KEY}.json" in record.getMessage()
        assert "SECRETMARKER" not in record.getMessage()

    async def test_unreadable_entry_is_a_miss(
        self, cache_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # As root a chmod 000 file is still readable: the refusal is injected.
        path = cache_dir / f"{KEY}.json"
        path.write_text(json.dumps(VALUE, default=str))
        real_open = os.open

        def refusing_open(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if os.fspath(name) == str(path):
                raise PermissionError(13, "Permission denied")
            return real_open(name, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            assert await AioJSONFileCache(cache_dir).get(KEY) is None
        assert "unreadable (PermissionError)" in caplog.text

    async def test_directory_at_an_entry_path_is_a_miss(
        self, cache_dir: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        (cache_dir / f"{KEY}.json").mkdir()
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            assert await AioJSONFileCache(cache_dir).get(KEY) is None
        assert "not a regular file" in caplog.text

    def test_fifo_at_an_entry_path_is_a_miss_and_never_hangs(self, cache_dir: Path) -> None:
        # Opening a FIFO for reading blocks until a writer comes: in a worker thread that
        # cannot be cancelled, and asyncio.run() waits for it at shutdown. In a child
        # process, so that a hang is a timeout here, not a hung test run.
        os.mkfifo(cache_dir / f"{KEY}.json")
        program = textwrap.dedent(
            f"""
            import asyncio, logging, sys
            from aio_assume_role.cache import AioJSONFileCache

            logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

            async def main():
                print(await AioJSONFileCache(sys.argv[1]).get({KEY!r}))

            asyncio.run(main())
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", program, str(cache_dir)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert (result.returncode, result.stdout.strip()) == (0, "None"), result.stderr
        assert "not a regular file" in result.stderr

    async def test_fifo_at_an_entry_path_is_a_miss_then_replaced_by_a_file(
        self, cache_dir: Path, parent: AioSession, sts_server: StsServer
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        child = assume_role(parent, role_arn(), cache=cache)
        path = Path(cache.path_for(child._assumed_role_credentials.fetcher.cache_key))
        os.mkfifo(path)
        key = await asyncio.wait_for(access_key(child), timeout=20)
        assert stat.S_ISREG(path.lstat().st_mode)  # noqa: ASYNC240
        assert _access_key_in(path) == key
        assert sts_server.count() == 1

    async def test_entry_over_1_mib_is_a_miss(
        self, cache_dir: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        await cache.set(KEY, {**VALUE, "padding": "x" * (1024 * 1024)})
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            assert await cache.get(KEY) is None
        assert "larger than 1 MiB" in caplog.text
        await cache.set(KEY, {**VALUE, "padding": "x" * (1024 * 1024 - 1000)})
        assert await cache.get(KEY) is not None  # just under the cap: read

    async def test_missing_directory_is_a_miss(self, tmp_path: Path) -> None:
        assert await AioJSONFileCache(tmp_path / "nowhere").get(KEY) is None


BAD_KEYS = [
    "../x",
    "../../etc/passwd",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "..",
    ".",
    ".hidden",
    "a..b",
    "",
    "a" * 251,
    "nul\x00byte",
    "new\nline",
    "with space",
    "C:x",
]


class TestKeySafety:
    @pytest.mark.parametrize("key", BAD_KEYS)
    async def test_unsafe_key_is_rejected_by_every_method(self, key: str, tmp_path: Path) -> None:
        directory = tmp_path / "a" / "cache"
        cache = AioJSONFileCache(directory)
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: cache.get(key),
            lambda: cache.set(key, VALUE),
            lambda: cache.contains(key),
            lambda: cache.delete(key),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="cache key must be") as caught:
                await call()
            if len(key) > 2:
                assert key not in str(caught.value)
        assert not (tmp_path / "a").exists()  # nothing created, not even the directory

    @pytest.mark.parametrize("key", [KEY, "a", "A-b_c.d=e", "a" * 250])
    async def test_plain_keys_stay_in_the_directory(self, key: str, cache_dir: Path) -> None:
        cache = AioJSONFileCache(cache_dir)
        await cache.set(key, VALUE)
        assert _files(cache_dir) == [f"{key}.json"]


class TestWrites:
    async def test_every_dir_it_creates_is_0700_and_files_0600_whatever_the_umask(
        self, tmp_path: Path
    ) -> None:
        directory = tmp_path / "deep" / "er" / "cache"
        existing_mode = _mode(tmp_path)
        old_umask = os.umask(0)
        try:
            await AioJSONFileCache(directory).set(KEY, VALUE)
        finally:
            os.umask(old_umask)
        assert _mode(tmp_path / "deep") == 0o700
        assert _mode(tmp_path / "deep" / "er") == 0o700
        assert _mode(directory) == 0o700
        assert _mode(directory / f"{KEY}.json") == 0o600
        assert _mode(tmp_path) == existing_mode  # an existing parent is left as it is

    async def test_existing_dir_keeps_its_mode_and_overwritten_file_becomes_0600(
        self, cache_dir: Path
    ) -> None:
        old = cache_dir / f"{KEY}.json"
        os.chmod(cache_dir, 0o755)
        os.close(os.open(old, os.O_CREAT | os.O_WRONLY, 0o644))
        os.chmod(old, 0o644)
        await AioJSONFileCache(cache_dir).set(KEY, VALUE)
        assert _mode(cache_dir) == 0o755
        assert _mode(old) == 0o600
        assert _files(cache_dir) == [f"{KEY}.json"]  # no temp file left behind

    async def test_failed_write_keeps_the_old_file_and_removes_the_temp_file(
        self, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        await cache.set(KEY, VALUE)
        before = (cache_dir / f"{KEY}.json").read_bytes()

        def failing_replace(*args: object, **kwargs: object) -> None:
            raise OSError(28, "No space left on device")  # injected: cannot be produced here

        monkeypatch.setattr(os, "replace", failing_replace)
        with pytest.raises(OSError, match="No space"):
            await cache.set(KEY, {"Credentials": {}})
        assert (cache_dir / f"{KEY}.json").read_bytes() == before
        assert _files(cache_dir) == [f"{KEY}.json"]

    def test_two_processes_writing_one_key_never_leave_a_partial_file(
        self, cache_dir: Path
    ) -> None:
        # Two writer processes overwrite one key with large, different values while
        # this process reads the raw file: every read must be absent or whole.
        writer = textwrap.dedent(
            """
            import asyncio, sys, time
            from aio_assume_role.cache import AioJSONFileCache

            cache = AioJSONFileCache(sys.argv[1])
            value = {"writer": sys.argv[2], "payload": sys.argv[2] * 300_000}

            async def main():
                deadline = time.monotonic() + 0.8
                while time.monotonic() < deadline:
                    await cache.set("shared", value)

            asyncio.run(main())
            """
        )
        writers = [
            subprocess.Popen([sys.executable, "-c", writer, str(cache_dir), marker])
            for marker in ("A", "B")
        ]
        path = cache_dir / "shared.json"
        seen = {"A": 0, "B": 0}
        deadline = time.monotonic() + 30
        while any(process.poll() is None for process in writers):
            assert time.monotonic() < deadline, "writers did not finish"
            try:
                content = path.read_bytes()
            except FileNotFoundError:
                continue
            value = json.loads(content)  # a partial file would fail here
            assert value["payload"] == value["writer"] * 300_000
            seen[value["writer"]] += 1
        assert [process.returncode for process in writers] == [0, 0]
        assert seen["A"] + seen["B"] > 0
        assert _files(cache_dir) == ["shared.json"]


class TestSymlinks:
    """A link at an entry's path is never followed; the directory's own path is the user's."""

    @pytest.fixture
    def outside(self, tmp_path: Path) -> Path:
        """A valid entry outside the cache directory, which a link could point at."""
        path = tmp_path / "outside.json"
        path.write_text(json.dumps(VALUE, default=str))
        return path

    async def test_symlink_at_an_entry_path_is_a_miss_not_followed(
        self, cache_dir: Path, outside: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        (cache_dir / f"{KEY}.json").symlink_to(outside)
        cache = AioJSONFileCache(cache_dir)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            assert await cache.get(KEY) is None
        assert "symbolic link" in caplog.text
        assert not await cache.contains(KEY)

    async def test_dangling_symlink_at_an_entry_path_is_a_miss(
        self, cache_dir: Path, tmp_path: Path
    ) -> None:
        (cache_dir / f"{KEY}.json").symlink_to(tmp_path / "nowhere.json")
        assert await AioJSONFileCache(cache_dir).get(KEY) is None

    async def test_write_replaces_a_symlinked_entry_itself_never_its_target(
        self, cache_dir: Path, outside: Path
    ) -> None:
        before = outside.read_bytes()  # noqa: ASYNC240
        entry = cache_dir / f"{KEY}.json"
        entry.symlink_to(outside)
        cache = AioJSONFileCache(cache_dir)
        await cache.set(KEY, {**VALUE, "new": True})
        assert outside.read_bytes() == before  # noqa: ASYNC240
        assert not entry.is_symlink() and _mode(entry) == 0o600
        assert (await cache.get(KEY) or {}).get("new") is True

    async def test_delete_removes_a_symlinked_entry_not_its_target(
        self, cache_dir: Path, outside: Path
    ) -> None:
        (cache_dir / f"{KEY}.json").symlink_to(outside)
        await AioJSONFileCache(cache_dir).delete(KEY)
        assert outside.exists() and _files(cache_dir) == []  # noqa: ASYNC240

    async def test_symlinked_cache_directory_is_followed(self, tmp_path: Path) -> None:
        # Documented choice: the directory path is the caller's (e.g. ~/.aws in a dotfiles
        # repository); only entries, which others may plant, are not followed.
        real = tmp_path / "real"
        real.mkdir(mode=0o700)
        (tmp_path / "link").symlink_to(real)
        cache = AioJSONFileCache(tmp_path / "link")
        await cache.set(KEY, VALUE)
        assert await cache.get(KEY) is not None
        assert _files(real) == [f"{KEY}.json"]


needs_root = pytest.mark.skipif(
    getattr(os, "geteuid", lambda: -1)() != 0, reason="giving a file to another user needs root"
)
OTHER_UID = 4242


class TestDirectoryTrust:
    """A directory others can write to is used as it is, with one WARNING; entries that
    another user wrote are a miss (they could be someone else's credentials)."""

    @staticmethod
    def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]

    @pytest.mark.parametrize("mode", [0o770, 0o707, 0o1777], ids=oct)
    async def test_dir_writable_by_others_is_used_with_one_warning(
        self, cache_dir: Path, mode: int, caplog: pytest.LogCaptureFixture
    ) -> None:
        os.chmod(cache_dir, mode)
        cache = AioJSONFileCache(cache_dir)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            await cache.set(KEY, VALUE)
            assert await cache.get(KEY) is not None
            assert await cache.get(KEY) is not None
        (warning,) = self._warnings(caplog)
        assert str(cache_dir) in warning and "writable by" in warning
        assert "chmod 700" in warning
        assert os.stat(cache_dir).st_mode & 0o7777 == mode  # left as the owner set it

    @pytest.mark.parametrize("mode", [0o700, 0o755], ids=oct)
    async def test_private_dir_gives_no_warning(
        self, cache_dir: Path, mode: int, caplog: pytest.LogCaptureFixture
    ) -> None:
        os.chmod(cache_dir, mode)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            cache = AioJSONFileCache(cache_dir)
            await cache.set(KEY, VALUE)
            assert await cache.get(KEY) is not None
        assert self._warnings(caplog) == []

    @needs_root
    async def test_dir_owned_by_another_user_is_used_with_one_warning(
        self, cache_dir: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        os.chown(cache_dir, OTHER_UID, -1)
        os.chmod(cache_dir, 0o755)
        cache = AioJSONFileCache(cache_dir)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            await cache.set(KEY, VALUE)
            assert await cache.get(KEY) is not None
        (warning,) = self._warnings(caplog)
        assert "owned by another user" in warning

    @needs_root
    async def test_entry_owned_by_another_user_is_a_miss(
        self, cache_dir: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        cache = AioJSONFileCache(cache_dir)
        await cache.set(KEY, VALUE)
        os.chown(cache_dir / f"{KEY}.json", OTHER_UID, -1)
        with caplog.at_level(logging.DEBUG, logger="aio_assume_role"):
            assert await cache.get(KEY) is None
        assert "owned by another user" in caplog.text


class TestUnwritable:
    """A directory that cannot be written: ``set`` raises OSError, ``get`` is a miss."""

    async def test_set_raises_os_error_where_the_directory_cannot_be_created(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "a-file").write_text("")
        cache = AioJSONFileCache(tmp_path / "a-file" / "cache")
        with pytest.raises(OSError):
            await cache.set(KEY, VALUE)
        assert await cache.get(KEY) is None

    async def test_read_only_filesystem_raises_os_error_and_leaves_no_temp_file(
        self, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real_open = os.open

        def read_only_open(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & os.O_CREAT:  # injected: no read-only mount can be made here
                raise OSError(30, "Read-only file system")
            return real_open(name, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", read_only_open)
        cache = AioJSONFileCache(cache_dir)
        with pytest.raises(OSError, match="Read-only"):
            await cache.set(KEY, VALUE)
        assert _files(cache_dir) == []
        assert await cache.get(KEY) is None


async def test_a_read_and_a_write_are_one_worker_thread_call_each(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each hop to a worker thread costs a loop round trip; a cache hit should cost one.
    loop = asyncio.get_running_loop()
    hops: list[object] = []
    real = loop.run_in_executor

    def counting(executor: Any, func: Any, *args: Any) -> Any:
        hops.append(func)
        return real(executor, func, *args)

    monkeypatch.setattr(loop, "run_in_executor", counting)
    cache = AioJSONFileCache(cache_dir)
    await cache.set(KEY, VALUE)
    assert len(hops) == 1
    hops.clear()
    assert await cache.get(KEY) is not None
    assert len(hops) == 1


async def _max_loop_gap(work: Callable[[], Awaitable[None]]) -> float:
    """The longest the event loop went without running a 1 ms ticker during ``work``."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    try:
        await work()
    finally:
        done.set()
        await task
    return max(gaps)


async def test_event_loop_stays_responsive_during_200_concurrent_reads_and_writes(
    tmp_path: Path,
) -> None:
    # 200 concurrent tasks, each writing then reading its own key 3 times. The same
    # work done by botocore's synchronous JSONFileCache is one stretch the loop cannot
    # run in; with AioJSONFileCache the loop's longest pause must be a fraction of it.
    # Relative, so a slow disk or a busy neighbour scales both sides alike.
    rounds, tasks = 3, 200
    sync_cache = JSONFileCache(str(tmp_path / "sync"))
    started = time.perf_counter()
    for _ in range(rounds):
        for i in range(tasks):
            sync_cache[f"k{i}"] = VALUE
            assert sync_cache[f"k{i}"]
    blocking_total = time.perf_counter() - started

    cache = AioJSONFileCache(tmp_path / "aio")

    async def one(key: str) -> None:
        for _ in range(rounds):
            await cache.set(key, VALUE)
            assert await cache.get(key) is not None

    async def concurrent_work() -> None:
        await asyncio.gather(*(one(f"k{i}") for i in range(tasks)))

    gaps = []
    for _ in range(3):  # best of 3: a noisy neighbour can stall any one run
        gaps.append(await _max_loop_gap(concurrent_work))
    assert len(_files(tmp_path / "aio")) == tasks
    assert min(gaps) < blocking_total / 3, (gaps, blocking_total)


async def test_a_write_serializes_in_the_worker_thread_not_on_the_loop(cache_dir: Path) -> None:
    # json.dumps was most of a write's work on the loop: 200 concurrent writes stalled it.
    threads: list[int] = []

    class Spy(datetime.datetime):
        def strftime(self, fmt: str) -> str:
            threads.append(threading.get_ident())
            return super().strftime(fmt)

    spy = Spy(2031, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)
    await AioJSONFileCache(cache_dir).set(KEY, {"Credentials": {"Expiration": spy}})
    assert threads and threading.get_ident() not in threads
    assert json.loads((cache_dir / f"{KEY}.json").read_bytes())["Credentials"] == {
        "Expiration": "2031-02-03T04:05:06UTC"
    }
