"""The settings blocks of a Lenstool ``.par``: ``runmode reference`` and ``cosmologie``, and the
``#key: value`` header comments of a result file.

- ``runmode reference 3 RA DEC`` (or ``1 hh:mm:ss dd:mm:ss``) -> ``dataset.toml`` [reference];
  ``reference 0`` (absolute coordinates everywhere) is an error.
- ``cosmologie`` H0, omegaM (or ``omega``), omegaX (or ``lambda``), omegaK -> [cosmology] H0, Om0
  (+ Ode0 when omegaM + omegaX != 1), with Lenstool's keywords and defaults (:func:`read_cosmology`);
  wX (``q``, ``w0``) != -1 or wa (``n``, ``delta``, ``w1``) != 0 is an error.
"""
from __future__ import annotations

import re

from .catalogues import Reference, parse_reference
from .parfile import LenstoolError, ParFile


def read_reference(par: ParFile) -> Reference:
    """The ``runmode`` block's ``reference``: RA, Dec [deg] of x = y = 0."""
    block = par.single("runmode")
    entry = block.last("reference") if block is not None else None
    if entry is None:
        raise LenstoolError(f"{par.path}: no 'reference' in a 'runmode' block: expected 'reference 3 RA DEC' "
                            "(the RA, Dec in degrees of x = y = 0)")
    reference = parse_reference(entry.values, f"{par.path}:{entry.line}")
    if reference.code == 0:
        raise LenstoolError(f"{par.path}:{entry.line}: 'reference 0' (absolute coordinates everywhere) is not "
                            "supported: expected 'reference 3 RA DEC' or 'reference 1 hh:mm:ss dd:mm:ss'")
    return reference


#: cosmologie keywords -> the parameter they set (Lenstool r_cosmologie; the later line wins).
COSMOLOGY_KEYWORDS = {"H0": "H0", "omegaM": "omegaM", "omega": "omegaM", "omegaX": "omegaX",
                      "lambda": "omegaX", "wX": "wX", "q": "wX", "w0": "wX", "wa": "wa", "n": "wa", "delta": "wa",
                      "w1": "wa", "omegaK": "omegaK"}
#: Lenstool's values of the parameters a cosmologie block leaves out (set_default; no omegaK: not flat).
COSMOLOGY_DEFAULTS = {"H0": 50.0, "omegaM": 1.0, "omegaX": 0.0, "wX": -1.0, "wa": 0.0}


def read_cosmology(par: ParFile, warn=None) -> dict:
    """The ``cosmologie`` block as a dataset [cosmology] spec: H0 [km/s/Mpc], Om0 (and Ode0 if not flat).

    As Lenstool: ``omega``/``lambda`` are ``omegaM``/``omegaX``, ``q``/``w0`` set wX and ``n``/``delta``/``w1``
    set wa; ``omegaK 0`` makes the universe flat (omegaX = 1 - omegaM), otherwise omegaX is used as
    given (Lenstool's default 0, a warning); a parameter left out takes Lenstool's default (H0 50,
    omegaM 1), with a warning. wX != -1 or wa != 0 is an error. ``warn(message)``: where warnings go.
    """
    block = par.single("cosmologie")
    if block is None:
        raise LenstoolError(f"{par.path}: no 'cosmologie' block: expected H0, omegaM (and omegaX)")
    values: dict[str, float] = {}
    for entry in block.entries:
        key = COSMOLOGY_KEYWORDS.get(entry.keyword)
        if key is not None:
            values[key] = entry.number(0, "value", par.path)
    for key in ("H0", "omegaM"):
        if key not in values and warn is not None:
            warn(f"line {block.line}: the 'cosmologie' block has no '{key}': Lenstool's default "
                 f"{COSMOLOGY_DEFAULTS[key]!r} is used")
    flat = values.get("omegaK") == 0.0
    if "omegaX" not in values and not flat and warn is not None:
        warn(f"line {block.line}: the 'cosmologie' block has neither 'omegaX' (or 'lambda') nor 'omegaK 0': "
             "Lenstool's default omegaX = 0 is used (an open universe)")
    values = {**COSMOLOGY_DEFAULTS, **values}
    if values["wX"] != -1.0 or values["wa"] != 0.0:
        raise LenstoolError(f"{par.path}:{block.line}: dark energy with wX = {values['wX']!r}, "
                            f"wa = {values['wa']!r} is not supported: expected wX = -1, wa = 0 "
                            "(a cosmological constant)")
    spec = {"H0": values["H0"], "Om0": values["omegaM"]}
    omega_x = 1.0 - values["omegaM"] if flat else values["omegaX"]
    if abs(values["omegaM"] + omega_x - 1.0) > 1e-12:
        spec["Ode0"] = omega_x
    return spec


def read_header(par: ParFile) -> dict[str, str]:
    """The ``#key: value`` header comments (``#Chi2pos: 150.084066``, ``#log(Evidence) : -154.2``), first wins."""
    header: dict[str, str] = {}
    for text, _ in par.header:
        match = re.match(r"#\s*([^:#]+?)\s*:\s*(\S+)\s*$", text)
        if match:
            header.setdefault(match.group(1), match.group(2))
    return header
