"""The boto3 path's fetcher and credentials: botocore's classes, with the shared policies.

The fetch-time rules (MFA codes, refresh windows, cache-entry checks on ``_clock``,
already-expired credentials, redacted response logging) are the async path's
(``_token_code``, ``_windows``, ``FetcherCommon``, ``ScaledRefreshWindows``,
``_redact``); only the I/O is botocore's synchronous one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    Credentials,
    DeferredRefreshableCredentials,
)

from . import _clock
from ._credentials import METHOD, ScaledRefreshWindows
from ._fetcher import FetcherCommon
from ._redact import credential_responses_redacted
from .cache import MappingCache
from .errors import InvalidParameterError


class SyncAssumeRoleFetcher(FetcherCommon, AssumeRoleCredentialFetcher):
    """botocore's AssumeRole fetcher (sync cache I/O, a client per fetch signed with the
    parent's credentials as they are then), using a given TokenCode instead of a prompt."""

    def __init__(
        self,
        client_creator: Callable[..., Any],
        source_credentials: Credentials,
        role_arn: str,
        args: Mapping[str, Any],
        *,
        cache: Any,
    ) -> None:
        extra_args, advisory_window = self._take_request(role_arn, args)
        super().__init__(
            client_creator,
            source_credentials,
            role_arn,
            extra_args=extra_args,
            cache=cache,
            expiry_window_seconds=advisory_window,
        )

    def _assume_role_kwargs(self) -> dict[str, Any]:
        # botocore's prompts on stdin (getpass) whenever SerialNumber is set, ignoring
        # a given TokenCode; this sends the given code, or a provider's fresh one.
        kwargs: dict[str, Any] = deepcopy(self._assume_kwargs)
        token_code = self._token_codes.next()
        if inspect.isawaitable(token_code):
            if inspect.iscoroutine(token_code):
                token_code.close()  # never awaited: close it rather than warn
            raise InvalidParameterError(
                [("TokenCode", "returned an awaitable; on the sync path it must return a str")]
            )
        if token_code is not None:
            kwargs["TokenCode"] = token_code
        return kwargs

    def _get_credentials(self) -> dict[str, Any]:
        response: dict[str, Any] = super()._get_credentials()
        self._token_codes.succeeded()
        return response

    def _load_from_cache(self) -> dict[str, Any] | None:
        # botocore's raises on a corrupt file or a malformed entry; here, as on the
        # async path, either is a miss.
        return self._fresh_cached(MappingCache(self._cache)._get(self._cache_key))


class SyncAssumedRoleCredentials(ScaledRefreshWindows, DeferredRefreshableCredentials):
    """botocore's deferred refreshable credentials, with lifetime-scaled refresh windows."""

    fetcher: SyncAssumeRoleFetcher

    def __init__(self, fetcher: SyncAssumeRoleFetcher) -> None:
        super().__init__(self._fetch, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher

    def _fetch(self) -> dict[str, Any]:
        with credential_responses_redacted():
            metadata: dict[str, Any] = self.fetcher.fetch_credentials()
        return self._reject_expired(metadata)


class SyncAssumeRoleProvider(CredentialProvider):
    """The child session's only credential provider: always the same credentials object."""

    METHOD = METHOD

    def __init__(self, credentials: SyncAssumedRoleCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> SyncAssumedRoleCredentials:
        return self.credentials
