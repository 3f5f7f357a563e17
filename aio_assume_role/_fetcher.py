"""The async fetcher: AssumeRole through the parent session, behind an async cache."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.credentials import BaseAssumeRoleCredentialFetcher

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


class FetcherCommon(BaseAssumeRoleCredentialFetcher):
    """What the async and the sync fetcher add to botocore's: read-only accessors,
    the cache-entry check (expiry on ``_clock``, malformed entries are a miss) and a
    secret-free repr."""

    duration_seconds: int

    def _take_request(
        self, role_arn: str, args: Mapping[str, Any]
    ) -> tuple[dict[str, Any], float]:
        """Record the MFA code and lifetime; return botocore's ``extra_args`` and cache window.

        TokenCode is left out of ``extra_args`` (and so of the cache key). A cached
        response counts as fresh while it has more left than the advisory refresh
        window, so credentials served from the cache are never due at once.
        """
        extra_args, token_code = split_token_code(args)
        self._token_codes = TokenCodes(token_code, role_arn=role_arn)
        self.duration_seconds = requested_lifetime(args)
        advisory_window, _ = refresh_windows(self.duration_seconds)
        return extra_args, advisory_window

    @property
    def role_arn(self) -> str:
        """The ARN of the role this fetcher assumes."""
        return self._role_arn  # type: ignore[no-any-return]

    @property
    def role_session_name(self) -> str:
        """The session name sent to STS (given, or generated once)."""
        return self._role_session_name  # type: ignore[no-any-return]

    @property
    def cache_key(self) -> str:
        """botocore's cache key for this request (the file name in a JSON file cache)."""
        return self._cache_key  # type: ignore[no-any-return]

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
        # Both paths call this right after AssumeRole returns (botocore's sync
        # _get_credentials too), before the response is cached or read: a malformed
        # one raises MalformedResponseError here and goes no further.
        credential_metadata(response, role_arn=self._role_arn)
        super()._add_account_id_to_response(response)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(RoleArn={self._role_arn!r}, "
            f"RoleSessionName={self._role_session_name!r})"
        )


class AssumeRoleFetcher(FetcherCommon):
    """Fetches credentials for one role: from the cache if fresh, else by AssumeRole.

    Subclasses botocore's base fetcher for what must stay identical to botocore
    and the AWS CLI: the generated session name and the cache key. The I/O is our
    own, because aiobotocore's ``AioAssumeRoleCredentialFetcher`` reads and writes
    the cache synchronously (a file cache would block the event loop), builds a new
    STS client per fetch from frozen source credentials, and prompts on stdin for
    MFA codes.
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
        self._check_chaining = check_chaining
        extra_args, advisory_window = self._take_request(role_arn, args)
        self._parent = parent
        self._cache_identity = cache_identity
        super().__init__(
            client_creator=None,
            role_arn=role_arn,
            extra_args=extra_args,
            cache=cache,
            expiry_window_seconds=advisory_window,
        )

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
