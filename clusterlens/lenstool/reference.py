"""The settings blocks of a Lenstool ``.par``: ``runmode reference`` and ``cosmologie``, and the
``#key: value`` header comments of a result file.

- ``runmode reference 3 RA DEC`` (or ``1 hh:mm:ss dd:mm:ss``) -> ``dataset.toml`` [reference];
  ``reference 0`` (absolute coordinates everywhere) is an error.
- ``cosmologie`` H0, omegaM, omegaX -> [cosmology] H0, Om0 (+ Ode0 when omegaM + omegaX != 1);
  wX != -1 or wa != 0 is an error.
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


def read_cosmology(par: ParFile) -> dict:
    """The ``cosmologie`` block as a dataset [cosmology] spec: H0 [km/s/Mpc], Om0 (and Ode0 if not flat)."""
    block = par.single("cosmologie")
    if block is None:
        raise LenstoolError(f"{par.path}: no 'cosmologie' block: expected H0, omegaM (and omegaX)")
    values = {}
    for key in ("H0", "omegaM", "omegaX", "wX", "wa"):
        entry = block.last(key)
        if entry is not None:
            values[key] = entry.number(0, "value", par.path)
    for key in ("H0", "omegaM"):
        if key not in values:
            raise LenstoolError(f"{par.path}:{block.line}: the 'cosmologie' block has no '{key}'")
    if values.get("wX", -1.0) != -1.0 or values.get("wa", 0.0) != 0.0:
        raise LenstoolError(f"{par.path}:{block.line}: dark energy with wX = {values.get('wX', -1.0)!r}, "
                            f"wa = {values.get('wa', 0.0)!r} is not supported: expected wX = -1, wa = 0 "
                            "(a cosmological constant)")
    spec = {"H0": values["H0"], "Om0": values["omegaM"]}
    omega_x = values.get("omegaX")
    if omega_x is not None and abs(values["omegaM"] + omega_x - 1.0) > 1e-12:
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
