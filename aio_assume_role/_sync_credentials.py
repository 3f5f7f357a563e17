"""The boto3 path's fetcher and credentials: botocore's classes, with the shared policies.

The fetch-time rules (MFA codes, cache-entry checks on ``_clock``, a cache write
that fails) are the async path's (``_token_code``, ``FetcherCommon``), and so is
the refresh engine (``_refresh``: windows, jitter, backoff, shared outcomes,
redaction, log records and listeners), driven by threads here; only the I/O is
botocore's synchronous one.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

import botocore.session
from botocore.credentials import (
    CredentialProvider,
    DeferredRefreshableCredentials,
    ReadOnlyCredentials,
)

from . import _clock
from ._cache_adapters import MappingCache
from ._fetcher import FetcherCommon
from ._params import CREDENTIALS_METHOD as METHOD
from ._refresh import EngineDecides, RefreshState, ThreadedRefresher
from ._response import credential_metadata
from .errors import InvalidParameterError

logger = logging.getLogger("aio_assume_role")

# A botocore session is not thread-safe for create_client (it builds and caches
# components, loaders and the credentials on first use): refreshes in several
# threads of children of one parent create their STS clients one at a time.
# Keyed weakly by the parent session itself.
_CREATION_LOCKS: weakref.WeakKeyDictionary[botocore.session.Session, threading.Lock] = (
    weakref.WeakKeyDictionary()
)
_CREATION_LOCKS_GUARD = threading.Lock()


def _creation_lock(parent: botocore.session.Session) -> threading.Lock:
    with _CREATION_LOCKS_GUARD:
        lock = _CREATION_LOCKS.get(parent)
        if lock is None:
            lock = _CREATION_LOCKS[parent] = threading.Lock()
        return lock


def _forget_locks_after_fork() -> None:
    # A lock held by a thread of the parent process would never be released here.
    global _CREATION_LOCKS_GUARD
    _CREATION_LOCKS_GUARD = threading.Lock()
    _CREATION_LOCKS.clear()


os.register_at_fork(after_in_child=_forget_locks_after_fork)


class SyncAssumeRoleFetcher(FetcherCommon):
    """AssumeRole through a botocore session, with sync cache I/O: a client per fetch,
    signed with the parent's credentials as they are then (re-read at each fetch), and
    a given TokenCode (or a provider's fresh one) instead of botocore's prompt."""

    def __init__(
        self,
        parent: botocore.session.Session,
        role_arn: str,
        args: Mapping[str, Any],
        *,
        cache: Any,
    ) -> None:
        super().__init__(role_arn, args, cache=cache if cache is not None else {})
        self._parent = parent

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

    def fetch_credentials(self) -> dict[str, Any]:
        """Return credential metadata for the refresh engine (``source``: cache or sts)."""
        metadata = self._load_from_cache()
        if metadata is not None:
            return metadata
        response = self._get_credentials()  # its shape is checked there
        try:
            MappingCache(self._cache)._set(self._cache_key, response)
        except Exception as error:
            self._cache_write_failed(error)
        return credential_metadata(response, role_arn=self.role_arn, source="sts")

    def _get_credentials(self) -> dict[str, Any]:
        kwargs = self._assume_role_kwargs()
        logger.debug(
            "Calling AssumeRole for %s as session %s", self._role_arn, self._role_session_name
        )
        # No explicit keys: the client gets the parent's credentials as they are now
        # (replaced, or refreshed, since assume_role() or the last refresh).
        with _creation_lock(self._parent):
            client = self._parent.create_client("sts")
        try:
            response: dict[str, Any] = client.assume_role(**kwargs)
        finally:
            client.close()
        self._add_account_id_to_response(response)  # checks its shape first
        self._token_codes.succeeded()  # only now: a malformed answer is a failed call
        return response

    def _load_from_cache(self) -> dict[str, Any] | None:
        # botocore's raises on a corrupt file or a malformed entry; here, as on the
        # async path, either is a miss.
        return self._fresh_cached(MappingCache(self._cache)._get(self._cache_key))


class SyncAssumedRoleCredentials(EngineDecides, DeferredRefreshableCredentials):
    """botocore's deferred refreshable credentials, refreshed by this library's engine.

    Every public getter (``get_frozen_credentials()``, ``access_key``, ...) goes to
    ``_refresh.ThreadedRefresher``. Raises what the refresh raised, or
    ``RefreshError`` in the seconds of backoff after such a failure.
    """

    def __init__(self, fetcher: SyncAssumeRoleFetcher) -> None:
        super().__init__(fetcher.fetch_credentials, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher
        self._state = RefreshState(fetcher.role_arn, fetcher.duration_seconds)
        self._refresher = ThreadedRefresher(self._state, fetcher.fetch_credentials)

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """The current keys, refreshed first if due."""
        return self._refresher.frozen_credentials()

    @property
    def access_key(self) -> str:
        """The current access key id (refreshed first if due)."""
        return str(self.get_frozen_credentials().access_key)

    @property
    def secret_key(self) -> str:
        """The current secret key (refreshed first if due)."""
        return str(self.get_frozen_credentials().secret_key)

    @property
    def token(self) -> str:
        """The current session token (refreshed first if due)."""
        return str(self.get_frozen_credentials().token)

    @property
    def account_id(self) -> str | None:
        """The role's account id, once known (refreshed first if due)."""
        return getattr(self.get_frozen_credentials(), "account_id", None)


class SyncAssumeRoleProvider(CredentialProvider):
    """The child session's only credential provider: always the same credentials object."""

    METHOD = METHOD

    def __init__(self, credentials: SyncAssumedRoleCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> SyncAssumedRoleCredentials:
        return self.credentials
