"""Lens light: main_lens_light rows joined to main_lens_mass, member light from magnitudes and a zero point,
rendered unlensed with the sources' PSF and noise; a model without either simulates as before."""
import numpy as np
import pytest

from clusterlens import ClusterModel
from clusterlens.dataset import LensLight
from clusterlens.errors import ModelError
from clusterlens.simulation import imaging
from clusterlens.simulation.dataset_folder import light_groups, simulate_image
from clusterlens.simulation.lens_light import lens_light_groups, member_light_parameters, render_lens_light
from population_models import tiny_dataset, tiny_records


def _model(records, **dataset):
    return ClusterModel.from_records(records, {**tiny_dataset(), **dataset})


def _with_sources(records):
    source = {"galaxy": "src", "profile": "Sersic", "x": 0.5, "y": 0.2, "redshift": 2.0, "q": 0.7, "angle": 20.0,
              "intensity": 2.0, "effective_radius": 0.3, "sersic_index": 1.0}
    return {**records, "source_light": [source]}


def test_member_light_holds_the_flux_of_its_magnitude():
    settings = LensLight(zero_point=25.0, member_sersic_index=1.0, member_effective_radius=0.5)
    params = member_light_parameters([21.0, 22.0], [20.0, 20.0], [0.6, 1.0], [30.0, 0.0], [-4.0, 4.0], [0.0, 1.0],
                                     settings)
    # R_e = 0.5 (L/L_ref)^0.5 with L/L_ref = 10^(0.4 (20 - m))
    assert np.allclose(params["effective_radius"], 0.5 * 10 ** (0.2 * (20.0 - np.array([21.0, 22.0]))))
    grid = type("Grid", (), dict(shape=(300, 300), pixel_scale=0.1, oversampling=2, center_x=0.0, center_y=0.0))
    group = imaging.LightGroup("Sersic", params, np.zeros(2))
    flux = render_lens_light([group], grid).sum()
    assert flux == pytest.approx(10 ** (-0.4 * (21.0 - 25.0)) + 10 ** (-0.4 * (22.0 - 25.0)), rel=2e-3)


def test_lens_light_is_added_unlensed_before_the_psf_and_noise():
    records = _with_sources(tiny_records())
    plain = _model({k: v for k, v in records.items() if k != "main_lens_light"}, lens_light=None)
    lit = _model(records)
    assert not lens_light_groups(plain)
    groups = lens_light_groups(lit)
    assert [len(g) for g in groups] == [1]  # the BCG's light; the tier has no members in this model
    seed = np.random.SeedSequence(3)
    bare, bright = simulate_image(plain, seed), simulate_image(lit, seed)
    settings = lit.dataset.imaging
    light = imaging.convolve(render_lens_light(groups, settings), bare.psf)
    assert np.allclose(bright.model_image, bare.model_image + light, rtol=1e-12, atol=1e-12)
    assert bright.model_image.sum() > bare.model_image.sum()


def test_a_model_without_lens_light_renders_its_sources_only():
    model = _model({k: v for k, v in _with_sources(tiny_records()).items() if k != "main_lens_light"},
                   lens_light=None)
    s = model.dataset.imaging
    image = simulate_image(model, np.random.SeedSequence(5))
    sources = imaging.render_sources(lambda x, y: model.lens.deflection(x, y, scale=1.0), light_groups(model),
                                     s.shape, s.pixel_scale, s.oversampling, s.center_x, s.center_y)
    expected = imaging.convolve(sources, image.psf)
    assert np.array_equal(image.model_image, expected)
    rng = np.random.default_rng(np.random.SeedSequence(5))
    assert np.array_equal(image.data, imaging.observe(expected, s.background, s.exposure_time, s.read_noise, rng))


def test_lens_light_of_an_unknown_galaxy_or_another_redshift_is_refused():
    records = tiny_records()
    light = records["main_lens_light"][0]
    records["main_lens_light"] = [{**light, "galaxy": "nobody"}, {**light, "redshift": 1.0}]
    with pytest.raises(ModelError) as err:
        _model(records)
    assert {(p.line, p.column) for p in err.value.problems} == {(1, "galaxy"), (2, "redshift")}
