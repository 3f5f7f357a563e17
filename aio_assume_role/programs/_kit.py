"""What every program of the package shares: exit codes, Ctrl-C, SIGTERM, a closed stdout.

``run_program`` runs a program's body so that, whatever it was doing:

- Ctrl-C (SIGINT) ends it with one line on stderr (``PROG: interrupted``) and exit
  130, never a ``KeyboardInterrupt`` traceback;
- SIGTERM does the same, with exit 143: it is delivered as Ctrl-C is (the current
  SIGINT handler runs, so asyncio's own handler cancels the running task and its
  clean-up runs), and remembered, for the exit code;
- a closed stdout (``| head -c0``, a reader that went away) ends it with one line on
  stderr and exit 141 (128 + SIGPIPE, what a shell reports for a process killed by
  it), never a ``BrokenPipeError`` traceback.

The checks of the options every program shares (``region_argument``,
``region_option_problem``, ``account_id_option``) apply the library's own rules, so a
region or an account id means on the command line what it means to the API.

A program that has something to say when interrupted (``accounts``: the results so far)
catches ``KeyboardInterrupt`` itself and returns ``interrupted_exit_code()``.

Imports nothing beyond the standard library: the command's cache hit runs through it
(the checks import the library's rules when they run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = [
    "EXIT_ASSUME_ROLE_FAILED",
    "EXIT_BAD_ARGUMENTS",
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_NO_PARENT_CREDENTIALS",
    "EXIT_TERMINATED",
    "Failure",
    "account_id_option",
    "interrupted_exit_code",
    "logging_silenced",
    "one_line",
    "region_argument",
    "region_option_problem",
    "run_program",
]

EXIT_BAD_ARGUMENTS = 2
EXIT_NO_PARENT_CREDENTIALS = 3
EXIT_ASSUME_ROLE_FAILED = 4
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE (a constant: Windows has no SIGPIPE)

#: Whether the interrupt being handled came from SIGTERM (set by the handler).
_terminated = False


class Failure(Exception):
    """Ends the run with an exit code and a one-line message for stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = one_line(message)


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def region_option_problem(option: str, name: str) -> str | None:
    """The one-line message for an option's value that is not a region name, or None.

    The library's rule (``region_name_problem``): ``eu-wst-1``, ``'us east'`` or
    ``'us-east-1\\n'`` are refused before any request, naming ``option``.
    """
    from .._core.request import region_name_problem

    problem = region_name_problem(name)
    return None if problem is None else f"{option} {name!r} {problem}"


def region_argument(text: str) -> str:
    """An argparse ``type`` for a region option (``--region``): the name, or argparse's
    error naming the option (exit 2)."""
    from .._core.request import region_name_problem

    problem = region_name_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def account_id_option(text: str, where: str) -> tuple[str, None] | tuple[None, str]:
    """``(id, None)``: an account id given on the command line, as 12 digits, zero-padded
    as the library pads one (``get_role_arn``, aws-assume-role-lib: ``123`` is
    ``000000000123``); or ``(None, message)``, one line headed by ``where`` (the option,
    or the file and line), for what is no account id at all (13 digits or more, a
    non-digit, empty)."""
    from ..arns import normalized_account_id

    account_id, problem = normalized_account_id(text)
    if problem is not None:
        return None, f"{where}: {problem}"
    assert account_id is not None
    return account_id, None


@contextlib.contextmanager
def logging_silenced() -> Iterator[None]:
    """No log record, from any logger, while the command runs.

    botocore logs a failed fetch with its traceback (at WARNING), whose text can be a
    parser error holding the raw response, secret key included; wherever the
    process's logging goes (a sitecustomize, an embedding program), the one-line
    message is the only output.
    """
    import logging  # not at import: the command's cache hit logs nothing

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, where there is no SIGINT handler to deliver it through."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Deliver SIGTERM as Ctrl-C: through the current SIGINT handler, if it is Python's."""
    global _terminated
    _terminated = True
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)  # raises KeyboardInterrupt, or cancels asyncio's task
        return
    raise Terminated  # SIGINT ignored (a background job): SIGTERM still ends the program


def interrupted_exit_code() -> int:
    """130 after Ctrl-C, 143 after SIGTERM: for a program that handles the interrupt."""
    return EXIT_TERMINATED if _terminated else EXIT_INTERRUPTED


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM handled by ``_on_sigterm`` meanwhile, where it would otherwise kill the
    process (its default): not where the embedding program handles or ignores it."""
    global _terminated
    if (
        threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "SIGTERM")
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    _terminated = False
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def say(prog: str, message: str) -> None:
    """``PROG: message`` on stderr, even when stderr is gone (then nothing)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"{prog}: {message}", file=sys.stderr, flush=True)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run_program(prog: str, body: Callable[[], int]) -> int:
    """Run ``body``; return its exit code, or the interrupt's or the closed stdout's.

    stdout is flushed before returning, so a reader that went away is found here and
    not at the interpreter's exit (where it would be a traceback and exit code 120).
    """
    with _sigterm_as_interrupt():
        try:
            code = body()
            sys.stdout.flush()
            return code
        except KeyboardInterrupt:
            say(prog, "interrupted")
            return interrupted_exit_code()
        except BrokenPipeError:
            _discard_stdout()
            say(prog, "stdout was closed before the output was written")
            return EXIT_BROKEN_PIPE
