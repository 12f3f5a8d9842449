"""Suggestions appended to input problems: the closest valid name, a decimal comma, the extra cell of a row.

Each function returns the text to append to a message (starting with ``": "`` or ``" ("``) or ``""``
when it has nothing to suggest, so a caller writes ``message + did_you_mean(value, choices)``.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DIGITS = re.compile(r"^[+-]?\d+$")
_FRACTION = re.compile(r"^\d+([eE][+-]?\d+)?$")


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name ``word`` most likely stands for: a match ignoring case, else the closest
    spelling (difflib ratio >= 0.6, compared in lower case), else None."""
    options = [c for c in dict.fromkeys(choices) if c]
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match and lowered[match[0]] != word else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``" (did you mean 'sigma'?)"`` for a misspelt name, ``""`` when no name is close."""
    if not isinstance(word, str) or not word:
        return ""
    best = closest(word, choices)
    return f" (did you mean {best!r}?)" if best is not None else ""


def decimal_comma(text: object) -> str:
    """A hint for a number written with a decimal comma (``0,75``), ``""`` otherwise."""
    if isinstance(text, str) and _DECIMAL_COMMA.match(text.strip()):
        return f": write a decimal point, {text.strip().replace(',', '.')}"
    return ""


def extra_cells(header: Sequence[str], cells: Sequence[str]) -> str:
    """Which cells of a row with more cells than the header are extra: a number split at its decimal
    comma (``0,75`` unquoted becomes the cells ``0`` and ``75``), or the cells past the last column."""
    if not header:
        return ""
    if len(cells) == len(header) + 1:
        for i in range(len(header)):
            left, right = cells[i].strip(), cells[i + 1].strip()
            if _DIGITS.match(left) and _FRACTION.match(right):
                return (f": the cells {left!r} and {right!r} under '{header[i]}' look like the number "
                        f"{left},{right} split at a decimal comma; write {left}.{right}")
    extra = list(cells[len(header):])
    if not any(c.strip() for c in extra):
        return f": {len(extra)} trailing comma(s) after the last column '{header[-1]}'; remove them"
    shown = ", ".join(repr(c) for c in extra[:3]) + (", ..." if len(extra) > 3 else "")
    return f": the cell(s) after the last column '{header[-1]}' are extra ({shown})"


def missing_cells(header: Sequence[str], cells: Sequence[str]) -> str:
    """Which columns a row with fewer cells than the header leaves without a cell."""
    absent = header[len(cells):]
    return f": no cell for {', '.join(repr(c) for c in absent[:4])}{', ...' if len(absent) > 4 else ''}"
