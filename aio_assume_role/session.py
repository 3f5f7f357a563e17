"""``assume_role()`` for aiobotocore: a child session that assumes a role through its parent.

Here: the session class, its credentials (aiobotocore's deferred refreshable
credentials, refreshed by the library's refresh windows: see the Refresh windows page), the
credential provider, and ``patch_aiobotocore()``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from aiobotocore.credentials import AioCredentialResolver, AioDeferredRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider, ReadOnlyCredentials

from ._core import clock as _clock
from ._core.child_session import LightChildSession, apply_region_mode, builtin_event_hooks
from ._core.compat import resolved_credentials
from ._core.fetch import AssumeRoleFetcher
from ._core.mfa import TokenCodeProvider
from ._core.parameters import normalize_assume_role_args, request_parameters
from ._core.refresh import AsyncRefresher, EngineDecides, RefreshState
from ._core.request import CREDENTIALS_METHOD as METHOD
from ._core.request import (
    check_session,
    is_chained,
    validate_assume_role_args,
    validate_options,
)
from .cache import as_async_cache, cache_identity

__all__ = ["AssumedRoleSession", "assume_role", "patch_aiobotocore"]


class AssumedRoleSession(LightChildSession, AioSession):
    """An ``AioSession`` whose credentials come from assuming a role, refreshed as needed.

    Returned by ``assume_role()``; use it as any ``AioSession`` (``create_client``,
    ``get_credentials``, ...: see ``help(aiobotocore.session.AioSession)``). It adds:

    - ``assume_role_parent_session``: the session the role is assumed through;
    - ``role_arn``: the ARN of the assumed role;
    - ``await prefetch_credentials()``: assume the role now, to surface errors early;
    - ``refresh_timeout``: the deadline of each refresh, in seconds (30 by default).

    Unlike a plain ``AioSession``, it starts from a shared template of botocore's
    builtin event handlers, shares its parent's loader and builds its config store
    on first use, so thousands of them are cheap.
    """

    # The SharedClients whose views create_client hands out while it is open (set by
    # fan_out(share_clients=True)); None: create_client is aiobotocore's.
    _client_owner: Any = None

    def __init__(self, parent: AioSession, credentials: AssumedRoleCredentials) -> None:
        # Not meant to be called directly: assume_role() builds and returns it.
        super().__init__(parent, builtin_event_hooks())
        self.assume_role_parent_session = parent
        self._assumed_role_credentials = credentials
        self.register_component(
            "credential_provider", AioCredentialResolver([AssumeRoleProvider(credentials)])
        )

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        """aiobotocore's ``create_client``; in ``fan_out(share_clients=True)``'s work, a view
        of the run's shared client for these arguments (see ``aio_assume_role.shared_clients``).
        """
        owner = self._client_owner
        if owner is not None and len(args) == 1 and owner.is_open():
            return owner.client(self, args[0], **kwargs)
        return super().create_client(*args, **kwargs)

    @property
    def role_arn(self) -> str:
        """The ARN of the assumed role."""
        return self._assumed_role_credentials.fetcher.role_arn

    @property
    def refresh_timeout(self) -> float | None:
        """The deadline of each refresh in seconds (30 by default; None: no deadline).

        It bounds the whole refresh (cache, AssumeRole, botocore's retries): callers
        waiting for a refresh past it get ``RefreshTimeoutError``, while credentials
        still valid beyond the last minute keep being served. Setting it raises
        ``InvalidParameterError`` unless it is a positive number of seconds or None.
        """
        return self._assumed_role_credentials.refresh_timeout

    @refresh_timeout.setter
    def refresh_timeout(self, value: float | None) -> None:
        self._assumed_role_credentials.refresh_timeout = value

    async def prefetch_credentials(self) -> datetime.datetime:
        """Assume the role now if not done yet, and return when the credentials expire.

        Use it to surface errors (no parent credentials, AccessDenied) at start-up
        rather than on the first API call.

        Raises:
            ParentCredentialsError: the parent session has no credentials.
            botocore.exceptions.ClientError: STS refused (AccessDenied, throttling after
                retries, ...).
            MalformedResponseError: STS (or a proxy) answered without usable credentials.
            RefreshError: a refresh failed moments ago and is backing off (its
                ``__cause__`` is that failure).
        """
        credentials = self._assumed_role_credentials
        await credentials.get_frozen_credentials()
        expiry = credentials.expiry_time
        assert expiry is not None
        return expiry

    def __repr__(self) -> str:
        return f"<{type(self).__name__} RoleArn={self.role_arn!r}>"


def assume_role(
    session: AioSession,
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
) -> AssumedRoleSession:
    """Return an aiobotocore session that acts as ``RoleArn``, assumed through ``session``.

    No network call happens here: the role is assumed on first use, and again
    whenever the credentials near expiry, each time with the parent's credentials
    as they are then (so chains of assumed roles keep working).

    AssumeRole parameters keep their API names. ``PolicyArns`` may be ARN strings,
    ``Policy`` a dict, ``DurationSeconds`` a ``timedelta``, ``TokenCode`` a callable
    returning a fresh MFA code. ``region_name``: None follows the parent's region,
    True fixes it now, False leaves the child's implicit region, a string sets it.
    ``validate`` checks the parameters against the STS model now. ``cache`` is an
    async cache (``AioJSONFileCache``), botocore's ``JSONFileCache`` or any dict-like;
    None (the default) is no cache: each refresh calls AssumeRole, on both paths.
    ``additional_kwargs`` passes AssumeRole parameters this signature does not name.

    Raises ``InvalidParameterError`` (also a botocore ``ParamValidationError``) here,
    naming every invalid argument. At first use, and at each refresh (see the
    documentation's "Refresh windows and failures"), the credentials raise: botocore's
    ``ClientError`` (AccessDenied; throttling or 5xx after retries),
    ``EndpointConnectionError`` (STS unreachable), ``ParentCredentialsError`` (the
    parent has none), ``MFARefreshError`` (a fixed ``TokenCode`` already used),
    ``ExpiredCredentialsError`` (issued already expired by the local clock),
    ``MalformedResponseError`` (an answer without usable credentials), or
    ``RefreshError`` (caused by one of those) in the seconds after a failure.
    """
    return prepare_assume_role(
        session,
        RoleArn,
        request_parameters(locals()),
        region_name=region_name,
        validate=validate,
        cache=cache,
        additional_kwargs=additional_kwargs,
    )(RoleArn)


class PreparedAssumeRole:
    """``assume_role()``'s checks done once: builds child sessions for many role ARNs.

    For fan-outs, where every account gets the same parameters and only the
    account id in the ARN differs (``prepare_assume_role`` checked them all with one
    well-formed ARN). Calling it does no network call and no validation.
    """

    __slots__ = ("_cache", "_cache_identity", "_check_chaining", "args", "parent", "region_name")

    def __init__(
        self,
        parent: AioSession,
        args: dict[str, Any],
        *,
        region_name: str | bool | None,
        check_chaining: bool,
        cache: Any,
    ) -> None:
        self.parent = parent
        self.args = args
        self.region_name = region_name
        self._check_chaining = check_chaining
        self._cache = as_async_cache(cache) if cache is not None else None
        self._cache_identity = cache_identity(cache) if cache is not None else None

    def __call__(self, role_arn: str) -> AssumedRoleSession:
        """A new child session assuming ``role_arn`` (a well-formed ARN: not checked here).

        Never raises for a valid ARN.
        """
        fetcher = AssumeRoleFetcher(
            self.parent,
            role_arn,
            self.args,
            cache=self._cache,
            cache_identity=self._cache_identity,
            check_chaining=self._check_chaining,
        )
        child = AssumedRoleSession(self.parent, AssumedRoleCredentials(fetcher))
        apply_region_mode(self.parent, child, self.region_name)
        return child

    async def prefetched(self, role_arn: str) -> AssumedRoleSession:
        """A new child session assuming ``role_arn``, its credentials fetched already.

        The fetch runs in the calling task (nobody else holds the session yet, so no
        background task is needed to share it): cancelling the caller cancels it.
        Raises what ``prefetch_credentials()`` raises.
        """
        child = self(role_arn)
        await child._assumed_role_credentials.first_fetch()
        return child


def prepare_assume_role(
    session: AioSession,
    role_arn: str,
    parameters: Mapping[str, Any],
    *,
    region_name: str | bool | None = None,
    validate: bool = True,
    cache: Any = None,
    additional_kwargs: Mapping[str, Any] | None = None,
) -> PreparedAssumeRole:
    """Check ``assume_role(session, role_arn, **parameters, ...)``'s arguments, build nothing.

    ``parameters``: AssumeRole parameters by their ``assume_role`` names (None: not
    given). The result builds the sessions; ``role_arn`` is only checked here.

    Raises:
        InvalidParameterError: as ``assume_role`` does.
        TypeError: ``parameters`` names a parameter ``assume_role`` does not have.
    """
    check_session(
        session,
        AioSession,
        "an aiobotocore AioSession (aiobotocore.session.get_session())",
        {"boto3.session.Session": "for boto3, use aio_assume_role.sync.assume_role"},
    )
    validate_options(region_name=region_name, cache=cache, additional_kwargs=additional_kwargs)
    args = normalize_assume_role_args(**parameters, additional_kwargs=additional_kwargs)
    if validate:
        validate_assume_role_args(
            role_arn, args, chained=is_chained(session, resolved_credentials(session))
        )
    return PreparedAssumeRole(
        session, args, region_name=region_name, check_chaining=validate, cache=cache
    )


# --- the credentials: aiobotocore's class, every getter asks the refresh engine ---


class AssumedRoleCredentials(EngineDecides, AioDeferredRefreshableCredentials):
    """Credentials for one assumed role: fetched on first use, refreshed before expiry.

    ``await get_frozen_credentials()`` (what aiobotocore's signer calls) returns
    the current keys, or waits for a refresh when they are due (see the Refresh
    windows page). Raises what the refresh raised (``ClientError``,
    ``EndpointConnectionError``, ``ParentCredentialsError``, ...), or
    ``RefreshError`` in the seconds of backoff after such a failure.
    """

    _refresher: AsyncRefresher

    def __init__(self, fetcher: AssumeRoleFetcher) -> None:
        super().__init__(fetcher.fetch_credentials, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher
        self._state = RefreshState(fetcher.role_arn, fetcher.duration_seconds)
        self._refresher = AsyncRefresher(self._state, fetcher.fetch_credentials)

    async def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """The current keys, refreshed first if due (see the class docstring for errors)."""
        return self._served(await self._refresher.frozen_credentials())

    async def first_fetch(self) -> ReadOnlyCredentials:
        """The first keys, fetched in the calling task: only while nobody else holds these
        credentials (``PreparedAssumeRole.prefetched``). Raises as ``get_frozen_credentials``."""
        return self._served(await self._refresher.first_fetch_in_caller())

    async def get_access_key(self) -> str:
        """The current access key id (refreshed first if due)."""
        return str((await self.get_frozen_credentials()).access_key)

    async def get_secret_key(self) -> str:
        """The current secret key (refreshed first if due)."""
        return str((await self.get_frozen_credentials()).secret_key)

    async def get_token(self) -> str:
        """The current session token (refreshed first if due)."""
        return str((await self.get_frozen_credentials()).token)

    async def get_account_id(self) -> str | None:
        """The role's account id, once known (refreshed first if due)."""
        frozen = await self.get_frozen_credentials()
        return getattr(frozen, "account_id", None)


class AssumeRoleProvider(CredentialProvider):
    """The child session's only credential provider: always the same credentials object."""

    METHOD = METHOD

    def __init__(self, credentials: AssumedRoleCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    async def load(self) -> AssumedRoleCredentials:
        return self.credentials


# --- assume_role as a method of AioSession ---


def patch_aiobotocore() -> None:
    """Add ``AioSession.assume_role(RoleArn, ...)``: ``assume_role`` with that session as parent.

    It takes ``assume_role``'s arguments after the session and returns an
    ``AssumedRoleSession``. Calling it again is harmless.

    Never raises.
    """
    AioSession.assume_role = assume_role
