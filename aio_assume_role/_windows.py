"""When temporary credentials count as due for refresh (pure).

botocore refreshes 15 minutes (advisory) and 10 minutes (mandatory) before expiry.
With 15-minute credentials (the AssumeRole minimum) that means "always": every
request would call AssumeRole. We keep botocore's windows for lifetimes of 30
minutes and more, and scale them down for shorter ones.
"""

from __future__ import annotations

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
