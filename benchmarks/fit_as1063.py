"""A real Lenstool analysis redone: Abell S1063 fitted from its optimisation file with Lenstool's statistic.

    python benchmarks/fit_as1063.py [--out /tmp/as1063] [--nlive 100] [--cores 2] [--seed 0]

1. ``import-lenstool SMACS2248_HFF_NE.par`` (the CATS optimisation file in tests/data/as1063: priors from
   its ``limit`` blocks, dataset.toml ``[fit] likelihood = "lenstool"``, ``forme -2``);
2. ``clusterlens fit`` with that likelihood (dynesty, ``--nlive``, ``--cores``);
3. the comparison with Lenstool's own result: the best chi2 against best.par's ``Chi2pos`` header, and
   each posterior median against Lenstool's posterior mean and sigma (``bestopt.par``, imported as normal
   priors in clusterlens' columns; potentials matched by order: O1.. are the optimisation file's
   potentials in file order). Prints wall time and likelihood calls. About 30 minutes on 2 shared cores; run
   again, it reuses the finished fit and only compares.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import clusterlens
from clusterlens.fit import fit
from clusterlens.lenstool import LenstoolWarning, import_lenstool
from clusterlens.lenstool.parfile import parse_par
from clusterlens.lenstool.reference import read_header

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "as1063"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/clusterlens_as1063"))
    parser.add_argument("--nlive", type=int, default=100)
    parser.add_argument("--cores", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        model_folder = import_lenstool(DATA / "SMACS2248_HFF_NE.par", out_folder=args.out / "model", overwrite=True)
        lenstool = clusterlens.load_model(import_lenstool(DATA / "bestopt.par", out_folder=args.out / "bestopt",
                                                          overwrite=True))
    start = time.perf_counter()
    result = fit(model_folder, out=args.out / "fit", nlive=args.nlive, cores=args.cores, seed=args.seed,
                 update=True, plots=False)  # a finished identical fit is reused
    assert result is not None
    wall = time.perf_counter() - start
    summary = json.loads((result.folder / "summary.json").read_text())
    chi2 = summary["max_likelihood"]["chi2"]["chi2"]
    chi2_lenstool = float(read_header(parse_par(DATA / "best.par"))["Chi2pos"])
    print(f"wall {wall:.0f} s here (sampling {summary['run_time_s']:.0f} s), {summary['likelihood_calls']} likelihood "
          f"calls, log Z = {summary['log_evidence']:.2f} +/- {summary['log_evidence_error']:.2f}")
    excess = 100 * (chi2 / chi2_lenstool - 1)
    print(f"best chi2 {chi2:.3f} vs Lenstool best.par Chi2pos {chi2_lenstool:.3f} ({excess:+.2f} %)")
    fitted = clusterlens.load_model(model_folder)
    names = {family: {lenstool_row.galaxy: row.galaxy
                      for lenstool_row, row in zip(lenstool.mass_rows(family), fitted.mass_rows(family), strict=True)}
             for family in ("host_halo", "main_lens_mass")}
    print(f"{'parameter':52s} {'median':>10s} {'Lenstool mean':>14s} {'sigma':>9s} {'|d|/sigma':>9s}")
    for prior in lenstool.priors:
        galaxy = names.get(prior.family, {}).get(prior.galaxy, prior.galaxy)
        label = f"{prior.family}.{galaxy}.{prior.parameter}"
        row = result.summary[result.summary["label"] == label]
        if row.empty:
            print(f"{label:52s} {'not free':>10s}")
            continue
        mean, sigma = prior.mean_sigma
        median = float(row["median"].iloc[0])
        print(f"{label:52s} {median:10.4g} {mean:14.4g} {sigma:9.3g} {abs(median - mean) / sigma:9.2f}")


if __name__ == "__main__":
    main()
