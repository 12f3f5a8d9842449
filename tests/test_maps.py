"""Pixel grids, lens maps, critical curves and caustics against closed forms and the solver."""

import numpy as np
import pytest
from scipy.optimize import brentq

from clusterlens.maps import (
    PixelGrid,
    caustics,
    critical_curves,
    deflection_map,
    magnification_map,
)
from clusterlens.solver import ImageFinder
from test_solver import IsothermalShearLens


def test_pixel_grid_centres_extent_and_orientation():
    grid = PixelGrid(1.0, -2.0, (3, 4), 0.5)
    x, y = grid.coordinates()
    assert x.shape == (3, 4)
    np.testing.assert_allclose(x[0], [0.25, 0.75, 1.25, 1.75])
    np.testing.assert_allclose(y[:, 0], [-2.5, -2.0, -1.5])
    assert grid.extent == (0.0, 2.0, -2.75, -1.25)
    covering = PixelGrid.covering((-1.0, 1.0, 0.0, 0.5), 0.25)
    assert covering.shape == (3, 9)
    np.testing.assert_allclose(covering.x_centres[[0, -1]], [-1.0, 1.0])


@pytest.mark.parametrize(
    "args, message",
    [((0.0, 0.0, (1, 4), 0.1), "shape"), ((0.0, 0.0, (4, 4), 0.0), "pixel_scale"),
     ((np.nan, 0.0, (4, 4), 0.1), "centre"), ((0.0, 0.0, (4.5, 4), 0.1), "shape")],
)
def test_pixel_grid_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        PixelGrid(*args)


def test_sis_maps_closed_form_and_orientation():
    """SIS off-centre: alpha = theta_e (theta - c)/|theta - c|, mu = r/(r - theta_e); the
    pixel nearest the centre holds the largest |alpha| change (row = y, column = x)."""
    theta_e, centre = 0.9, (0.7, -0.4)
    lens = IsothermalShearLens(theta_e, center=centre)
    grid = PixelGrid(0.0, 0.0, (40, 50), 0.1)
    x, y = grid.coordinates()
    r = np.hypot(x - centre[0], y - centre[1])
    ax, ay = deflection_map(lens, grid, scale=0.5)
    np.testing.assert_allclose(ax, 0.5 * theta_e * (x - centre[0]) / r, atol=1e-12)
    np.testing.assert_allclose(ay, 0.5 * theta_e * (y - centre[1]) / r, atol=1e-12)
    mu = magnification_map(lens, grid, scale=0.5)
    np.testing.assert_allclose(mu, r / (r - 0.5 * theta_e), rtol=1e-10)
    row, col = np.unravel_index(np.argmin(r), r.shape)
    assert abs(grid.x_centres[col] - centre[0]) <= 0.05 and abs(grid.y_centres[row] - centre[1]) <= 0.05


def test_sis_shear_critical_curve_closed_form():
    """SIS + shear g1 = g: det A = 1 - theta_e/r + g theta_e cos(2 phi)/r - g^2, so the
    critical curve is r(phi) = theta_e (1 - g cos 2 phi)/(1 - g^2)."""
    theta_e, g = 1.0, 0.2
    lens = IsothermalShearLens(theta_e, gamma1=g)
    curves = critical_curves(lens, PixelGrid(0.01, -0.02, (201, 181), 0.017))
    assert len(curves) == 1
    c = curves[0]
    np.testing.assert_array_equal(c[0], c[-1])  # closed
    phi = np.arctan2(c[:, 1], c[:, 0])
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), theta_e * (1 - g * np.cos(2 * phi)) / (1 - g**2),
                               atol=1e-9)
    assert np.ptp(np.unwrap(phi)) > 2 * np.pi - 0.05


def test_cored_sphere_radial_and_tangential_critical_curves():
    """Tangential: alpha(r)/r = 1; radial: d alpha/dr = 1 (roots found with brentq)."""
    theta_e, rc = 1.0, 0.2
    lens = IsothermalShearLens(theta_e, r_core=rc)

    def alpha(r):
        return theta_e * (np.sqrt(r * r + rc * rc) - rc) / r

    r_t = brentq(lambda r: alpha(r) / r - 1, 0.05, 3)
    r_r = brentq(lambda r: (alpha(r + 1e-7) - alpha(r - 1e-7)) / 2e-7 - 1, 0.01, r_t * 0.99)
    curves = critical_curves(lens, PixelGrid(0.0, 0.0, (160, 160), 0.0131))
    radii = sorted(np.hypot(c[:, 0], c[:, 1]).mean() for c in curves)
    assert len(curves) == 2
    np.testing.assert_allclose(radii, [r_r, r_t], atol=1e-7)
    for c in curves:
        assert np.ptp(np.hypot(c[:, 0], c[:, 1])) < 1e-9


def test_image_count_changes_by_two_across_caustic():
    """Crossing a fold caustic of SIS + shear adds two images (inside: 4, outside: 2)."""
    lens = IsothermalShearLens(1.0, gamma1=0.2, gamma2=0.05)
    curves = critical_curves(lens, PixelGrid(0.0, 0.0, (200, 200), 0.0141))
    caustic = caustics(lens, curves)[0]
    finder = ImageFinder(lens, 1.0)
    angle = np.arctan2(caustic[:, 1], caustic[:, 0])
    picks = [np.argmin(np.abs(np.angle(np.exp(1j * (angle - a))))) for a in np.radians([30, 120, 200, 290])]
    inside, outside = [], []
    for k in picks:
        tangent = caustic[k + 1] - caustic[k - 1]
        normal = np.array([tangent[1], -tangent[0]]) / np.hypot(*tangent)
        if np.dot(normal, caustic[k]) < 0:
            normal = -normal  # outward
        for sign, store in ((-1, inside), (1, outside)):
            p = caustic[k] + sign * 2e-3 * normal
            store.append(len(finder.find(p[0], p[1])))
    assert inside == [4, 4, 4, 4] and outside == [2, 2, 2, 2]


def test_no_critical_curve_without_strong_lensing():
    lens = IsothermalShearLens(0.01, r_core=0.5)
    assert critical_curves(lens, PixelGrid(0.0, 0.0, (50, 50), 0.05)) == []
    assert caustics(lens, []) == []


def test_sie_critical_curve_is_the_half_convergence_ellipse():
    """A singular isothermal ellipsoid has |gamma| = kappa, so det A = 1 - 2 kappa and the
    critical curve is q x'^2 + y'^2 / q = theta_e^2 (x', y' in the frame of the major axis)."""
    from clusterlens.lens import Lens, MassComponents

    theta_e, q, angle, centre, scale = 1.4, 0.6, 35.0, (0.3, -0.2), 0.8
    lens = Lens([MassComponents("SIE", {"center_x": [centre[0]], "center_y": [centre[1]], "theta_e": [theta_e],
                                        "r_core": [0.0], "q": [q], "angle": [angle]})])
    curves = critical_curves(lens, PixelGrid(0.0, 0.0, (180, 190), 0.023), scale)
    assert len(curves) == 1
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    dx, dy = curves[0][:, 0] - centre[0], curves[0][:, 1] - centre[1]
    xp, yp = c * dx + s * dy, -s * dx + c * dy
    np.testing.assert_allclose(np.sqrt(q * xp**2 + yp**2 / q), scale * theta_e, rtol=1e-9)
