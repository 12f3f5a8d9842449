"""External shear centred on the dataset reference point.

psi = (g1/2)(x^2 - y^2) + g2 x y,  g1 = gamma cos(2 angle), g2 = gamma sin(2 angle)
(docs/conventions.md#externalshear; e.g. Keeton 2001, astro-ph/0102341, section on external perturbations).
``angle`` in degrees counter-clockwise from +x; ``gamma`` dimensionless at D_LS/D_S = 1;
x, y in arcsec. lenstronomy's 'SHEAR' with gamma1 = g1, gamma2 = g2 (ra_0 = dec_0 = 0)
is the same field.
"""

from __future__ import annotations

import numpy as np

from .sie import check_nonnegative

PARAMETERS = ("gamma", "angle")


def components(gamma, angle):
    """(g1, g2) = gamma (cos 2 angle, sin 2 angle), angle in degrees."""
    check_nonnegative("gamma", gamma)
    phi = 2.0 * np.deg2rad(angle)
    return gamma * np.cos(phi), gamma * np.sin(phi)


def deflection(x, y, gamma, angle):
    """(alpha_x, alpha_y) = (g1 x + g2 y, g2 x - g1 y) in arcsec."""
    g1, g2 = components(gamma, angle)
    return g1 * x + g2 * y, g2 * x - g1 * y


def hessian(x, y, gamma, angle):
    """(psi_xx, psi_xy, psi_yy) = (g1, g2, -g1), broadcast to the points' shape."""
    g1, g2 = components(gamma, angle)
    shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(g1))
    return np.broadcast_to(g1, shape).copy(), np.broadcast_to(g2, shape).copy(), np.broadcast_to(-g1, shape).copy()


def deflection_and_hessian(x, y, gamma, angle):
    """(alpha_x, alpha_y, psi_xx, psi_xy, psi_yy) in one pass."""
    g1, g2 = components(gamma, angle)
    shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(g1))
    return (g1 * x + g2 * y, g2 * x - g1 * y, np.broadcast_to(g1, shape).copy(), np.broadcast_to(g2, shape).copy(),
            np.broadcast_to(-g1, shape).copy())


def convergence(x, y, gamma, angle):
    """Zero everywhere (an external shear carries no mass)."""
    components(gamma, angle)
    return np.zeros(np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(gamma), np.shape(angle)))


def potential(x, y, gamma, angle):
    """psi = (g1/2)(x^2 - y^2) + g2 x y in arcsec^2."""
    g1, g2 = components(gamma, angle)
    return 0.5 * g1 * (x * x - y * y) + g2 * x * y
