"""Values made JSON-ready: numpy scalars and arrays as Python numbers and lists, paths as strings.

Used by every JSON a command or a results folder writes (summary.json, ``clusterlens chi2 --json``),
so that NaN and infinities, which JSON cannot hold, are written as null everywhere alike.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into JSON types (non-finite floats as None)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value
