"""The command line: help lists every command; Lenstool import/export round trip; no traceback on bad input."""
import subprocess
import sys
from pathlib import Path

import pytest

from clusterlens import load_model
from clusterlens.cli import main

DATA = Path(__file__).parent / "data" / "a2744"


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "clusterlens.cli", "--help"], capture_output=True, text=True).stdout
    for command in ("validate", "show", "run", "simulate", "fit", "import-lenstool", "export-lenstool", "schemas"):
        assert command in out, command


def test_import_export_lenstool_round_trip(tmp_path, capsys):
    assert main(["import-lenstool", str(DATA / "best.par"), "--images", str(DATA / "img_mul_constraints.cat"),
                 "--position-sigma", "0.5", "--out", str(tmp_path / "a2744")]) == 0
    model = load_model(tmp_path / "a2744")
    assert len(model.main_galaxies) + len(model.host_halo) == 258 and len(model.point_datasets) == 83
    assert main(["export-lenstool", str(tmp_path / "a2744"), "--out", str(tmp_path / "out" / "best.par")]) == 0
    assert main(["import-lenstool", str(tmp_path / "out" / "best.par"), "--images",
                 str(tmp_path / "out" / "best_images.cat"), "--position-sigma", "0.5", "--out", str(tmp_path / "again")]) == 0
    for path in (tmp_path / "a2744").glob("*.csv"):
        assert path.read_bytes() == (tmp_path / "again" / path.name).read_bytes(), path.name


def test_missing_file_is_one_line_error(tmp_path, capsys):
    assert main(["import-lenstool", str(tmp_path / "nope.par"), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "nope.par" in err and "Traceback" not in err


def test_export_refuses_to_overwrite_a_different_par(tmp_path, capsys):
    from conftest import EXAMPLE

    par = tmp_path / "model.par"
    par.write_text("runmode\nend\nfini\n")
    assert main(["export-lenstool", str(EXAMPLE), "--out", str(par)]) == 1
    assert "model.par" in capsys.readouterr().err and par.read_text() == "runmode\nend\nfini\n"
    assert main(["export-lenstool", str(EXAMPLE), "--out", str(par), "--overwrite"]) == 0
    assert "potentiel" in par.read_text()


def _example_copy(tmp_path):
    import shutil

    from conftest import EXAMPLE

    shutil.copytree(EXAMPLE, tmp_path / "model")
    return tmp_path / "model"


@pytest.mark.slow
def test_error_paths_are_one_message_each(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = _example_copy(tmp_path)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    (tmp_path / "foreign" / "summary.csv").write_text("mine too")
    (tmp_path / "p.csv").write_text("family,galaxy,parameter,prior,lower,upper\nmain_lens_mass,BCG,sigma,uniform,1.0,\n")
    cases = [
        (["fit", str(model), "--nlive", "20"], "no point_datasets.csv rows"),
        (["run", str(tmp_path / "missing")], "no such folder"),
        (["simulate", str(model), str(tmp_path / "foreign")], "did not write (notes.txt, summary.csv)"),
        (["show", str(model / "nope")], "no such folder"),
        (["fit", str(model), "--priors", str(tmp_path / "p.csv")], "p.csv:2"),
        (["run", str(model), "--out", str(tmp_path / "foreign")], "not a clusterlens results folder"),
    ]
    for argv, words in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (argv, err)
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "foreign" / "summary.csv").read_text() == "mine too"
