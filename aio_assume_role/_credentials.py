"""Deferred, self-refreshing credentials backed by an ``AssumeRoleFetcher``.

The class is aiobotocore's ``AioRefreshableCredentials`` (through its deferred
variant), so callers and aiobotocore's signer see the type they expect and
``await get_frozen_credentials()``; every public getter goes to this library's
refresh engine (``_refresh``), which decides when to refresh, who waits and what
happens on failure.
"""

from __future__ import annotations

from aiobotocore.credentials import AioDeferredRefreshableCredentials
from botocore.credentials import CredentialProvider, ReadOnlyCredentials

from . import _clock
from ._fetcher import AssumeRoleFetcher
from ._params import CREDENTIALS_METHOD as METHOD
from ._refresh import AsyncRefresher, EngineDecides, RefreshState


class AssumedRoleCredentials(EngineDecides, AioDeferredRefreshableCredentials):
    """Credentials for one assumed role: fetched on first use, refreshed before expiry.

    ``await get_frozen_credentials()`` (what aiobotocore's signer calls) returns
    the current keys, or waits for a refresh when they are due; see ``_refresh``
    for the windows. Raises what the refresh raised (``ClientError``,
    ``EndpointConnectionError``, ``ParentCredentialsError``, ...), or
    ``RefreshError`` in the seconds of backoff after such a failure.
    """

    def __init__(self, fetcher: AssumeRoleFetcher) -> None:
        super().__init__(fetcher.fetch_credentials, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher
        self._state = RefreshState(fetcher.role_arn, fetcher.duration_seconds)
        self._refresher = AsyncRefresher(self._state, fetcher.fetch_credentials)

    async def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """The current keys, refreshed first if due (see the class docstring for errors)."""
        return await self._refresher.frozen_credentials()

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
