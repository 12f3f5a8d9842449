"""Start here: a cluster lens model is a folder of CSV files. Simulate its data, then fit it back.

    python workspace/start_here.py

Takes about a minute. Writes to workspace/output/ (safe to delete).
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console

import clusterlens
import clusterlens.fit

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "datasets" / "example_cluster"
console = Console(width=120)


def main() -> None:
    console.rule("1. The model: one CSV per family (open them in a spreadsheet)")
    model = clusterlens.load_model(MODEL)
    console.print(f"{MODEL}: {', '.join(f'{len(t)} {name}' for name, t in model.tables.items())}")

    console.rule("2. Simulate its data (reused on the next run)")
    dataset = clusterlens.ensure_dataset(MODEL, HERE / "output" / "example_dataset", seed=2744, console=console)

    console.rule("3. Fit three parameters (the example's priors.csv frees ten: `clusterlens run` fits them all)")
    priors = [
        dict(family="host_halo", galaxy="halo", parameter="m200", prior="loguniform", lower=3e14, upper=4e15),
        dict(family="main_lens_mass", galaxy="BCG", parameter="sigma", prior="uniform", lower=200, upper=500),
        dict(family="scaling_relations", galaxy="members", parameter="sigma_ref", prior="uniform",
             lower=100, upper=250),
    ]
    result = clusterlens.fit.fit(dataset, priors=priors, out=HERE / "output" / "start_here_fit", nlive=50,
                                 resume=True, overwrite=True, console=console)

    console.rule("4. Results")
    console.print(f"posterior samples:   {result.folder / 'samples.csv'}\n"
                  f"parameter summary:   {result.folder / 'summary.csv'}\n"
                  f"best-fit model CSVs: {result.folder / 'max_likelihood'}\n"
                  f"plots:               {result.folder / 'corner.png'}, {result.folder / 'images.png'}\n"
                  "Next: python workspace/modeling.py (all ten parameters, more options explained).")


if __name__ == "__main__":  # needed: the worker processes of a parallel fit import this file
    main()
