"""Unit and parameter conversions between Lenstool's conventions and the clusterlens CSV columns.

- ``ellipticite`` of profile 81 (and of a potfile member) is emass = (a^2 - b^2)/(a^2 + b^2) of the
  mass ellipse, so q = b/a = sqrt((1 - emass)/(1 + emass)) and emass = (1 - q^2)/(1 + q^2).
- Lengths given in kpc (``core_radius_kpc``, ``corekpc``, ...) become arcsec with the angular
  diameter distance of the model's cosmology at the lens redshift (:func:`clusterlens.units.kpc_per_arcsec`);
  velocity dispersions become lens strengths with :func:`clusterlens.units.b0_from_sigma`.
- Potfile slopes: sigma ~ L^(1/vdslope) and r_cut ~ L^(2/slope), so sigma_slope = 1/vdslope and
  r_cut_slope = 2/slope (Lenstool fixes r_core ~ L^(1/2)).

Writing a model back must give the same numbers when read again, so the inverse conversions
(:func:`emass_from_q`, :func:`preimage`) return the float whose forward conversion reproduces the
value exactly whenever such a float exists next to the analytic inverse.
"""
from __future__ import annotations

import math
from typing import Callable


def q_from_emass(emass: float) -> float:
    """Axis ratio b/a from Lenstool's emass = (a^2 - b^2)/(a^2 + b^2), 0 <= emass < 1."""
    return math.sqrt((1.0 - emass) / (1.0 + emass))


def emass_from_q(q: float) -> float:
    """Lenstool's emass for axis ratio ``q``; ``q_from_emass`` of the result equals ``q`` whenever possible."""
    return preimage(q_from_emass, q, (1.0 - q * q) / (1.0 + q * q))


def dq_demass(emass: float) -> float:
    """Derivative dq/d(emass) of :func:`q_from_emass` (used to carry a normal prior from emass to q)."""
    return -1.0 / (q_from_emass(emass) * (1.0 + emass) ** 2)


def emass_from_epot(epot: float) -> float:
    """emass from Lenstool's potential ellipticity epot = (a - b)/(a + b) (keyword ``ellip_pot``)."""
    return 2.0 * epot / (1.0 + epot * epot)


def preimage(forward: Callable[[float], float], value: float, guess: float, steps: int = 64) -> float:
    """A float ``x`` within ``steps`` ulps of ``guess`` with ``forward(x) == value``; ``guess`` if none.

    Among several such floats the one with the shortest decimal form wins (then the nearest), so a
    value read from a file (``ellipticite 0.205``) is written back as it was. This makes a written
    parameter read back bit-for-bit: e.g. a potfile ``vdslope`` v with 1/v equal to sigma_slope.
    """
    below, above = [guess], [guess]
    for _ in range(steps):
        below.append(math.nextafter(below[-1], -math.inf))
        above.append(math.nextafter(above[-1], math.inf))
    candidates = [(len(repr(x)), distance, x) for distance, pair in enumerate(zip(below, above))
                  for x in pair if forward(x) == value]
    return min(candidates)[2] if candidates else guess
