"""The one clock that refresh windows and cache expiry read (tests replace ``now``)."""

from __future__ import annotations

import datetime

from dateutil.tz import tzutc


def now() -> datetime.datetime:
    """The current time, timezone-aware."""
    return datetime.datetime.now(tzutc())


def current_time() -> datetime.datetime:
    """``now()`` looked up at call time, for code that stores a time-fetcher callable."""
    return now()
