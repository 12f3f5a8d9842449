"""How models, family tables and fit results show themselves: a short repr, text tables returned by str
(nothing printed), an HTML fragment for notebooks; and a real notebook executed by nbconvert."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from clusterlens import load_model
from clusterlens.fit import read_results
from conftest import EXAMPLE, ROOT

LABELS = ["host_halo.halo.m200", "main_lens_mass.BCG.sigma"]


def _fit_folder(folder: Path) -> Path:
    """A small results folder in the format write_results writes (samples, summary, summary.json)."""
    folder.mkdir()
    pd.DataFrame({LABELS[0]: [9.9e14, 1.01e15, 1.0e15], LABELS[1]: [318.0, 321.0, 319.5],
                  "log_likelihood": [-12.9, -12.5, -12.4]}).to_csv(folder / "samples.csv", index=False)
    pd.DataFrame([
        dict(label=LABELS[0], family="host_halo", galaxy="halo", parameter="m200", unit="Msun", median=1.0e15,
             p16=0.99e15, p84=1.01e15, **{"p2.5": 0.98e15, "p97.5": 1.02e15}, max_likelihood=1.0e15, truth=1e15),
        dict(label=LABELS[1], family="main_lens_mass", galaxy="BCG", parameter="sigma", unit="km/s", median=319.5,
             p16=318.0, p84=321.0, **{"p2.5": 316.0, "p97.5": 323.0}, max_likelihood=319.5, truth=320.0),
    ]).to_csv(folder / "summary.csv", index=False)
    info = {"likelihood": "source", "sampler": {"nlive": 30}, "labels": LABELS, "log_evidence": -26.34,
            "log_evidence_error": 0.71, "niter": 584, "n_samples": 614, "n_effective": 157.2,
            "likelihood_calls": 2979, "max_likelihood": {"chi2": {"chi2": 20.9, "n_images": 9, "dof": 15}}}
    (folder / "summary.json").write_text(json.dumps(info))
    return folder


def test_model_repr_is_a_short_summary_and_str_returns_the_tables(capsys):
    model = load_model(EXAMPLE)
    summary = repr(model)
    assert len(summary.splitlines()) < 25 and len(summary) < 2000
    for word in ("example_cluster", "z_lens 0.4", "main_lens_mass.csv: 4 rows (dPIE 3, ExternalShear 1)",
                 "scaling_galaxies.csv: 160 rows", "10 free cell(s)", "main_lens_mass.BCG.sigma"):
        assert word in summary, word
    text = str(model)
    assert "main_lens_mass.csv - " in text and "[km/s]" in text and "340.0*" in text
    assert capsys.readouterr().out == ""  # str and repr print nothing


def test_model_html_is_a_fragment_with_one_table_per_family():
    model = load_model(EXAMPLE)
    fragment = model._repr_html_()
    assert fragment.startswith('<div class="clusterlens">')
    for page_part in ("<!DOCTYPE", "<html", "<body", "<style"):
        assert page_part not in fragment
    assert fragment.count("<table") == len(model.tables)
    assert 'title="uniform(200.0, 500.0)">340.0*</td>' in fragment  # a free cell shows its prior


def test_show_prints_every_member_with_all(capsys):
    model = load_model(EXAMPLE)
    model.show()
    assert "160 rows summarised" in capsys.readouterr().out
    model.show(all=True)
    out = capsys.readouterr().out
    assert "m001" in out and "m160" in out
    assert max(len(line) for line in out.splitlines()) > 80  # a pipe gets the tables' natural width


def test_family_table_shows_itself(capsys):
    table = load_model(EXAMPLE).tables["main_lens_mass"]
    assert repr(table).startswith("<FamilyTable main_lens_mass.csv: 4 rows (dPIE 3, ExternalShear 1) from ")
    assert "G3" in str(table) and "[km/s]" in str(table)
    assert table._repr_html_().count("<table") == 1
    assert capsys.readouterr().out == ""


def test_dataset_settings_show_themselves():
    dataset = load_model(EXAMPLE).dataset
    assert repr(dataset).startswith("<DatasetConfig example_cluster: reference RA 64.0381 Dec -24.0675 deg, "
                                    "cosmology Planck18, imaging 450x450 pixels of 0.2 arcsec")
    assert str(dataset) == (EXAMPLE / "dataset.toml").read_text()
    assert dataset._repr_html_().startswith('<div class="clusterlens"><pre>name = &quot;example_cluster&quot;')


def test_fit_result_shows_itself(tmp_path, capsys):
    result = read_results(_fit_folder(tmp_path / "fit"))
    summary = repr(result)
    assert summary.startswith(f"<FitResult {tmp_path / 'fit'}>")
    assert "2 free parameters" in summary and "3 equal-weight samples (157 effective)" in summary
    assert "log Z = -26.34 +/- 0.71" in summary and len(summary) < 1000
    text = str(result)
    assert "halo m200 [Msun]" in text and "318 .. 321" in text
    fragment = result._repr_html_()
    assert fragment.count("<table") == 1 and "<!DOCTYPE" not in fragment
    assert capsys.readouterr().out == ""


@pytest.mark.extras
def test_a_notebook_shows_a_model_and_a_fit_result_once_each(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    pytest.importorskip("ipykernel")
    from nbconvert.preprocessors import ExecutePreprocessor

    fit_folder = _fit_folder(tmp_path / "fit")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                                  "import clusterlens\nfrom clusterlens.fit import read_results"),
        nbformat.v4.new_code_cell(f"model = clusterlens.load_model({str(EXAMPLE)!r})\nmodel"),
        nbformat.v4.new_code_cell(f"read_results({str(fit_folder)!r})"),
    ])
    ExecutePreprocessor(timeout=120, kernel_name="python3").preprocess(notebook, {"metadata": {"path": str(tmp_path)}})
    model_cell, result_cell = notebook.cells[1], notebook.cells[2]
    for cell in (model_cell, result_cell):
        assert [o["output_type"] for o in cell.outputs] == ["execute_result"]  # nothing printed besides
        fragment = cell.outputs[0]["data"]["text/html"]
        assert "<!DOCTYPE" not in fragment and "<style" not in fragment
    assert "<FitResult" in result_cell.outputs[0]["data"]["text/plain"]
    page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    assert page.count("<!DOCTYPE html") == 1  # the exported page's own, none from the outputs
    assert page.count("main_lens_mass.csv - individually modelled") == 1  # the model's tables appear once
    assert page.count("halo m200 [Msun]") == 1
