"""Multi-plane ClusterModels end to end: rows on their planes, model lensing methods, maps, the image
finder against brute force, and the simulator."""
import numpy as np
import pytest

from clusterlens import ClusterModel, save_model
from clusterlens.cosmology import nfw_lensing_parameters
from clusterlens.lens import Lens
from clusterlens.maps import PixelGrid, caustics, critical_curves, jacobian_determinant
from clusterlens.multiplane import TracedLens, plane_factors, ray_trace
from clusterlens.simulation import simulate
from clusterlens.simulation.dataset_folder import simulate_image
from clusterlens.simulation.points import find_point_images
from clusterlens.solver import find_images
from inversion import brute_force_images
from lensmodels import DATASET, Z_GROUP, Z_LENS, small_cluster_records, two_plane_records
from test_simulate_folder import DATASET as TINY
from test_simulate_folder import LENS, LIGHT, point_rows


@pytest.fixture(scope="module")
def model() -> ClusterModel:
    return ClusterModel.from_records(two_plane_records(), DATASET)


def test_rows_go_to_the_plane_of_their_redshift(model):
    assert model.is_multiplane and model.lens_redshifts == (Z_LENS, Z_GROUP) and model.z_lens == Z_LENS
    (z1, front), (z2, back) = model.planes
    assert (z1, z2) == (Z_LENS, Z_GROUP)
    labels = {(g.label, g.profile, g.size) for g in back.groups}
    assert labels == {("host_halo", "NFW", 1), ("main_lens_mass", "dPIE", 1), ("tier:members", "dPIE", 3)}
    assert sum(g.size for g in front.groups if g.label == "tier:members") == 12
    # an NFW's m200 is converted at its own plane's redshift
    kappa_s, r_s = nfw_lensing_parameters(model.cosmology, Z_GROUP, 1e14, 5.0)
    group = next(g for g in back.groups if g.profile == "NFW")
    np.testing.assert_allclose([group.params["kappa_s"][0], group.params["r_s"][0]], [kappa_s[()], r_s[()]],
                               rtol=1e-14)
    with pytest.raises(ValueError, match="lens_toward"):
        _ = model.lens


def test_model_methods_ray_trace_through_the_planes_in_front_of_the_source(model):
    x, y = np.random.default_rng(0).uniform(-30, 30, (2, 50))
    planes = [lens for _, lens in model.planes]
    t = ray_trace(planes, plane_factors(model.cosmology, model.lens_redshifts, 2.0), x, y, jacobian=True)
    ax, ay = model.deflections(x, y, 2.0)
    np.testing.assert_array_equal(ax, x - t.beta_x)
    np.testing.assert_array_equal(ay, y - t.beta_y)
    a11, a12, a21, a22 = t.jacobian
    np.testing.assert_array_equal(model.magnification(x, y, 2.0), 1 / (a11 * a22 - a12 * a21))
    np.testing.assert_array_equal(model.convergence(x, y, 2.0), 1 - (a11 + a22) / 2)
    # a source between the planes is lensed by the front plane only
    ax, ay = model.deflections(x, y, 0.6)
    front = planes[0].deflection(x, y, scale=model.distance_ratio(0.6))
    np.testing.assert_allclose(ax, front[0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(ay, front[1], rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="nearest lens plane"):
        model.deflections(x, y, 0.3)


def test_one_redshift_keeps_the_single_plane_path():
    model = ClusterModel.from_records(small_cluster_records(), DATASET)
    assert not model.is_multiplane
    assert model.planes == ((Z_LENS, model.lens),)
    lens, scale = model.lens_toward(2.0)
    assert lens is model.lens and scale == model.distance_ratio(2.0)
    x, y = np.random.default_rng(1).uniform(-30, 30, (2, 20))
    np.testing.assert_array_equal(model.deflections(x, y, 2.0)[0], model.lens.deflection(x, y, scale=scale)[0])


def test_planes_at_one_redshift_are_the_merged_single_plane():
    """Moving the background rows to the cluster's redshift gives one plane holding the same components
    (dPIE conversions do not depend on the redshift; the NFW group's does, so it is left out)."""
    records = two_plane_records()
    records["host_halo"].pop()
    two = ClusterModel.from_records(records, DATASET)
    for family in ("main_lens_mass", "scaling_galaxies"):
        for row in records[family]:
            if row.get("redshift") == Z_GROUP:
                row["redshift"] = Z_LENS
    one = ClusterModel.from_records(records, DATASET)
    assert two.is_multiplane and not one.is_multiplane
    merged = Lens([g for _, lens in two.planes for g in lens.groups])
    x, y = np.random.default_rng(2).uniform(-30, 30, (2, 50))
    for a, b in zip(merged.deflection_and_hessian(x, y), one.lens.deflection_and_hessian(x, y), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_critical_curves_use_the_multiplane_jacobian(model):
    lens, scale = model.lens_toward(2.0)
    assert isinstance(lens, TracedLens) and scale == 1.0
    curves = critical_curves(lens, PixelGrid(0.0, 0.0, (160, 160), 0.5), scale)
    points = np.concatenate(curves)
    assert len(points) > 100
    np.testing.assert_allclose(jacobian_determinant(lens, points[:, 0], points[:, 1]), 0.0, atol=1e-8)
    assert len(caustics(lens, curves)) == len(curves)


def test_find_images_is_complete_against_brute_force(model):
    z_source = 2.0
    lens, _ = model.lens_toward(z_source)
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(-4, 4, 4), rng.uniform(-4, 4, 4)
    box = 40.0
    brute = brute_force_images(lens, xs, ys, 1.0, (-box, box, -box, box), spacing=0.08)
    total = 0
    for k in range(xs.size):
        table = find_images(model, xs[k], ys[k], z_source)
        ours = table[["x", "y"]].to_numpy()
        for point in brute[k]:
            assert np.min(np.hypot(*(ours - point).T)) < 1e-6, f"source {k}: brute-force image {point} missed"
        total += len(brute[k])
        # every image maps back to the source; delays from the arrival time
        t = lens.trace(table["x"].to_numpy(), table["y"].to_numpy(), arrival_time=True)
        np.testing.assert_allclose(np.hypot(t.beta_x - xs[k], t.beta_y - ys[k]), 0.0, atol=1e-8)
        np.testing.assert_allclose(table["time_delay"], t.arrival_time - t.arrival_time.min(), rtol=1e-9, atol=1e-6)
    assert total >= 8


def test_the_simulator_finds_the_images_through_both_planes(model):
    images = find_point_images(model, min_abs_magnification=0.0)
    for point in model.source_points:
        rows = images[images["name"] == point.name]
        assert len(rows) >= 1
        t = model.lens_toward(point.redshift)[0].trace(rows["x"].to_numpy(), rows["y"].to_numpy())
        np.testing.assert_allclose(np.hypot(t.beta_x - point.x, t.beta_y - point.y), 0.0, atol=1e-8)


def test_simulated_image_of_a_massless_second_plane_is_the_single_plane_image(tmp_path):
    """simulate() on a two-plane model (a dataset folder with preview and critical curves) and the imaging
    identity: a second plane of negligible mass leaves the noise-free image unchanged."""
    faint = {"galaxy": "F", "profile": "SIE", "x": 0.3, "y": 0.2, "redshift": 0.6, "q": 0.9, "angle": 0.0,
             "theta_e": 1e-9, "r_core": 0.05}
    single = ClusterModel.from_records({"main_lens_mass": LENS, "source_light": LIGHT}, TINY)
    two = ClusterModel.from_records({"main_lens_mass": [*LENS, faint], "source_light": LIGHT,
                                     "source_point": point_rows(4)}, TINY)
    assert two.is_multiplane
    seed = np.random.SeedSequence(3)
    np.testing.assert_allclose(simulate_image(two, seed).model_image, simulate_image(single, seed).model_image,
                               rtol=1e-7, atol=1e-12)
    save_model(two, tmp_path / "model")
    out = simulate(tmp_path / "model", tmp_path / "sim", seed=1)
    assert (out / "data.fits").exists() and (out / "point_datasets.csv").exists()
