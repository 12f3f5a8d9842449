"""Atomic writes: a file, a set of files in one folder, or a whole folder, never left half-written.

- :func:`write_bytes` / :func:`write_text`: the data goes to a temporary file in the destination's
  folder, is flushed to disk (``fsync``), then renamed over the destination (``os.replace``), so a
  reader sees the old file or the new one, never a part of it;
- :func:`write_files`: several files of one folder, every temporary file written before the first
  rename, so a failure while writing leaves every old file in place;
- :func:`replaced_folder`: a folder built in a temporary sibling and swapped into place when the
  ``with`` block ends; the old folder is removed only after the swap, and any failure (in the block
  or in the swap) keeps the old folder as it was.

Files get the mode a plainly created file would (0o666 less the umask, :func:`user_mode`), folders
0o777 less the umask, rather than the private 0o600 / 0o700 of :mod:`tempfile`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def user_mode(bits: int = 0o666) -> int:
    """``bits`` less the process umask: the mode a plainly created file (0o666) or folder (0o777) gets."""
    mask = os.umask(0)
    os.umask(mask)
    return bits & ~mask


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` as ``path`` atomically (module docstring); create its folder if needed."""
    return write_files(Path(path).parent, {Path(path).name: data}) / Path(path).name


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 ``path`` atomically (:func:`write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"))


def write_files(folder: str | os.PathLike, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` ({file name: bytes}) into ``folder``: every file is written to a temporary
    file first, then all are renamed into place; files of ``folder`` not named are left alone."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staged: dict[str, str] = {}
    try:
        for name, data in files.items():
            staged[name] = _temporary_copy(folder, name, data)
        for name, tmp in staged.items():
            os.replace(tmp, folder / name)
    finally:
        for tmp in staged.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
    _sync_folder(folder)
    return folder


def _temporary_copy(folder: Path, name: str, data: bytes) -> str:
    """A synced temporary file in ``folder`` holding ``data``, with the user's file mode."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, user_mode())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _sync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries (the renames) to disk; only POSIX can open a folder for that."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replaced_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """``with replaced_folder(folder) as tmp:`` fill ``tmp``; on a normal exit ``tmp`` becomes ``folder``.

    ``tmp`` is a new empty sibling of ``folder`` (same file system, so the swap is a rename). The
    old ``folder`` (if any) is renamed aside, ``tmp`` renamed into place, and only then the old one
    deleted; if the block raises, or the swap fails, ``tmp`` is deleted and ``folder`` is left as it
    was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        os.chmod(tmp, user_mode(0o777))
        yield tmp
        _swap(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _swap(new: Path, folder: Path) -> None:
    """Rename ``new`` to ``folder``; an existing ``folder`` is put back if the rename fails, else deleted."""
    if not os.path.lexists(folder):
        os.replace(new, folder)
        _sync_folder(folder.parent)
        return
    old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
    os.rmdir(old)  # a free name beside folder
    os.replace(folder, old)
    try:
        os.replace(new, folder)
    except BaseException:
        os.replace(old, folder)
        raise
    _sync_folder(folder.parent)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    else:
        old.unlink()
