"""Lengths in kpc (``core_radius_kpc``, ``corekpc``, ...) become arcsec with the angular diameter
distance of the model's cosmology at the lens redshift: theta [arcsec] = l [kpc] / (D_A [kpc] * pi / 648000).

The Lenstool conventions the profiles' codecs share (ellipticities, exact inverses) are in
:mod:`clusterlens.registry.lenstool_rules`.
"""
from __future__ import annotations

import math

import astropy.units as u

ARCSEC_PER_RADIAN = 648000.0 / math.pi


def kpc_per_arcsec(cosmology, z: float) -> float:
    """Proper kpc per arcsec at redshift ``z`` (angular diameter distance of ``cosmology``)."""
    return float(cosmology.angular_diameter_distance(z).to_value(u.kpc)) / ARCSEC_PER_RADIAN
