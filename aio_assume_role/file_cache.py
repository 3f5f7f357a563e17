"""``AioJSONFileCache``: botocore's JSON file cache format, with non-blocking file I/O.

Every file operation runs through aiofiles (a worker thread), so reading or writing
the cache never blocks the event loop. Files are the ones botocore's
``JSONFileCache`` (and so the AWS CLI and boto3) reads and writes: ``<key>.json`` in
the directory, ``json.dumps`` with botocore's datetime serializer.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import aiofiles
import aiofiles.os
from botocore.credentials import _serialize_if_needed

__all__ = ["AioJSONFileCache"]

logger = logging.getLogger("aio_assume_role")

# botocore's fetchers give hex sha1 keys (after _make_file_safe); this allows those
# and other plain names, but no separator, no leading dot and no "..", so a key can
# never name a file outside the directory. 250 + len(".json") = 255, the name limit.
_SAFE_KEY = re.compile(r"(?!.*\.\.)[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,249}")

_fsync = aiofiles.os.wrap(os.fsync)


def _create_private(path: str, flags: int) -> int:
    """``opener`` for a new file readable and writable by its owner only (0600)."""
    return os.open(path, flags, 0o600)


class AioJSONFileCache:
    """A cache of AssumeRole responses in a directory, shareable with the AWS CLI and boto3.

    ``await get(key)`` / ``set(key, value)`` / ``contains(key)`` / ``delete(key)``.
    Writes are atomic (a 0600 temp file in the same directory, fsync, rename), so
    readers, in this process or another, see a whole file or none. A missing,
    corrupt or unreadable file is a miss, never an error. The directory is created
    on the first write with mode 0700; an existing directory is used as it is (its
    permissions are the owner's choice, e.g. one shared with the AWS CLI), and the
    files in it are 0600 either way.
    """

    def __init__(self, dir_path: str | os.PathLike[str]) -> None:
        # Absolute now, so a later chdir does not move the cache.
        self._dir = os.path.abspath(os.fspath(dir_path))

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
        """Return the cached value, or None if absent, corrupt or unreadable."""
        path = self.path_for(key)
        try:
            async with aiofiles.open(path, "rb") as file:
                content = await file.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            return self._miss(path, f"unreadable ({type(error).__name__})")
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
        try:
            content = json.dumps(dict(value), default=_serialize_if_needed).encode()
        except (TypeError, ValueError) as error:
            # Unlike botocore's message, never the value: it holds secret keys.
            raise ValueError(f"cache value for key {key} is not JSON serializable") from error
        await aiofiles.os.makedirs(self._dir, mode=0o700, exist_ok=True)
        # Unique per write; the key's head only names it (a full 250-char key would not fit).
        temp_path = os.path.join(self._dir, f".{key[:64]}.{secrets.token_hex(8)}.tmp")
        try:
            async with aiofiles.open(temp_path, "xb", opener=_create_private) as file:
                await file.write(content)
                await file.flush()
                await _fsync(file.fileno())
            await aiofiles.os.replace(temp_path, path)
        except BaseException:
            with suppress(OSError):
                await aiofiles.os.remove(temp_path)
            raise

    async def contains(self, key: str) -> bool:
        """Whether a file exists for ``key`` (its content is not checked)."""
        return await aiofiles.os.path.isfile(self.path_for(key))

    async def delete(self, key: str) -> None:
        """Remove the entry; ``KeyError`` if there is none."""
        try:
            await aiofiles.os.remove(self.path_for(key))
        except FileNotFoundError:
            raise KeyError(key) from None

    @staticmethod
    def _miss(path: str, reason: str) -> None:
        # The file name only: the content may hold credentials.
        logger.debug("Ignoring cache file %s: %s", os.path.basename(path), reason)
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._dir!r})"
