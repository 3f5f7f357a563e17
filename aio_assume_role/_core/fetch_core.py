"""The fetch core both paths share: all of a fetch but the I/O (cache, STS, locks).

No network, no cache I/O, no aiobotocore: the async fetcher (``_core.fetch``) and the
sync one (``sync``) build on ``FetchCore`` and differ only where they await or block.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
from collections.abc import Coroutine, Hashable, Mapping
from contextlib import AbstractAsyncContextManager
from copy import deepcopy
from typing import Any, TypeVar

from botocore.utils import ArnParser, InvalidArnException, JSONFileCache

from ..errors import MalformedResponseError
from . import clock as _clock
from .cache_key import assume_role_cache_key
from .compat import json_file_cache_dir
from .mfa import TokenCodes, split_token_code
from .response import assumed_role_mismatch, credential_metadata
from .windows import refresh_windows, requested_lifetime

__all__ = ["FetchCore", "cache_identity", "generated_session_name", "run_without_loop"]

logger = logging.getLogger("aio_assume_role")

_ARN_PARSER = ArnParser()  # no state: botocore makes one per call

# The types of an AssumeRole argument a shallow copy of the request copies.
_FLAT = frozenset({str, int, float, bool})

_T = TypeVar("_T")


def run_without_loop(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never suspends (every await it makes finishes at once), here.

    How the sync path runs ``FetchCore``'s steps: its I/O methods are ``async def``
    functions that block and return, so no event loop is needed. Raises what the
    coroutine raises, or ``RuntimeError`` if it suspends after all (a bug).
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a sync fetch step suspended: it awaited real asynchronous I/O")


def cache_identity(cache: object) -> Hashable:
    """What decides that two fetchers share a cache, and so single-flight a key.

    botocore's ``JSONFileCache`` objects on one directory are the same cache; any
    other cache only shares with itself. (``cache.cache_identity`` adds the async
    path's ``AioJSONFileCache``.) Never raises.
    """
    working_dir = json_file_cache_dir(cache) if isinstance(cache, JSONFileCache) else None
    if working_dir:
        return ("dir", os.path.realpath(working_dir))
    return ("object", id(cache))


def generated_session_name() -> str:
    """botocore's generated session name (``BaseAssumeRoleCredentialFetcher``), to the second."""
    return f"botocore-session-{int(time.time())}"


class FetchCore:
    """Everything of a fetch but its I/O: the request as botocore would send it
    (generated session name, cache key), read-only accessors, the cache-entry check
    (expiry on ``_clock``, malformed or foreign entries are a miss), the response
    check (account id added), the write-failure report and a secret-free repr.

    The async fetcher (``_core.fetch.AssumeRoleFetcher``) and the sync one
    (``sync.SyncAssumeRoleFetcher``) subclass it and add only their I/O: the cache's
    get/set, the single-flight lock, the parent's credentials, the STS call. The
    steps of a fetch (``_fetch``) are written once, here, as a coroutine: the
    async path awaits it, the sync path runs it with ``run_without_loop``."""

    duration_seconds: int

    def __init__(
        self, role_arn: str, args: Mapping[str, Any], *, cache: Any, cache_identity: object
    ) -> None:
        """Record the request: TokenCode (left out of the request and its cache key),
        lifetime, session name (given, or generated as botocore does).

        A cached response counts as fresh while it has more left than the advisory
        refresh window, so credentials served from the cache are never due at once.
        """
        extra_args, token_code = split_token_code(args)
        self._token_codes = TokenCodes(token_code, role_arn=role_arn)
        self.duration_seconds = requested_lifetime(args)
        self._expiry_window_seconds, _ = refresh_windows(self.duration_seconds)
        self._role_arn = role_arn
        # ``args`` come from normalize_assume_role_args, which copied them: the lists
        # and dicts in them are shared by the fetchers of one fan-out, never changed.
        self._assume_kwargs: dict[str, Any] = extra_args
        self._assume_kwargs["RoleArn"] = role_arn
        self._generated_name = not self._assume_kwargs.get("RoleSessionName")
        if self._generated_name:
            self._assume_kwargs["RoleSessionName"] = generated_session_name()
        self._role_session_name: str = self._assume_kwargs["RoleSessionName"]
        # Each call gets its own copy of the request (botocore's handlers may change
        # what they are given); one of only strings and numbers needs no deep copy.
        self._flat_kwargs = all(type(value) in _FLAT for value in self._assume_kwargs.values())
        # None: no cache at all (assume_role(cache=None), on both paths): every fetch
        # calls AssumeRole, and takes no shared-fetch lock (nobody shares its fetches).
        self._cache = cache
        # What decides that two fetchers share a cache (and so single-flight a key).
        self._cache_identity = cache_identity
        # The access key id of the last cache entry ignored as another session's.
        self._ignored_entry: str | None = None

    @property
    def role_arn(self) -> str:
        """The ARN of the role this fetcher assumes."""
        return self._role_arn

    @property
    def role_session_name(self) -> str:
        """The session name sent to STS (given, or generated once)."""
        return self._role_session_name

    @functools.cached_property
    def cache_key(self) -> str:
        """botocore's cache key for this request (the file name in a JSON file cache).

        Computed on first use: a session without a cache never needs it.
        """
        return assume_role_cache_key(self._assume_kwargs, generated_name=self._generated_name)

    def _fresh_cached(
        self, response: object, rejected_key: str | None = None
    ) -> dict[str, Any] | None:
        """Credential metadata from a cache entry, if complete and not about to expire.

        None (a miss) otherwise: a malformed entry is logged at DEBUG by its field
        name only, since its values may be secrets; an entry whose
        ``AssumedRoleUser.Arn`` is not this request's session (another account, role
        or session name: ``assumed_role_mismatch``) at WARNING; an entry holding
        ``rejected_key`` (an access key a service rejected) at DEBUG.
        """
        if response is None:
            return None
        try:
            metadata = credential_metadata(response, role_arn=self._role_arn, source="cache")
        except MalformedResponseError as error:
            logger.debug(
                "Ignoring a malformed cache entry for %s: %s %s",
                self._role_arn,
                error.field,
                error.problem,
            )
            return None
        if rejected_key is not None and metadata["access_key"] == rejected_key:
            logger.debug("Cached credentials for %s were rejected by a service", self._role_arn)
            return None
        mismatch = assumed_role_mismatch(
            response,
            role_arn=self._role_arn,
            session_name=None if self._generated_name else self._role_session_name,
        )
        if mismatch is not None:
            # Another role's (or account's, or session's) entry under this request's key:
            # renamed over it, or planted. Served, it would act as that role. One
            # WARNING per entry (a fetch may read the key up to three times).
            if metadata["access_key"] == self._ignored_entry:
                return None
            self._ignored_entry = metadata["access_key"]
            logger.warning(
                "Ignoring the cached credentials for %s as session %s: %s; "
                "assuming the role again",
                self._role_arn,
                self._role_session_name,
                mismatch,
            )
            return None
        left = (metadata["expiry_time"] - _clock.now()).total_seconds()
        if left < self._expiry_window_seconds:
            logger.debug("Cached credentials for %s are expired or about to be", self._role_arn)
            return None
        logger.debug("Credentials for %s retrieved from cache", self._role_arn)
        return metadata

    def _cache_write_failed(self, error: Exception) -> None:
        """Log (WARNING) a cache write that failed; the fetched credentials are served."""
        # No traceback and no message beyond an OSError's reason: a custom cache's
        # message could quote the value, which holds the secret key.
        logger.warning(
            "Could not write the credentials for %s to the cache (%s%s); serving them uncached",
            self._role_arn,
            type(error).__name__,
            f": {error.strerror}" if isinstance(error, OSError) and error.strerror else "",
        )

    def _checked_metadata(self, response: dict[str, Any]) -> dict[str, Any]:
        """The credential metadata of a response AssumeRole just returned (``source`` sts).

        Both paths call this right after AssumeRole returns, before the response is
        cached or read: a malformed one raises ``MalformedResponseError`` here and goes
        no further. Then, as botocore does, the account id from the assumed role's
        ARN is added to the credentials (and so to the cache entry).
        """
        metadata = credential_metadata(response, role_arn=self._role_arn, source="sts")
        arn = response.get("AssumedRoleUser", {}).get("Arn")
        parsed = None
        if isinstance(arn, str) and arn.startswith("arn:"):  # what ArnParser.is_arn checks
            with contextlib.suppress(InvalidArnException):  # then parses: here only once
                parsed = _ARN_PARSER.parse_arn(arn)
        if parsed is not None:
            account_id = parsed["account"]
            response["Credentials"]["AccountId"] = metadata["account_id"] = account_id
        else:
            logger.debug("Unable to extract the account id from the assumed role's ARN")
        return metadata

    # --- the steps of a fetch, once for both paths; the subclasses add the I/O below ---

    async def _fetch(self, rejected_key: str | None = None) -> dict[str, Any]:
        """Credential metadata for the refresh engine (``source``: cache or sts).

        ``rejected_key``: an access key a service rejected; a cache entry holding it
        is a miss. Raises what the parent's credentials, the cache's lock and
        AssumeRole raise (``ParentCredentialsError``, ``ClientError``,
        ``MalformedResponseError``, ``MFARefreshError``, ...); a failed cache write
        is logged and the credentials are served.
        """
        if self._cache is None:
            # No cache: nobody shares this fetcher's fetches, and nothing could be
            # served from a private copy when the engine asks for a refresh.
            await self._resolve_parent_credentials()
            return await self._fetch_and_store()
        metadata = await self._load_from_cache(rejected_key)
        if metadata is not None:
            return metadata
        # Resolved before the shared-fetch lock: a parent that shares this cache and
        # role would otherwise wait for the lock its own child holds.
        await self._resolve_parent_credentials()
        async with self._single_flight():
            # Another session sharing this cache may have filled it meanwhile.
            metadata = await self._load_from_cache(rejected_key)
            if metadata is not None:
                return metadata
            # A cache that other processes share may offer a lock for them (taken
            # only here, on a miss): one process calls AssumeRole, the others wait
            # and then find its entry.
            process_lock = self._process_lock()
            if process_lock is None:
                return await self._fetch_and_store()
            async with process_lock:  # False: it gave up (a WARNING was logged)
                metadata = await self._load_from_cache(rejected_key)
                if metadata is not None:
                    return metadata
                return await self._fetch_and_store()

    async def _load_from_cache(self, rejected_key: str | None) -> dict[str, Any] | None:
        return self._fresh_cached(await self._cache_get(self.cache_key), rejected_key)

    async def _fetch_and_store(self) -> dict[str, Any]:
        """AssumeRole, then write the response through to the cache (if there is one)."""
        kwargs = dict(self._assume_kwargs) if self._flat_kwargs else deepcopy(self._assume_kwargs)
        token_code = await self._next_token_code()
        if token_code is not None:
            kwargs["TokenCode"] = token_code
        logger.debug(
            "Calling AssumeRole for %s as session %s", self._role_arn, self._role_session_name
        )
        response = await self._assume_role(kwargs)
        metadata = self._checked_metadata(response)  # raises if malformed
        self._token_codes.succeeded()  # only now: a malformed answer is a failed call
        if self._cache is not None:
            try:
                await self._cache_set(self.cache_key, response)
            except Exception as error:  # a failure loses the cache entry only
                self._cache_write_failed(error)
        return metadata

    # --- the I/O, each path's own (async: awaits; sync: blocks and returns) ---

    async def _cache_get(self, key: str) -> object:
        raise NotImplementedError

    async def _cache_set(self, key: str, response: dict[str, Any]) -> None:
        raise NotImplementedError

    def _single_flight(self) -> AbstractAsyncContextManager[Any]:
        """Held while fetching: one fetch at a time per (cache identity, cache key)."""
        raise NotImplementedError

    def _process_lock(self) -> AbstractAsyncContextManager[Any] | None:
        """The cache's lock across processes for this key, if it offers one."""
        raise NotImplementedError

    async def _resolve_parent_credentials(self) -> None:
        raise NotImplementedError

    async def _next_token_code(self) -> str | None:
        raise NotImplementedError

    async def _assume_role(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(RoleArn={self._role_arn!r}, "
            f"RoleSessionName={self._role_session_name!r})"
        )
