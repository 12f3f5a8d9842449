"""Signed dynesty checkpoints: only a checkpoint this user's clusterlens wrote is ever unpickled.

dynesty saves its sampler as a pickle, and unpickling runs whatever code the file names, so a
results folder received from someone else must never be unpickled as it is. Every checkpoint
clusterlens writes is therefore the pickle followed by a trailer, ``MAGIC`` + the hex HMAC-SHA256 of
the pickle bytes under a per-user secret key; :func:`load_checkpoint` reads the file once, checks the
trailer and only then unpickles those same bytes. A file without a valid trailer (crafted, copied
from another user or machine, truncated, empty, or written by clusterlens 0.1) is refused with
:class:`UntrustedCheckpoint` and left as it is. pickle stops at its STOP opcode, so dynesty's own
``restore_sampler`` still reads a signed file.

The key is 32 random bytes in ``$XDG_CONFIG_HOME/clusterlens/checkpoint.key`` (default
``~/.config/clusterlens/checkpoint.key``; the environment variable ``CLUSTERLENS_CHECKPOINT_KEY``
names another file, e.g. for tests), created on first use with mode 0600 in a 0700 folder, never
inside a results folder. A key file that is not a regular file of 32 bytes readable by its owner only
is refused. A checkpoint signed with a lost or replaced key cannot be resumed: fit again.

dynesty writes its checkpoints through ``dynesty.utils.pickle_module`` (a documented replacement
point); :func:`signing_checkpoints` installs :class:`SigningPickle` there while a run saves.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

KEY_ENV = "CLUSTERLENS_CHECKPOINT_KEY"
KEY_BYTES = 32
MAGIC = b"\n#clusterlens-checkpoint-hmac-sha256:"
TRAILER_BYTES = len(MAGIC) + 64  # the magic then 64 hex digits


class UntrustedCheckpoint(ValueError):
    """A checkpoint that is not signed by this user's key: it is refused, never unpickled."""


def key_path() -> Path:
    """The per-user key file (module docstring)."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "clusterlens" / "checkpoint.key"


def _read_key(path: Path) -> bytes:
    key = read_regular(path, KEY_BYTES, what="checkpoint key", private=True)
    if len(key) != KEY_BYTES:
        raise UntrustedCheckpoint(f"checkpoint key {path} must hold {KEY_BYTES} bytes, it holds {len(key)}: "
                                  "delete it to make a new one (checkpoints signed with it can then not be resumed)")
    return key


def user_key(create: bool = True) -> bytes:
    """This user's checkpoint key, created (mode 0600) when absent and ``create``."""
    path = key_path()
    if not os.path.lexists(path) and create:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)  # atomic, and never replaces a key another process made meanwhile
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    return _read_key(path)


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).hexdigest().encode("ascii")


def signed(data: bytes) -> bytes:
    """``data`` followed by its trailer under this user's key."""
    return data + MAGIC + _mac(user_key(), data)


def verified(blob: bytes, name: str) -> bytes:
    """The signed bytes of ``blob`` (a checkpoint's content) when its trailer is valid, else
    :class:`UntrustedCheckpoint` (``name``: the file, for the message)."""
    refused = (f"{name}: refused: not a checkpoint signed by this user's clusterlens ({{}}); it was not "
               "read. Fit again with --overwrite, or delete the checkpoint")
    if len(blob) == 0:
        raise UntrustedCheckpoint(refused.format("empty file"))
    if len(blob) < TRAILER_BYTES or blob[-TRAILER_BYTES:-64] != MAGIC:
        raise UntrustedCheckpoint(refused.format("no signature"))
    data, mac = blob[:-TRAILER_BYTES], blob[-64:]
    if not os.path.lexists(key_path()):
        raise UntrustedCheckpoint(refused.format(f"no key {key_path()}"))
    if not hmac.compare_digest(mac, _mac(user_key(create=False), data)):
        raise UntrustedCheckpoint(refused.format("bad signature"))
    return data


def read_regular(path: Path, limit: int, what: str = "checkpoint", private: bool = False) -> bytes:
    """The bytes of ``path`` (a ``what``), which must be a regular file (no link, not a FIFO) of at most
    ``limit`` bytes (at most limit + 1 are read, so a longer file shows as too long); ``private``: it must
    also be this user's and readable by no one else (POSIX)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise UntrustedCheckpoint(f"{path}: cannot be read ({err.strerror}); a {what} must be a regular "
                                  "file, not a link") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedCheckpoint(f"{path}: refused: not a regular file (a {what} must be one)")
        if private and os.name == "posix" and (info.st_mode & 0o077 or info.st_uid != os.getuid()):
            raise UntrustedCheckpoint(f"{what} {path} must be yours and private (chmod 600 {path})")
        if not private and info.st_size > limit:
            raise UntrustedCheckpoint(f"{path}: refused: {info.st_size} bytes, more than {limit}")
        return handle.read(limit + 1)


#: The largest checkpoint read back [bytes] (a dynesty sampler of 10^4 live points in 50 dimensions is ~100 MB).
MAX_CHECKPOINT_BYTES = 4 * 1024 ** 3


def load_checkpoint(path: str | os.PathLike) -> Any:
    """The object pickled in the signed checkpoint ``path`` (read once, verified, then unpickled)."""
    path = Path(path)
    return pickle.loads(verified(read_regular(path, MAX_CHECKPOINT_BYTES), str(path)))


class SigningPickle:
    """The ``pickle`` stand-in dynesty saves and loads through while :func:`signing_checkpoints` is active."""

    PickleError = pickle.PickleError

    @staticmethod
    def dump(obj: Any, handle: IO[bytes]) -> None:
        handle.write(signed(pickle.dumps(obj)))

    @staticmethod
    def load(handle: IO[bytes]) -> Any:
        return pickle.loads(verified(handle.read(), getattr(handle, "name", "checkpoint")))


@contextmanager
def signing_checkpoints() -> Iterator[None]:
    """While active, dynesty signs the checkpoints it writes (and verifies those it reads)."""
    import dynesty.utils

    user_key()  # make the key before the first save, so a key problem stops the run at once
    previous = dynesty.utils.pickle_module
    dynesty.utils.pickle_module = SigningPickle
    try:
        yield
    finally:
        dynesty.utils.pickle_module = previous
