"""Credential caches: the async protocol, ``AioJSONFileCache``, and adapters onto it.

A cache maps a key (botocore's AssumeRole cache key) to the raw AssumeRole
response. Anything with async ``get``/``set`` (such as ``AioJSONFileCache``) is
used as is; botocore's ``JSONFileCache`` is called in a worker thread; any other
dict-like object (``__getitem__``/``__setitem__``/``__contains__``) is called inline.

A cache may also offer ``lock(key)``, an async context manager that serializes
fetches of a key across processes (``AioJSONFileCache`` does, with a file lock
per key); the fetcher takes it on a cache miss only.
"""

from __future__ import annotations

import asyncio
import datetime
import errno
import json
import logging
import math
import os
import re
import secrets
import stat
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, Protocol, TypeVar, runtime_checkable

import aiofiles.os
from botocore.utils import JSONFileCache
from filelock import AsyncFileLock, Timeout

from ._core.fetch_core import cache_identity as core_cache_identity
from ._core.files import _COMMON_FLAGS, _foreign, _Miss, _read_entry
from ._core.request import is_async_cache
from ._core.response import read_cached_response, store_response

# The adapters below (MappingCache, ThreadedMappingCache, as_async_cache,
# cache_identity) are the library's own: importable, not part of the public API.
__all__ = ["AioJSONFileCache", "AsyncCredentialCache"]


@runtime_checkable
class AsyncCredentialCache(Protocol):
    """An async cache of AssumeRole responses."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached value, or None on a miss (never raise for a bad entry)."""

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        """Store a value."""

    # Optional, so not declared (a runtime_checkable protocol would demand it):
    # lock(key) -> AbstractAsyncContextManager[bool], see the module docstring.


logger = logging.getLogger("aio_assume_role")


def _serialize_if_needed(value: Any, iso: bool = False) -> Any:
    """botocore's private ``credentials._serialize_if_needed``, copied (tests/test_compat.py
    checks it has not changed): files stay byte-identical to botocore's."""
    if isinstance(value, datetime.datetime):
        if iso:
            return value.isoformat()
        return value.strftime("%Y-%m-%dT%H:%M:%S%Z")
    return value


# botocore's fetchers give hex sha1 keys (after _make_file_safe); this allows those
# and other plain names, but no separator, no leading dot and no "..", so a key can
# never name a file outside the directory. 250 + len(".json") = 255, the name limit.
_SAFE_KEY = re.compile(r"(?!.*\.\.)[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,249}")

_T = TypeVar("_T")

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _COMMON_FLAGS


def _make_private_dirs(path: str) -> None:
    """Create ``path`` and each missing parent with mode 0700 (``os.makedirs`` gives
    the parents it creates 0777 less the umask). Existing ones are left as they are."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        _make_private_dirs(parent)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def _write_entry(directory: str, path: str, temp_path: str, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically: a new 0600 temp file, fsync, rename."""
    _make_private_dirs(directory)
    fd = os.open(temp_path, _CREATE_FLAGS, 0o600)
    try:
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        # rename() replaces whatever is at ``path`` (a link included), never a target.
        os.replace(temp_path, path)
    except BaseException:
        with suppress(OSError):
            os.remove(temp_path)
        raise


def _directory_warning(directory: str) -> str | None:
    """Why other users could plant or replace entries in ``directory``, if they can."""
    try:
        info = os.stat(directory)
    except OSError:
        return None
    if _foreign(info.st_uid):
        return "is owned by another user, who can replace its entries"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (
            f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):o}): they "
            "can replace its entries"
        )
    return None


def _check_lock_timeout(value: float, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"{name} must be a number of seconds >= 0 (how long to wait for another "
            f"process's cache lock), not {value!r}"
        )
    return float(value)


def _is_regular_entry(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _call(func: Callable[..., _T], *args: Any) -> _T:
    return func(*args)


# One executor hop per whole read or write (aiofiles' file objects make one per call).
_call_in_worker_thread = aiofiles.os.wrap(_call)


async def _in_worker_thread(func: Callable[..., _T], *args: Any) -> _T:
    """Run ``func(*args)`` in the loop's default executor: one thread hop."""
    result: _T = await _call_in_worker_thread(func, *args)
    return result


#: Seconds between attempts to take a file lock that another process holds.
LOCK_POLL_INTERVAL = 0.05

# Release tasks for locks a cancelled attempt took after its caller left (kept alive here).
_ORPHAN_RELEASES: set[asyncio.Task[None]] = set()


def _release_if_taken(lock: AsyncFileLock, attempt: asyncio.Future[Any]) -> None:
    """Done callback of an attempt whose waiter was cancelled: give back what it took."""
    if attempt.cancelled() or attempt.exception() is not None:
        return
    task = asyncio.ensure_future(lock.release(force=True))
    _ORPHAN_RELEASES.add(task)
    task.add_done_callback(_ORPHAN_RELEASES.discard)


async def _try_lock_once(lock: AsyncFileLock) -> bool:
    """One non-blocking attempt (in a worker thread, inside filelock); True if taken.

    Shielded: cancelled while the attempt runs, the caller leaves at once and the
    attempt finishes on its own; if it took the lock, it is released then.
    """
    attempt = asyncio.ensure_future(lock.acquire(blocking=False))
    try:
        await asyncio.shield(attempt)
    except Timeout:
        return False
    except asyncio.CancelledError:
        if attempt.done():
            _release_if_taken(lock, attempt)
        else:
            attempt.add_done_callback(lambda done: _release_if_taken(lock, done))
        raise
    return True


class AioJSONFileCache:
    """A cache of AssumeRole responses in a directory, shareable with the AWS CLI and boto3.

    ``await get(key)`` / ``set(key, value)`` / ``contains(key)`` / ``delete(key)``.
    Writes are atomic (a 0600 temp file in the same directory, fsync, rename), so
    readers, in this process or another, see a whole file or none. A missing,
    corrupt or unreadable entry is a miss, never an error, and so is a symbolic
    link, a FIFO or anything else but a regular file, a file over 1 MiB, or one
    owned by a user other than this one or root. The directory and each missing
    parent are created on the first write with mode 0700; an existing directory
    is used as it is (its permissions are the owner's choice, e.g. one shared
    with the AWS CLI; a WARNING is logged once if other users can write to it),
    and the files in it are 0600 either way. A symbolic link as the directory
    itself is followed.

    ``async with cache.lock(key)`` holds a file lock (``<key>.lock``, 0600, flock
    through the filelock package) that sessions in other processes sharing the
    directory take before they call AssumeRole for ``key``: N processes starting
    at once make one AssumeRole call per role. A lock held by a process that died
    is released by the OS; one held longer than ``lock_timeout`` seconds (a hung
    process) is given up on with a WARNING, and the caller goes ahead unlocked.

    Raises ``ValueError`` if ``lock_timeout`` is not a finite number >= 0.
    """

    def __init__(self, dir_path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        # Absolute now, so a later chdir does not move the cache.
        self._dir = os.path.abspath(os.fspath(dir_path))
        self._dir_checked = False
        self.lock_timeout = _check_lock_timeout(lock_timeout, "lock_timeout")

    @property
    def dir_path(self) -> str:
        """The cache directory (absolute)."""
        return self._dir

    def path_for(self, key: str) -> str:
        """The file that holds ``key``: ``<dir>/<key>.json``, as in botocore.

        Raises ``ValueError`` for a key that is not a plain file-name stem.
        """
        if not isinstance(key, str) or not _SAFE_KEY.fullmatch(key):
            raise ValueError(
                "cache key must be 1-250 characters of A-Z a-z 0-9 _ . = - "
                "with no leading '.' and no '..' (no path separators)"
            )
        return os.path.join(self._dir, key + ".json")

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached value, or None if absent, corrupt, unreadable or untrusted."""
        path = self.path_for(key)
        try:
            content = await _in_worker_thread(self._read, path)
        except _Miss as reason:
            return self._miss(path, str(reason))
        if content is None:
            return None
        try:
            value = json.loads(content)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            return self._miss(path, "not valid JSON (corrupt or truncated)")
        if not isinstance(value, dict):
            return self._miss(path, f"holds a JSON {type(value).__name__}, not an object")
        return value

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        """Store ``value`` as JSON, atomically.

        Raises ``ValueError`` if it is not JSON serializable (datetimes are, as in
        botocore), ``OSError`` if the directory cannot be written.
        """
        path = self.path_for(key)
        # Unique per write; the key's head only names it (a full 250-char key would not fit).
        temp_path = os.path.join(self._dir, f".{key[:64]}.{secrets.token_hex(8)}.tmp")
        await _in_worker_thread(self._write, key, path, temp_path, dict(value))

    def lock_path_for(self, key: str) -> str:
        """The lock file for ``key``: ``<dir>/<key>.lock``.

        Raises ``ValueError`` for a key that is not a plain file-name stem.
        """
        return self.path_for(key)[: -len(".json")] + ".lock"

    def lock(self, key: str, timeout: float | None = None) -> AbstractAsyncContextManager[bool]:
        """``async with cache.lock(key) as locked:`` keeps other processes out of ``key``.

        An exclusive lock on ``<dir>/<key>.lock`` (created 0600, never through a
        symbolic link), for one process at a time; the waiting never blocks the
        event loop (each attempt runs in a worker thread, and the wait between
        attempts is an ``asyncio.sleep``). Yields True once the lock is held. Yields
        False, after logging a WARNING, if it was not taken within ``timeout``
        seconds (default: ``lock_timeout``), or cannot be taken at all (e.g. a
        symbolic link at its path, or an unwritable directory): the caller goes
        ahead without it, since a hung process must not stop others for good.
        Within one process, callers must serialize themselves (the fetcher does):
        the lock is meant for processes, not for tasks.

        Raises ``ValueError`` for an unsafe key or a ``timeout`` that is not a
        finite number >= 0.
        """
        lock_path = self.lock_path_for(key)
        if timeout is None:
            timeout = self.lock_timeout
        return self._locked(lock_path, _check_lock_timeout(timeout, "timeout"))

    @asynccontextmanager
    async def _locked(self, lock_path: str, timeout: float) -> AsyncIterator[bool]:
        lock = await self._file_lock(lock_path)
        if lock is not None and await self._acquire(lock, lock_path, timeout):
            try:
                yield True
            finally:
                await asyncio.shield(lock.release(force=True))
        else:
            yield False

    async def _file_lock(self, lock_path: str) -> AsyncFileLock | None:
        # The directory first, 0700 as for a write (filelock would make it 0777 - umask).
        try:
            await _in_worker_thread(self._make_dir)
        except OSError as error:
            # No process can write entries there either; set() will say so (a WARNING).
            logger.debug("No cache lock %s: %s", lock_path, error.strerror)
            return None
        # mode: filelock fchmods the file to it, whatever the umask; it opens with
        # O_NOFOLLOW (filelock >= 3.20.1), so a link planted there is never followed.
        return AsyncFileLock(lock_path, mode=0o600)

    async def _acquire(self, lock: AsyncFileLock, lock_path: str, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                if await _try_lock_once(lock):
                    return True
            except OSError as error:
                if error.errno == errno.ELOOP:  # planted: say so
                    self._lock_warning(lock_path, "it is a symbolic link (not followed)")
                else:  # e.g. a read-only directory, where set() will fail and warn too
                    logger.debug("No cache lock %s: %s", lock_path, error.strerror)
                return False
            left = deadline - loop.time()
            if left <= 0:
                self._lock_warning(
                    lock_path,
                    f"another process has held it for over {timeout:g} s (hung?)",
                )
                return False
            await asyncio.sleep(min(LOCK_POLL_INTERVAL, left))

    @staticmethod
    def _lock_warning(lock_path: str, reason: str) -> None:
        logger.warning(
            "Not waiting for cache lock %s: %s; fetching without it, so another process "
            "may make the same AssumeRole call",
            lock_path,
            reason,
        )

    def _make_dir(self) -> None:
        try:
            _make_private_dirs(self._dir)
        finally:
            self._check_directory_once()

    async def contains(self, key: str) -> bool:
        """Whether a regular file (not a link) is there for ``key`` (its content unchecked)."""
        return await _in_worker_thread(_is_regular_entry, self.path_for(key))

    async def delete(self, key: str) -> None:
        """Remove the entry (a link at its path, not the link's target); ``KeyError`` if none."""
        try:
            await aiofiles.os.remove(self.path_for(key))
        except FileNotFoundError:
            raise KeyError(key) from None

    # _read and _write run in a worker thread, each as one call.
    def _read(self, path: str) -> bytes | None:
        try:
            return _read_entry(path)
        finally:
            self._check_directory_once()

    def _write(self, key: str, path: str, temp_path: str, value: dict[str, Any]) -> None:
        try:
            content = json.dumps(value, default=_serialize_if_needed).encode()
        except (TypeError, ValueError) as error:
            # Unlike botocore's message, never the value: it holds secret keys.
            raise ValueError(f"cache value for key {key} is not JSON serializable") from error
        try:
            _write_entry(self._dir, path, temp_path, content)
        finally:
            self._check_directory_once()

    def _check_directory_once(self) -> None:
        # Two threads racing here may both warn: harmless.
        if self._dir_checked:
            return
        problem = _directory_warning(self._dir)
        if problem is None and not os.path.isdir(self._dir):
            return  # not there yet: check again after the next read or write
        self._dir_checked = True
        if problem is not None:
            logger.warning(
                "Cache directory %s %s, which could make this process use credentials "
                "they chose; use a directory only you can write to (chmod 700 it)",
                self._dir,
                problem,
            )

    @staticmethod
    def _miss(path: str, reason: str) -> None:
        # The file name only: the content may hold credentials.
        logger.debug("Ignoring cache file %s: %s", os.path.basename(path), reason)
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._dir!r})"


class MappingCache:
    """Adapts a dict-like cache to the async protocol, with botocore's copy semantics.

    Calls run inline on the event loop: right for in-memory dicts.
    """

    def __init__(self, mapping: Any) -> None:
        self.mapping = mapping

    async def get(self, key: str) -> dict[str, Any] | None:
        return self._get(key)

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        self._set(key, value)

    def _get(self, key: str) -> dict[str, Any] | None:
        return read_cached_response(self.mapping, key)

    def _set(self, key: str, value: Mapping[str, Any]) -> None:
        store_response(self.mapping, key, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.mapping).__name__})"


class ThreadedMappingCache(MappingCache):
    """Adapts a dict-like cache that does blocking I/O (``JSONFileCache``): calls run in a
    worker thread."""

    async def get(self, key: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self._get, key)

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self._set, key, value)


def cache_identity(cache: object) -> Hashable:
    """What decides that two sessions share a cache, and so share fetches of a key.

    File caches (ours or botocore's) are the same cache when they use the same
    directory; any other cache object only shares with itself (``_core.fetch_core``'s
    rule, which the sync path uses). Never raises.
    """
    if isinstance(cache, AioJSONFileCache):
        return ("dir", os.path.realpath(cache.dir_path))
    return core_cache_identity(cache)


def as_async_cache(cache: object) -> AsyncCredentialCache:
    """Return ``cache`` (one ``assume_role``'s checks accepted, not None) as an async cache.

    Async caches are used as they are, botocore's ``JSONFileCache`` (and subclasses,
    such as aws-assume-role-lib's) runs in worker threads, other dict-likes inline.
    Never raises.
    """
    if is_async_cache(cache):
        return cache  # type: ignore[return-value]
    if isinstance(cache, JSONFileCache):
        return ThreadedMappingCache(cache)
    return MappingCache(cache)
