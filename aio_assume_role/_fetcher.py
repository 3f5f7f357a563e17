"""The async fetcher: AssumeRole through the parent session, behind an async cache."""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from collections.abc import Mapping
from copy import deepcopy
from hashlib import sha1
from typing import TYPE_CHECKING, Any

from botocore.utils import ArnParser

from . import _clock
from ._keyed_lock import KeyedLock
from ._params import check_chained_duration
from ._response import credential_metadata
from ._token_code import TokenCodes, split_token_code
from ._windows import refresh_windows, requested_lifetime
from .errors import MalformedResponseError, ParentCredentialsError

if TYPE_CHECKING:  # aiobotocore stays unimported on the sync path, which shares FetcherCommon
    from aiobotocore.session import AioSession

    from .cache import AsyncCredentialCache

logger = logging.getLogger("aio_assume_role")

# Sessions that share a cache and a role (same cache key) fetch one at a time, so
# N concurrent first uses make one AssumeRole call and one cache write.
_SHARED_FETCHES = KeyedLock()


def generated_session_name() -> str:
    """botocore's generated session name (``BaseAssumeRoleCredentialFetcher``), to the second."""
    return f"botocore-session-{int(time.time())}"


def assume_role_cache_key(assume_kwargs: Mapping[str, Any], *, generated_name: bool) -> str:
    """The cache key botocore and the AWS CLI give an AssumeRole request.

    The same algorithm as botocore's ``BaseAssumeRoleCredentialFetcher._create_cache_key``
    (and ``CachedCredentialFetcher._make_file_safe``), computed here so that no
    fetcher needs botocore's sync class: a generated session name is left out, an
    inline policy is parsed (so its keys get sorted), and the sha1 of the sorted JSON
    is made file-safe. ``tests/test_compat.py`` checks it against botocore's.
    """
    args = deepcopy(dict(assume_kwargs))
    if generated_name:
        del args["RoleSessionName"]
    if "Policy" in args:
        args["Policy"] = json.loads(args["Policy"])
    digest = sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()
    return digest.replace(":", "_").replace(os.sep, "_").replace("/", "_")


class FetcherCommon:
    """What the async and the sync fetcher share: the request as botocore would send
    it (generated session name, cache key), read-only accessors, the cache-entry check
    (expiry on ``_clock``, malformed entries are a miss) and a secret-free repr."""

    duration_seconds: int

    def __init__(self, role_arn: str, args: Mapping[str, Any], *, cache: Any) -> None:
        """Record the request: TokenCode (left out of the request and its cache key),
        lifetime, session name (given, or generated as botocore does), cache key.

        A cached response counts as fresh while it has more left than the advisory
        refresh window, so credentials served from the cache are never due at once.
        """
        extra_args, token_code = split_token_code(args)
        self._token_codes = TokenCodes(token_code, role_arn=role_arn)
        self.duration_seconds = requested_lifetime(args)
        self._expiry_window_seconds, _ = refresh_windows(self.duration_seconds)
        self._role_arn = role_arn
        self._assume_kwargs: dict[str, Any] = deepcopy(dict(extra_args))
        self._assume_kwargs["RoleArn"] = role_arn
        generated = not self._assume_kwargs.get("RoleSessionName")
        if generated:
            self._assume_kwargs["RoleSessionName"] = generated_session_name()
        self._role_session_name: str = self._assume_kwargs["RoleSessionName"]
        self._cache_key = assume_role_cache_key(self._assume_kwargs, generated_name=generated)
        self._cache = cache

    @property
    def role_arn(self) -> str:
        """The ARN of the role this fetcher assumes."""
        return self._role_arn

    @property
    def role_session_name(self) -> str:
        """The session name sent to STS (given, or generated once)."""
        return self._role_session_name

    @property
    def cache_key(self) -> str:
        """botocore's cache key for this request (the file name in a JSON file cache)."""
        return self._cache_key

    def _fresh_cached(self, response: object) -> dict[str, Any] | None:
        """Credential metadata from a cache entry, if complete and not about to expire.

        None (a miss) otherwise: a malformed entry is logged at DEBUG by its field
        name only, since its values may be secrets.
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

    def _add_account_id_to_response(self, response: dict[str, Any]) -> None:
        # Both paths call this right after AssumeRole returns, before the response is
        # cached or read: a malformed one raises MalformedResponseError here and goes
        # no further. Then, as botocore does, the account id from the assumed role's
        # ARN is added to the credentials (and so to the cache entry).
        credential_metadata(response, role_arn=self._role_arn)
        arn = response.get("AssumedRoleUser", {}).get("Arn")
        if ArnParser.is_arn(arn):
            response["Credentials"]["AccountId"] = ArnParser().parse_arn(arn)["account"]
        else:
            logger.debug("Unable to extract the account id from the assumed role's ARN")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(RoleArn={self._role_arn!r}, "
            f"RoleSessionName={self._role_session_name!r})"
        )


class AssumeRoleFetcher(FetcherCommon):
    """Fetches credentials for one role: from the cache if fresh, else by AssumeRole.

    The generated session name and the cache key are botocore's and the AWS CLI's
    (``FetcherCommon``). The I/O is our own, because aiobotocore's
    ``AioAssumeRoleCredentialFetcher`` reads and writes the cache synchronously (a
    file cache would block the event loop), builds a new STS client per fetch from
    frozen source credentials, and prompts on stdin for MFA codes.
    """

    def __init__(
        self,
        parent: AioSession,
        role_arn: str,
        args: Mapping[str, Any],
        *,
        cache: AsyncCredentialCache,
        cache_identity: object,
        check_chaining: bool = False,
    ) -> None:
        super().__init__(role_arn, args, cache=cache)
        self._check_chaining = check_chaining
        self._parent = parent
        self._cache_identity = cache_identity
        self._cache: AsyncCredentialCache = cache

    async def fetch_credentials(self) -> dict[str, Any]:
        """Return credential metadata for the refresh engine (``source``: cache or sts)."""
        metadata = await self._load_from_cache()
        if metadata is not None:
            return metadata
        # Resolved before the shared-fetch lock: a parent that shares this cache and
        # role would otherwise wait for the lock its own child holds.
        await self._resolve_parent_credentials()
        async with _SHARED_FETCHES.hold((self._cache_identity, self._cache_key)):
            # Another session sharing this cache may have filled it meanwhile.
            metadata = await self._load_from_cache()
            if metadata is not None:
                return metadata
            response = await self._get_credentials()  # its shape is checked there
            await self._store(response)
        return credential_metadata(response, role_arn=self._role_arn, source="sts")

    async def _load_from_cache(self) -> dict[str, Any] | None:
        return self._fresh_cached(await self._cache.get(self._cache_key))

    async def _store(self, response: dict[str, Any]) -> None:
        """Write a fetched response to the cache; a failure loses the cache entry only."""
        try:
            await self._cache.set(self._cache_key, response)
        except Exception as error:
            self._cache_write_failed(error)

    async def _resolve_parent_credentials(self) -> None:
        parent_credentials = await self._parent.get_credentials()
        if parent_credentials is None:
            raise ParentCredentialsError(role_arn=self._role_arn)
        if self._check_chaining and getattr(parent_credentials, "method", None) == "assume-role":
            # Known only now for a parent whose credentials were unresolved at assume_role().
            check_chained_duration(self._assume_kwargs)
        await parent_credentials.get_frozen_credentials()

    async def _get_credentials(self) -> dict[str, Any]:
        kwargs = dict(self._assume_kwargs)
        token_code = self._token_codes.next()
        if inspect.isawaitable(token_code):
            token_code = await token_code
        if token_code is not None:
            kwargs["TokenCode"] = token_code
        logger.debug(
            "Calling AssumeRole for %s as session %s", self._role_arn, self._role_session_name
        )
        from ._sts import sts_client  # imports aiobotocore: not on the sync path

        async with sts_client(self._parent) as sts:
            response: dict[str, Any] = await sts.assume_role(**kwargs)
        self._add_account_id_to_response(response)  # checks its shape first
        self._token_codes.succeeded()  # only now: a malformed answer is a failed call
        return response
