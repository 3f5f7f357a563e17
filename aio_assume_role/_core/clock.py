"""The one clock and the one source of chance that refresh decisions read.

Refresh windows, backoff and jitter read time through ``now()`` and chance
through ``random_fraction()``; tests replace either to move time or pin the dice
instead of sleeping.
"""

from __future__ import annotations

import datetime
import random
import time

_UTC = datetime.timezone.utc


def now() -> datetime.datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.datetime.now(_UTC)


def current_time() -> datetime.datetime:
    """``now()`` looked up at call time, for code that stores a time-fetcher callable."""
    return now()


def random_fraction() -> float:
    """A uniformly random float in [0, 1): the jitter of refresh points and backoffs."""
    return random.random()


def monotonic() -> float:
    """Seconds on a monotonic clock: the pacing of AssumeRole calls reads it."""
    return time.monotonic()
