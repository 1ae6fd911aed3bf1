"""Bounded reads of small files other programs write (registry entries, the names state)."""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

from sessiontui.errors import SessiontuiError

if TYPE_CHECKING:
    from pathlib import Path


#: Bytes asked for per read once a file has grown past its ``fstat`` size.
_READ_MORE = 1 << 16


class UnreadableFile(SessiontuiError):
    """A file exists but may not or cannot be read; the message says why, for the user."""


def open_regular(path: Path) -> tuple[int, os.stat_result]:
    """Open a regular file read-only, without following a symlink or blocking on a FIFO.

    Args:
        path: The file.

    Returns:
        ``(file descriptor, its fstat)``; the caller closes the descriptor.

    Raises:
        FileNotFoundError: The file does not exist.
        UnreadableFile: ``symbolic link ignored``, ``not a regular file``, ``permission
            denied`` or ``cannot open: …``.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EMLINK):
            raise UnreadableFile("symbolic link ignored") from None
        if error.errno in (errno.EACCES, errno.EPERM):
            raise UnreadableFile("permission denied") from None
        raise UnreadableFile(f"cannot open: {error.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile("not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_small_file(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """Read a regular file of at most ``max_bytes`` bytes without following a symlink.

    Never blocks on a FIFO (``O_NONBLOCK``) and never reads more than ``max_bytes + 1`` bytes,
    so a huge or hostile file costs nothing.

    Args:
        path: The file.
        max_bytes: Largest accepted size, in bytes.

    Returns:
        The bytes and the ``fstat`` of the open file.

    Raises:
        FileNotFoundError: The file does not exist (not an error for callers that poll).
        UnreadableFile: ``symbolic link ignored``, ``not a regular file``, ``too large (…)``,
            ``permission denied`` or another I/O failure.
    """
    fd, st = open_regular(path)
    try:
        if st.st_size > max_bytes:
            raise UnreadableFile(f"too large ({st.st_size / (1 << 20):.1f} MB)")
        first = os.read(fd, st.st_size) if st.st_size else b""
        if first and len(first) == st.st_size:
            return first, st  # all fstat promised, in one read (the common case)
        chunks = [first]
        size = len(first)
        while size <= max_bytes:
            # Ask for what fstat promised (one read, then the break below), or a page more
            # once past it: asking for ``max_bytes`` allocates that much on every call, and
            # at 10,000 files that buffer cost more than the reads themselves.
            wanted = st.st_size - size if size < st.st_size else _READ_MORE
            chunk = os.read(fd, min(wanted, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size == st.st_size:
                break  # all fstat promised: skip the read that would only say EOF
        if size > max_bytes:
            raise UnreadableFile(f"too large (over {max_bytes / (1 << 20):.1f} MB)")
        return b"".join(chunks), st
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM):
            raise UnreadableFile("permission denied") from None
        raise UnreadableFile(f"cannot read: {error.strerror}") from None
    finally:
        os.close(fd)
