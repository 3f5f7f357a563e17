"""Reading one cache entry file safely (standard library only).

``AioJSONFileCache`` reads its entries with ``_read_entry``, and so does the command
line's cache hit, in a process that imports neither botocore nor aiofiles: no symbolic
link followed, no FIFO blocked on, nothing but a regular file of this user (or root)
under 1 MiB trusted.
"""

from __future__ import annotations

import errno
import os
import stat

__all__ = ["MAX_ENTRY_BYTES"]


#: Entries larger than this are a miss: an AssumeRole response is a few KiB.
MAX_ENTRY_BYTES = 1024 * 1024

# Flags the platform may lack are 0 there (O_NOFOLLOW then falls back to an lstat).
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_COMMON_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0) | _O_NOFOLLOW
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _COMMON_FLAGS


class _Miss(Exception):
    """An entry that is there but must not be used; ``str()`` says why (never its content)."""


def _foreign(owner_uid: int) -> bool:
    """Whether a file's owner is someone other than this process's user or root (who
    can replace anything anyway), as OpenSSH judges its own files. False where the
    platform has no user ids."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and owner_uid not in (geteuid(), 0)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "another kind of file"


def _read_entry(path: str) -> bytes | None:
    """The whole content of the entry at ``path``; None if there is none.

    Raises ``_Miss`` for an entry that exists but is not to be read: a symbolic
    link, anything but a regular file, a file over ``MAX_ENTRY_BYTES``, a file
    owned by another user, or one that cannot be read. Never blocks on a FIFO.
    """
    if not _O_NOFOLLOW and os.path.islink(path):
        raise _Miss("a symbolic link, not followed")
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW met a link (dangling or not)
            raise _Miss("a symbolic link, not followed") from None
        raise _Miss(f"unreadable ({type(error).__name__})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Miss(f"not a regular file ({_kind(info.st_mode)})")
        if _foreign(info.st_uid):
            raise _Miss("owned by another user (it could hold someone else's credentials)")
        if info.st_size > MAX_ENTRY_BYTES:
            raise _Miss("larger than 1 MiB")
        chunks = []
        left = MAX_ENTRY_BYTES + 1  # one more: a file growing past the cap is caught too
        while left > 0:
            chunk = os.read(fd, min(left, 256 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise _Miss("larger than 1 MiB")
        return b"".join(chunks)
    except OSError as error:
        raise _Miss(f"unreadable ({type(error).__name__})") from None
    finally:
        os.close(fd)
