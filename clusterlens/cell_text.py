"""The text of one cell (the CSV writer's and the tables' number format), the rounding rule for the numbers
clusterlens computes into CSVs, and the columns a family's rows use.

A float is written as the shortest text that reads back as the same float (:func:`format_value`), so a
CSV cell is exact. Values clusterlens *computes* are first rounded to the digits their source justifies,
so files carry no binary noise (``0.25039819510236233``):

- imported values (:mod:`clusterlens.lenstool`): to :func:`import_digits` significant digits, the most
  significant digits of any number in the source files plus :data:`GUARD_DIGITS`, at least
  :data:`MIN_IMPORT_DIGITS` and at most :data:`MAX_IMPORT_DIGITS` (a value copied from the source keeps
  its text when it has no more digits than that). The cap makes export and import a round trip: a value
  rounded to at most 12 digits, converted for Lenstool and back, lands within a few ulps of itself, and
  rounding again to 12 digits gives it back exactly;
- fitted values (``median/``, ``max_likelihood/``): to the decimal place of the first digit of
  :data:`SIGMA_FRACTION` times the posterior width (:func:`round_to_width`), so rounding moves a value by
  at most half of that (less than 1e-3 sigma).
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from .columns import Row
from .families import Family

__all__ = ["GUARD_DIGITS", "MAX_IMPORT_DIGITS", "MIN_IMPORT_DIGITS", "SIGMA_FRACTION", "format_value", "import_digits",
           "round_significant", "round_to_width", "significant_digits", "used_columns"]

#: Significant digits an imported value keeps beyond the most its source numbers have.
GUARD_DIGITS = 2
#: The fewest significant digits an imported value keeps.
MIN_IMPORT_DIGITS = 6
#: The most significant digits an imported value keeps (1e-12 relative: below any lensing precision).
MAX_IMPORT_DIGITS = 12
#: A fitted value is rounded to the decimal place of the first digit of this fraction of its posterior width.
SIGMA_FRACTION = 1e-3
#: Significant digits that hold any float exactly (rounding to as many changes nothing).
EXACT_DIGITS = 17

_NUMBER = re.compile(r"[+-]?(\d*)\.?(\d*)(?:[eE][+-]?\d+)?")


def format_value(value: object) -> str:
    """A cell's text: floats (Python or numpy) as the shortest string that round-trips, None and NaN
    as blank, numpy integers as integers, anything else as ``str``."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return ""
        if value == 0 or 1e-4 <= abs(value) < 1e6:
            return repr(value)
        return np.format_float_scientific(value, unique=True, trim="-")
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def significant_digits(text: str) -> int:
    """Significant digits of a number's text (``'0.0250'`` 3, ``'-30.400000'`` 8, ``'1e15'`` 1, ``'1500'``
    4); 0 for text that is not a number."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None or not (match.group(1) or match.group(2)):
        return 0
    digits = (match.group(1) + match.group(2)).lstrip("0")
    return max(len(digits), 1)


def import_digits(source_digits: int) -> int:
    """Significant digits an imported value is rounded to, given the most significant digits of its sources."""
    return min(max(source_digits + GUARD_DIGITS, MIN_IMPORT_DIGITS), MAX_IMPORT_DIGITS)


def round_significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (decimal rounding; non-finite values unchanged)."""
    if digits >= EXACT_DIGITS or not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{max(digits, 1)}g}")


def round_to_width(value: float, width: float) -> float:
    """``value`` rounded to the decimal place of the first significant digit of ``SIGMA_FRACTION * width``
    (``width``: its posterior standard deviation, same unit), so it moves by at most half of that; a
    ``width`` that is not positive and finite leaves the value unchanged."""
    if not (math.isfinite(width) and width > 0 and math.isfinite(value)) or value == 0:
        return value
    place = math.floor(math.log10(SIGMA_FRACTION * width))
    return round_significant(value, math.floor(math.log10(abs(value))) - place + 1)


def used_columns(family: Family, rows: Sequence[Row]) -> list[str]:
    """Canonical-order columns that some row fills, plus the columns every row requires."""
    used = set(family.always_required)
    for row in rows:
        used |= {k for k, v in row.model_dump().items() if v is not None}
    return [c for c in family.columns if c in used]
