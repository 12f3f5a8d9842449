"""The fast matching of observed images: all systems polished together, the cheap basin test, shared
solutions, and the local finder windows before the wide search."""

import numpy as np
import pytest

from clusterlens.solver import find_lens_images, match_images
from test_solver import sie_shear_lens
from test_solver_caustics import SCALE, caustic_sources, fold_pair


@pytest.fixture(scope="module")
def sie():
    return sie_shear_lens(1.2, 0.6, 30.0, center=(0.2, -0.1), gamma=0.05, shear_angle=10.0)


@pytest.fixture(scope="module")
def systems(sie):
    """Three systems: a fold pair 1e-3" inside a caustic (|mu| >> 1) and two sources 0.05" from
    caustics, each observed at every model image, 0.004" off; returns (sources, observed, system, model)."""
    sx, sy, _, _ = fold_pair(sie)
    cx, cy = caustic_sources(sie, [-0.05], 2, seed=11)
    sources = np.column_stack([np.r_[sx, cx], np.r_[sy, cy]])
    model = [find_lens_images(sie, x, y, SCALE)[["x", "y", "magnification"]].to_numpy() for x, y in sources]
    observed = np.concatenate([m[:, :2] + [0.004, -0.003] for m in model])
    system = np.concatenate([np.full(len(m), k) for k, m in enumerate(model)])
    return sources, observed, system, model


def test_vectorised_matching_equals_the_finder(sie, systems):
    """Every observed image of every system gets the finder's model image nearest to it (a |mu| > 30
    image among them), and no two observed images share one."""
    sources, obs, system, model = systems
    out = match_images(sie, np.full(len(sources), SCALE), sources[:, 0], sources[:, 1], obs[:, 0], obs[:, 1],
                       system)
    expected = np.concatenate([m[:, :2] for m in model])
    np.testing.assert_allclose(np.column_stack([out.x, out.y]), expected, atol=1e-7)
    assert out.matched.all() and not out.finder.any()
    assert np.abs(np.concatenate([m[:, 2] for m in model])).max() > 30
    np.testing.assert_allclose(out.magnification, np.concatenate([m[:, 2] for m in model]), rtol=1e-5)
    for k in range(len(sources)):
        pos = np.column_stack([out.x, out.y])[system == k]
        assert len(np.unique(np.round(pos, 5), axis=0)) == len(pos)


def test_shared_solution_goes_to_the_nearer_observed_image(sie, systems):
    """Two observed images next to one model image: with the Newton search only (Lenstool's) the nearer
    keeps it and the other is unmatched; with the finder the same, the farther one reporting it as nearest."""
    sources, obs, system, model = systems
    twin = obs[system == 2][0] + [0.02, 0.0]
    x, y, s = np.r_[obs[:, 0], twin[0]], np.r_[obs[:, 1], twin[1]], np.r_[system, 2]
    for finder in (False, True):
        out = match_images(sie, np.full(len(sources), SCALE), sources[:, 0], sources[:, 1], x, y, s, finder=finder)
        assert out.matched[:-1].all() and not out.matched[-1]
        np.testing.assert_allclose([out.x[-1], out.y[-1]], model[2][0, :2], atol=1e-7)


def test_forced_newton_failure_is_settled_by_the_local_window(sie, systems):
    """A Newton step cap too small to arrive makes every image fail the guarded iteration: the local
    windows around the observed images then find the same model images, without the wide search."""
    sources, obs, system, model = systems
    args = (sie, np.full(len(sources), SCALE), sources[:, 0], sources[:, 1], obs[:, 0], obs[:, 1], system)
    out = match_images(*args, step_cap=1e-5)
    assert out.finder.all() and out.local.all() and out.matched.all()
    np.testing.assert_allclose(np.column_stack([out.x, out.y]), np.concatenate([m[:, :2] for m in model]),
                               atol=1e-7)
    far = match_images(*args, step_cap=1e-5, local_radius=1e-3)  # windows too small: the wide search decides
    assert far.finder.all() and not far.local.any()
    np.testing.assert_allclose(np.column_stack([far.x, far.y]), np.column_stack([out.x, out.y]), atol=1e-7)


def test_compiled_sharing_equals_the_pairwise_rule():
    """_sharing (compiled, pairs of one system) against the rule written with (n, n) arrays: a solution reached
    by two converged images of one system is shared; the nearer image keeps it (ties: the first)."""
    from clusterlens.solver.matching import SAME_IMAGE_DISTANCE, _sharing

    rng = np.random.default_rng(3)
    n = 60
    system = rng.integers(0, 8, n)
    x, y = rng.uniform(-20, 20, n), rng.uniform(-20, 20, n)
    solutions = rng.uniform(-20, 20, (16, 2))
    pick = 2 * system + rng.integers(0, 2, n)  # two solutions per system: images of a system often share one
    px = solutions[pick, 0] + rng.choice([0.0, 0.5 * SAME_IMAGE_DISTANCE, 3 * SAME_IMAGE_DISTANCE], n)
    py = solutions[pick, 1]
    x[5], y[5] = x[6], y[6]  # a tie in distance when 5 and 6 share
    system[5], system[6], px[5], py[5], px[6], py[6] = 1, 1, 0.0, 0.0, 0.0, 0.0
    good = rng.random(n) > 0.2
    good[[5, 6]] = True
    same = ((system[:, None] == system[None, :]) & good[:, None] & good[None, :]
            & (np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :]) < SAME_IMAGE_DISTANCE))
    np.fill_diagonal(same, False)
    d = np.hypot(px - x, py - y)
    index = np.arange(n)
    beaten = same & ((d[None, :] < d[:, None]) | ((d[None, :] == d[:, None]) & (index[None, :] < index[:, None])))
    unshared, keeps = _sharing(system, x, y, px, py, good)
    assert same.any(axis=1).sum() > 20 and (beaten.any(axis=1) & good).sum() > 10
    np.testing.assert_array_equal(unshared, ~same.any(axis=1))
    np.testing.assert_array_equal(keeps, good & ~beaten.any(axis=1))
    assert keeps[5] and not keeps[6]
