"""Fit speed on the bundled example cluster: likelihood calls per second, and (optionally) a full fit.

Simulates (or reuses) the example's dataset in results/bench_fit/dataset, then times, at prior draws
of the example's ten free parameters (priors.csv):
- the prior transform alone (unit cube -> parameters);
- the source-plane and image-plane likelihoods with the fixed-lens cache on (lens components without
  free cells evaluated once at the observed images) and off (everything recomputed per call), for
  the example's priors (the members' scaling relation is free, so the members are recomputed) and
  for the same priors without the scaling relation (the members are fixed, hence cached);
numba's parallel loops on one thread, as during a fit. ``--full`` also runs the README's fit (the
defaults of ``clusterlens run``) on every available core and prints its wall time. Timings are the
best of a few repeats; a shared machine makes them noisy.

Run: python benchmarks/bench_fit.py [--full] [--calls 200]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import clusterlens
from clusterlens.fit.point_likelihood import make_likelihood
from clusterlens.fit.priors import replace_priors
from clusterlens.fit.sampler import available_cores

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "datasets" / "example_cluster"
DATASET = ROOT / "results" / "bench_fit" / "dataset"
REPEATS = 3


def best_rate(function, points: np.ndarray) -> float:
    """Calls per second of ``function`` over ``points`` (best of REPEATS passes)."""
    function(points[0])
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        for p in points:
            function(p)
        best = min(best, time.perf_counter() - start)
    return len(points) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="prior draws per timing (default 200)")
    parser.add_argument("--full", action="store_true", help="also time the full example fit (minutes)")
    args = parser.parse_args()

    dataset = clusterlens.ensure_dataset(MODEL, DATASET, seed=0)
    model = clusterlens.load_model(dataset)
    fixed_members = replace_priors(model, [p for p in model.priors if p.family != "scaling_relations"])
    cases = {"example priors (members' scaling relation free: members recomputed)": model,
             "scaling relation fixed (members evaluated once at the images)": fixed_members}
    print(f"{len(model.point_datasets)} observed images, {sum(len(t.members) for t in model.tiers)} members; "
          f"{args.calls} prior draws per timing (calls/s, best of {REPEATS})")
    rng = np.random.default_rng(1)
    for title, case in cases.items():
        parameters = make_likelihood(case).parameters
        unit = rng.random((args.calls, len(parameters)))
        values = np.array([parameters.transform(u) for u in unit])
        print(f"{title}, {len(parameters)} free parameters")
        print(f"  prior transform:               {best_rate(parameters.transform, unit):8.0f}")
        for kind in ("source", "image"):
            for cache in (True, False):
                rate = best_rate(make_likelihood(case, kind, cache=cache, threads=1), values)
                print(f"  {kind + '-plane':12s} likelihood, cache {'on ' if cache else 'off'}: {rate:8.0f}")
    if args.full:
        from clusterlens.fit import fit

        start = time.perf_counter()
        result = fit(dataset, out=ROOT / "results" / "bench_fit" / "fit_source", overwrite=True, progress=False,
                     plots=False)
        wall = time.perf_counter() - start
        print(f"full fit (defaults, {available_cores()} cores): {wall:.0f} s wall, {result.info['niter']} iterations, "
              f"{result.info['likelihood_calls']} likelihood calls, log Z = {result.log_evidence:.2f}")


if __name__ == "__main__":
    main()
