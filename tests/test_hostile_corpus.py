"""A corpus of distinct bad inputs: each one, run through the CLI in this process, exits 1 with located
messages (every problem names its file), no traceback, and leaves every file of the folder as it was."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from clusterlens.cli import main
from clusterlens.input_files import MAX_CSV_BYTES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "datasets" / "example_cluster"

# file -> (the row the corruptions edit, its numeric columns)
ROWS = {
    "host_halo.csv": (1, ["x", "y", "redshift", "m200", "concentration"]),
    "main_lens_mass.csv": (1, ["x", "y", "redshift", "q", "angle", "sigma", "r_core", "r_cut"]),
    "scaling_relations.csv": (1, ["mag_ref", "sigma_ref", "r_core_ref", "r_cut_ref", "sigma_slope",
                                  "r_core_slope", "r_cut_slope"]),
    "scaling_galaxies.csv": (1, ["x", "y", "mag", "q", "angle"]),
    "source_point.csv": (1, ["x", "y", "redshift", "flux"]),
    "source_light.csv": (1, ["x", "y", "q", "angle", "intensity", "effective_radius", "sersic_index"]),
    "priors.csv": (1, ["lower", "upper"]),
}
#: Values no cell of the columns above may take (range limits, non-finite, not a number).
BAD_NUMBERS = ["1e308", "nan", "12abc"]


def set_cell(folder: Path, name: str, row: int, column: str, value: str) -> None:
    lines = (folder / name).read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    (folder / name).write_text("\n".join(lines) + "\n")


def replace_text(name: str, old: str, new: str):
    def mutate(folder: Path) -> None:
        text = (folder / name).read_text()
        assert old in text, (name, old)
        (folder / name).write_text(text.replace(old, new, 1))
    return mutate


def replace_file(name: str, make):
    def mutate(folder: Path) -> None:
        path = folder / name
        path.unlink()
        make(path, folder)
    return mutate


def _sparse(path: Path, folder: Path) -> None:
    with open(path, "wb") as handle:
        handle.truncate(MAX_CSV_BYTES + 1)


def _binary(path: Path, folder: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


KINDS = {
    "fifo": lambda path, folder: os.mkfifo(path),
    "folder": lambda path, folder: path.mkdir(),
    "dangling-link": lambda path, folder: path.symlink_to(folder / "nowhere.csv"),
    "link-loop": lambda path, folder: path.symlink_to(path),
    "dev-zero": lambda path, folder: path.symlink_to("/dev/zero"),
    "empty": lambda path, folder: path.write_bytes(b""),
    "binary": _binary,
    "not-utf8": lambda path, folder: path.write_bytes(b"galaxy,x\n\xff\xfe,1\n"),
}

NAME_INJECTIONS = {
    "newline": '"BCG\nG9"', "escape": "BCG\x1b[2J", "formula-eq": "=HYPERLINK(\"http://x\")", "formula-plus": "+cmd",
    "formula-minus": "-2+3", "formula-at": "@SUM(A1)", "nul": "BC\x00G", "too-long": "B" * 300,
    "huge-cell": "B" * 5000, "line-separator": "BCG\u2028x",
}

DATASET_EDITS = {
    "name-newline": ('name = "example_cluster"', 'name = "a\\nb"'),
    "name-escape": ('name = "example_cluster"', 'name = "a\\u001b[2Jb"'),
    "name-too-long": ('name = "example_cluster"', 'name = "' + "n" * 300 + '"'),
    "pixel-scale-huge": ("pixel_scale = 0.2", "pixel_scale = 1e300"),
    "pixel-scale-zero": ("pixel_scale = 0.2", "pixel_scale = 0.0"),
    "exposure-huge": ("exposure_time = 3000.0", "exposure_time = 1e308"),
    "exposure-nan": ("exposure_time = 3000.0", "exposure_time = nan"),
    "background-huge": ("background = 0.5", "background = 1e300"),
    "read-noise-huge": ("read_noise = 4.0", "read_noise = 1e300"),
    "psf-fwhm-huge": ("psf_fwhm = 0.15", "psf_fwhm = 1e300"),
    "psf-even": ("psf_size = 21", "psf_size = 20"),
    "center-huge": ("center_x = 0.0", "center_x = 1e308"),
    "oversampling-zero": ("oversampling = 3", "oversampling = 0"),
    "no-big-bang": ('name = "Planck18"', "H0 = 70.0\nOm0 = 0.05\nOde0 = 1.9"),
    "H0-nan": ('name = "Planck18"', "H0 = nan\nOm0 = 0.3"),
    "unknown-cosmology": ('name = "Planck18"', 'name = "Planck99"'),
    "ra-out-of-range": ("ra = 64.0381", "ra = 400.0"),
    "dec-out-of-range": ("dec = -24.0675", "dec = 91.0"),
    "bad-toml": ("[reference]", "[reference"),
    "position-sigma-huge": ("position_sigma = 0.04", "position_sigma = 1e300"),
    "time-delay-sigma-zero": ("time_delay_sigma = 1.0", "time_delay_sigma = 0.0"),
    "unknown-key": ("read_noise = 4.0", "read_noise = 4.0\nreadnoise = 4.0"),
}

PRIOR_EDITS = {
    "q-outside-support": "main_lens_mass,BCG,q,uniform,-1.0,3.0",
    "r_cut-outside-support": "main_lens_mass,BCG,r_cut,uniform,-100.0,100.0",
    "concentration-above-100": "host_halo,halo,concentration,uniform,2.0,1000.0",
    "angle-outside": "main_lens_mass,G2,angle,uniform,-1000.0,90.0",
    "gamma-above-one": "main_lens_mass,shear,gamma,uniform,0.0,1.5",
    "sigma-negative-lower": "main_lens_mass,G2,sigma,uniform,-10.0,300.0",
    "loguniform-m200-huge": "host_halo,halo,m200,loguniform,1e14,1e300",
    "truncnormal-outside": "main_lens_mass,G3,q,truncnormal,0.5,2.0",
    "unknown-family": "lens,BCG,sigma,uniform,1.0,2.0",
    "not-numeric": "main_lens_mass,G3,profile,uniform,1.0,2.0",
    "unknown-galaxy": "main_lens_mass,G99,sigma,uniform,1.0,2.0",
    "fixed-cell": "source_point,s1,x,uniform,1.0,2.0",
    "lower-above-upper": "main_lens_mass,G3,sigma,uniform,300.0,200.0",
    "unknown-prior": "main_lens_mass,G3,sigma,flat,100.0,200.0",
    "formula-name": "main_lens_mass,=cmd(),sigma,uniform,100.0,200.0",
}


def _cases() -> dict:
    cases = {}
    for name, (row, columns) in ROWS.items():
        for column in columns:
            for value in BAD_NUMBERS:
                cases[f"{name}:{column}={value}"] = lambda f, n=name, r=row, c=column, v=value: set_cell(f, n, r, c, v)
    for kind, make in KINDS.items():
        for name in ("main_lens_mass.csv", "source_point.csv", "dataset.toml"):
            cases[f"{name}-is-{kind}"] = replace_file(name, make)
    cases["main_lens_mass.csv-too-large"] = replace_file("main_lens_mass.csv", _sparse)
    for kind, value in NAME_INJECTIONS.items():
        cases[f"galaxy-name-{kind}"] = replace_text("main_lens_mass.csv", "BCG,dPIE", f"{value},dPIE")
        cases[f"member-name-{kind}"] = replace_text("scaling_galaxies.csv", "m001,", f"{value},")
    for kind, (old, new) in DATASET_EDITS.items():
        cases[f"dataset-{kind}"] = replace_text("dataset.toml", old, new)
    cases["dataset-oversampling-17"] = replace_text("dataset.toml", "oversampling = 3", "oversampling = 17")
    cases["dataset-shape-huge"] = replace_text("dataset.toml", "    450,\n    450,", "    8192,\n    8192,")
    for kind, row in PRIOR_EDITS.items():
        cases[f"prior-{kind}"] = replace_text("priors.csv", "host_halo,halo,x,uniform,-5.0,5.0", row)
    cases["q-1e-300"] = lambda f: set_cell(f, "main_lens_mass.csv", 1, "q", "1e-300")
    cases["r_cut-1e300"] = lambda f: set_cell(f, "main_lens_mass.csv", 1, "r_cut", "1e300")
    cases["luminosity-1e308"] = replace_text("scaling_galaxies.csv", "galaxy,x,y,mag,q,angle\nm001,42.798,2.647,18.212",
                                             "galaxy,x,y,mag,q,angle,luminosity\nm001,42.798,2.647,,")
    return cases


CASES = _cases()


def test_the_corpus_is_large():
    assert len(CASES) >= 150


def snapshot(folder: Path) -> dict:
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            state[path.name] = ("link", os.readlink(path))
        elif path.is_file():
            state[path.name] = path.read_bytes() if path.stat().st_size < 10 ** 6 else path.stat().st_size
        else:
            state[path.name] = "other"
    return state


@pytest.fixture
def folder(tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(EXAMPLE, copy)
    return copy


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_1_with_located_messages_and_changes_nothing(case, folder, capsys):
    CASES[case](folder)
    before = snapshot(folder)
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "\x1b" not in err and "\x00" not in err
    lines = err.strip().splitlines()
    assert lines and lines[0].endswith("in the model input:"), err
    problems = lines[1:]
    assert problems and all(line.startswith(f"  {folder}{os.sep}") for line in problems), err
    assert all(len(line) < 600 for line in problems), "a message echoes too much"
    assert snapshot(folder) == before


@pytest.mark.parametrize("name", ["priors.csv", "point_datasets.csv", "--priors"])
def test_a_header_only_priors_or_images_file_is_one_error_naming_it(name, tiny_dataset, tmp_path, capsys):
    """validate and simulate accept a header-only priors.csv or point_datasets.csv (no free parameters, no
    images: a valid model); fit needs rows and says so in one line naming the file, writing nothing."""
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    target = tmp_path / "p.csv" if name == "--priors" else data / name
    source = data / ("priors.csv" if name == "--priors" else name)
    target.write_text(source.read_text().splitlines()[0] + "\n")
    assert main(["validate", str(data)]) == 0
    capsys.readouterr()
    before, out = snapshot(data), tmp_path / "fit"
    extra = ["--priors", str(target)] if name == "--priors" else []
    assert main(["fit", str(data), "--out", str(out), *extra, "--nlive", "20", "--quiet", "--no-plots"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{target}: no" in err and "Traceback" not in err, err
    assert snapshot(data) == before and not out.exists()
