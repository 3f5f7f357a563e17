"""Deferred, self-refreshing credentials backed by an ``AssumeRoleFetcher``."""

from __future__ import annotations

import datetime
from typing import Any

from aiobotocore._async_primitives import AsyncPrimitives
from aiobotocore.credentials import (
    AioDeferredRefreshableCredentials,
    AnyioDeferredRefreshableCredentials,
)
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider, RefreshableCredentials, _parse_if_needed

from . import _clock
from ._fetcher import AssumeRoleFetcher
from ._redact import credential_responses_redacted
from ._windows import windows_for_expiry
from .errors import ExpiredCredentialsError

METHOD = "assume-role"


class ScaledRefreshWindows(RefreshableCredentials):
    """Lifetime-scaled refresh windows for botocore's and aiobotocore's refreshable credentials.

    Mixed in before either deferred credentials class: the advisory/mandatory refresh
    logic, its lock and its error handling stay theirs; only the windows differ (see
    ``_windows``), so 15-minute credentials are not refreshed on every request.
    ``fetcher`` must have ``role_arn`` and ``duration_seconds``.
    """

    fetcher: Any

    @property
    def expiry_time(self) -> datetime.datetime | None:
        """When the current credentials expire (None before the first fetch)."""
        return self._expiry_time  # type: ignore[no-any-return]

    def _set_from_data(self, data: dict[str, Any]) -> None:
        super()._set_from_data(data)
        self._advisory_refresh_timeout, self._mandatory_refresh_timeout = windows_for_expiry(
            self._staged_expiry_time, self._time_fetcher(), self.fetcher.duration_seconds
        )

    def _reject_expired(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Return freshly fetched metadata, or raise ``ExpiredCredentialsError``.

        Checked before (aio)botocore takes the new credentials in, which otherwise
        raises a bare RuntimeError after replacing still-valid ones: this way an
        advisory refresh keeps the valid ones, and a mandatory one raises a typed
        error that names the role and the clocks.
        """
        expiry, now = metadata.get("expiry_time"), self._time_fetcher()
        if expiry is not None and _parse_if_needed(expiry) <= now:
            raise ExpiredCredentialsError(
                role_arn=self.fetcher.role_arn, expiry_time=str(expiry), local_time=now.isoformat()
            )
        return metadata

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} RoleArn={self.fetcher.role_arn!r} "
            f"expiry_time={self._expiry_time}>"
        )


class AssumedRoleCredentials(ScaledRefreshWindows, AioDeferredRefreshableCredentials):
    """aiobotocore's deferred refreshable credentials, with lifetime-scaled refresh windows.

    Nothing is fetched until first use.
    """

    fetcher: AssumeRoleFetcher

    def __init__(self, fetcher: AssumeRoleFetcher) -> None:
        super().__init__(self._fetch, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher

    async def _fetch(self) -> dict[str, Any]:
        with credential_responses_redacted():
            metadata = await self.fetcher.fetch_credentials()
        return self._reject_expired(metadata)


class AnyioAssumedRoleCredentials(AssumedRoleCredentials, AnyioDeferredRefreshableCredentials):
    """The variant for parents configured for anyio (httpx): an ``anyio.Lock``, so trio works."""


def new_credentials(parent: AioSession, fetcher: AssumeRoleFetcher) -> AssumedRoleCredentials:
    """The credentials class matching the parent's async primitives, as aiobotocore chooses."""
    if parent._async_primitives is AsyncPrimitives.ANYIO:
        return AnyioAssumedRoleCredentials(fetcher)
    return AssumedRoleCredentials(fetcher)


class AssumeRoleProvider(CredentialProvider):
    """The child session's only credential provider: always the same credentials object."""

    METHOD = METHOD

    def __init__(self, credentials: AssumedRoleCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    async def load(self) -> AssumedRoleCredentials:
        return self.credentials
