"""The fold partner of a shared Newton solution, and the matching's reach: against the image finder."""

import numpy as np
import pytest

from clusterlens.solver import WRONG_BASIN, find_lens_images, match_images, polish_in_basin
from clusterlens.solver import matching as matching_module
from clusterlens.solver.fold_partner import fold_partners
from clusterlens.solver.newton import _determinant
from test_solver import sie_shear_lens
from test_solver_caustics import SCALE, caustic_sources, fold_pair


@pytest.fixture(scope="module")
def sie():
    return sie_shear_lens(1.2, 0.6, 30.0, center=(0.2, -0.1), gamma=0.05, shear_angle=10.0)


def _same_side_pair(a, b):
    """Two observed images of the fold pair (a, b) both on a's side of the critical curve (which passes near
    the midpoint): 10 % and 30 % of the way from a to b, off the line by 1 % of |b - a|."""
    u = b - a
    perp = np.array([-u[1], u[0]])
    return np.array([a - 0.1 * u + 0.01 * perp, a + 0.3 * u - 0.01 * perp])


def test_partner_of_a_merging_pair_is_the_other_fold_image(sie):
    """Both observed images converge to a; the farther one is given b, the finder's other image of the pair,
    with the opposite parity and b's magnification."""
    sx, sy, a, b = fold_pair(sie)
    obs = _same_side_pair(a, b)
    n = len(obs)
    px, py, _, det, _ = polish_in_basin(sie, np.full(n, SCALE), obs[:, 0], obs[:, 1], np.full(n, sx), np.full(n, sy),
                                        np.full(n, 0.5))
    np.testing.assert_allclose(np.column_stack([px, py]), [a, a], atol=1e-7)
    bx, by, det_b, found = fold_partners(sie, np.full(1, SCALE), obs[1:, 0], obs[1:, 1], np.full(1, sx),
                                         np.full(1, sy), px[1:], py[1:], np.sign(det[1:]), np.full(1, 0.5))
    assert found.all()
    np.testing.assert_allclose([bx[0], by[0]], b, atol=1e-7)
    images = find_lens_images(sie, sx, sy, SCALE)
    k = np.argmin(np.hypot(images["x"] - b[0], images["y"] - b[1]))
    assert np.sign(det_b[0]) == -np.sign(det[1])
    assert 1.0 / det_b[0] == pytest.approx(images["magnification"].iloc[k], rel=1e-5)


def test_a_found_partner_is_the_nearest_image_left(sie):
    """Observed points scattered around the images of sources near caustics: wherever a partner is accepted,
    it is the nearest model image to the observed point apart from the one its Newton iteration reached
    (sources 0.002" and 0.02" inside caustics: four images each)."""
    xs, ys = caustic_sources(sie, [0.002, 0.02], 4, seed=3)
    rng = np.random.default_rng(8)
    accepted = 0
    for sx, sy in zip(xs, ys, strict=True):
        images = find_lens_images(sie, sx, sy, SCALE)[["x", "y"]].to_numpy()
        obs = (images[:, None, :] + rng.normal(0, 0.05, (len(images), 6, 2))).reshape(-1, 2)
        n = len(obs)
        args = (np.full(n, SCALE), obs[:, 0], obs[:, 1], np.full(n, sx), np.full(n, sy))
        px, py, res, det, _ = polish_in_basin(sie, *args, np.full(n, 0.5))
        ok = res <= 1e-9
        parity = np.sign(_determinant(sie, args[0], obs[:, 0], obs[:, 1]))
        bx, by, _, found = fold_partners(sie, *(v[ok] for v in args), px[ok], py[ok], parity[ok],
                                         np.full(ok.sum(), 0.5))
        d = np.hypot(obs[ok, None, 0] - images[None, :, 0], obs[ok, None, 1] - images[None, :, 1])
        reached = np.argmin(np.hypot(px[ok, None] - images[None, :, 0], py[ok, None] - images[None, :, 1]), axis=1)
        d[np.arange(d.shape[0]), reached] = np.inf
        nearest_left = images[np.argmin(d, axis=1)]
        np.testing.assert_allclose(np.column_stack([bx, by])[found], nearest_left[found], atol=1e-7)
        accepted += int(found.sum())
    assert accepted > 10


def test_merging_pair_matched_without_the_finder_as_with_it(sie, monkeypatch):
    """Two observed images of a merging pair on one side of the critical curve: both matched, the farther
    to b, without a finder window; the same model images as the finder gives with the partners switched off."""
    sx, sy, a, b = fold_pair(sie)
    model = find_lens_images(sie, sx, sy, SCALE)[["x", "y"]].to_numpy()
    others = model[np.hypot(model[:, 0] - a[0], model[:, 1] - a[1]) > 1e-6]
    others = others[np.hypot(others[:, 0] - b[0], others[:, 1] - b[1]) > 1e-6]
    obs = np.concatenate([_same_side_pair(a, b), others + [0.003, -0.002]])
    system = np.zeros(len(obs), dtype=int)
    args = (sie, [SCALE], [sx], [sy], obs[:, 0], obs[:, 1], system)
    fast = match_images(*args)
    assert fast.matched.all() and not fast.finder.any()
    np.testing.assert_allclose(np.column_stack([fast.x, fast.y])[:2], [a, b], atol=1e-7)

    def no_partner(lens, scale, x, y, xs, ys, ax, ay, parity, step_cap, **_):
        return ax, ay, np.zeros(x.size), np.zeros(x.size, dtype=bool)

    monkeypatch.setattr(matching_module, "fold_partners", no_partner)
    windows = match_images(*args)
    assert windows.finder.all() and windows.matched.all()
    np.testing.assert_allclose(np.column_stack([windows.x, windows.y]), np.column_stack([fast.x, fast.y]), atol=1e-7)
    np.testing.assert_allclose(windows.magnification, fast.magnification, rtol=1e-6)


def test_reach_leaves_an_image_without_a_near_model_image_unmatched(sie):
    """One observed image 3" from its model image (the others 0.005" from theirs): matched to it without a
    reach and with reach 5", unmatched with reach 2.5" (its nearest model image still reported)."""
    sx, sy, _, _ = fold_pair(sie)
    model = find_lens_images(sie, sx, sy, SCALE)[["x", "y"]].to_numpy()
    far = int(np.argmax(np.hypot(*(model - model.mean(axis=0)).T)))
    outward = (model[far] - [0.2, -0.1]) / np.hypot(*(model[far] - [0.2, -0.1]))
    obs = model + [0.004, -0.003]
    obs[far] = model[far] + 3.0 * outward
    args = (sie, [SCALE], [sx], [sy], obs[:, 0], obs[:, 1], np.zeros(len(obs), dtype=int))
    free, near, short = match_images(*args), match_images(*args, reach=5.0), match_images(*args, reach=2.5)
    assert free.matched.all() and near.matched.all()
    np.testing.assert_allclose(np.column_stack([near.x, near.y]), np.column_stack([free.x, free.y]), atol=1e-7)
    np.testing.assert_allclose([free.x[far], free.y[far]], model[far], atol=1e-7)
    assert not short.matched[far] and np.delete(short.matched, far).all()
    assert short.distance[far] == pytest.approx(3.0, abs=1e-6)


def test_a_start_that_crossed_the_critical_curve_gets_its_own_image(sie):
    """Starts on a grid around a fold pair whose guarded iteration crossed the critical curve (WRONG_BASIN, the
    other parity): matched alone, each gets the model image nearest to it (the finder's), most of them from the
    fold partner of the image they reached, without a finder window."""
    sx, sy, a, b = fold_pair(sie)
    images = find_lens_images(sie, sx, sy, SCALE)[["x", "y"]].to_numpy()
    mid = (a + b) / 2
    gx, gy = (g.ravel() for g in np.meshgrid(np.linspace(-0.3, 0.3, 13) + mid[0], np.linspace(-0.3, 0.3, 13) + mid[1]))
    n = gx.size
    px, py, _, det, status = polish_in_basin(sie, np.full(n, SCALE), gx, gy, np.full(n, sx), np.full(n, sy),
                                             np.full(n, 0.5))
    crossed = (status == WRONG_BASIN) & (np.sign(det) != np.sign(_determinant(sie, np.full(n, SCALE), gx, gy)))
    assert crossed.sum() >= 5
    without_finder = 0
    for i in np.flatnonzero(crossed):
        out = match_images(sie, [SCALE], [sx], [sy], gx[i:i + 1], gy[i:i + 1], np.zeros(1, dtype=int))
        nearest = images[np.argmin(np.hypot(images[:, 0] - gx[i], images[:, 1] - gy[i]))]
        np.testing.assert_allclose([out.x[0], out.y[0]], nearest, atol=1e-7)
        without_finder += int(not out.finder[0])
    assert without_finder >= 0.8 * crossed.sum()
