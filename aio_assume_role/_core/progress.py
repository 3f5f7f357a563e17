"""A fan-out's progress on a stream (stderr): the package's one progress display.

``fan_out(progress=True)`` shows it on stderr; the programs (``accounts``, ``demo``) show it
in their own words (``programs/_kit.progress_display``). Standard library only (tqdm, the
optional extra ``progress``, is imported when a terminal shows the bar).
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable
from typing import Any

__all__ = ["PROGRESS_LOG_INTERVAL", "ProgressDisplay"]

#: With ``fan_out(progress=True)`` and no terminal bar: the least number of seconds
#: between two progress lines on stderr.
PROGRESS_LOG_INTERVAL = 10.0


class ProgressDisplay:
    """A tqdm bar when the stream is a terminal and tqdm is installed, else a line at most
    every ``PROGRESS_LOG_INTERVAL`` seconds and one at the end, written to the stream
    directly: progress shows without any logging configuration (and a program that
    silences logging still shows it). Call it with each progress report (a
    ``fanout.FanOutProgress``: ``done``, ``total``, ``ok``, ``failed_*``); ``close()``
    when the run ends. Raises nothing: a closed stream loses the line, nothing more.

    ``label`` heads the bar; ``unit`` is the bar's unit; ``line`` makes a text line,
    ``postfix`` the bar's counts.
    """

    def __init__(
        self,
        stream: Any,
        *,
        label: str,
        unit: str = "unit",
        line: Callable[[Any], str] = str,
        postfix: Callable[[Any], dict[str, int]] | None = None,
    ) -> None:
        self.stream = stream
        self.label = label
        self.unit = unit
        self.line = line
        self.postfix = postfix or _counts_by_outcome
        self.bar: Any = None
        self.last: Any = None
        self.written: Any = None
        self.written_at = time.monotonic()
        self.tqdm: Any = None
        isatty = getattr(stream, "isatty", None)
        if isatty is not None and isatty():
            with contextlib.suppress(ImportError):  # the optional extra 'progress'
                self.tqdm = importlib.import_module("tqdm").tqdm

    def __call__(self, progress: Any) -> None:
        self.last = progress
        if self.tqdm is not None:
            if self.bar is None:
                self.bar = self.tqdm(
                    total=progress.total, file=self.stream, desc=self.label, unit=self.unit
                )
            # A dict keeps its order (tqdm sorts keyword arguments).
            self.bar.set_postfix(self.postfix(progress), refresh=False)
            self.bar.update(1)
            return
        now = time.monotonic()
        if now - self.written_at >= PROGRESS_LOG_INTERVAL:
            self.written_at = now
            self._write()

    def close(self) -> None:
        """The run ended (or stopped): close the bar, or write the last state once."""
        if self.bar is not None:
            self.bar.close()
        elif self.last is not None and self.written != self.last:
            self._write()

    def _write(self) -> None:
        progress = self.written = self.last
        assert progress is not None
        with contextlib.suppress(OSError, ValueError):
            print(self.line(progress), file=self.stream, flush=True)


def _counts_by_outcome(progress: Any) -> dict[str, int]:
    return {
        "ok": progress.ok,
        "failed_assume": progress.failed_assume,
        "failed_work": progress.failed_work,
    }
