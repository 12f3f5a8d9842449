"""Image finder next to caustics, the guarded Newton polish and the matching of observed images."""

import math
import warnings

import numpy as np
import pytest

from clusterlens.maps import PixelGrid, caustics, critical_curves
from clusterlens.solver import (
    CONVERGED,
    FAILED,
    WRONG_BASIN,
    ImageFinder,
    find_lens_images,
    match_images,
    polish,
    polish_in_basin,
)
from clusterlens.solver.newton import NEWTON_MAX_ITERATIONS, NEWTON_MIN_DAMPING, NEWTON_STALL, _polish
from inversion import brute_force_images, matched
from test_lenstool_a2744 import BEST, IMAGES, sis_model
from test_solver import sie_shear_lens

SCALE = 0.9


@pytest.fixture(scope="module")
def sie():
    return sie_shear_lens(1.2, 0.6, 30.0, center=(0.2, -0.1), gamma=0.05, shear_angle=10.0)


def caustic_sources(lens, offsets, n_points, seed):
    """Sources at signed distances ``offsets`` (arcsec) along the normal of random caustic points."""
    curves = critical_curves(lens, PixelGrid(0.0, 0.0, (600, 600), 0.01), SCALE)
    points = np.concatenate(caustics(lens, curves, SCALE))
    k = np.random.default_rng(seed).choice(len(points) - 1, n_points, replace=False)
    tangent = points[k + 1] - points[k]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.hypot(*tangent.T)[:, None]
    offsets = np.asarray(offsets)
    return ((points[k, 0, None] + offsets * normal[:, 0, None]).ravel(),
            (points[k, 1, None] + offsets * normal[:, 1, None]).ravel())


def test_sources_next_to_caustics_vs_brute_force(sie):
    """Sources 0.01" and 1e-4" on both sides of caustics: every brute-force image is found, images with
    |mu| > 1000 among them, and close pairs straddling the critical curve (opposite parities) both."""
    xs, ys = caustic_sources(sie, [0.01, -0.01, 1e-4, -1e-4, 1e-5, -1e-5], 10, seed=3)
    finder = ImageFinder(sie, SCALE)
    table = finder.find_many(xs, ys)
    brute = brute_force_images(sie, xs, ys, SCALE, (-3.0, 3.4, -3.1, 2.9), spacing=0.004)
    largest, pairs = 0.0, 0
    for k, reference in enumerate(brute):
        ours = table[table["source"] == k]
        assert matched(ours[["x", "y"]].to_numpy(), reference).all(), f"source {k}"
        confirmed = ours[matched(reference, ours[["x", "y"]].to_numpy())]
        largest = max(largest, confirmed["magnification"].abs().max())
        pos, parity = confirmed[["x", "y"]].to_numpy(), confirmed["parity"].to_numpy()
        close = np.hypot(*(pos[:, None] - pos[None, :]).transpose(2, 0, 1)) < 0.05
        pairs += int(np.any(close & (parity[:, None] != parity[None, :])))
    assert largest > 1000 and pairs >= 5
    assert sum(len(r) for r in brute) >= 100


def fold_pair(lens):
    """A source 1e-3" inside a fold caustic and its two images straddling the critical curve."""
    xs, ys = caustic_sources(lens, [-1e-3, 1e-3], 6, seed=5)
    for sx, sy in zip(xs, ys, strict=True):
        images = find_lens_images(lens, sx, sy, SCALE)
        pos, parity = images[["x", "y"]].to_numpy(), images["parity"].to_numpy()
        d = np.hypot(*(pos[:, None] - pos[None, :]).transpose(2, 0, 1))
        i, j = np.unravel_index(np.argmin(d + np.eye(len(pos)) * 1e9), d.shape)
        if d[i, j] < 0.2 and parity[i] != parity[j]:
            return sx, sy, pos[i], pos[j]
    raise AssertionError("no fold pair found")


def test_guard_reports_a_start_that_plain_newton_moves_to_the_other_image(sie):
    """Starts on a grid around a fold pair: wherever plain Newton reaches an image other than the
    nearest one (or crosses the critical curve), the guard says so; where it says CONVERGED the
    solution is the nearest image of the source and has the start's parity."""
    sx, sy, a, b = fold_pair(sie)
    images = find_lens_images(sie, sx, sy, SCALE)
    model, parity = images[["x", "y"]].to_numpy(), images["parity"].to_numpy()
    mid = (a + b) / 2
    gx, gy = (g.ravel() for g in np.meshgrid(np.linspace(-0.3, 0.3, 25) + mid[0], np.linspace(-0.3, 0.3, 25) + mid[1]))
    n = gx.size
    src_x, src_y, cap = np.full(n, sx), np.full(n, sy), np.full(n, 0.5)
    px, py, res, _ = polish(sie, SCALE, gx, gy, src_x, src_y, cap)
    qx, qy, _, det, status = polish_in_basin(sie, SCALE, gx, gy, src_x, src_y, cap)
    np.testing.assert_array_equal(qx, px)  # the guard reports, it never moves a solution
    d_start = np.hypot(gx[:, None] - model[None, :, 0], gy[:, None] - model[None, :, 1])
    reached = np.argmin(np.hypot(px[:, None] - model[None, :, 0], py[:, None] - model[None, :, 1]), axis=1)
    ok = res < 1e-9
    wrong = ok & (d_start[np.arange(n), reached] > d_start.min(axis=1) + 1e-3)
    hess = sie.hessian(gx, gy, scale=SCALE)
    start_parity = np.sign((1 - hess[0]) * (1 - hess[2]) - hess[1] ** 2)
    crossed = ok & (parity[reached] != start_parity)
    assert wrong.sum() >= 5 and crossed.sum() >= 5  # plain Newton silently lands elsewhere from these starts
    assert not np.any(status[wrong | crossed] == CONVERGED)
    good = status == CONVERGED
    assert good.sum() > n / 3
    assert np.all(d_start[good, reached[good]] <= d_start[good].min(axis=1) + 1e-4)


def test_match_images_pairs_and_flags_the_unmatched(sie):
    """Every model image (a fold pair among them) observed 0.005" off, and the one farthest from the
    pair once more, 0.03" off: each keeps its own model image; the twin is flagged unmatched with the
    distance to its nearest (taken) model image."""
    sx, sy, a, b = fold_pair(sie)
    model = find_lens_images(sie, sx, sy, SCALE)[["x", "y"]].to_numpy()
    far = model[np.argmax(np.hypot(model[:, 0] - a[0], model[:, 1] - a[1]))]
    obs = np.concatenate([model + [0.004, -0.003], [far + [0.03, 0.0]]])
    system = np.zeros(len(obs), dtype=int)
    out = match_images(sie, [SCALE], [sx], [sy], obs[:, 0], obs[:, 1], system)
    got = np.column_stack([out.x, out.y])
    np.testing.assert_allclose(got, np.concatenate([model, [far]]), atol=1e-6)
    np.testing.assert_array_equal(out.matched, [True] * len(model) + [False])
    np.testing.assert_allclose(out.distance, [0.005] * len(model) + [0.03], atol=1e-6)
    assert out.finder.all()  # two observed images reached one model image: the system was solved in full
    with pytest.raises(ValueError, match="one value per system"):
        match_images(sie, [SCALE, SCALE], [sx], [sy], obs[:, 0], obs[:, 1], system)


def test_lenstool_chi2_scores_an_observed_image_without_counterpart():
    from clusterlens.lenstool.chi2 import image_plane_chi2

    # a singular isothermal sphere has two images; three observed images of one system
    model = sis_model(2.0, [(2.9, 0.35), (-1.3, -0.05), (-1.2, 0.1)])
    result = image_plane_chi2(model)
    images = result.images
    assert images["matched"].sum() == 2 and not images["matched"].iloc[1:].all()
    lost = images[~images["matched"]].iloc[0]
    assert np.isfinite(lost["chi2"]) and lost["chi2"] == pytest.approx((lost["offset"] / lost["sigma"]) ** 2)
    assert (images["method"] == "finder").all()
    assert result.chi2 == pytest.approx(images["chi2"].sum())


def test_a2744_plain_mean_source_matches_nearest_images_without_sharing():
    """Lenstool forme -1 on A2744's best.par puts some sources where two observed images lead to one model
    image (system 33) or a nearer image lies across a critical curve (system 64): every observed image
    gets a model image of its own, and none could take a free model image nearer to it."""
    from clusterlens.lenstool import read_par
    from clusterlens.lenstool.chi2 import image_plane_chi2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = read_par(BEST, images=IMAGES, position_sigma=0.5)
    result = image_plane_chi2(best, barycentre="mean")
    images, systems = result.images, result.systems.set_index("name")
    assert images["matched"].all()
    for name in ("33", "64"):
        group = images[images["name"] == name]
        row = systems.loc[name]
        found = find_lens_images(best.lens, row.x_source, row.y_source, best.distance_ratio(row.redshift))
        model = found[["x", "y"]].to_numpy()
        mine = np.column_stack([group["x_model"], group["y_model"]])
        own = np.argmin(np.hypot(*(mine[:, None] - model[None, :]).transpose(2, 0, 1)), axis=1)
        assert len(set(own)) == len(own)  # never shared
        np.testing.assert_allclose(mine, model[own], atol=1e-6)
        free = np.setdiff1d(np.arange(len(model)), own)
        obs = group[["x", "y"]].to_numpy()
        for i in range(len(obs)):
            d_free = np.hypot(*(model[free] - obs[i]).T)
            assert np.all(group["offset"].iloc[i] <= d_free + 1e-9)


def _one_trial_per_evaluation(lens, scale, x, y, xs, ys, cap, tolerance, iterations):
    """The damped Newton rule of clusterlens.solver.newton written out point by point, one trial per lens
    evaluation: (x, y, residual, det A, rejected trials, trials) of each start."""
    def state(px, py):
        ax, ay, hxx, hxy, hyy = (float(v[0]) for v in lens.deflection_and_hessian(np.array([px]), np.array([py]),
                                                                                   scale=scale))
        return px - ax - xs, py - ay - ys, 1.0 - hxx, -hxy, -hxy, 1.0 - hyy

    def step(rx, ry, a11, a12, a21, a22):
        det = a11 * a22 - a12 * a21
        dx, dy = -(a22 * rx - a12 * ry) / det, -(-a21 * rx + a11 * ry) / det
        length = math.hypot(dx, dy)
        shrink = cap / length if length > cap else 1.0
        return dx * shrink, dy * shrink

    out = []
    for px, py in zip(x, y, strict=True):
        r = state(px, py)
        res, lam, rejected, trials = math.hypot(r[0], r[1]), 1.0, 0, 0
        dx, dy = step(*r)
        tol = tolerance * (1.0 + math.hypot(px, py))
        active = res > tol and math.isfinite(dx) and math.isfinite(dy)
        for _ in range(iterations):
            if not active:
                break
            tx, ty = px + lam * dx, py + lam * dy
            t = state(tx, ty)
            trials += 1
            tres = math.hypot(t[0], t[1])
            if math.isfinite(tres) and tres < res:
                moved = tres < (1.0 - NEWTON_STALL) * res
                px, py, res, r, lam = tx, ty, tres, t, 1.0
                dx, dy = step(*r)
                active = tres > tol and math.isfinite(dx) and math.isfinite(dy) and moved
            else:
                lam *= 0.5
                rejected += 1
                active = lam > NEWTON_MIN_DAMPING
        out.append((px, py, res, r[2] * r[5] - r[3] * r[4], rejected, trials))
    return np.array(out).T


def test_backtracking_trials_evaluated_together_give_the_one_trial_iterates(sie):
    """The iteration evaluates a backtracking start's next halvings together: the same iterates, residuals and
    det A as one trial per evaluation, bit for bit (this lens's numbers do not depend on how many points an
    evaluation holds), in fewer lens evaluations; starts beside a critical curve backtrack."""
    sx, sy = caustic_sources(sie, [0.02], 1, seed=3)  # outside a fold caustic: its images there do not exist
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-1.8, 1.8, 40), rng.uniform(-1.8, 1.8, 40)
    calls = []

    class Counting:
        def deflection_and_hessian(self, px, py, scale=1.0):
            calls.append(np.size(px))
            return sie.deflection_and_hessian(px, py, scale=scale)

    for iterations in (NEWTON_MAX_ITERATIONS, 6):
        calls.clear()
        got = _polish(Counting(), SCALE, x, y, np.full(40, sx[0]), np.full(40, sy[0]), 0.3, 1e-12,
                      iterations=iterations)
        want = _one_trial_per_evaluation(sie, SCALE, x, y, sx[0], sy[0], 0.3, 1e-12, iterations)
        for g, w in zip(got[:4], want[:4], strict=True):
            np.testing.assert_array_equal(g, w)
        assert want[4].sum() > 20  # rejected trials: backtracking happened
        assert len(calls) - 1 <= want[5].max() <= iterations  # evaluations after the first, trials of a start
        if iterations == NEWTON_MAX_ITERATIONS:
            assert len(calls) - 1 < want[5].max()


def test_other_basins_off_stops_crossing_starts_and_keeps_every_converged_one(sie):
    """polish_in_basin(other_basins=False), as the Lenstool statistic's Newton-only matching uses it: starts
    around a fold pair whose iteration crosses the critical curve stop there (never CONVERGED, in fewer lens
    evaluations); every other start has the same status, position and residual, bit for bit."""
    sx, sy, a, b = fold_pair(sie)
    mid = (a + b) / 2
    gx, gy = (g.ravel() for g in np.meshgrid(np.linspace(-0.3, 0.3, 25) + mid[0], np.linspace(-0.3, 0.3, 25) + mid[1]))
    n = gx.size
    src_x, src_y, cap = np.full(n, sx), np.full(n, sy), np.full(n, 0.5)
    points = {}

    class Counting:
        def __init__(self, key):
            self.key = key

        def deflection_and_hessian(self, px, py, scale=1.0):
            points[self.key] = points.get(self.key, 0) + np.size(px)
            return sie.deflection_and_hessian(px, py, scale=scale)

        def hessian(self, px, py, scale=1.0):
            return sie.hessian(px, py, scale=scale)

    every = polish_in_basin(Counting("every"), SCALE, gx, gy, src_x, src_y, cap)
    own = polish_in_basin(Counting("own"), SCALE, gx, gy, src_x, src_y, cap, other_basins=False)
    converged = every[4] == CONVERGED
    np.testing.assert_array_equal(own[4] == CONVERGED, converged)
    for got, want in zip(own[:4], every[:4], strict=True):
        np.testing.assert_array_equal(got[converged], want[converged])
    stopped = (every[4] == WRONG_BASIN) & (own[4] == FAILED)  # converged elsewhere after crossing: now stopped
    assert stopped.sum() >= 5
    assert points["own"] < points["every"]
