"""Reading a user's input file with bounded work: a regular file of limited size, or one clear problem.

A FIFO or a device (``/dev/zero``) would make a plain read hang or fill the memory, a symbolic link
loop or a dangling link would otherwise look like an absent file. :func:`read_limited` refuses each
with a message naming the file, before reading anything but the file's status.

Limits (generous for real inputs): a family CSV at most ``MAX_CSV_BYTES`` (64 MiB, ~10^6 rows), a
TOML file ``MAX_TOML_BYTES`` (1 MiB), a CSV cell ``MAX_CELL_CHARS`` (1000 characters).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_CSV_BYTES = 64 * 1024 ** 2
MAX_TOML_BYTES = 1024 ** 2
MAX_CELL_CHARS = 1000

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class UnreadableInput(ValueError):
    """An input path that is not a regular file of acceptable size; the message names it."""


def kind_problem(path: Path) -> str | None:
    """Why ``path`` (which exists as a name) is not a readable regular file, or None when it is."""
    try:
        info = os.stat(path)
    except OSError as err:
        if os.path.islink(path):
            return f"is a symbolic link that leads nowhere ({err.strerror}: dangling or a loop)"
        return f"cannot be read: {err.strerror}"
    for test, kind in _KINDS:
        if test(info.st_mode):
            return f"is {kind}: expected a regular file"
    return None if stat.S_ISREG(info.st_mode) else "is not a regular file"


def read_limited(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path`` of at most ``limit`` bytes, else :class:`UnreadableInput`."""
    path = Path(path)
    problem = kind_problem(path)
    if problem is not None:
        raise UnreadableInput(problem)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the check
                raise UnreadableInput("is not a regular file")
            data = handle.read(limit + 1)
    except OSError as err:
        raise UnreadableInput(f"cannot be read: {err.strerror}") from None
    if len(data) > limit:
        raise UnreadableInput(f"is larger than {limit / 1024 ** 2:g} MiB, the limit for this kind of file")
    return data
