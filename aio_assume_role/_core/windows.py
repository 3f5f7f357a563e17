"""When temporary credentials are due for refresh, and when to try again after a failure (pure).

The rules of the 2026 AWS SDKs (botocore #3760 and #3733, behind a flag there; the Go
SDK v2's ``CredentialsCache``; the Rust SDK's static-stability cache), fixed per
credential set from its lifetime::

    lifetime:    <= 20 min       20-90 min       >= 90 min
    advisory:    last 5 min      last 15 min     last 60 min   (the point jittered later)
    mandatory:   last 60 s, and never more than a third of the lifetime

The backoffs after a failure and the deadline are the constants below. Time is never
read here: callers pass ``now`` (read through ``clock``), and chance as a fraction.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import dateutil.parser
from botocore.config import Config

#: STS's default session duration when DurationSeconds is not given.
DEFAULT_DURATION_SECONDS = 3600

#: The advisory window by lifetime (botocore #3760), in seconds: up to 20 minutes...
SHORT_ADVISORY_SECONDS = 5 * 60
#: ... from 20 to 90 minutes...
MEDIUM_ADVISORY_SECONDS = 15 * 60
#: ... and from 90 minutes on.
LONG_ADVISORY_SECONDS = 60 * 60

#: The mandatory window: the last minute (at most a third of the lifetime).
MANDATORY_SECONDS = 60

#: The advisory point moves later by up to this fraction of the advisory-only stretch
#: (advisory start to mandatory start), drawn once per credential set.
ADVISORY_JITTER_FRACTION = 0.5

#: After a failed refresh while valid credentials are held: the next attempt, in seconds.
SERVED_BACKOFF_SECONDS = (300.0, 600.0)

#: After a failed refresh that callers waited for: new callers get its error this long.
REPEAT_FAILURE_SECONDS = (1.0, 5.0)

#: The overall deadline of one refresh (cache, STS and its retries), in seconds; None
#: or 0 on a credentials object's ``refresh_timeout`` means no deadline.
REFRESH_TIMEOUT_SECONDS = 30.0

#: After a service rejected the current credentials and they were replaced, a rejection
#: within this many seconds surfaces to the caller instead of replacing them again.
INVALIDATION_COOLDOWN_SECONDS = 60.0

#: botocore's own connect and read timeout (``botocore.endpoint.DEFAULT_TIMEOUT``).
BOTOCORE_DEFAULT_TIMEOUT = 60

_UTC = datetime.timezone.utc
_UTC_SUFFIXES = ("Z", "z", "UTC")


def refresh_windows(lifetime_seconds: float) -> tuple[float, float]:
    """Return (advisory, mandatory) seconds-before-expiry for credentials of this lifetime.

    The advisory window is the lifetime's band (5, 15 or 60 minutes, as botocore's),
    at most the whole lifetime; the mandatory window the last 60 seconds, at most a
    third of it (so 15-minute credentials, AssumeRole's shortest, are fresh for 10
    minutes, advisory for 4, mandatory for the last).
    """
    lifetime_seconds = max(lifetime_seconds, 0.0)
    if lifetime_seconds <= 20 * 60:
        advisory = SHORT_ADVISORY_SECONDS
    elif lifetime_seconds < 90 * 60:
        advisory = MEDIUM_ADVISORY_SECONDS
    else:
        advisory = LONG_ADVISORY_SECONDS
    return (
        min(float(advisory), lifetime_seconds),
        min(float(MANDATORY_SECONDS), lifetime_seconds / 3),
    )


def requested_lifetime(args: Mapping[str, Any]) -> int:
    """The lifetime a normalized request asks for: DurationSeconds, else STS's default."""
    duration = args.get("DurationSeconds")
    return duration if isinstance(duration, int) else DEFAULT_DURATION_SECONDS


def windows_for_expiry(
    expiry: datetime.datetime, now: datetime.datetime, requested_seconds: float
) -> tuple[float, float]:
    """Refresh windows for credentials expiring at ``expiry``, received ``now``.

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


def served_retry_point(
    now: datetime.datetime, mandatory_point: datetime.datetime, chance: float
) -> tuple[datetime.datetime, bool]:
    """When to try again after a failed refresh while valid credentials are held.

    A uniform ``SERVED_BACKOFF_SECONDS`` (300 to 600 s) from now, but never past the
    mandatory point, so the last minute gets a last try. Returns the point and whether
    the mandatory point capped it.
    """
    low, high = SERVED_BACKOFF_SECONDS
    point = now + datetime.timedelta(seconds=low + chance * (high - low))
    if point >= mandatory_point:
        return mandatory_point, True
    return point, False


def repeat_failure_until(now: datetime.datetime, chance: float) -> datetime.datetime:
    """Until when new callers get a failed waited-for refresh's error without a new attempt."""
    low, high = REPEAT_FAILURE_SECONDS
    return now + datetime.timedelta(seconds=low + chance * (high - low))


def sts_timeouts(config: Config | None, deadline: float | None) -> Config | None:
    """Connect and read timeouts that fit a refresh's ``deadline``, for an STS client.

    A third of the deadline to read (10 s of 30) and a sixth to connect (5 s), so
    botocore's retries fit inside it; None (nothing to change) without a deadline,
    or where ``config`` (the parent's default client config) already sets both
    timeouts away from botocore's 60-second default: the user's choice wins.
    """
    if not deadline:
        return None
    connect = getattr(config, "connect_timeout", BOTOCORE_DEFAULT_TIMEOUT)
    read = getattr(config, "read_timeout", BOTOCORE_DEFAULT_TIMEOUT)
    timeouts: dict[str, float] = {}
    if connect == BOTOCORE_DEFAULT_TIMEOUT:
        timeouts["connect_timeout"] = max(1.0, deadline / 6)
    if read == BOTOCORE_DEFAULT_TIMEOUT:
        timeouts["read_timeout"] = max(1.0, deadline / 3)
    return Config(**timeouts) if timeouts else None


def from_iso_format(value: str) -> datetime.datetime | None:
    """``value`` read by ``datetime.fromisoformat`` (``...Z``, ``...+00:00``,
    JSONFileCache's ``...UTC``) as an aware datetime in UTC (a naive time taken as UTC);
    None if it cannot read it. Never raises."""
    text = value
    for suffix in _UTC_SUFFIXES:
        if value.endswith(suffix):
            text = value[: -len(suffix)] + "+00:00"
            break
    try:
        return _in_utc(datetime.datetime.fromisoformat(text))
    except (ValueError, OverflowError):  # not ISO-8601; out of range once in UTC
        return None


def _in_utc(parsed: datetime.datetime) -> datetime.datetime:
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_UTC)
    # In UTC: compared with the clock's on every read, ten times cheaper than tzutc.
    return parsed if parsed.tzinfo is _UTC else parsed.astimezone(_UTC)


def parse_expiry(value: str | datetime.datetime) -> datetime.datetime:
    """An AssumeRole ``Expiration`` (ISO-8601 string or datetime) as an aware datetime.

    ``datetime.fromisoformat`` first (``...Z``, ``...+00:00``, JSONFileCache's ``...UTC``),
    dateutil (30 times slower) for the rest. A naive time is taken as UTC. Raises
    ``ValueError`` or ``TypeError`` otherwise.
    """
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, str):
        quick = from_iso_format(value)
        if quick is not None:
            return quick
        parsed = dateutil.parser.parse(value)
    else:
        raise TypeError(f"an expiration must be a str or datetime, got {type(value).__name__}")
    return _in_utc(parsed)
