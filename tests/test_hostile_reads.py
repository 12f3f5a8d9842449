"""Reads outside and injection: the Lenstool importer reads catalogues only beside the .par, never a
device, pipe or folder, and never echoes a foreign file's content; names with newlines, ESC or formula
prefixes never reach an exported .par, the terminal or a CSV."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from clusterlens.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "datasets" / "example_cluster"
SECRET = "TOPSECRET_0123456789 1 2 3 4 5 6 x\n"
PAR = """runmode
\treference 3 10.0 -20.0
\tend
cosmologie
\tH0 70.0
\tomegaM 0.3
\tomegaX 0.7
\tend
image
\tmultfile 1 {catalogue}
\tsigposArcsec 0.3
\tend
potentiel A
\tprofil 81
\tx_centre 0.0
\ty_centre 1.0
\tellipticite 0.2
\tangle_pos 10.0
\tcore_radius 0.1
\tcut_radius 20.0
\tv_disp 200.0
\tz_lens 0.3
\tend
fini
"""


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "private" / "secret.cat"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


def _import(tmp_path, catalogue: str, capsys) -> str:
    folder = tmp_path / "par"
    folder.mkdir(exist_ok=True)
    (folder / "model.par").write_text(PAR.format(catalogue=catalogue))
    assert main(["import-lenstool", str(folder / "model.par"), "--out", str(tmp_path / "model")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "TOPSECRET" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "model").exists()
    return err


@pytest.mark.parametrize("how", ["relative", "absolute", "link-inside"])
def test_a_par_cannot_read_a_catalogue_outside_its_folder(tmp_path, secret, capsys, how):
    if how == "link-inside":
        (tmp_path / "par").mkdir()
        (tmp_path / "par" / "arcs.cat").symlink_to(secret)
        name = "arcs.cat"
    else:
        name = "../private/secret.cat" if how == "relative" else str(secret)
    before = secret.stat().st_atime_ns, secret.read_text()
    assert "outside the .par's folder" in _import(tmp_path, name, capsys)
    assert secret.read_text() == before[1]


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "/etc/shadow"])
def test_system_files_are_refused(tmp_path, capsys, target):
    assert "outside the .par's folder" in _import(tmp_path, target, capsys)


def test_a_fifo_or_a_folder_catalogue_is_refused_without_hanging(tmp_path, capsys):
    (tmp_path / "par").mkdir()
    os.mkfifo(tmp_path / "par" / "arcs.cat")
    assert "named pipe" in _import(tmp_path, "arcs.cat", capsys)
    (tmp_path / "par" / "arcs.cat").unlink()
    (tmp_path / "par" / "arcs.cat").mkdir()
    assert "a folder" in _import(tmp_path, "arcs.cat", capsys)


def test_an_unparsable_catalogue_is_quoted_short_and_escaped(tmp_path, capsys):
    (tmp_path / "par").mkdir()
    (tmp_path / "par" / "arcs.cat").write_text("\x1b[2J" + "A" * 500 + " 1 2 3 4 5 6 x\n")
    err = _import(tmp_path, "arcs.cat", capsys)
    assert "\x1b" not in err and "A" * 21 not in err and "columns 2-8 must be numbers" in err


@pytest.fixture
def model(tmp_path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(EXAMPLE, folder)
    return folder


@pytest.mark.parametrize("name", ['"BCG\npotentiel X"', "BCG\x1b]0;owned\x07", "=HYPERLINK(\"http://x\")"])
def test_injected_names_reach_no_export_display_or_csv(model, tmp_path, capsys, name):
    path = model / "main_lens_mass.csv"
    path.write_text(path.read_text().replace("BCG,dPIE", f"{name},dPIE", 1))
    for argv in (["export-lenstool", str(model), "--out", str(tmp_path / "out" / "m.par")], ["show", str(model)],
                 ["simulate", str(model), str(tmp_path / "sim")]):
        assert main(argv) == 1
        captured = capsys.readouterr()
        assert "\x1b" not in captured.out + captured.err and "\x07" not in captured.err
        assert "potentiel X\n" not in captured.err and "main_lens_mass.csv:" in captured.err
    assert not (tmp_path / "out").exists() and not (tmp_path / "sim").exists()
