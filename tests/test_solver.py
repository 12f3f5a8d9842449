"""Multiple-image finder against closed forms, a dense brute-force inversion and lenstronomy."""

from types import SimpleNamespace

import numpy as np
import pytest
from astropy import constants as const
from astropy import units as u
from scipy.optimize import brentq

from clusterlens.lens import Lens, MassComponents
from clusterlens.maps import PixelGrid, caustics, critical_curves
from clusterlens.peers import lenstronomy_model
from clusterlens.solver import ImageFinder, find_images, find_lens_images, polish
from inversion import brute_force_images, matched


class IsothermalShearLens:
    """Closed-form test lens: cored isothermal sphere (r_core = 0: SIS) plus external shear.

    kappa = theta_e / (2 sqrt(r^2 + r_core^2)); alpha(r) = theta_e (s - r_core) / r with
    s = sqrt(r^2 + r_core^2); psi = theta_e (s - r_core ln(r_core + s)); shear potential
    (g1/2)(x^2 - y^2) + g2 x y.  Every amplitude is multiplied by ``scale``.
    """

    def __init__(self, theta_e, r_core=0.0, gamma1=0.0, gamma2=0.0, center=(0.0, 0.0)):
        self.theta_e, self.r_core, self.g1, self.g2 = theta_e, r_core, gamma1, gamma2
        self.cx, self.cy = center
        self.groups = [SimpleNamespace(params={"center_x": np.array([self.cx]), "center_y": np.array([self.cy]),
                                               "r_core": np.array([r_core])})]

    def _radial(self, x, y):
        dx, dy = np.asarray(x, float) - self.cx, np.asarray(y, float) - self.cy
        r2 = dx * dx + dy * dy
        return dx, dy, r2, np.sqrt(r2 + self.r_core**2)

    def deflection(self, x, y, scale=1.0):
        dx, dy, r2, s = self._radial(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = self.theta_e * (s - self.r_core) / r2
        x, y = np.asarray(x, float), np.asarray(y, float)
        return scale * (f * dx + self.g1 * x + self.g2 * y), scale * (f * dy + self.g2 * x - self.g1 * y)

    def hessian(self, x, y, scale=1.0):
        dx, dy, r2, s = self._radial(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            a_over_r = self.theta_e * (s - self.r_core) / r2
            c = (self.theta_e * self.r_core * (s - self.r_core) / (s * r2) - a_over_r) / r2
        return (scale * (a_over_r + c * dx * dx + self.g1), scale * (c * dx * dy + self.g2),
                scale * (a_over_r + c * dy * dy - self.g1))

    def potential(self, x, y, scale=1.0):
        dx, dy, r2, s = self._radial(x, y)
        x, y = np.asarray(x, float), np.asarray(y, float)
        iso = self.theta_e * (s - self.r_core * np.log(self.r_core + s)) if self.r_core > 0 else self.theta_e * s
        return scale * (iso + 0.5 * self.g1 * (x * x - y * y) + self.g2 * x * y)


def lens_equation_residual(lens, table, xs, ys, scale):
    ax, ay = lens.deflection(table["x"].to_numpy(), table["y"].to_numpy(), scale=scale)
    return np.hypot(table["x"] - ax - xs, table["y"] - ay - ys).to_numpy()


def jacobian_determinant_fd(lens, x, y, scale, step=1e-6):
    """det(d beta / d theta) by central finite differences of the deflection (no Hessian)."""
    def beta(px, py):
        ax, ay = lens.deflection(px, py, scale=scale)
        return px - ax, py - ay
    bxp, byp = beta(x + step, y)
    bxm, bym = beta(x - step, y)
    bxq, byq = beta(x, y + step)
    bxn, byn = beta(x, y - step)
    return ((bxp - bxm) * (byq - byn) - (byp - bym) * (bxq - bxn)) / (2 * step) ** 2


def match_count(ours: np.ndarray, theirs: np.ndarray, tolerance: float) -> int:
    """How many of ``theirs`` have one of ``ours`` within ``tolerance``."""
    return int(np.sum(matched(ours, theirs, tolerance)))


# ------------------------------------------------------------------------------------------
# Closed forms
# ------------------------------------------------------------------------------------------
def test_sis_two_images_magnifications_and_time_delay():
    theta_e, beta, phi, scale = 1.3, 0.27, np.radians(35.0), 0.8
    lens = IsothermalShearLens(theta_e / scale, center=(0.4, -0.2))  # Einstein radius theta_e at this scale
    xs, ys = 0.4 + beta * np.cos(phi), -0.2 + beta * np.sin(phi)
    d_dt = 2500.0  # Mpc
    table = find_lens_images(lens, xs, ys, scale, time_delay_distance=d_dt)
    assert len(table) == 2
    radial = (table["x"] - 0.4) * np.cos(phi) + (table["y"] + 0.2) * np.sin(phi)  # signed, along the source
    np.testing.assert_allclose(np.sort(radial), [-(theta_e - beta), theta_e + beta], atol=1e-9)
    r = np.abs(radial.to_numpy())
    np.testing.assert_allclose(table["magnification"], r / (r - theta_e), rtol=1e-8)  # mu = theta/(theta - theta_E)
    np.testing.assert_array_equal(table["parity"], np.sign(r - theta_e))
    # SIS: dt = (theta_A^2 - theta_B^2) / 2 * D_dt / c = 2 theta_e beta D_dt / c; outer image first
    expected = (2 * theta_e * beta * u.arcsec**2).to_value(u.rad**2) * (d_dt * u.Mpc / const.c).to_value(u.day)
    assert table["time_delay"].iloc[0] == 0.0 and r[0] > theta_e
    np.testing.assert_allclose(table["time_delay"].iloc[1], expected, rtol=1e-8)
    assert np.all(lens_equation_residual(lens, table, xs, ys, scale) < 1e-8)


def test_sis_shear_cross_closed_form():
    """SIS + shear g1 = g, source at (b, 0): images x = (b +- theta_e)/(1 - g) on the x axis and
    x = -b/(2 g), y = +-sqrt(r0^2 - x^2) with r0 = theta_e/(1 + g) off it."""
    theta_e, g, b = 1.0, 0.15, 0.05
    lens = IsothermalShearLens(theta_e, gamma1=g)
    table = find_lens_images(lens, b, 0.0, 1.0)
    r0 = theta_e / (1 + g)
    xo = -b / (2 * g)
    expected = np.array([[(b + theta_e) / (1 - g), 0], [(b - theta_e) / (1 - g), 0],
                         [xo, np.sqrt(r0**2 - xo**2)], [xo, -np.sqrt(r0**2 - xo**2)]])
    got = table[["x", "y"]].to_numpy()
    assert len(got) == 4
    assert match_count(got, expected, 1e-9) == 4
    det_fd = jacobian_determinant_fd(lens, table["x"].to_numpy(), table["y"].to_numpy(), 1.0)
    np.testing.assert_allclose(1 / table["magnification"], det_fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(table["parity"], np.sign(det_fd))


def test_cored_isothermal_third_image_matches_line_roots():
    """A cored sphere has three collinear images; find them as the roots of the 1-D lens
    equation along the line through the centre and the source (brentq)."""
    lens = IsothermalShearLens(1.0, r_core=0.12)
    beta = 0.08
    table = find_lens_images(lens, beta, 0.0, 1.0)

    def along(t):
        ax, _ = lens.deflection(np.array([t]), np.array([0.0]))
        return t - ax[0] - beta

    grid = np.linspace(-3, 3, 60001)
    values = np.array([along(t) for t in grid[::100]])
    coarse = grid[::100]
    roots = [brentq(along, a, b, xtol=1e-14) for a, b, fa, fb in
             zip(coarse[:-1], coarse[1:], values[:-1], values[1:], strict=True) if fa * fb < 0]
    assert len(roots) == 3
    assert len(table) == 3
    np.testing.assert_allclose(np.sort(table["x"]), np.sort(roots), atol=1e-9)
    np.testing.assert_allclose(table["y"], 0.0, atol=1e-9)
    central = table.iloc[np.argmin(np.abs(table["x"]))]
    assert central["parity"] == 1 and abs(central["magnification"]) < 0.5


# ------------------------------------------------------------------------------------------
# Brute force and lenstronomy
# ------------------------------------------------------------------------------------------
def test_sis_shear_random_sources_vs_brute_force():
    lens = IsothermalShearLens(1.0, gamma1=0.08, gamma2=-0.05)
    rng = np.random.default_rng(11)
    xs, ys = rng.uniform(-0.5, 0.5, 12), rng.uniform(-0.5, 0.5, 12)
    finder = ImageFinder(lens, 1.0)
    table = finder.find_many(xs, ys)
    brute = brute_force_images(lens, xs, ys, 1.0, finder.region, spacing=0.01)
    for k, reference in enumerate(brute):
        ours = table.loc[table["source"] == k, ["x", "y"]].to_numpy()
        assert len(ours) == len(reference) and len(ours) in (2, 4)
        assert match_count(ours, reference, 1e-6) == len(reference)
    assert np.all(lens_equation_residual(lens, table, xs[table["source"]], ys[table["source"]], 1.0) < 1e-8)


def test_lenstronomy_images_are_a_subset_sis_shear():
    from lenstronomy.LensModel.lens_model import LensModel
    from lenstronomy.LensModel.Solver.lens_equation_solver import LensEquationSolver

    g1, g2 = 0.06, 0.04
    lens = IsothermalShearLens(1.2, gamma1=g1, gamma2=g2, center=(0.1, 0.05))
    model = LensModel(["SIS", "SHEAR"])
    kwargs = [{"theta_E": 1.2, "center_x": 0.1, "center_y": 0.05}, {"gamma1": g1, "gamma2": g2, "ra_0": 0, "dec_0": 0}]
    solver = LensEquationSolver(model)
    for xs, ys in [(0.12, 0.02), (-0.2, 0.3), (0.5, -0.6)]:
        tx, ty = solver.image_position_from_source(xs, ys, kwargs, min_distance=0.02, search_window=6,
                                                   precision_limit=1e-12, num_iter_max=200)
        theirs = np.column_stack([tx, ty])
        ours = find_lens_images(lens, xs, ys, 1.0)[["x", "y"]].to_numpy()
        assert len(theirs) >= 2
        assert match_count(ours, theirs, 1e-6) == len(theirs)


# ------------------------------------------------------------------------------------------
# Behaviour
# ------------------------------------------------------------------------------------------
def test_find_many_equals_find_and_no_duplicates():
    lens = IsothermalShearLens(1.0, r_core=0.05, gamma1=0.1)
    finder = ImageFinder(lens, 0.7)
    xs, ys = np.array([0.02, -0.1, 0.3]), np.array([0.01, 0.05, -0.2])
    many = finder.find_many(xs, ys)
    for k in range(3):
        one = finder.find(xs[k], ys[k])
        sub = many[many["source"] == k].drop(columns="source").reset_index(drop=True)
        np.testing.assert_allclose(one.drop(columns="time_delay").to_numpy(),
                                   sub.drop(columns="time_delay").to_numpy(), atol=1e-10)
        pos = one[["x", "y"]].to_numpy()
        sep = np.hypot(pos[:, None, 0] - pos[None, :, 0], pos[:, None, 1] - pos[None, :, 1])
        assert np.all(sep[~np.eye(len(pos), dtype=bool)] > 1e-4)
    assert list(many.columns) == ["source", "x", "y", "magnification", "parity", "time_delay"]
    assert many["time_delay"].isna().all()


def test_min_abs_magnification_drops_only_faint_images():
    lens = IsothermalShearLens(1.0, r_core=0.12)
    every = find_lens_images(lens, 0.08, 0.0, 1.0)
    bright = find_lens_images(lens, 0.08, 0.0, 1.0, min_abs_magnification=0.5)
    assert len(every) == 3 and len(bright) == 2
    assert np.all(np.abs(bright["magnification"]) >= 0.5) and np.abs(every["magnification"]).min() < 0.5


def test_outside_coverage_warns():
    lens = IsothermalShearLens(1.0)
    with pytest.warns(RuntimeWarning, match="outside"):
        find_lens_images(lens, 0.5, 0.0, 1.0, region=(-1.2, 1.2, -1.2, 1.2))


def test_polish_converges_quadratically_from_nearby_start():
    lens = IsothermalShearLens(1.0, gamma1=0.1)
    x, y, res, det = polish(lens, 1.0, np.array([1.0]), np.array([0.1]), np.array([0.0]), np.array([0.0]),
                            np.array([0.5]))
    assert res[0] < 1e-12
    np.testing.assert_allclose([x[0], y[0]], [1 / 0.9, 0.0], atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scale": -1.0}, "scale"),
        ({"region": (1.0, 0.0, -1.0, 1.0)}, "region"),
        ({"region": (0.0, 1.0)}, "region"),
        ({"cell_size": 0.0}, "cell_size"),
    ],
)
def test_bad_input_raises(kwargs, message):
    lens = IsothermalShearLens(1.0)
    args = {"scale": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        find_lens_images(lens, 0.1, 0.0, **args)


def test_bad_source_raises():
    finder = ImageFinder(IsothermalShearLens(1.0), 1.0)
    with pytest.raises(ValueError, match="same length"):
        finder.find_many([0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="finite"):
        finder.find(np.nan, 0.0)
    with pytest.raises(ValueError, match="find_many"):
        finder.find([0.0], [0.0])


# ------------------------------------------------------------------------------------------
# Real profiles (clusterlens.lens)
# ------------------------------------------------------------------------------------------
def sie_shear_lens(theta_e, q, angle, center=(0.0, 0.0), r_core=0.0, gamma=0.0, shear_angle=0.0):
    groups = [MassComponents("SIE", {"center_x": [center[0]], "center_y": [center[1]], "theta_e": [theta_e],
                                     "r_core": [r_core], "q": [q], "angle": [angle]}, "main_lens_mass")]
    if gamma:
        groups.append(MassComponents("ExternalShear", {"gamma": [gamma], "angle": [shear_angle]}, "main_lens_mass"))
    return Lens(groups)


def small_cluster_lens(n_members=30, seed=7):
    """NFW host + two dPIE + shear + ``n_members`` compact dPIE members (radii in arcsec)."""
    rng = np.random.default_rng(seed)
    members = {"center_x": rng.uniform(-35, 35, n_members), "center_y": rng.uniform(-35, 35, n_members),
               "b0": rng.uniform(0.3, 1.5, n_members), "r_core": rng.uniform(0.02, 0.08, n_members),
               "r_cut": rng.uniform(3.0, 12.0, n_members), "q": rng.uniform(0.6, 1.0, n_members),
               "angle": rng.uniform(0.0, 180.0, n_members)}
    return Lens([
        MassComponents("NFW", {"center_x": [0.5], "center_y": [-0.3], "kappa_s": [0.12], "r_s": [50.0]}, "host_halo"),
        MassComponents("dPIE", {"center_x": [0.0, 14.0], "center_y": [0.0, -9.0], "b0": [8.0, 2.5],
                                "r_core": [1.0, 0.3], "r_cut": [150.0, 40.0], "q": [0.7, 0.8],
                                "angle": [25.0, -40.0]}, "main_lens_mass"),
        MassComponents("ExternalShear", {"gamma": [0.04], "angle": [15.0]}, "main_lens_mass"),
        MassComponents("dPIE", members, "tier:members"),
    ])


def test_sie_cross_four_images_vs_brute_force():
    lens = sie_shear_lens(1.2, 0.6, 30.0, center=(0.2, -0.1))
    xs, ys = 0.23, -0.12
    finder = ImageFinder(lens, 0.9)
    table = finder.find(xs, ys)
    assert len(table) == 4
    assert np.all(lens_equation_residual(lens, table, xs, ys, 0.9) < 1e-8)
    det_fd = jacobian_determinant_fd(lens, table["x"].to_numpy(), table["y"].to_numpy(), 0.9)
    np.testing.assert_array_equal(table["parity"], np.sign(det_fd))
    assert sorted(table["parity"]) == [-1, -1, 1, 1]
    np.testing.assert_allclose(1 / table["magnification"], det_fd, rtol=1e-5, atol=1e-7)
    reference = brute_force_images(lens, [xs], [ys], 0.9, finder.region, spacing=0.01)[0]
    assert len(reference) == 4 and match_count(table[["x", "y"]].to_numpy(), reference, 1e-6) == 4


def test_cored_dpie_central_image_matches_line_roots():
    """A circular cored dPIE deflects radially: the images are the roots of the 1-D lens
    equation on the line through the centre and the source (brentq), the third one central."""
    centre = np.array([0.4, -0.3])
    lens = Lens([MassComponents("dPIE", {"center_x": [centre[0]], "center_y": [centre[1]], "b0": [1.5],
                                         "r_core": [0.25], "r_cut": [20.0], "q": [1.0], "angle": [0.0]})],
                backend="numpy")
    offset = np.array([0.12, 0.05])
    xs, ys = centre + offset
    direction = offset / np.hypot(*offset)
    table = find_lens_images(lens, xs, ys, 1.0)

    def along(t):
        t = np.atleast_1d(t)
        ax, ay = lens.deflection(centre[0] + t * direction[0], centre[1] + t * direction[1])
        return t - (ax * direction[0] + ay * direction[1]) - np.hypot(*offset)

    grid = np.linspace(-4, 4, 801)
    values = along(grid)
    roots = [brentq(lambda t: along(t)[0], a, b, xtol=1e-14)
             for a, b, fa, fb in zip(grid[:-1], grid[1:], values[:-1], values[1:], strict=True) if fa * fb < 0]
    assert len(roots) == 3 and len(table) == 3
    t = (table["x"] - centre[0]) * direction[0] + (table["y"] - centre[1]) * direction[1]
    np.testing.assert_allclose(np.sort(t), np.sort(roots), atol=1e-9)
    np.testing.assert_allclose((table["y"] - centre[1]) * direction[0] - (table["x"] - centre[0]) * direction[1],
                               0.0, atol=1e-9)
    central = table.iloc[np.argmin(np.abs(t.to_numpy()))]
    assert central["parity"] == 1 and abs(central["magnification"]) < 0.5


def test_small_cluster_completeness_vs_brute_force():
    """Every image a dense brute-force inversion finds is found, for sources in the central
    caustic and next to member caustics (both sides of the fold)."""
    lens, scale = small_cluster_lens(), 0.75
    finder = ImageFinder(lens, scale)
    rng = np.random.default_rng(21)
    xs, ys = rng.uniform(-6, 6, 16), rng.uniform(-6, 6, 16)
    curves = critical_curves(lens, PixelGrid(0.0, 0.0, (700, 700), 0.1), scale)
    points = np.concatenate(caustics(lens, curves, scale))
    pick = points[rng.choice(len(points), 14, replace=False)]
    xs = np.concatenate([xs, pick[:, 0] + rng.normal(0, 0.03, 14)])
    ys = np.concatenate([ys, pick[:, 1] + rng.normal(0, 0.03, 14)])
    table = finder.find_many(xs, ys)
    box = 42.0
    brute = brute_force_images(lens, xs, ys, scale, (-box, box, -box, box), spacing=0.06)
    total = 0
    for k, reference in enumerate(brute):
        ours = table.loc[table["source"] == k, ["x", "y"]].to_numpy()
        assert match_count(ours, reference, 1e-6) == len(reference), f"source {k}"
        total += len(reference)
    assert total >= 60
    assert np.all(lens_equation_residual(lens, table, xs[table["source"]], ys[table["source"]], scale) < 1e-8)


@pytest.mark.parametrize("case", ["sie_shear", "nfw_sie"])
def test_lenstronomy_images_are_a_subset_real_profiles(case):
    pytest.importorskip("lenstronomy")
    from lenstronomy.LensModel.Solver.lens_equation_solver import LensEquationSolver

    groups = [MassComponents("SIE", {"center_x": [0.1], "center_y": [-0.05], "theta_e": [1.1], "r_core": [0.0],
                                     "q": [0.7], "angle": [40.0]})]
    if case == "sie_shear":
        groups.append(MassComponents("ExternalShear", {"gamma": [0.07], "angle": [25.0]}))
    else:
        groups.append(MassComponents("NFW", {"center_x": [-0.2], "center_y": [0.15], "kappa_s": [0.2], "r_s": [8.0]}))
    lens = Lens(groups)
    model, kwargs = lenstronomy_model(lens)
    solver = LensEquationSolver(model)
    finder = ImageFinder(lens, 1.0)
    for xs, ys in [(0.12, -0.02), (-0.15, 0.2), (0.4, 0.3)]:
        tx, ty = solver.image_position_from_source(xs, ys, kwargs, min_distance=0.02, search_window=8,
                                                   precision_limit=1e-12, num_iter_max=200)
        theirs = np.column_stack([tx, ty])
        ours = finder.find(xs, ys)[["x", "y"]].to_numpy()
        assert len(theirs) >= 2
        assert match_count(ours, theirs, 1e-6) == len(theirs)


def test_model_level_find_images_uses_cosmology():
    from clusterlens.cosmology import distance_ratio, make_cosmology, time_delay_distance

    cosmology = make_cosmology({"H0": 70.0, "Om0": 0.3})
    lens = sie_shear_lens(1.0, 0.8, 10.0, gamma=0.03)
    model = SimpleNamespace(lens=lens, z_lens=0.4, cosmology=cosmology)
    # min_abs_magnification drops the |mu| ~ 1e-99 image next to the centre, where the SIE is
    # evaluated with the profile's core floor
    table = find_images(model, 0.05, 0.02, 2.0, min_abs_magnification=1e-3)
    scale = distance_ratio(cosmology, 0.4, 2.0)
    direct = find_lens_images(lens, 0.05, 0.02, scale, time_delay_distance=time_delay_distance(cosmology, 0.4, 2.0),
                         min_abs_magnification=1e-3)
    np.testing.assert_allclose(table.to_numpy(), direct.to_numpy(), rtol=1e-12, atol=1e-12)
    assert len(table) == 4 and table["time_delay"].iloc[0] == 0 and np.all(table["time_delay"].iloc[1:] > 0)
    with pytest.raises(ValueError, match="z_source"):
        find_images(model, 0.0, 0.0, 0.3)


def test_lens_without_centres_needs_a_region():
    shear_only = Lens([MassComponents("ExternalShear", {"gamma": [0.1], "angle": [0.0]})])
    with pytest.raises(ValueError, match="region"):
        ImageFinder(shear_only, 1.0)
    table = find_lens_images(shear_only, 0.5, 0.2, 1.0, region=(-5, 5, -5, 5))
    # beta = (1 - g) x, (1 + g) y for shear g along x: one image at (0.5 / 0.9, 0.2 / 1.1)
    np.testing.assert_allclose(table[["x", "y"]].to_numpy(), [[0.5 / 0.9, 0.2 / 1.1]], atol=1e-10)
    np.testing.assert_allclose(table["magnification"], 1 / (0.9 * 1.1), rtol=1e-10)
