"""Lenstool's parameter conventions that the profiles' Lenstool codecs convert with.

- ``ellipticite`` of profile 81 (and of a potfile member) is emass = (a^2 - b^2)/(a^2 + b^2) of the
  mass ellipse, so q = b/a = sqrt((1 - emass)/(1 + emass)) and emass = (1 - q^2)/(1 + q^2);
  ``ellip_pot`` epot = (a - b)/(a + b) gives emass = 2 epot / (1 + epot^2).
- Host or main: an imported potential is a cluster- or group-scale halo (``host_halo.csv``) when its
  core radius is at least :data:`HOST_MIN_CORE` arcsec or its velocity dispersion at least
  :data:`HOST_MIN_SIGMA` km/s (or when it is an NFW halo, by its codec).

Writing a model back must give the same numbers when read again, so the inverse conversions
(:func:`emass_from_q`, :func:`preimage`) return the float whose forward conversion reproduces the
value exactly whenever such a float exists next to the analytic inverse.

This module imports nothing from :mod:`clusterlens.lenstool`, which reads the registry.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from . import LenstoolLimit

#: A potential with a core at least this large [arcsec] is a host (cluster/group-scale) halo.
HOST_MIN_CORE = 5.0
#: A potential with a velocity dispersion at least this large [km/s] is a host halo.
HOST_MIN_SIGMA = 600.0


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
    candidates = [(len(repr(x)), distance, x) for distance, pair in enumerate(zip(below, above, strict=True))
                  for x in pair if forward(x) == value]
    return min(candidates)[2] if candidates else guess


def _emass_values(keyword: str, flag: int, v1: float, v2: float) -> tuple[float, float]:
    """An ``ellipticite`` prior's values, checked below 1 and with negative bounds raised to 0."""
    if flag == 1 and max(v1, v2) >= 1.0 or flag == 3 and not 0.0 <= v1 < 1.0:
        raise ValueError(f"ellipticite prior ({v1!r}, {v2!r}) reaches emass >= 1 (a line, q = 0): "
                         "expected values below 1")
    return max(v1, 0.0), v2 if flag == 3 else max(v2, 0.0)


#: An ``ellipticite`` (emass) limit as a prior on the axis ratio q.
Q_FROM_EMASS = LenstoolLimit("q", forward=q_from_emass, derivative=dq_demass,
                             inverse=lambda q: emass_from_q(min(max(q, 1e-300), 1.0)), check=_emass_values)
#: The ``limit`` keywords of a centred profile's position and of any profile's position angle.
CENTRE_LIMITS = {"x_centre": LenstoolLimit("x"), "y_centre": LenstoolLimit("y")}
ANGLE_LIMIT = {"angle_pos": LenstoolLimit("angle")}
#: The keywords the centre and angle priors are written with.
CENTRE_KEYWORDS = {"x": "x_centre", "y": "y_centre"}
