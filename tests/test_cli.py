"""The command line: help lists every command; Lenstool import/export round trip; no traceback on bad input
unless --traceback; --version; warnings shown as one line during a command only; a quick start."""
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import clusterlens
from clusterlens import ModelError, load_model
from clusterlens.cli import main

HEAVY = ("pandas", "astropy", "scipy", "matplotlib", "numba", "dynesty")

DATA = Path(__file__).parent / "data" / "a2744"


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "clusterlens.cli", "--help"], capture_output=True, text=True).stdout
    for command in ("validate", "show", "run", "simulate", "fit", "chi2", "import-lenstool", "export-lenstool",
                    "schemas"):
        assert command in out, command


def test_import_export_lenstool_round_trip(tmp_path, capsys):
    assert main(["import-lenstool", str(DATA / "best.par"), "--images", str(DATA / "img_mul_constraints.cat"),
                 "--position-sigma", "0.5", "--out", str(tmp_path / "a2744")]) == 0
    model = load_model(tmp_path / "a2744")
    assert len(model.main_galaxies) + len(model.host_halo) == 258 and len(model.point_datasets) == 83
    assert main(["export-lenstool", str(tmp_path / "a2744"), "--out", str(tmp_path / "out" / "best.par")]) == 0
    assert main(["import-lenstool", str(tmp_path / "out" / "best.par"), "--images",
                 str(tmp_path / "out" / "best_images.cat"), "--position-sigma", "0.5",
                 "--out", str(tmp_path / "again")]) == 0
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
    (tmp_path / "p.csv").write_text("family,galaxy,parameter,prior,lower,upper\n"
                                    "main_lens_mass,BCG,sigma,uniform,1.0,\n")
    cases = [
        (["fit", str(model), "--nlive", "20"], "point_datasets.csv: no rows"),
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


@pytest.mark.parametrize("argv", [["--traceback", "show", "nowhere"], ["show", "nowhere", "--traceback"]])
def test_traceback_flag_raises_instead_of_the_one_line_message(tmp_path, capsys, argv):
    argv = [str(tmp_path / a) if a == "nowhere" else a for a in argv]
    with pytest.raises(ModelError, match="no such folder"):
        main(argv)
    assert main([a for a in argv if a != "--traceback"]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out.strip() == f"clusterlens {clusterlens.__version__}"


def test_warnings_print_as_one_line_only_while_a_command_runs(tmp_path, capsys, monkeypatch):
    import clusterlens.schemas

    def warn_and_write(out):
        warnings.warn("a word of caution", stacklevel=2)
        return []

    monkeypatch.setattr(clusterlens.schemas, "write_schemas", warn_and_write)
    before = warnings.showwarning
    assert main(["schemas", "--out", str(tmp_path)]) == 0
    assert warnings.showwarning is before
    assert "warning: a word of caution" in capsys.readouterr().err


def _modules_after(code: str) -> set[str]:
    """Top-level modules loaded by ``code`` run in a fresh interpreter."""
    script = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(run.stdout.split())


def test_import_and_help_load_no_heavy_library():
    assert not _modules_after("import clusterlens") & set(HEAVY)
    help_modules = _modules_after("from clusterlens.cli import main\ntry:\n    main(['--help'])\n"
                                  "except SystemExit:\n    pass")
    assert not help_modules & {*HEAVY, "rich"}


def test_public_names_load_on_first_use():
    assert set(clusterlens.__all__) <= set(dir(clusterlens))
    for name in clusterlens.__all__:
        assert getattr(clusterlens, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = clusterlens.no_such_name


def test_a_likelihood_bug_says_how_to_report_it(tmp_path, capsys, monkeypatch):
    import clusterlens.schemas
    from clusterlens.errors import LikelihoodError

    def broken(out):
        raise LikelihoodError("the source-plane likelihood failed at x=1.0: ValueError: oops")

    monkeypatch.setattr(clusterlens.schemas, "write_schemas", broken)
    assert main(["schemas", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "error: the source-plane likelihood failed at x=1.0" in err and "--traceback" in err
    with pytest.raises(LikelihoodError):
        main(["schemas", "--out", str(tmp_path), "--traceback"])


def test_chi2_json_of_the_imported_a2744_best_par(tmp_path, capsys):
    """Lenstool's statistic of A2744's best.par (forme -2): within 1% of its header's Chi2pos, the same as
    clusterlens.lenstool.chi2, with every key of the --json report."""
    import json
    import re

    from clusterlens.lenstool.chi2 import image_plane_chi2

    assert main(["import-lenstool", str(DATA / "best.par"), "--images", str(DATA / "img_mul_constraints.cat"),
                 "--position-sigma", "0.5", "--out", str(tmp_path / "a2744")]) == 0
    capsys.readouterr()
    assert main(["chi2", str(tmp_path / "a2744"), "--likelihood", "lenstool", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lenstool = float(re.search(r"^#Chi2pos: (\S+)", (DATA / "best.par").read_text(), flags=re.M).group(1))
    assert report["chi2"] == pytest.approx(lenstool, rel=0.01)
    assert report["chi2"] == pytest.approx(image_plane_chi2(load_model(tmp_path / "a2744")).chi2, rel=1e-12)
    assert report["dof"] == 2 * (83 - 29) and report["n_unmatched"] == 0
    assert len(report["systems"]) == 29 and len(report["images"]) == 83
    assert set(report["systems"]["1"]) == {"chi2", "rms_image", "rms_source"}
    assert sum(s["chi2"] for s in report["systems"].values()) == pytest.approx(report["chi2"])
    image = report["images"][0]
    assert set(image) == {"name", "image", "x_obs", "y_obs", "x_model", "y_model", "mu", "chi2", "matched"}
    assert image["chi2"] == pytest.approx(((image["x_model"] - image["x_obs"]) ** 2
                                           + (image["y_model"] - image["y_obs"]) ** 2) / 0.5**2)
    assert main(["chi2", str(tmp_path / "a2744"), "--likelihood", "lenstool"]) == 0
    assert "chi2 = 149.66" in capsys.readouterr().out
