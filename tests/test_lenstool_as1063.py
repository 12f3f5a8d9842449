"""The real Abell S1063 (CATS gold) Lenstool analysis: its optimisation file imports unedited (older
``omega`` / ``lambda`` cosmology keywords, multi-word potential labels), and with the values of
Lenstool's result (best.par, or bestopt.par) scores Lenstool's own image-plane chi2 (best.par header
``Chi2pos: 48.851984``) within 1%."""
import hashlib
import re
import warnings
from pathlib import Path

import pytest

from clusterlens import load_model
from clusterlens.cli import main
from clusterlens.lenstool import LenstoolWarning, read_par
from clusterlens.lenstool.chi2 import image_plane_chi2
from lensmodels import assert_every_observed_image_is_reproduced

DATA = Path(__file__).parent / "data" / "as1063"
OPT, BEST, BESTOPT = DATA / "SMACS2248_HFF_NE.par", DATA / "best.par", DATA / "bestopt.par"


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        return function(*args, **kwargs)


def header_chi2pos(path):
    return float(re.search(r"^#Chi2pos: (\S+)", path.read_text(), flags=re.M).group(1))


def test_data_files_are_unmodified_copies():
    table = dict(re.findall(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", (DATA / "PROVENANCE.md").read_text(), flags=re.M))
    assert len(table) == 6
    for name, digest in table.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_optimisation_file_imports_unedited_and_validates(tmp_path, capsys):
    assert "\tomega     0.300\n" in OPT.read_text() and "\tlambda    0.700\n" in OPT.read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        assert main(["import-lenstool", str(OPT), "--out", str(tmp_path / "opt")]) == 0
    assert main(["validate", str(tmp_path / "opt")]) == 0
    model = load_model(tmp_path / "opt")
    assert (model.dataset.cosmology.H0, model.dataset.cosmology.Om0, model.dataset.cosmology.Ode0) == (70.0, 0.3, None)
    assert (model.dataset.fit.likelihood, model.dataset.fit.forme) == ("lenstool", -2)
    assert [r.galaxy for r in model.host_halo + model.main_galaxies] == \
        ["1 cluster pot", "5 2nd clump", "2 external shear", "3 BCG 11464"]
    assert len(model.tiers) == 1 and len(model.tiers[0].members) == 260
    assert len(model.point_datasets) == 50 and len(model.source_points) == 19
    sigma = {(p.galaxy, p.parameter): p for p in model.priors}[("ref_potential_w_clumpNE", "sigma_ref")]
    assert (sigma.prior, sigma.mean, sigma.sigma) == ("normal", 158.0, 27.0)  # 'sigma 3 158. 27. 250.'


@pytest.mark.parametrize("values", [BEST, BESTOPT])
def test_values_of_lenstools_result_score_its_chi2_within_one_percent(tmp_path, values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        assert main(["import-lenstool", str(OPT), "--values", str(values), "--out", str(tmp_path / "m")]) == 0
    assert main(["validate", str(tmp_path / "m")]) == 0
    model = load_model(tmp_path / "m")
    cluster = model.host_halo[0]
    assert (cluster.galaxy, cluster.sigma, cluster.angle) == ("1 cluster pot", 1223.737326, -36.014434)  # O1
    clump = {r.galaxy: r for r in model.host_halo}["5 2nd clump"]
    assert (clump.x, clump.y, clump.sigma) == (-20.163718, 29.326486, 203.189436)  # O4: the 4th potentiel
    assert model.tiers[0].relation.sigma_ref == pytest.approx(100.110634, rel=1e-7)
    assert len(model.priors) == 11  # the optimisation file's priors
    chi2 = image_plane_chi2(model, barycentre="magnification").chi2
    assert chi2 == pytest.approx(header_chi2pos(BEST), rel=0.01)


def test_imported_sources_reproduce_every_observed_image():
    model = quiet(read_par, OPT, values=BEST)
    assert_every_observed_image_is_reproduced(model, 1.5)  # the largest residual at best.par's values: 1.22"
