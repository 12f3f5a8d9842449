"""The modelling guide: compose a cluster model from CSVs, simulate its data, fit it, read the results.

    python workspace/modeling.py [--nlive 100] [--cores N] [--likelihood source|image] [--seed 2744]

1. the model is the CSV folder datasets/example_cluster: load it, see which cells priors.csv frees;
2. priors in Python: the same rows as priors.csv, as dicts (here: the CSV priors, one of them tightened);
3. simulate its dataset into workspace/output/example_dataset (reused while the model and seed are
   unchanged; the same folder as workspace/simulator.py);
4. fit the free parameters by nested sampling (source-plane likelihood: a few minutes on 2 cores);
5. read the results back from files: posterior summary, evidence, the best-fit model as CSVs.
Run it again: the fit is reused (resume=True rewrites a finished fit's results without sampling).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.console import Console

import clusterlens
import clusterlens.fit

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "datasets" / "example_cluster"
console = Console(width=140)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlive", type=int, default=100, help="live points (default 100)")
    parser.add_argument("--cores", type=int, default=None, help="processes (default: every available core)")
    parser.add_argument("--likelihood", choices=("source", "image"), default="source")
    parser.add_argument("--seed", type=int, default=2744, help="of the simulation and of the sampler")
    args = parser.parse_args()

    console.rule("1. The model: CSV files, one per family")
    model = clusterlens.load_model(MODEL)
    console.print(f"{MODEL}: z_lens = {model.z_lens}, {len(model.main_galaxies)} main_lens_mass rows, "
                  f"{sum(len(t.members) for t in model.tiers)} scaling-relation members, "
                  f"{len(model.source_points)} point sources")
    parameters = clusterlens.fit.Parameters.from_model(model)
    console.print(f"priors.csv frees {len(parameters)} cells (label = family.galaxy.column, CSV value = the truth "
                  "the simulator uses):")
    for p, value in zip(parameters.free, parameters.values(model), strict=True):
        bounds = (p.prior.lower, p.prior.upper) if p.prior.lower is not None else (p.prior.mean, p.prior.sigma)
        console.print(f"  {p.label:40s} {value:<12.6g} {p.prior.prior}{bounds}")

    console.rule("2. Priors in Python (the same columns as priors.csv)")
    priors = [row.model_dump(exclude_none=True) for row in model.priors]
    tightened = dict(family="main_lens_mass", galaxy="shear", parameter="angle", prior="uniform", lower=0.0,
                     upper=60.0)
    priors = [p for p in priors if (p["galaxy"], p["parameter"]) != ("shear", "angle")] + [tightened]
    tight = clusterlens.fit.with_priors(model, [tightened])  # validated like a CSV row: a typo raises ModelError
    console.print("with_priors(model, [dict(...)]) replaced the shear angle's prior:",
                  *[p for p in tight.priors if (p.galaxy, p.parameter) == ("shear", "angle")], markup=False)

    console.rule("3. The dataset: simulated from the model (or reused)")
    dataset = clusterlens.ensure_dataset(MODEL, HERE / "output" / "example_dataset", seed=args.seed, console=console)
    observed = pd.read_csv(dataset / "point_datasets.csv")
    console.print(f"{len(observed)} observed images of {observed['name'].nunique()} sources "
                  f"(point_datasets.csv), positional error {observed['sigma'].iat[0]} arcsec")

    console.rule(f"4. Nested sampling ({args.likelihood}-plane likelihood, nlive = {args.nlive})")
    result = clusterlens.fit.fit(dataset, priors=priors, out=HERE / "output" / f"example_fit_{args.likelihood}",
                                 likelihood=args.likelihood, nlive=args.nlive, cores=args.cores, seed=args.seed,
                                 resume=True, overwrite=True, console=console)

    console.rule("5. The results, read back from the files")
    result = clusterlens.fit.read_results(result.folder)
    summary = result.summary.set_index("label")
    inside = ((summary["p2.5"] <= summary["truth"]) & (summary["truth"] <= summary["p97.5"])).sum()
    console.print(f"log evidence {result.log_evidence:.2f} +/- {result.log_evidence_error:.2f}; "
                  f"{inside} of {len(summary)} truths inside their 95% interval")
    best = result.max_likelihood_model()
    console.print(f"best-fit model ({result.folder / 'max_likelihood'}): BCG sigma = {best.main_galaxies[0].sigma:.1f} "
                  f"km/s, halo m200 = {best.host_halo[0].m200:.3g} Msun; simulate it with "
                  f"`clusterlens simulate {result.folder / 'max_likelihood'} <folder>`")
    console.print(f"samples: {result.folder / 'samples.csv'}; plots: {result.folder / 'corner.png'}, "
                  f"{result.folder / 'images.png'}")


if __name__ == "__main__":  # needed: the worker processes of a parallel fit import this file
    main()
