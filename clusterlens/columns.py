"""The base of every CSV row and the column types that several families share (pydantic v2).

Units live in each field's description and in ``json_schema_extra["unit"]`` (read by the printed
tables and the JSON Schemas). Conventions (docs/conventions.md): x, y in arcsec from the dataset
reference point, x positive to the West; ``angle`` in degrees counter-clockwise from +x; ``q`` = b/a
of the surface-density (or brightness) contours.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Row(BaseModel):
    """Base of every row: unknown fields are errors, values are finite, rows are immutable.

    ``value_checks``: the columns whose values the row's model validators compare (None: possibly any).
    A fit that changes only numeric cells outside it, each within its column's bounds, needs no new
    validation of the row (:class:`clusterlens.fit.lens_batch.BatchLens`); a validator that only asks
    which cells are blank declares ``frozenset()``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_strip_whitespace=True)
    value_checks: ClassVar[frozenset[str] | None] = None


def column(unit: str, description: str, default: Any = ..., **constraints: Any) -> Any:
    """A pydantic Field whose description ends with ``[unit]`` and whose schema carries the unit."""
    return Field(default, description=f"{description} [{unit}]", json_schema_extra={"unit": unit}, **constraints)


#: Limits a real cluster and instrument can have (docs/conventions.md#limits): beyond them a value is
#: a typo, and would overflow the physics (NaN deflections) long after validation.
MAX_OFFSET = 1e5  # |x|, |y| [arcsec] (28 degrees)
MAX_RADIUS = 1e5  # [arcsec]
MIN_AXIS_RATIO = 1e-3
MAX_NAME = 200  # characters of a name
#: A name: printable single-line text without commas or semicolons (no control character, e.g. a
#: newline or an ESC, can reach an exported file or the terminal), at most MAX_NAME characters, not
#: starting with = + - @ (a spreadsheet would run it as a formula when it opens an output CSV; numbers
#: are not names, so negative values are unaffected).
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME,
                            pattern=r"^[^,;=+\-@\s\x00-\x1f\x7f-\x9f][^,;\x00-\x1f\x7f-\x9f\u2028\u2029]*$")]
#: Free text shown or written elsewhere (a dataset name): printable, one line, at most MAX_NAME characters.
Text = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$")]
Galaxy = Annotated[Name, Field(description="galaxy name; joins the families")]
X = Annotated[float, column("arcsec", "x offset from the reference point, positive to the West",
                           ge=-MAX_OFFSET, le=MAX_OFFSET)]
Y = Annotated[float, column("arcsec", "y offset from the reference point, positive to the North",
                           ge=-MAX_OFFSET, le=MAX_OFFSET)]
Redshift = Annotated[float, column("", "redshift", gt=0, le=20)]
AxisRatio = Annotated[float, column("", "axis ratio b/a of the contours", ge=MIN_AXIS_RATIO, le=1)]
Angle = Annotated[float, column("deg", "position angle, counter-clockwise from +x", ge=-360, le=360)]
Radius = Annotated[float, column("arcsec", "radius", ge=0, le=MAX_RADIUS)]
PositiveRadius = Annotated[float, column("arcsec", "radius", gt=0, le=MAX_RADIUS)]
VelocityDispersion = Annotated[float, column("km/s", "Lenstool fiducial velocity dispersion", gt=0, le=5000)]


def check_core_below_cut(core: float, cut: float, core_name: str, cut_name: str) -> None:
    """Raise ValueError unless ``core < cut`` (a dPIE needs its core inside its cut radius)."""
    if core >= cut:
        raise ValueError(f"{core_name} ({core!r}) must be smaller than {cut_name} ({cut!r})")
