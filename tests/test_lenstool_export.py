"""Lenstool export: read_par(write_par(model)) reproduces the model byte for byte, with plain Lenstool
blocks for the real Abell 2744 models and #clusterlens directives only for what Lenstool cannot hold."""
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from clusterlens import load_model
from clusterlens.cell_text import MAX_IMPORT_DIGITS, round_significant
from clusterlens.lenstool import LenstoolError, LenstoolWarning, export_lenstool, image_plane_chi2, read_par, write_par
from clusterlens.lenstool.field import imported_imaging
from clusterlens.lenstool.sources import source_positions
from clusterlens.model import ClusterModel, model_files
from clusterlens.registry.lenstool_rules import emass_from_q, preimage, q_from_emass
from conftest import EXAMPLE
from lensmodels import DATASET as LENSMODELS_DATASET
from lensmodels import two_plane_records, with_exact_images

DATA = Path(__file__).parent / "data" / "a2744"
C_KMS = 299792.458


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        return function(*args, **kwargs)


def assert_same(a, b):
    files_a, files_b = model_files(a), model_files(b)
    assert sorted(files_a) == sorted(files_b)
    for name in files_a:
        assert files_a[name] == files_b[name], name


@pytest.mark.parametrize("par, images, sigma", [("best.par", "img_mul_constraints.cat", 0.5),
                                                ("A2744_SLspec.par", None, None)])
def test_real_models_round_trip_exactly_in_plain_lenstool_format(tmp_path, par, images, sigma):
    model = quiet(read_par, DATA / par, images=None if images is None else DATA / images, position_sigma=sigma)
    path = write_par(model, tmp_path / "a2744.par")
    text = path.read_text()
    assert "#clusterlens-" not in text  # everything is in Lenstool's own blocks
    assert_same(quiet(read_par, path), model)
    assert len(re.findall(r"^potentiel ", text, flags=re.M)) == len(model.host_halo) + len(model.main_galaxies)
    assert len(re.findall(r"^potfile", text, flags=re.M)) == len(model.tiers)
    assert int(re.search(r"nlentille (\d+)", text).group(1)) == 258


def test_slspec_export_keeps_lenstool_values_and_limits(tmp_path):
    model = quiet(read_par, DATA / "A2744_SLspec.par")
    text = write_par(model, tmp_path / "out.par").read_text()
    assert "\tellipticite 0.882\n" in text and "\tellipticite 3 0.879 0.02 0.0\n" in text
    # the q bound of 0.25 rounded on import to 12 digits has no 12-digit ellipticity preimage nearer than this
    assert "\tellipticite 1 0.250000000001 0.55 0.0\n" in text and "\tv_disp 1 600.0 725.0 0.0\n" in text
    assert "\tnlens_opt 6\n" in text and text.count("\nlimit ") == 6
    assert "\tsigma 1 120.0 208.0\n" in text and "\tslope 0 4.0 0.0\n" in text
    catalogue = (tmp_path / "new_potfile_with_ASTRODEEP_data.cat").read_text().splitlines()
    assert catalogue[0] == "#REFERENCE 3 3.586259 -30.400174" and len(catalogue) == 247


def test_example_model_round_trips_through_directives(tmp_path):
    model = load_model(EXAMPLE)
    with pytest.warns(LenstoolWarning, match="m200 \\(loguniform\\) has no Lenstool form"):
        path = export_lenstool(EXAMPLE, tmp_path / "example.par")
    text = path.read_text()
    lenstool_part, _, after = text.partition("\nfini\n")
    assert "#clusterlens-" not in lenstool_part
    families = re.findall(r"^#clusterlens-family (\S+)", after, flags=re.M)
    # blank member tiers/redshifts, source light, sources without images, a loguniform prior, Planck18
    assert families == ["priors", "scaling_galaxies", "scaling_relations", "source_light", "source_point"]
    assert after.startswith("#clusterlens-dataset ") and '"name": "Planck18"' in after
    assert_same(quiet(read_par, path), model)
    # the Lenstool part alone is the model Lenstool will compute: NFW halo and BCG as written
    assert "\tprofil 12\n" in lenstool_part and "\tm200 1200000000000000.0\n" in lenstool_part
    assert "\tgamma 0.06\n" in lenstool_part and "\tcut_radius 35.0\n" in lenstool_part


def _records_with_sie(q, r_core):
    model = load_model(EXAMPLE)
    records = {name: [r.model_dump(exclude_none=True) for r in model.rows(name)] for name in model.tables}
    records["main_lens_mass"].append({"galaxy": "arc_lens", "profile": "SIE", "x": 3.0, "y": -2.0, "redshift": 0.4,
                                      "q": q, "angle": 40.0, "theta_e": 1.5, "r_core": r_core})
    return ClusterModel.from_records(records, model.dataset)


def test_cored_sie_is_written_as_the_equivalent_lenstool_piemd(tmp_path):
    model = _records_with_sie(0.6, 0.2)
    text = quiet(write_par, model, tmp_path / "sie.par").read_text()
    block = re.search(r"^potentiel arc_lens\n(.*?)^\tend", text, flags=re.M | re.S).group(1)
    f = {line.split()[0]: float(line.split()[1]) for line in block.splitlines()}
    assert f["profil"] == 8
    # Lenstool PIEMD kappa with the written numbers vs the SIE kappa of docs/conventions.md#sie-cored, at random points
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-4, 4, 100), rng.uniform(-4, 4, 100)
    t = math.radians(f["angle_pos"])
    xp = (x - 3.0) * math.cos(t) + (y + 2.0) * math.sin(t)
    yp = -(x - 3.0) * math.sin(t) + (y + 2.0) * math.cos(t)
    e = f["ellipticite"]
    eps = (1 - math.sqrt(1 - e * e)) / e  # Lenstool's epot from emass
    b0 = 6 * math.pi * (f["v_disp"] / C_KMS) ** 2 * 648000 / math.pi
    kappa_lenstool = 0.5 * b0 / np.sqrt(f["core_radius"] ** 2 + xp**2 / (1 + eps) ** 2 + yp**2 / (1 - eps) ** 2)
    kappa_sie = 1.5 / (2 * np.sqrt(0.2**2 + 0.6 * xp**2 + yp**2 / 0.6))
    assert np.allclose(kappa_lenstool, kappa_sie, rtol=1e-12)
    assert_same(quiet(read_par, tmp_path / "sie.par"), model)


def test_singular_isothermal_sphere_is_written_as_profile_1(tmp_path):
    model = _records_with_sie(1.0, 0.0)
    text = quiet(write_par, model, tmp_path / "sis.par").read_text()
    sigma = float(re.search(r"^potentiel arc_lens\n\tprofil 1\n(?:.*\n)*?\tv_disp (\S+)", text, flags=re.M).group(1))
    assert 4 * math.pi * (sigma / C_KMS) ** 2 * 648000 / math.pi == pytest.approx(1.5, rel=1e-11)  # 12 digits
    assert_same(quiet(read_par, tmp_path / "sis.par"), model)


def test_tier_with_another_core_slope_cannot_be_written(tmp_path):
    model = load_model(EXAMPLE)
    rel = model.rows("scaling_relations")[0]
    changed = model.with_rows("scaling_relations", [rel.model_copy(update={"r_core_slope": 0.4})])
    with pytest.raises(LenstoolError, match="r_core_slope 0.4 cannot be written"):
        quiet(write_par, changed, tmp_path / "x.par")


@pytest.mark.parametrize("q", [0.3065030009829008, 0.95, 1.0, 0.123456789, 0.5])
def test_emass_inverse_reads_back_exactly(q):
    assert q_from_emass(emass_from_q(q)) == q
    assert emass_from_q(q_from_emass(0.882)) == 0.882  # a value read from a file is written as it was


def test_preimage_prefers_the_short_decimal_and_falls_back_to_the_guess():
    assert preimage(lambda s: 2.0 / s, 0.5, 2.0 / 0.5) == 4.0
    assert preimage(lambda s: s * 0.0 + 1.0, 2.0, 3.0) == 3.0  # no float maps to 2: the guess comes back


def test_free_source_redshift_is_written_as_z_m_limit(tmp_path):
    model = quiet(read_par, DATA / "best.par", images=DATA / "img_mul_constraints.cat", position_sigma=0.5)
    prior = {"family": "source_point", "galaxy": "4", "parameter": "redshift", "prior": "uniform",
             "lower": 3.0, "upper": 4.0}
    records = {name: [r.model_dump(exclude_none=True) for r in model.rows(name)] for name in model.tables}
    free = ClusterModel.from_records({**records, "priors": [prior]}, model.dataset)
    text = write_par(free, tmp_path / "free.par").read_text()
    assert "\tz_m_limit 1 4.1 1 3.0 4.0 0.0\n" in text and "\tforme -2\n" in text and "#clusterlens-" not in text
    assert_same(quiet(read_par, tmp_path / "free.par"), free)


def test_a_default_field_is_kept_by_a_dataset_directive(tmp_path):
    """A model whose [imaging] is not the one the import derives (here the default) reads back exactly."""
    model = quiet(read_par, DATA / "A2744_SLspec.par")
    default = model.dataset.model_copy(update={"imaging": type(model.dataset.imaging)()})
    plain = ClusterModel.from_records({name: [r.model_dump(exclude_none=True) for r in model.rows(name)]
                                       for name in model.tables}, default.model_dump(exclude_none=True))
    text = write_par(plain, tmp_path / "default.par").read_text()
    assert "#clusterlens-dataset " in text and "#clusterlens-dataset " not in write_par(
        model, tmp_path / "derived.par").read_text()
    assert_same(quiet(read_par, tmp_path / "default.par"), plain)


def test_elliptical_nfw_is_written_as_profile_12_and_reads_back_exactly(tmp_path):
    halo = {"galaxy": "halo", "profile": "PseudoEllipticalNFW", "x": 1.5, "y": -2.0, "redshift": 0.3,
            "angle": 25.123456789, "m200": 1.2345678912e15, "concentration": 4.56789, "epsilon": 0.23456789}
    priors = [{"family": "host_halo", "galaxy": "halo", "parameter": "epsilon", "prior": "uniform", "lower": 0.1,
               "upper": 0.4},
              {"family": "host_halo", "galaxy": "halo", "parameter": "angle", "prior": "normal", "mean": 25.0,
               "sigma": 3.0},
              {"family": "host_halo", "galaxy": "halo", "parameter": "m200", "prior": "uniform", "lower": 1e14,
               "upper": 1e16}]
    # the field the import derives from the lens (another [imaging] is kept by a #clusterlens-dataset line)
    dataset = {"reference": {"ra": 10.0, "dec": -20.0}, "cosmology": {"H0": 70.0, "Om0": 0.3},
               "imaging": imported_imaging({"host_halo": [halo]})}
    model = ClusterModel.from_records({"host_halo": [halo], "priors": priors}, dataset)
    text = write_par(model, tmp_path / "enfw.par").read_text()
    assert "#clusterlens-" not in text  # all of it is Lenstool's own profile 12 and limit block
    block = re.search(r"^potentiel halo\n(.*?)^\tend", text, flags=re.M | re.S).group(1)
    assert [line.split()[0] for line in block.splitlines()] == \
        ["profil", "x_centre", "y_centre", "ellipticite", "angle_pos", "concentration", "m200", "z_lens"]
    assert "\tprofil 12\n" in block and "\tellipticite 0.23456789\n" in block and "\tangle_pos 25.123456789\n" in block
    assert "\tellipticite 1 0.1 0.4 0.0\n" in text and "\tangle_pos 3 25.0 3.0 0.0\n" in text
    assert_same(read_par(tmp_path / "enfw.par"), model)


def test_potfile_core_prior_and_forme_round_trip_in_plain_lenstool_format(tmp_path):
    """A free r_core_ref is written 'core 1 lo hi' (Lenstool reads every potfile parameter as 'flag v1 v2'),
    a fixed one 'core 0 value', and the [fit] forme is the image block's forme."""
    model = quiet(read_par, DATA / "A2744_SLspec.par")
    records = {name: [r.model_dump(exclude_none=True) for r in model.rows(name)] for name in model.tables}
    core = {t.name: t.relation for t in model.tiers}["new_potfile_with_ASTRODEEP_data"].r_core_ref
    prior = {"family": "scaling_relations", "galaxy": "new_potfile_with_ASTRODEEP_data", "parameter": "r_core_ref",
             "prior": "uniform", "lower": core, "upper": 0.1}  # Lenstool starts a free parameter at value1
    dataset = {**model.dataset.model_dump(exclude_none=True), "fit": {"likelihood": "lenstool", "forme": -1}}
    at = 1 + next(k for k, p in enumerate(records["priors"])  # the order Lenstool's block gives: sigma, core, cut
                  if (p["galaxy"], p["parameter"]) == (prior["galaxy"], "sigma_ref"))
    priors = [*records["priors"][:at], prior, *records["priors"][at:]]
    free = ClusterModel.from_records({**records, "priors": priors}, dataset)
    positions = source_positions(free, -1)  # forme -1 puts each source at the plain mean of its back-traced images
    positions = {name: [round_significant(v, MAX_IMPORT_DIGITS) for v in xy] for name, xy in positions.items()}
    sources = [{**s, "x": positions[s["name"]][0], "y": positions[s["name"]][1]} for s in records["source_point"]]
    free = ClusterModel.from_records({**records, "priors": priors, "source_point": sources}, dataset)
    text = write_par(free, tmp_path / "free.par").read_text()
    assert f"\tcore 1 {core!r} 0.1\n" in text and "\tcore 0 0.0 0.0\n" in text and "\tforme -1\n" in text
    assert "#clusterlens-" not in text
    assert_same(quiet(read_par, tmp_path / "free.par"), free)


def test_multiplane_model_round_trips_with_z_lens_per_potentiel_and_potfile(tmp_path):
    records = two_plane_records()
    for member in records["scaling_galaxies"][:3]:
        member["tier"] = "background"
    for member in records["scaling_galaxies"][3:]:
        member["tier"] = "members"
    records["scaling_relations"].append({**records["scaling_relations"][0], "tier": "background", "sigma_ref": 120.0})
    model = with_exact_images(ClusterModel.from_records(records, LENSMODELS_DATASET))
    assert model.is_multiplane
    # Lenstool's statistic and source positions through both planes: zero at the exact images
    assert image_plane_chi2(model).chi2 == pytest.approx(0.0, abs=1e-10)
    for point in model.source_points:
        assert source_positions(model, -2)[point.name] == pytest.approx((point.x, point.y), abs=1e-8)
    path = quiet(write_par, model, tmp_path / "two_planes.par")
    text = path.read_text()
    assert re.findall(r"^\tz_lens (\S+)", text, flags=re.M).count("0.8") == 2
    assert re.findall(r"^\tzlens (\S+)", text, flags=re.M) == ["0.35", "0.8"]
    back = quiet(read_par, path)
    assert back.lens_redshifts == (0.35, 0.8)
    assert_same(back, model)


def test_a_tier_on_two_planes_cannot_be_written(tmp_path):
    model = ClusterModel.from_records(two_plane_records(), LENSMODELS_DATASET)
    with pytest.raises(LenstoolError, match="one zlens"):
        quiet(write_par, model, tmp_path / "out.par")
