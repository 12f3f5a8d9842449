"""Content digests (SHA-256, hex): of one file's bytes, and of a set of named files as one value.

The simulator's ``manifest.json`` records :func:`file_digests` of a dataset's inputs and outputs;
a fit's ``run.json`` records :func:`digest_files` of the dataset's model files. Both are how an
earlier folder is recognised as up to date, so these byte schemes must not change.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def file_digests(files: Mapping[str, bytes]) -> dict[str, str]:
    """{name: :func:`sha256` of its bytes}, names sorted."""
    return {name: sha256(data) for name, data in sorted(files.items())}


def digest_files(files: Mapping[str, bytes]) -> str:
    """One SHA-256 of a set of named files: ``name NUL bytes NUL`` of every file, in name order.

    Equal for equal sets of names and contents, whatever the mapping's order; distinct for distinct
    sets of files free of NUL bytes (the model's text files: a CSV with a NUL does not load)."""
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()
