"""When temporary credentials count as due for refresh (pure).

botocore refreshes 15 minutes (advisory) and 10 minutes (mandatory) before expiry.
With 15-minute credentials (the AssumeRole minimum) that means "always": every
request would call AssumeRole. We keep botocore's windows for lifetimes of 30
minutes and more, and scale them down for shorter ones.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from botocore.credentials import _parse_if_needed

#: STS's default session duration when DurationSeconds is not given.
DEFAULT_DURATION_SECONDS = 3600

_ADVISORY_SECONDS = 15 * 60
_MANDATORY_SECONDS = 10 * 60


def refresh_windows(lifetime_seconds: float) -> tuple[float, float]:
    """Return (advisory, mandatory) seconds-before-expiry for credentials of this lifetime."""
    lifetime_seconds = max(lifetime_seconds, 0.0)
    return (
        min(_ADVISORY_SECONDS, lifetime_seconds / 2),
        min(_MANDATORY_SECONDS, lifetime_seconds / 3),
    )


def requested_lifetime(args: Mapping[str, Any]) -> int:
    """The lifetime a normalized request asks for: DurationSeconds, else STS's default."""
    duration = args.get("DurationSeconds")
    return duration if isinstance(duration, int) else DEFAULT_DURATION_SECONDS


def windows_for_expiry(
    expiry: datetime.datetime, now: datetime.datetime, requested_seconds: float
) -> tuple[float, float]:
    """Refresh windows for credentials expiring at ``expiry``.

    The lifetime is what is left now, capped at the requested duration (a cached
    response may have been issued earlier).
    """
    return refresh_windows(min((expiry - now).total_seconds(), requested_seconds))


def expires_within(
    expiration: str | datetime.datetime, window_seconds: float, now: datetime.datetime
) -> bool:
    """Whether an AssumeRole ``Expiration`` (ISO string or datetime) is near: under the window."""
    return bool((_parse_if_needed(expiration) - now).total_seconds() < window_seconds)
