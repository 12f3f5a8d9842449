"""The text of one cell (the CSV writer's and the tables' number format) and the columns a family's rows use."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .columns import Row
from .families import Family

__all__ = ["format_value", "used_columns"]


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


def used_columns(family: Family, rows: Sequence[Row]) -> list[str]:
    """Canonical-order columns that some row fills, plus the columns every row requires."""
    used = set(family.always_required)
    for row in rows:
        used |= {k for k, v in row.model_dump().items() if v is not None}
    return [c for c in family.columns if c in used]
