"""The CSV <-> Python guide: every CSV column has a visible Python counterpart.

    python workspace/csv_api.py

1. what ``point_datasets.csv`` holds (the observed multiple images a fit uses);
2. build a small cluster model in plain Python, one dict per CSV row;
3. write every family CSV, load them back, and compare cell by cell with the Python values;
4. ``priors.csv``: how a CSV cell becomes a free parameter of a fit.
Files go to ``workspace/output/csv_api/`` (rewritten on every run).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

import clusterlens
from clusterlens.csvio import format_value

console = Console(width=120)
OUT = Path(__file__).parent / "output" / "csv_api"

console.rule("1. point_datasets.csv: the observed multiple images")
console.print(
    "Each row is one observed image of a point source: `name` joins the `source_point.csv` row it belongs to,\n"
    "`image` labels the image, `x, y` are arcsec from the reference point (x positive to the West) and `sigma`\n"
    "is the positional error in arcsec. Flux and time-delay columns are optional (fill a value with its error).\n"
    "An illustrative file (the simulator writes the real one from the model):"
)
console.print(
    "  name,image,x,y,sigma,flux,flux_sigma\n"
    "  arc1,a,12.31,-3.05,0.04,41.2,2.1\n"
    "  arc1,b,-9.87,6.40,0.04,28.9,1.5\n"
    "  arc1,c,1.12,-14.2,0.04,9.3,0.6",
    markup=False, highlight=False,
)

console.rule("2. A small cluster in plain Python")
z_lens = 0.35
records = {
    "host_halo": [
        {"galaxy": "halo", "profile": "NFW", "x": 0.0, "y": 0.0, "redshift": z_lens, "m200": 8e14,
         "mc_relation": "duffy08"},
    ],
    "main_lens_mass": [
        {"galaxy": "BCG", "profile": "dPIE", "x": 0.2, "y": -0.1, "redshift": z_lens, "q": 0.8, "angle": 40.0,
         "sigma": 320.0, "r_core": 0.1, "r_cut": 30.0},
        {"galaxy": "shear", "profile": "ExternalShear", "redshift": z_lens, "gamma": 0.05, "angle": 10.0},
    ],
    "scaling_relations": [
        {"tier": "bright", "profile": "dPIE", "mag_ref": 19.0, "sigma_ref": 180.0, "r_core_ref": 0.05,
         "r_cut_ref": 10.0, "sigma_slope": 0.25, "r_core_slope": 0.5, "r_cut_slope": 0.5},
    ],
    "scaling_galaxies": [
        {"galaxy": "m1", "x": 14.0, "y": 3.0, "mag": 19.4, "q": 0.7, "angle": 15.0},
        {"galaxy": "m2", "x": -9.5, "y": 11.0, "mag": 20.8},
        {"galaxy": "m3", "x": 4.0, "y": -17.5, "luminosity": 0.4},
    ],
    "source_light": [
        {"galaxy": "arc1", "profile": "Sersic", "x": 0.8, "y": 0.5, "redshift": 2.1, "q": 0.6, "angle": 20.0,
         "intensity": 1.5, "effective_radius": 0.3, "sersic_index": 1.0},
    ],
    "source_point": [{"galaxy": "arc1", "name": "arc1", "x": 0.8, "y": 0.5, "redshift": 2.1, "flux": 10.0}],
    "point_datasets": [
        {"name": "arc1", "image": "a", "x": 12.31, "y": -3.05, "sigma": 0.04},
        {"name": "arc1", "image": "b", "x": -9.87, "y": 6.40, "sigma": 0.04},
    ],
    "priors": [
        {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "sigma", "prior": "uniform",
         "lower": 200.0, "upper": 450.0},
        {"family": "scaling_relations", "galaxy": "bright", "parameter": "sigma_ref", "prior": "normal",
         "mean": 180.0, "sigma": 20.0},
        {"family": "scaling_galaxies", "galaxy": "*", "parameter": "q", "prior": "uniform",
         "lower": 0.3, "upper": 1.0},
    ],
}
dataset = {"name": "csv_api_demo", "reference": {"ra": 3.5862, "dec": -30.4005}, "cosmology": {"H0": 70.0, "Om0": 0.3}}
model = clusterlens.ClusterModel.from_records(records, dataset)
console.print(f"ClusterModel.from_records -> {len(model.tables)} families, z_lens = {model.z_lens}, "
              f"{len(model.tiers[0].members)} members in tier '{model.tiers[0].name}'")

console.rule("3. Write every family, load it back, compare")
if OUT.exists():
    shutil.rmtree(OUT)
clusterlens.save_model(model, OUT)
for path in sorted(OUT.iterdir()):
    console.print(f"  wrote {path.relative_to(OUT.parent.parent)}")
loaded = clusterlens.load_model(OUT)

table = Table(title="CSV cell -> Python attribute (round trip)", title_justify="left")
for column in ("file", "line", "column", "CSV text", "Python attribute", "value", "same"):
    table.add_column(column)
mismatches = 0
for family, rows in records.items():
    text_rows = (OUT / f"{family}.csv").read_text().splitlines()
    header = text_rows[0].split(",")
    for line_no, (written, row) in enumerate(zip(rows, loaded.rows(family), strict=True), start=2):
        cells = dict(zip(header, text_rows[line_no - 1].split(","), strict=True))
        for column, value in written.items():
            back = getattr(row, column)
            same = back == value
            mismatches += not same
            table.add_row(f"{family}.csv", str(line_no), column, cells[column],
                          f"model.rows({family!r})[{line_no - 2}].{column}",
                          format_value(back), "yes" if same else "NO")
console.print(table)
console.print(f"{'every cell came back unchanged' if not mismatches else f'{mismatches} cells differ!'}; "
              f"the same model prints as:")
console.print(loaded)

console.rule("4. priors.csv: which cells a fit may change")
console.print(
    "Values in the model CSVs are concrete numbers: the truth for the simulator, the start and the fixed values\n"
    "for a fit. Only priors.csv frees a cell: `family` and `galaxy` (the key; `*` = every row, for\n"
    "scaling_relations the tier) pick the rows, `parameter` the column, and `prior` with\n"
    "lower/upper (uniform, loguniform), mean/sigma (normal) or all four (truncnormal) its distribution.\n"
    "Printing a model marks the freed cells with * and lists their priors (above)."
)
console.print((OUT / "priors.csv").read_text(), markup=False, highlight=False)
raise SystemExit(1 if mismatches else 0)
