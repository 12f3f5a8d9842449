"""Exact round trips: files clusterlens wrote come back byte-identical; random valid rows survive write -> read."""
import filecmp
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from clusterlens import load_model, read_family, save_model, write_family
from clusterlens.csvio import format_value
from clusterlens.families import FAMILIES
from conftest import EXAMPLE


def test_example_round_trip_is_byte_identical(tmp_path):
    model = load_model(EXAMPLE)
    save_model(model, tmp_path / "a")
    names = sorted(p.name for p in EXAMPLE.iterdir() if p.suffix in {".csv", ".toml"})
    match, mismatch, errors = filecmp.cmpfiles(EXAMPLE, tmp_path / "a", names, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(names)
    save_model(load_model(tmp_path / "a"), tmp_path / "b")
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert mismatch == [] and errors == []


def test_save_refuses_to_overwrite_edited_files(tmp_path):
    model = load_model(EXAMPLE)
    save_model(model, tmp_path)
    path = tmp_path / "main_lens_mass.csv"
    path.write_text(path.read_text().replace("340.0", "341.0"))
    import pytest

    with pytest.raises(FileExistsError, match="main_lens_mass.csv"):
        save_model(model, tmp_path)
    assert "341.0" in path.read_text()
    save_model(model, tmp_path, overwrite=True)
    assert "341.0" not in path.read_text()


def test_to_dataframes_matches_csv_columns():
    frames = load_model(EXAMPLE).to_dataframes()
    assert set(frames) >= {"main_lens_mass", "host_halo", "scaling_galaxies", "priors"}
    header = (EXAMPLE / "main_lens_mass.csv").read_text().splitlines()[0].split(",")
    assert list(frames["main_lens_mass"].columns) == header
    assert frames["main_lens_mass"].loc[0, "sigma"] == 340.0
    assert len(frames["scaling_galaxies"]) == 160


def test_floats_use_shortest_round_trip_repr():
    for value in [0.1, 1 / 3, 1.2e15, 2.5e-7, -0.0, 123456.789, 5e-324, 1.7976931348623157e308]:
        text = format_value(value)
        assert float(text) == value and math.copysign(1, float(text)) == math.copysign(1, value)
    assert format_value(0.1) == "0.1" and format_value(1.2e15) == "1.2e+15"


# ---------------------------------------------------------------- property test over every family
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
name = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,11}", fullmatch=True)


def value_for(field):
    """A strategy for one field's valid numbers, within the constraints declared on the pydantic field."""
    from annotated_types import Ge, Gt, Le, Lt

    lo, hi, lo_open, hi_open = -1e6, 1e6, False, False
    for meta in field.metadata:
        if isinstance(meta, Ge):
            lo = meta.ge
        elif isinstance(meta, Gt):
            lo, lo_open = meta.gt, True
        elif isinstance(meta, Le):
            hi = meta.le
        elif isinstance(meta, Lt):
            hi, hi_open = meta.lt, True
    return st.floats(min_value=lo, max_value=hi, exclude_min=lo_open, exclude_max=hi_open,
                     allow_nan=False, allow_infinity=False)


def literals(annotation) -> list[str]:
    """The values of the Literal inside ``annotation`` (``Literal[...] | None``)."""
    from typing import Literal, get_args, get_origin

    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [v for arg in get_args(annotation) for v in literals(arg)]


#: The rules the rows' model validators add to the per-column ranges (rows.py, registry/*.py, columns.py):
EXACTLY_ONE = [("concentration", "mc_relation"), ("mag", "luminosity")]
BOTH_OR_NEITHER = [("flux", "flux_sigma"), ("time_delay", "time_delay_sigma")]
CORE_BELOW_CUT = [("r_core", "r_cut"), ("r_core_ref", "r_cut_ref")]


@st.composite
def consistent_row(draw, values: dict, optional: set):
    """A row of the column strategies ``values`` (never None; ``optional`` columns may be blank) that also
    obeys the cross-column rules above, so that every drawn row is valid."""
    row = {c: None if c in optional and draw(st.booleans()) else draw(v) for c, v in values.items()}
    for a, b in EXACTLY_ONE:
        if a in row and b in row:
            filled = draw(st.sampled_from([a, b]))
            row[a if filled == b else b] = None
            row[filled] = draw(values[filled])
    for a, b in BOTH_OR_NEITHER:
        if a in row and b in row and (row[a] is None) != (row[b] is None):
            row[a], row[b] = draw(values[a]), draw(values[b])
    for core, cut in CORE_BELOW_CUT:
        if core in row and cut in row and row[core] >= row[cut]:
            row[core], row[cut] = row[cut], row[core]
            if row[core] == row[cut]:
                row[core] = row[cut] / 2  # r_cut > 0: half of it is a smaller valid core (0 at the least)
    return row


def row_strategy(family):
    strategies = []
    for profile, cls in family.variants.items():
        values, optional = {}, set()
        for column, field in cls.model_fields.items():
            if column == "profile":
                values[column] = st.just(profile or "dPIE")
            elif column in ("galaxy", "name", "image", "tier", "parameter", "family"):
                values[column] = name
            elif column == "prior":
                continue
            elif literals(field.annotation):
                values[column] = st.sampled_from(literals(field.annotation))
            elif field.annotation in (float, ) or "float" in str(field.annotation):
                values[column] = value_for(field)
            else:
                continue
            if not field.is_required():
                optional.add(column)
        strategies.append((cls, consistent_row(values, optional)))
    return strategies


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_valid_rows_survive_write_read(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("prop")
    for family in FAMILIES.values():
        if family.name == "priors":
            rows = [FAMILIES["priors"].variants[None].model_validate(
                {"family": "host_halo", "galaxy": data.draw(name), "parameter": "x", "prior": "uniform",
                 "lower": data.draw(st.floats(-10, 0)), "upper": data.draw(st.floats(1, 10))})]
        else:
            rows = []
            for cls, strategy in row_strategy(family):
                rows += [cls.model_validate(row) for row in data.draw(st.lists(strategy, min_size=0, max_size=3))]
        keys = set()
        unique = []
        for row in rows:
            key = tuple(getattr(row, k) for k in family.key)
            if key not in keys:
                keys.add(key)
                unique.append(row)
        path = write_family(unique, folder / family.filename)
        back = read_family(path)
        assert list(back.rows) == unique
        WRITTEN[family.name] += len(unique)


WRITTEN = {name: 0 for name in FAMILIES}


def test_property_test_covered_every_family():
    """The property test above drew valid non-empty rows of every family (runs after it)."""
    import pytest

    if not any(WRITTEN.values()):
        pytest.skip("run together with test_random_valid_rows_survive_write_read")
    assert all(count > 0 for count in WRITTEN.values()), WRITTEN

def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        save_model(load_model(EXAMPLE), tmp_path)
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "main_lens_mass.csv").stat().st_mode) == 0o644
    assert not list(tmp_path.glob(".*.tmp"))


def test_save_refuses_to_leave_a_family_the_model_does_not_have(tmp_path):
    import pytest

    model = load_model(EXAMPLE)
    save_model(model, tmp_path)
    smaller = type(model)({k: v for k, v in model.tables.items() if k != "priors"}, model.dataset)
    with pytest.raises(FileExistsError, match="remove priors.csv"):
        save_model(smaller, tmp_path)
    save_model(smaller, tmp_path, overwrite=True)
    assert not (tmp_path / "priors.csv").exists()
    assert load_model(tmp_path).priors == ()
