"""JSON Schemas stay in sync with the pydantic rows; printing shows every CSV column with its unit."""
import json

from clusterlens import load_model
from clusterlens.cli import main
from clusterlens.schemas import schema_texts
from conftest import EXAMPLE, ROOT


def test_committed_schemas_are_current():
    expected = schema_texts()
    folder = ROOT / "schemas"
    on_disk = {p.name: p.read_text() for p in folder.glob("*.schema.json")}
    assert set(on_disk) == set(expected), "run `python -m clusterlens.schemas` to regenerate schemas/"
    stale = [n for n in expected if on_disk[n] != expected[n]]
    assert not stale, f"schemas drifted from the pydantic rows: {stale}; run `python -m clusterlens.schemas`"


def test_schema_has_profiles_and_units():
    schema = json.loads(schema_texts()["main_lens_mass.schema.json"])
    text = json.dumps(schema)
    for word in ("dPIE", "SIE", "NFW", "ExternalShear", "km/s", "arcsec", "Msun"):
        assert word in text


def test_print_shows_columns_units_and_free_cells():
    model = load_model(EXAMPLE)
    text = str(model)
    for word in ("main_lens_mass.csv", "sigma", "[km/s]", "BCG", "r_cut", "[arcsec]", "160 rows summarised",
                 "free cell", "sigma_ref ~ uniform(100.0, 250.0)"):
        assert word in text, word
    assert "<table" in model._repr_html_() or "<pre" in model._repr_html_()


def test_show_all_lists_every_member(capsys):
    assert main(["show", "--all", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "m001" in out and "m160" in out


def test_model_stitches_families():
    model = load_model(EXAMPLE)
    assert [g.galaxy for g in model.main_galaxies][:3] == ["BCG", "G2", "G3"]
    assert model.host_halo[0].profile == "NFW"
    assert len(model.tiers) == 1 and len(model.tiers[0].members) == 160
    assert set(model.galaxies["src1"]) == {"source_light", "source_point"}
    assert model.reference == (64.0381, -24.0675)
    assert abs(model.cosmology.H0.value - 67.66) < 0.01
