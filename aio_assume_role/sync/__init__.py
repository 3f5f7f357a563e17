"""``assume_role()`` for boto3: a drop-in for aws-assume-role-lib 2.10.

Needs the ``boto3`` extra (``pip install 'aio-assume-role[boto3]'``). Code written
for ``aws_assume_role_lib`` works with ``import aio_assume_role.sync as
aws_assume_role_lib``: same names, same signature, same semantics. The arguments go
through the same normalization and validation as the async path's.

Here too: the boto3 path's fetcher and credentials, botocore's classes driven by
the same refresh engine as the async path's, with threads. ``python -m
aio_assume_role.sync`` is aws-assume-role-lib's command line (``sync/__main__.py``).
"""

from __future__ import annotations

import datetime
import inspect
import os
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

try:
    import boto3
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "aio_assume_role.sync needs boto3: pip install 'aio-assume-role[boto3]'"
    ) from error
import logging
import threading
import weakref

import botocore.credentials
import botocore.session
from botocore.credentials import (
    CredentialProvider,
    DeferredRefreshableCredentials,
    ReadOnlyCredentials,
)

from .._core import clock as _clock
from .._core.child_session import LightChildSession, apply_region_mode, sync_builtin_event_hooks
from .._core.compat import boto3_child_session_class, botocore_session
from .._core.fetch_core import FetchCore, cache_identity, run_without_loop
from .._core.mfa import TokenCodeProvider
from .._core.parameters import (
    AUTOMATIC_ROLE_SESSION_NAME,
    normalize_assume_role_args,
    request_parameters,
)
from .._core.refresh import EngineDecides, RefreshState, ThreadedRefresher
from .._core.request import CREDENTIALS_METHOD as METHOD
from .._core.request import (
    check_session,
    is_chained,
    is_mapping_like,
    validate_assume_role_args,
    validate_options,
)
from .._core.response import read_cached_response, read_sts_timestamps, store_response
from .._core.windows import REFRESH_TIMEOUT_SECONDS, sts_timeouts
from ..arns import generate_lambda_session_name, get_assumed_role_session_arn, get_role_arn
from ..errors import InvalidParameterError, ParentCredentialsError

#: The aws-assume-role-lib release whose API this module reproduces (upstream exports
#: ``__version__`` too, outside ``__all__``), so that code which checks it behaves as
#: with that release. This package's own version is ``aio_assume_role.__version__``.
__version__ = "2.10.0"

__all__ = [
    "AUTOMATIC_ROLE_SESSION_NAME",
    "JSONFileCache",
    "assume_role",
    "generate_lambda_session_name",
    "get_assumed_role_session_arn",
    "get_role_arn",
    "patch_boto3",
]


logger = logging.getLogger("aio_assume_role")

# Locks by key, held only while in use (a lock lives as long as a thread holds or
# waits for it): the single flight of fetches that share a cache and a key, and the
# creation of STS clients through one parent, which a botocore session does not make
# thread-safe (it builds and caches components, loaders and credentials on first use).
_LOCKS: weakref.WeakValueDictionary[Hashable, threading.Lock] = weakref.WeakValueDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_for(key: Hashable) -> threading.Lock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.Lock()
        return lock


def _forget_locks_after_fork() -> None:
    # A lock held by a thread of the parent process would never be released here.
    global _LOCKS_GUARD
    _LOCKS_GUARD = threading.Lock()
    _LOCKS.clear()


os.register_at_fork(after_in_child=_forget_locks_after_fork)


@asynccontextmanager
async def _holding(lock: threading.Lock) -> AsyncIterator[None]:
    with lock:
        yield


class SyncAssumeRoleFetcher(FetchCore):
    """``FetchCore``'s steps with blocking I/O: a dict-like cache, called inline; a client
    per fetch, signed with the parent's credentials as they are then (re-read at each
    fetch); a given TokenCode (or a provider's fresh one) instead of botocore's prompt."""

    def __init__(
        self,
        parent: botocore.session.Session,
        role_arn: str,
        args: Mapping[str, Any],
        *,
        cache: Any,
    ) -> None:
        """``cache`` None: no cache at all (each fetch calls AssumeRole), as on the async path."""
        identity = cache_identity(cache) if cache is not None else None
        super().__init__(role_arn, args, cache=cache, cache_identity=identity)
        self._parent = parent

    def fetch_credentials(self, rejected_key: str | None = None) -> dict[str, Any]:
        """Return credential metadata for the refresh engine (``source``: cache or sts).

        ``rejected_key``: an access key a service rejected; a cache entry holding it
        is a miss. Raises what ``FetchCore._fetch`` raises.
        """
        return run_without_loop(self._fetch(rejected_key))

    async def _cache_get(self, key: str) -> object:
        # botocore's raises on a corrupt file or a malformed entry; here, as on the
        # async path, either is a miss.
        return read_cached_response(self._cache, key)

    async def _cache_set(self, key: str, response: dict[str, Any]) -> None:
        store_response(self._cache, key, response)

    def _single_flight(self) -> AbstractAsyncContextManager[Any]:
        return _holding(_lock_for(("fetch", self._cache_identity, self.cache_key)))

    def _process_lock(self) -> None:
        return None  # dict-like caches offer none (botocore's JSONFileCache included)

    async def _resolve_parent_credentials(self) -> None:
        # The client created for the call signs with them, as they are then.
        if self._parent.get_credentials() is None:
            raise ParentCredentialsError(role_arn=self._role_arn)

    async def _next_token_code(self) -> str | None:
        # botocore's prompts on stdin (getpass) whenever SerialNumber is set, ignoring
        # a given TokenCode; this sends the given code, or a provider's fresh one.
        token_code = self._token_codes.next()
        if inspect.isawaitable(token_code):
            if inspect.iscoroutine(token_code):
                token_code.close()  # never awaited: close it rather than warn
            raise InvalidParameterError(
                [("TokenCode", "returned an awaitable; on the sync path it must return a str")]
            )
        return token_code

    async def _assume_role(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # No explicit keys: the client gets the parent's credentials as they are now
        # (replaced, or refreshed, since assume_role() or the last refresh).
        timeouts = sts_timeouts(self._parent.get_default_client_config(), REFRESH_TIMEOUT_SECONDS)
        with _lock_for(("create_client", id(self._parent))):
            client = self._parent.create_client("sts", config=timeouts)
        try:
            read_sts_timestamps(client)
            response: dict[str, Any] = client.assume_role(**kwargs)
        finally:
            client.close()
        return response


class SyncAssumedRoleCredentials(EngineDecides, DeferredRefreshableCredentials):
    """botocore's deferred refreshable credentials, refreshed by this library's engine.

    Every public getter (``get_frozen_credentials()``, ``access_key``, ...) goes to
    ``_core.refresh.ThreadedRefresher``. Raises what the refresh raised, or
    ``RefreshError`` in the seconds of backoff after such a failure.
    """

    _refresher: ThreadedRefresher

    def __init__(self, fetcher: SyncAssumeRoleFetcher) -> None:
        super().__init__(fetcher.fetch_credentials, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher
        self._state = RefreshState(fetcher.role_arn, fetcher.duration_seconds)
        self._refresher = ThreadedRefresher(self._state, fetcher.fetch_credentials)

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """The current keys, refreshed first if due."""
        return self._served(self._refresher.frozen_credentials())

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


class JSONFileCache(botocore.credentials.JSONFileCache):
    """botocore's JSON file cache, with the directory required (as in aws-assume-role-lib).

    Files are ``<cache key>.json``, shared with boto3 and the AWS CLI; the directory
    is created on first write.
    """

    def __init__(self, dir_path: str | os.PathLike[str]) -> None:
        super().__init__(working_dir=os.fspath(dir_path))


def assume_role(
    session: boto3.Session,
    RoleArn: str,
    *,
    RoleSessionName: str | None = None,
    PolicyArns: Sequence[str | Mapping[str, str]] | None = None,
    Policy: str | Mapping[str, Any] | None = None,
    DurationSeconds: int | datetime.timedelta | None = None,
    Tags: Sequence[Mapping[str, str]] | Mapping[str, str] | None = None,
    TransitiveTagKeys: Sequence[str] | None = None,
    ExternalId: str | None = None,
    SerialNumber: str | None = None,
    TokenCode: str | TokenCodeProvider | None = None,
    SourceIdentity: str | None = None,
    region_name: str | bool | None = None,
    validate: bool = True,
    cache: Any = None,
    additional_kwargs: Mapping[str, Any] | None = None,
) -> boto3.Session:
    """Return a boto3 session that acts as ``RoleArn``, assumed through ``session``.

    The parameters and their meaning are those of the async ``assume_role``, except
    that ``cache`` must be dict-like (a dict, ``JSONFileCache``; None, the default, is no
    cache) and ``TokenCode``, if a callable, must return the code (not an awaitable).
    The parent's credentials are resolved now (``ParentCredentialsError`` if it has
    none); AssumeRole is called on first use and again before expiry, with the
    parent's credentials as they are then. The parent is available as
    ``assume_role_parent_session`` on the returned session.

    Raises ``InvalidParameterError`` (also a botocore ``ParamValidationError``) or
    ``ParentCredentialsError`` (also a ``NoCredentialsError``) here. At first use and
    at each refresh, the credentials raise what the async path's do (botocore's
    ``ClientError`` and ``EndpointConnectionError``, ``MFARefreshError``,
    ``ExpiredCredentialsError``, ``MalformedResponseError``, ``RefreshError``: see
    the documentation's "Refresh windows and failures").
    """
    check_session(
        session,
        boto3.Session,
        "a boto3 Session (boto3.Session())",
        {
            "aiobotocore.session.AioSession": "for aiobotocore, use aio_assume_role.assume_role",
            "botocore.session.Session": "wrap it as boto3.Session(botocore_session=session)",
        },
    )
    validate_options(
        region_name=region_name,
        cache=cache,
        additional_kwargs=additional_kwargs,
        cache_example="JSONFileCache(path)",
    )
    if cache is not None and not is_mapping_like(cache):
        raise InvalidParameterError(
            [
                (
                    "cache",
                    "is an async cache; the sync path needs a dict-like one "
                    "(a dict, or aio_assume_role.sync.JSONFileCache)",
                )
            ]
        )
    if inspect.iscoroutinefunction(TokenCode):
        raise InvalidParameterError(
            [("TokenCode", "is an async function; on the sync path it must return a str")]
        )
    args = normalize_assume_role_args(
        **request_parameters(locals()), additional_kwargs=additional_kwargs
    )
    parent = botocore_session(session)
    credentials = parent.get_credentials()
    if validate:
        validate_assume_role_args(RoleArn, args, chained=is_chained(session, credentials))
    if credentials is None:
        raise ParentCredentialsError(role_arn=RoleArn)

    fetcher = SyncAssumeRoleFetcher(parent, RoleArn, args, cache=cache)
    hooks = sync_builtin_event_hooks(boto3_defaults=True)
    shares_boto3_defaults = hooks is not None
    if hooks is None:  # no boto3 template here: botocore's, and boto3 registers its own
        hooks = sync_builtin_event_hooks()
    child_botocore = LightChildSession(parent, hooks)
    child_botocore.register_component(
        "credential_provider",
        botocore.credentials.CredentialResolver(
            [SyncAssumeRoleProvider(SyncAssumedRoleCredentials(fetcher))]
        ),
    )
    apply_region_mode(parent, child_botocore, region_name)
    child = boto3_child_session_class()(
        botocore_session=child_botocore, shares_boto3_defaults=shares_boto3_defaults
    )
    child.assume_role_parent_session = session
    return child


def patch_boto3() -> None:
    """Add ``boto3.Session.assume_role(RoleArn, ...)`` and ``boto3.assume_role(RoleArn, ...)``.

    Both take ``assume_role``'s arguments without the session; ``boto3.assume_role``
    uses boto3's default session (the one ``boto3.client()`` uses). Calling it again
    is harmless.

    Never raises.
    """
    boto3.Session.assume_role = assume_role

    def default_session_assume_role(RoleArn: str, **kwargs: Any) -> boto3.Session:
        if boto3.DEFAULT_SESSION is None:  # as boto3.client() does
            boto3.setup_default_session()
        return assume_role(boto3.DEFAULT_SESSION, RoleArn, **kwargs)

    default_session_assume_role.__name__ = assume_role.__name__
    signature = inspect.signature(assume_role)
    without_session = list(signature.parameters.values())[1:]
    default_session_assume_role.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=without_session
    )
    default_session_assume_role.__doc__ = (
        "``assume_role`` through boto3's default session (see aio_assume_role.sync)."
    )
    boto3.assume_role = default_session_assume_role
