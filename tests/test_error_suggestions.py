"""All of a folder's mistakes are reported at once, header problems included, each with its suggestion:
the closest column, profile, galaxy, parameter or family name, a decimal comma, the extra cell of a row."""
from __future__ import annotations

from pathlib import Path

import pytest

from clusterlens import ModelError, load_model
from clusterlens.suggest import closest, decimal_comma, did_you_mean, extra_cells, missing_cells


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    text = (folder / name).read_text()
    assert old in text, old
    (folder / name).write_text(text.replace(old, new, 1))


def test_seven_mistakes_in_one_folder_give_seven_messages_with_suggestions(example_copy):
    _edit(example_copy, "main_lens_mass.csv", "q,angle,sigma,", "q,angle,sigam,")  # a header problem
    _edit(example_copy, "main_lens_mass.csv", "G2,dPIE,-18.5,11.2,0.4,0.8,", "G2,dPIE,-18.5,11.2,0.4,0,8,")
    _edit(example_copy, "host_halo.csv", "halo,NFW", "halo,nfw")
    _edit(example_copy, "priors.csv", "main_lens_mass,BCG,r_cut", "main_lens_mass,BCG,rcut")
    _edit(example_copy, "priors.csv", "main_lens_mass,BCG,sigma", "main_lens_mass,BGC,sigma")
    _edit(example_copy, "priors.csv", "r_cut_ref,uniform,2.0,40.0", "r_cut_ref,uniform,40.0,2.0")
    _edit(example_copy, "scaling_relations.csv", "19.5", '"19,5"')
    with pytest.raises(ModelError) as info:
        load_model(example_copy)
    found = {(Path(p.file).name, p.line): p.message for p in info.value.problems}
    expected = {
        ("main_lens_mass.csv", 1): "did you mean 'sigma'?",
        ("main_lens_mass.csv", 3): "the cells '0' and '8' under 'q' look like the number 0,8 split at a decimal "
                                   "comma; write 0.8",
        ("host_halo.csv", 2): "did you mean 'NFW'?",
        ("priors.csv", 7): "did you mean 'r_cut'?",
        ("priors.csv", 6): "did you mean 'BCG'?",
        ("priors.csv", 11): "must be smaller than upper",
        ("scaling_relations.csv", 2): "write a decimal point, 19.5",
    }
    assert len(info.value.problems) == len(expected), info.value.report()
    for where, words in expected.items():
        assert words in found.get(where, ""), (where, info.value.report())


def test_a_row_problem_does_not_hide_the_other_files_cross_checks(example_copy):
    _edit(example_copy, "main_lens_mass.csv", "G2,dPIE,-18.5", "G2,dPIE,abc")
    _edit(example_copy, "priors.csv", "main_lens_mass,shear,gamma", "main_lens_mass,shaer,gamma")
    with pytest.raises(ModelError) as info:
        load_model(example_copy)
    assert [(Path(p.file).name, p.line) for p in info.value.problems] == [("main_lens_mass.csv", 3),
                                                                          ("priors.csv", 8)]
    assert "did you mean 'shear'?" in info.value.problems[1].message


def test_a_prior_on_an_invalid_row_is_not_reported_as_a_missing_galaxy(example_copy):
    _edit(example_copy, "main_lens_mass.csv", "BCG,dPIE,0.4", "BCG,dPIE,abc")
    with pytest.raises(ModelError) as info:
        load_model(example_copy)
    assert [(Path(p.file).name, p.column) for p in info.value.problems] == [("main_lens_mass.csv", "x")]


def test_a_column_missing_from_the_header_is_one_problem(example_copy):
    text = (example_copy / "main_lens_mass.csv").read_text().splitlines()
    (example_copy / "main_lens_mass.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in text) + "\n")
    with pytest.raises(ModelError) as info:
        load_model(example_copy)
    (problem,) = info.value.problems
    assert problem.line == 1 and problem.column == "gamma" and "line(s) 5 need it" in problem.message


def test_closest_names():
    assert closest("dpie", ["dPIE", "SIE", "NFW"]) == "dPIE"  # case first
    assert closest("sigam", ["sigma", "q"]) == "sigma"
    assert closest("BGC", ["BCG", "G2", "G3"]) == "BCG"
    assert closest("zzz", ["sigma", "q"]) is None
    assert did_you_mean("rcut", ["r_core", "r_cut"]) == " (did you mean 'r_cut'?)"
    assert did_you_mean("sigma", ["sigma"]) == ""  # a valid name needs no suggestion


def test_decimal_comma_and_cell_counts():
    assert decimal_comma("0,75") == ": write a decimal point, 0.75"
    assert decimal_comma("abc") == "" and decimal_comma("1,2,3") == ""
    header = ["galaxy", "x", "y"]
    assert "trailing comma" in extra_cells(header, ["a", "1.0", "2.0", ""])
    assert "are extra ('zz')" in extra_cells(header, ["a", "b", "c", "zz"])
    assert "'1' and '5' under 'x'" in extra_cells(header, ["a", "1", "5", "2.0"])
    assert missing_cells(header, ["a"]) == ": no cell for 'x', 'y'"
