"""The rounding rule of computed CSV numbers (clusterlens.cell_text): imported Lenstool values keep the
significant digits of their source (+2, 6 to 12), fitted values the digits their posterior width justifies;
the imported A2744 model scores Lenstool's chi2 as before and its field shows every image and lens."""
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import clusterlens.lenstool.importer as importer
from clusterlens.cell_text import (
    MAX_IMPORT_DIGITS,
    SIGMA_FRACTION,
    import_digits,
    round_significant,
    round_to_width,
    significant_digits,
)
from clusterlens.fit.results import fitted_values
from clusterlens.lenstool import LenstoolWarning, read_par, write_par
from clusterlens.lenstool.chi2 import image_plane_chi2
from clusterlens.model import model_files

DATA = Path(__file__).parent / "data" / "a2744"
BEST, IMAGES = DATA / "best.par", DATA / "img_mul_constraints.cat"


def quiet_read(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        return read_par(*args, **kwargs)


def test_significant_digits_of_source_text():
    assert [significant_digits(t) for t in ("0.0250", "-30.400000", "1e15", "1500", ".5", "0", "mul.cat")] == \
        [3, 8, 1, 4, 1, 1, 0]
    assert [import_digits(d) for d in (0, 3, 7, 15)] == [6, 6, 9, 12]
    assert round_significant(0.25039819510236233, 6) == 0.250398
    assert round_significant(math.pi, 17) == math.pi and round_significant(math.inf, 3) == math.inf


@pytest.mark.parametrize("value, width", [(0.25039819510236233, 0.013), (1.2345678912345e15, 3.1e13),
                                          (-317.8503184459115, 41.0), (5e-4, 0.1), (12.0, 0.0)])
def test_fitted_values_move_by_less_than_a_thousandth_of_the_width(value, width):
    rounded = round_to_width(value, width)
    assert abs(rounded - value) <= 0.5 * SIGMA_FRACTION * width
    assert len(repr(rounded)) <= len(repr(value))
    if width > 0:  # one more digit would be finer than needed: the last kept place is >= 1e-4 width
        assert abs(rounded - round_to_width(rounded, 10 * width)) <= 5 * SIGMA_FRACTION * width
    np.testing.assert_array_equal(fitted_values(np.array([value]), np.array([width])), [rounded])


def test_imported_a2744_has_no_binary_noise_and_the_same_chi2(monkeypatch):
    rounded = quiet_read(BEST, images=IMAGES, position_sigma=0.5)
    numbers = [w for text in model_files(rounded).values()
               for w in re.findall(r"-?\d[\d.]*(?:e[+-]?\d+)?", text.decode())]
    assert max(significant_digits(w) for w in numbers) <= MAX_IMPORT_DIGITS
    monkeypatch.setattr(importer, "import_digits", lambda digits: 17)  # the import without rounding
    exact = quiet_read(BEST, images=IMAGES, position_sigma=0.5)
    assert model_files(exact) != model_files(rounded)
    chi2_rounded, chi2_exact = image_plane_chi2(rounded).chi2, image_plane_chi2(exact).chi2
    assert chi2_rounded == pytest.approx(150.084066, rel=0.02)  # Lenstool's Chi2pos, as in test_lenstool_a2744
    assert chi2_rounded == pytest.approx(chi2_exact, rel=1e-6)


def test_imported_field_shows_every_image_and_lens_and_the_par_round_trips(tmp_path):
    model = quiet_read(BEST, images=IMAGES, position_sigma=0.5)
    imaging = model.dataset.imaging
    half = imaging.shape[0] * imaging.pixel_scale / 2
    assert imaging.shape[0] == imaging.shape[1] and half > 20.0
    xy = [(p.x, p.y) for p in model.rows("point_datasets")] + \
        [(r.x, r.y) for r in (*model.host_halo, *model.main_galaxies) if getattr(r, "x", None) is not None]
    assert all(abs(x - imaging.center_x) < half and abs(y - imaging.center_y) < half for x, y in xy)
    first = write_par(model, tmp_path / "first" / "a2744.par")
    second = write_par(quiet_read(first), tmp_path / "second" / "a2744.par")
    assert "#clusterlens-" not in first.read_text()
    assert sorted(p.name for p in first.parent.iterdir()) == sorted(p.name for p in second.parent.iterdir())
    for path in first.parent.iterdir():  # the .par and its catalogues, byte for byte
        assert path.read_bytes() == (second.parent / path.name).read_bytes(), path.name
