"""Deferred, self-refreshing credentials backed by an ``AssumeRoleFetcher``."""

from __future__ import annotations

import datetime
from typing import Any

from aiobotocore.credentials import AioDeferredRefreshableCredentials
from botocore.credentials import CredentialProvider, RefreshableCredentials

from . import _clock
from ._fetcher import AssumeRoleFetcher
from ._windows import windows_for_expiry

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
        super().__init__(fetcher.fetch_credentials, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher


class AssumeRoleProvider(CredentialProvider):
    """The child session's only credential provider: always the same credentials object."""

    METHOD = METHOD

    def __init__(self, credentials: AssumedRoleCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    async def load(self) -> AssumedRoleCredentials:
        return self.credentials
