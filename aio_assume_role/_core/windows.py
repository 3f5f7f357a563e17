"""When temporary credentials are due for refresh, and when to try again after a failure (pure).

botocore refreshes 15 minutes (advisory) and 10 minutes (mandatory) before expiry.
With 15-minute credentials (the AssumeRole minimum) that means "always": every
request would call AssumeRole. We keep botocore's windows for lifetimes of 30
minutes and more, and scale them down for shorter ones.

On top of the windows: the advisory point is jittered per refresh, so sessions
created together do not refresh together, and a failed refresh backs off for a
randomized time (long in the advisory window, where valid credentials are still
served; a few seconds in the mandatory window, where callers get the error).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import dateutil.parser

#: STS's default session duration when DurationSeconds is not given.
DEFAULT_DURATION_SECONDS = 3600

_ADVISORY_SECONDS = 15 * 60
_MANDATORY_SECONDS = 10 * 60

#: The advisory point moves later by up to this fraction of the advisory-only stretch
#: (advisory start to mandatory start): 0 to 2.5 minutes for hour-long credentials.
ADVISORY_JITTER_FRACTION = 0.5

#: After a failed advisory refresh, wait this fraction of the time left before the
#: mandatory point (randomized between the two).
ADVISORY_BACKOFF_FRACTIONS = (1 / 3, 2 / 3)

#: After a failed mandatory refresh, callers get the same error at once for this long.
MANDATORY_BACKOFF_SECONDS = (1.0, 3.0)

_UTC = datetime.timezone.utc
_UTC_SUFFIXES = ("Z", "z", "UTC")


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


def refresh_points(
    expiry: datetime.datetime, now: datetime.datetime, requested_seconds: float, jitter: float
) -> tuple[datetime.datetime, datetime.datetime]:
    """Return (advisory point, mandatory point) for credentials expiring at ``expiry``.

    ``jitter`` in [0, 1) moves the advisory point later, at most by
    ``ADVISORY_JITTER_FRACTION`` of the stretch before the mandatory point.
    """
    advisory, mandatory = windows_for_expiry(expiry, now, requested_seconds)
    delay = jitter * ADVISORY_JITTER_FRACTION * (advisory - mandatory)
    return (
        expiry - datetime.timedelta(seconds=advisory - delay),
        expiry - datetime.timedelta(seconds=mandatory),
    )


def advisory_retry_point(
    now: datetime.datetime, mandatory_point: datetime.datetime, chance: float
) -> datetime.datetime:
    """When to try again after a failed advisory refresh.

    A randomized share (``ADVISORY_BACKOFF_FRACTIONS``) of the time left before the
    mandatory point, so a few attempts fit in before callers have to wait: 100 to
    200 seconds at the start of hour-long credentials' 5 advisory-only minutes.
    """
    low, high = ADVISORY_BACKOFF_FRACTIONS
    left = max((mandatory_point - now).total_seconds(), 0.0)
    return now + datetime.timedelta(seconds=left * (low + chance * (high - low)))


def mandatory_retry_point(now: datetime.datetime, chance: float) -> datetime.datetime:
    """Until when callers get a failed mandatory refresh's error without a new attempt."""
    low, high = MANDATORY_BACKOFF_SECONDS
    return now + datetime.timedelta(seconds=low + chance * (high - low))


def parse_expiry(value: str | datetime.datetime) -> datetime.datetime:
    """An AssumeRole ``Expiration`` (ISO-8601 string or datetime) as an aware datetime.

    ``datetime.fromisoformat`` handles what STS and the caches hold (``...Z``,
    ``...+00:00``, and botocore's JSONFileCache's ``...UTC``) in well under a
    microsecond; dateutil (about 30 microseconds) only takes what it cannot. A
    naive time is taken as UTC. Raises ``ValueError`` or ``TypeError`` otherwise.
    """
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, str):
        text = value
        for suffix in _UTC_SUFFIXES:
            if value.endswith(suffix):
                text = value[: -len(suffix)] + "+00:00"
                break
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            parsed = dateutil.parser.parse(value)
    else:
        raise TypeError(f"an expiration must be a str or datetime, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_UTC)
    # In UTC: comparing with the clock's UTC times is then ten times cheaper than with
    # dateutil's tzlocal/tzutc (which botocore's parser gives), on every credentials read.
    return parsed if parsed.tzinfo is _UTC else parsed.astimezone(_UTC)
