"""A fan-out's progress on a stream: the package's one progress display (standard library
only; tqdm, the ``progress`` extra, is imported when a terminal shows the bar)."""

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
    """A tqdm bar on a terminal with tqdm installed, else ``line(progress)`` at most every
    ``PROGRESS_LOG_INTERVAL`` seconds and once at ``close()``, written to the stream (not
    logged). Call it with each ``FanOutProgress``. Raises nothing."""

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
