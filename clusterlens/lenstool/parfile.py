"""Syntax of a Lenstool ``.par`` file: blocks of ``keyword value ...`` lines, nothing else.

A ``.par`` file is a sequence of blocks. A block opens with its name (and an optional label, e.g.
``potentiel O1``) at the start of a line, lists one ``keyword value ...`` entry per line and closes
with ``end``; ``fini`` ends the file. ``#`` starts a comment, on its own line or after an entry.
This module keeps every entry with its line number and attaches no meaning to it; the importer
(:mod:`clusterlens.lenstool.importer`) interprets the blocks.

Two kinds of comment carry information:

- header comments written by Lenstool at the top of a result file, e.g. ``#Chi2pos: 150.08`` and
  ``#4.1 z:2.170 dlsds:0.812`` (optimised redshifts), kept in :attr:`ParFile.header`;
- ``#clusterlens-<kind>`` directives written by :func:`clusterlens.lenstool.write_par` after ``fini``
  (Lenstool never reads past ``fini``), which carry what Lenstool's format cannot hold (see
  :mod:`clusterlens.lenstool.exporter`), kept in :attr:`ParFile.directives`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..input_files import MAX_TOML_BYTES, UnreadableInput, read_limited

#: Prefix of the comment lines that carry clusterlens-only content (``#clusterlens-<kind> <text>``).
DIRECTIVE = "#clusterlens-"


class LenstoolError(ValueError):
    """A Lenstool file that cannot be read or a model that cannot be written in Lenstool's format."""


class LenstoolWarning(UserWarning):
    """Something in a Lenstool file was renamed, ignored or converted approximately (never dropped silently)."""


@dataclass(frozen=True)
class Entry:
    """One ``keyword value ...`` line of a block; ``values`` are the whitespace-separated words after it."""

    keyword: str
    values: tuple[str, ...]
    line: int

    def word(self, index: int, what: str, path: Path | str) -> str:
        if index >= len(self.values):
            raise LenstoolError(f"{path}:{self.line}: '{self.keyword}' needs {what} "
                                f"(value number {index + 1}), found {len(self.values)} value(s)")
        return self.values[index]

    def number(self, index: int, what: str, path: Path | str) -> float:
        """Value ``index`` as a float (Lenstool reads it with ``%lf``: trailing text is ignored)."""
        text = self.word(index, what, path)
        match = _FLOAT_PREFIX.match(text)
        if match is None:
            raise LenstoolError(f"{path}:{self.line}: '{self.keyword}' {what} must be a number, got {text!r}")
        return float(match.group(0))

    def integer(self, index: int, what: str, path: Path | str) -> int:
        """Value ``index`` as an integer (Lenstool reads it with ``%d``)."""
        text = self.word(index, what, path)
        match = _INT_PREFIX.match(text)
        if match is None:
            raise LenstoolError(f"{path}:{self.line}: '{self.keyword}' {what} must be an integer, got {text!r}")
        return int(match.group(0))


_FLOAT_PREFIX = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT_PREFIX = re.compile(r"[+-]?\d+")


@dataclass
class Block:
    """One block: ``name`` as written (``potentiel``, ``potfile0``, ...), its ``label`` and its entries."""

    name: str
    label: str
    line: int
    entries: list[Entry] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The block's kind: Lenstool matches block names by prefix (``potfile0`` is a ``potfile``)."""
        for prefix, kind in _KIND_PREFIXES:
            if self.name.startswith(prefix):
                return kind
        return self.name

    def last(self, *keywords: str) -> Entry | None:
        """The last entry whose keyword is one of ``keywords``: the one Lenstool ends up using."""
        found = [e for e in self.entries if e.keyword in keywords]
        return found[-1] if found else None


# Lenstool's reader compares block names by prefix (strncmp): "potent" -> potentiel, "limit", "potfile".
_KIND_PREFIXES = (("potent", "potentiel"), ("limit", "limit"), ("potfile", "potfile"))


@dataclass(frozen=True)
class Directive:
    """One ``#clusterlens-<kind> <text>`` comment line."""

    kind: str
    text: str
    line: int


@dataclass
class ParFile:
    """A parsed ``.par`` file: header comments, blocks in file order and clusterlens directives."""

    path: Path
    header: list[tuple[str, int]]
    blocks: list[Block]
    directives: list[Directive]

    def of_kind(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]

    def single(self, kind: str) -> Block | None:
        """The block of ``kind``; several of them is an error (Lenstool would mix their settings)."""
        found = self.of_kind(kind)
        if len(found) > 1:
            lines = ", ".join(str(b.line) for b in found)
            raise LenstoolError(f"{self.path}: expected at most one '{kind}' block, found {len(found)} (lines {lines})")
        return found[0] if found else None


def parse_par(path: str | Path) -> ParFile:
    """Split a ``.par`` file into blocks of entries; raise :class:`LenstoolError` naming the line of a syntax error."""
    path = Path(path)
    if not os.path.lexists(path):
        raise LenstoolError(f"{path}: cannot read the Lenstool parameter file (No such file or directory)")
    try:
        text = read_limited(path, MAX_TOML_BYTES * 16).decode("latin-1")
    except UnreadableInput as err:
        raise LenstoolError(f"{path}: the Lenstool parameter file {err}") from None
    return parse_par_text(text, path)


def parse_par_text(text: str, path: str | Path = "<par>") -> ParFile:
    """:func:`parse_par` on text already read; ``path`` only names the source in messages."""
    path = Path(path)
    header: list[tuple[str, int]] = []
    blocks: list[Block] = []
    directives: list[Directive] = []
    current: Block | None = None
    finished = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith(DIRECTIVE):
            directives.append(_directive(stripped, number, path))
            continue
        if finished or not stripped:
            continue
        if stripped.startswith("#"):
            if current is None and not blocks:
                header.append((stripped, number))
            continue
        words = stripped.split("#", 1)[0].split()
        if current is None:
            if words[0] == "fini":
                finished = True
                continue
            if words[0] == "end":
                raise LenstoolError(f"{path}:{number}: 'end' outside a block: expected a block name "
                                    "(runmode, potentiel, potfile, limit, image, cosmologie, ...)")
            current = Block(words[0], " ".join(words[1:]), number)
            continue
        if words[0] == "end":
            blocks.append(current)
            current = None
        elif words[0] == "fini":
            raise LenstoolError(f"{path}:{number}: 'fini' inside the '{current.name}' block opened at line "
                                f"{current.line}: expected 'end' first")
        else:
            current.entries.append(Entry(words[0], tuple(words[1:]), number))
    if current is not None:
        raise LenstoolError(f"{path}:{current.line}: the '{current.name}' block has no 'end'")
    return ParFile(path, header, blocks, directives)


def _directive(stripped: str, number: int, path: Path) -> Directive:
    head, _, rest = stripped.partition(" ")
    kind = head[len(DIRECTIVE):]
    if not kind:
        raise LenstoolError(f"{path}:{number}: directive without a kind: expected '{DIRECTIVE}<kind> ...'")
    return Directive(kind, rest.strip(), number)
