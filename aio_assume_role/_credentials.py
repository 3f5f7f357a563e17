"""Deferred, self-refreshing credentials backed by an ``AssumeRoleFetcher``."""

from __future__ import annotations

import datetime
from typing import Any

from aiobotocore.credentials import AioDeferredRefreshableCredentials
from botocore.credentials import CredentialProvider

from . import _clock
from ._fetcher import AssumeRoleFetcher
from ._windows import windows_for_expiry

METHOD = "assume-role"


class AssumedRoleCredentials(AioDeferredRefreshableCredentials):
    """aiobotocore's deferred refreshable credentials, with lifetime-scaled refresh windows.

    Nothing is fetched until first use. The advisory/mandatory refresh logic, its
    lock and its error handling are aiobotocore's; only the windows differ (see
    ``_windows``), so 15-minute credentials are not refreshed on every request.
    """

    def __init__(self, fetcher: AssumeRoleFetcher) -> None:
        super().__init__(fetcher.fetch_credentials, METHOD, time_fetcher=_clock.current_time)
        self.fetcher = fetcher

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


class AssumeRoleProvider(CredentialProvider):
    """The child session's only credential provider: always the same credentials object."""

    METHOD = METHOD

    def __init__(self, credentials: AssumedRoleCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    async def load(self) -> AssumedRoleCredentials:
        return self.credentials
