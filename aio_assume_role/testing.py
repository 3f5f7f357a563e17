"""Test how your own code lives with refreshing credentials: no sleeping, no real AWS.

The library reads time and chance through one seam each; this module moves them::

    from aio_assume_role import testing

    with testing.moved_clock(moto=True) as clock, testing.pinned_jitter(0.0):
        ...                           # first use: credentials for an hour
        clock.advance(50 * 60)        # 10 minutes left: the advisory window
        ...                           # served at once; one refresh starts in the background
        await testing.wait_for_refreshes()

- ``moved_clock()``: the library's clock, moved forward by ``advance(seconds)``
  (``moto=True`` moves the clock of moto's STS in this process too, so that the
  credentials it issues expire on the moved clock);
- ``pinned_jitter(value)``: the dice of the jittered refresh points and backoffs,
  pinned (0.0: the earliest advisory point, the shortest backoffs);
- ``await wait_for_refreshes()``: until the background refreshes in flight in this
  event loop have finished.

Both context managers restore what they replaced on exit; they are not thread-safe
(enter them in the test, not in threads it starts).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ._core import clock as _clock
from ._core.refresh import wait_for_background_refreshes

__all__ = ["Clock", "Dice", "moved_clock", "pinned_jitter", "wait_for_refreshes"]


class Clock:
    """The library's clock, moved: ``advance(seconds)``; ``offset`` is how far so far."""

    def __init__(self) -> None:
        self.offset = datetime.timedelta()

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (negative moves it back).

        Raises ``TypeError`` unless ``seconds`` is a number.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"seconds must be a number, got {type(seconds).__name__}")
        self.offset += datetime.timedelta(seconds=seconds)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} offset={self.offset}>"


class Dice:
    """What the library's jitter draws while ``pinned_jitter`` is active: ``value``."""

    def __init__(self, value: float) -> None:
        self.value = _checked_fraction(value)

    def __call__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} value={self.value}>"


@contextmanager
def moved_clock(*, moto: bool = False) -> Iterator[Clock]:
    """Within the block, the library's clock is the real one plus ``Clock.advance()``s.

    ``moto=True``: moto's STS (in this process: ``mock_aws`` or a ``ThreadedMotoServer``)
    reads the same moved clock, so the credentials it issues expire on it.

    Raises ``ImportError`` for ``moto=True`` where moto is not installed.
    """
    clock = Clock()
    active = True
    restore: list[Callable[[], None]] = []
    if moto:
        import moto.sts.models as moto_sts

        # moto's STS reads its clock through the name ``utcnow`` in its models module.
        real_utcnow = getattr(moto_sts, "utcnow")  # noqa: B009 - not re-exported (mypy)

        def moto_now() -> datetime.datetime:
            base: datetime.datetime = real_utcnow()
            return base + clock.offset if active else base

        setattr(moto_sts, "utcnow", moto_now)  # noqa: B010
        restore.append(lambda: _restore(moto_sts, "utcnow", moto_now, real_utcnow))
    real_now = _clock.now

    def now() -> datetime.datetime:
        return real_now() + clock.offset if active else real_now()

    _clock.now = now
    try:
        yield clock
    finally:
        # Inactive from now on, also where something patched over it and puts it back.
        active = False
        _restore(_clock, "now", now, real_now)
        for undo in restore:
            undo()


@contextmanager
def pinned_jitter(value: float = 0.0) -> Iterator[Dice]:
    """Within the block, every jitter draw is ``value`` (settable later as ``Dice.value``).

    0.0 gives the earliest advisory point and the shortest backoffs (300 s while valid
    credentials are served, 1 s of repeated errors otherwise); values near 1.0 the
    latest and the longest. Raises ``ValueError`` unless 0 <= ``value`` < 1.
    """
    dice = Dice(value)
    real = _clock.random_fraction
    active = True

    def draw() -> float:
        return dice.value if active else real()

    _clock.random_fraction = draw
    try:
        yield dice
    finally:
        active = False
        _restore(_clock, "random_fraction", draw, real)


async def wait_for_refreshes() -> int:
    """Wait until the background refreshes in flight in this event loop have finished.

    Returns how many there were. Never raises what a refresh raised: its outcome goes
    to the refresh listeners and the log, and to the callers that waited for it.
    """
    return await wait_for_background_refreshes()


def _restore(module: object, name: str, ours: object, original: object) -> None:
    """Put ``original`` back, unless something patched over ``ours`` (it restores ours,
    which then passes through to the original)."""
    if getattr(module, name) is ours:
        setattr(module, name, original)


def _checked_fraction(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"the jitter must be a number from 0 up to (not including) 1: {value!r}")
    return float(value)
