"""The command's credential_process cache: where it lives, and a hit read without botocore.

``aio-assume-role ROLE_ARN --json`` keeps each AssumeRole response in a private directory
(``--cache-dir``, else ``$AIO_ASSUME_ROLE_CACHE_DIR``, else
``${XDG_CACHE_HOME:-~/.cache}/aio-assume-role/credential-process``), as
``AioJSONFileCache`` entries written by the library's fetcher. A hit is read here with
the standard library alone, served only if complete, for the requested role and session
name, with at least ``MIN_SECONDS_LEFT`` left; anything else is a miss for the full path.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from .._core.files import _Miss, _read_entry
from .._core.parameters import request_cache_key

__all__ = [
    "CACHE_DIR_VARIABLE",
    "MIN_SECONDS_LEFT",
    "CheckedCache",
    "cached_credentials",
    "default_cache_dir",
]

#: The environment variable naming the cache directory (under ``--cache-dir``).
CACHE_DIR_VARIABLE = "AIO_ASSUME_ROLE_CACHE_DIR"

#: An entry is served only with this long left (botocore's advisory refresh window).
MIN_SECONDS_LEFT = 15 * 60

# What the fetcher writes ("...UTC"), STS sends ("...Z") or isoformat() does ("+00:00").
_EXPIRATION = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(?:Z|UTC|\+00:00)", re.ASCII
)
_ROLE_ARN = re.compile(r"arn:([\w-]+):iam::(\d{12}):role/(?:[^:]*/)?([^/:]+)", re.ASCII)
_GENERATED_SESSION_NAME = re.compile(r"botocore-session-\d+", re.ASCII)
_SECRET_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken")


def default_cache_dir() -> str:
    """``$AIO_ASSUME_ROLE_CACHE_DIR``, else in ``XDG_CACHE_HOME`` (if absolute) or ~/.cache."""
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    if chosen:
        return os.path.abspath(os.path.expanduser(chosen))
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "aio-assume-role", "credential-process")


def cached_credentials(
    directory: str,
    role_arn: str,
    args: Mapping[str, Any],
    *,
    now: datetime.datetime | None = None,
) -> tuple[str, str, str, datetime.datetime] | None:
    """(access key, secret key, token, expiry) of the fresh entry for the request (its
    normalized ``args``), or None."""
    path = os.path.join(directory, request_cache_key(role_arn, args) + ".json")
    try:
        content = _read_entry(path)
        entry = None if content is None else json.loads(content)
    except (_Miss, ValueError):
        return None
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    return _fresh(entry, role_arn, args.get("RoleSessionName"), now)


class CheckedCache:
    """The full path's view of an ``AioJSONFileCache``: what a hit would not serve is a
    miss for the library's fetcher too (which replaces it)."""

    def __init__(self, cache: Any, role_arn: str, args: Mapping[str, Any]) -> None:
        self._cache = cache
        self._role_arn = role_arn
        self._session_name = args.get("RoleSessionName")

    async def get(self, key: str) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = await self._cache.get(key)
        now = datetime.datetime.now(datetime.timezone.utc)
        if entry is None or _fresh(entry, self._role_arn, self._session_name, now) is None:
            return None
        return entry

    async def set(self, key: str, value: Mapping[str, Any]) -> None:
        await self._cache.set(key, value)

    def lock(self, key: str) -> Any:
        return self._cache.lock(key)


def _fresh(
    entry: object, role_arn: str, session_name: object, now: datetime.datetime
) -> tuple[str, str, str, datetime.datetime] | None:
    if not isinstance(entry, dict) or not _for_role(entry, role_arn, session_name):
        return None
    credentials = entry.get("Credentials")
    if not isinstance(credentials, dict):
        return None
    values = [credentials.get(name) for name in _SECRET_FIELDS]
    expiry = _expiry(credentials.get("Expiration"))
    if expiry is None or (expiry - now).total_seconds() < MIN_SECONDS_LEFT:
        return None
    access_key, secret_key, token = values
    if not all(isinstance(value, str) and value for value in values):
        return None
    return str(access_key), str(secret_key), str(token), expiry


def _for_role(entry: dict[str, Any], role_arn: str, session_name: object) -> bool:
    """Whether the entry's ``AssumedRoleUser.Arn`` is a session of ``role_arn`` named
    ``session_name`` (or botocore's generated name)."""
    user = entry.get("AssumedRoleUser")
    arn = user.get("Arn") if isinstance(user, dict) else None
    role = _ROLE_ARN.fullmatch(role_arn)
    if not isinstance(arn, str) or role is None:
        return False
    partition, account, name = role.groups()
    prefix = f"arn:{partition}:sts::{account}:assumed-role/{name}/"
    if not arn.startswith(prefix):
        return False
    session = arn[len(prefix) :]
    if session_name:
        return session == session_name
    return _GENERATED_SESSION_NAME.fullmatch(session) is not None


def _expiry(value: object) -> datetime.datetime | None:
    match = _EXPIRATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        naive = datetime.datetime.fromisoformat(match.group(1))
    except ValueError:
        return None
    return naive.replace(tzinfo=datetime.timezone.utc)
